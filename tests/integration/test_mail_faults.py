"""Expected faults lose nothing: SMTP down, 4xx and 5xx replies, a server that hangs."""

from __future__ import annotations

import socket
import time
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus
from tests.support.helpers import VALID_HELP, submit
from tests.support.settings import send_mail_to
from tests.support.smtp_sink import SmtpSink, free_port


@pytest.fixture
def down_port():
    return free_port()  # nothing listens here (until a test starts a server on it)


@pytest.fixture
def config(config, down_port):
    sink = SmtpSink(port=down_port)  # not started: its config says where mail would go
    config = send_mail_to(config, sink)
    config.update(INTAKE_MAX_ATTEMPTS=3, INTAKE_SMTP_TIMEOUT_SECONDS=0.5)
    return config


def email_jobs(db):
    db.expire_all()
    return db.scalars(
        select(DeliveryJob).where(DeliveryJob.kind == JobKind.EMAIL).order_by(DeliveryJob.id)
    ).all()


def run_when_due(app) -> int:
    time.sleep(0.06)  # past the test's retry backoff (at most 0.05 s)
    return Worker(app).run_once()


def test_smtp_down_then_back_delivers_everything_once(app, client, db, down_port):
    submit(client, "/opstartshjaelp/", VALID_HELP)
    assert Worker(app).run_once() == 2
    jobs = email_jobs(db)
    assert {(j.status, j.attempts) for j in jobs} == {(JobStatus.PENDING, 1)}
    assert all(
        "kunne ikke nås" in j.last_error and "ConnectionRefused" in j.last_error for j in jobs
    )

    sink = SmtpSink(port=down_port).start()
    try:
        assert run_when_due(app) == 2
    finally:
        sink.stop()
    assert {j.status for j in email_jobs(db)} == {JobStatus.DONE}
    assert len(sink.messages) == 2
    assert len({m.message["Message-ID"] for m in sink.messages}) == 2


def test_451_is_retried_and_delivered_later(app, client, db, down_port):
    sink = SmtpSink(port=down_port).start()
    try:
        sink.handler.data_reply = "451 4.3.0 Midlertidig fejl, prøv igen"
        submit(client, "/opstartshjaelp/", VALID_HELP)
        Worker(app).run_once()
        jobs = email_jobs(db)
        assert {j.status for j in jobs} == {JobStatus.PENDING}
        assert all("451" in j.last_error for j in jobs)
        assert sink.messages == []

        sink.handler.data_reply = None
        assert run_when_due(app) == 2
        assert {j.status for j in email_jobs(db)} == {JobStatus.DONE}
        assert len(sink.messages) == 2
    finally:
        sink.stop()


def test_550_goes_dead_at_once_with_the_reason(app, client, db, down_port):
    sink = SmtpSink(port=down_port).start()
    try:
        sink.handler.rcpt_reply = "550 5.1.1 Brugeren findes ikke"
        submit(client, "/opstartshjaelp/", VALID_HELP)
        Worker(app).run_once()
    finally:
        sink.stop()
    jobs = email_jobs(db)
    assert {(j.status, j.attempts) for j in jobs} == {(JobStatus.DEAD, 1)}
    assert all("550" in j.last_error and "Brugeren findes ikke" in j.last_error for j in jobs)
    assert run_when_due(app) == 0  # dead jobs stay dead until someone re-queues them


def test_a_job_goes_dead_after_the_last_attempt_and_keeps_its_error(app, client, db):
    submit(client, "/opstartshjaelp/", VALID_HELP)
    Worker(app).run_once()
    run_when_due(app)
    run_when_due(app)
    assert run_when_due(app) == 0
    jobs = email_jobs(db)
    assert {(j.status, j.attempts) for j in jobs} == {(JobStatus.DEAD, 3)}
    assert all("kunne ikke nås" in j.last_error for j in jobs)


def test_a_hung_server_times_out_instead_of_stalling_the_worker(app, client, db, down_port):
    with socket.socket() as hung:  # accepts connections, never says hello
        hung.bind(("127.0.0.1", down_port))
        hung.listen(8)
        submit(client, "/opstartshjaelp/", VALID_HELP)
        started = time.monotonic()
        assert Worker(app).run_once() == 2
        assert time.monotonic() - started < 10
    jobs = email_jobs(db)
    assert {j.status for j in jobs} == {JobStatus.PENDING}
    assert all("timed out" in j.last_error for j in jobs)


@pytest.fixture
def files_config(config, tmp_path):
    config.pop("MAIL_SERVER")
    config["INTAKE_MAIL_DIR"] = str(tmp_path / "mail")
    return config


def test_without_a_mail_server_messages_are_written_as_eml_files(
    files_config, tmp_path, track_app, caplog
):
    from intake import create_app

    app = track_app(create_app(files_config))
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    with caplog.at_level("INFO", logger="intake.delivery.mail"):
        assert Worker(app).run_once() == 2
    files = sorted((tmp_path / "mail").glob("*.eml"))
    ref = files[0].name[:13]
    assert ref.startswith("OH-20")
    assert [f.name for f in files] == [f"{ref}-1-consultant.eml", f"{ref}-2-requester.eml"]
    messages = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert [
        (m["To"].addresses[0].display_name, m["To"].addresses[0].addr_spec) for m in messages
    ] == [
        ("Jens B. Hansen", "jbh@bl.dk"),
        ("Åse Bøgh-Ørsted", "aase.boegh@xn--snder-qra2k.dk"),
    ]
    assert "Ærøskøbing Boligforening" in messages[0].get_body(("plain",)).get_content()
    assert f"written to {files[0]}" in caplog.text
    assert not list((tmp_path / "mail").glob("*.tmp"))
