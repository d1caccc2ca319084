"""Logs: JSON lines (INTAKE_LOG_JSON=1) with the request id and the submission's reference, in
the web process and in the worker; no personal data; a host app keeps its own logging."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask, request
from sqlalchemy import select

from crm_sync.emulator import SalesforceEmulator
from intake import Intake
from intake.delivery.errors import TransientDeliveryError, log_text
from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus, Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.settings import send_mail_to, use_salesforce

# What the forms in tests.helpers hold about the person: none of it may reach a log line.
PERSONAL = [
    "Åse",
    "Bøgh",
    "aase",
    "sønderå",
    "xn--snder",
    "Søndergade",
    "33 76 20 40",
    "Bjørn Æbelø",
    "Levér gerne",
]
NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def config(config, smtp, salesforce):
    config = use_salesforce(send_mail_to(config, smtp), salesforce)
    config["INTAKE_LOG_JSON"] = True
    return config


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line written, each parsed as JSON (a line that is not fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_no_personal_data(text: str) -> None:
    found = [word for word in PERSONAL if word.lower() in text.lower()]
    assert not found, f"personal data in the log: {found}"


def test_web_lines_carry_the_request_id_and_the_reference(app, client, db, capsys):
    capsys.readouterr()
    form = client.get("/pjecer/")
    posted = submit(client, "/pjecer/", VALID_ORDER)
    receipt = client.get(posted.headers["Location"])
    out = capsys.readouterr().err
    lines = json_lines(out)
    reference = db.scalars(select(Submission.reference)).one()

    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys()
    ids = [response.headers["X-Request-ID"] for response in (form, posted, receipt)]
    assert len(set(ids)) == 3  # a fresh id per request
    by_request = {rid: [line for line in lines if line.get("request_id") == rid] for rid in ids}

    (form_line,) = by_request[form.headers["X-Request-ID"]]
    assert form_line["message"].startswith("GET /pjecer/ 200")
    assert (form_line["method"], form_line["path"], form_line["status"]) == ("GET", "/pjecer/", 200)
    assert "reference" not in form_line  # not about a submission yet

    post_lines = by_request[posted.headers["X-Request-ID"]]
    assert post_lines[0]["message"] == f"Stored {reference} (pamphlet_order)"
    assert post_lines[-1]["message"].startswith("POST /pjecer/ 303")
    assert {line["reference"] for line in post_lines} == {reference}

    (receipt_line,) = by_request[receipt.headers["X-Request-ID"]]
    assert receipt_line["reference"] == reference
    # The receipt's token opens personal data: the line has the route, not the token.
    assert receipt_line["path"] == "/kvittering/<token>"
    token = posted.headers["Location"].rsplit("/", 1)[-1]
    assert token not in out
    assert_no_personal_data(out)


def test_worker_lines_carry_the_reference_of_the_job_they_are_about(
    app, client, db, capsys, smtp, salesforce
):
    submit(client, "/pjecer/", VALID_ORDER)
    submit(client, "/opstartshjaelp/", VALID_HELP)
    references = dict(db.execute(select(Submission.kind, Submission.reference)).all())
    capsys.readouterr()

    Worker(app).run_once()
    out = capsys.readouterr().err
    lines = json_lines(out)

    delivered = [line for line in lines if line["message"].startswith("Delivered ")]
    assert len(delivered) == 7  # 4 jobs for the order, 3 for the start-up request
    for line in delivered:
        assert line["logger"] == "intake.delivery.worker"
        assert f" for {line['reference']} " in line["message"]
        assert "request_id" not in line  # no request in the worker
    assert {line["reference"] for line in delivered} == set(references.values())
    # The Salesforce channel's own line, written while it sent the jobs (one batch of two).
    (sent,) = [line for line in lines if line["message"].startswith("Salesforce: 2 job(s) sent")]
    assert sorted(sent["references"]) == sorted(references.values())
    assert len(salesforce.records["Lead"]) == 2
    assert len(smtp.messages) == 5
    assert_no_personal_data(out)


@pytest.mark.parametrize("incoming", ["3f2c9a1e-7d4b-4c8e-9a51-0f6e2d7b8c90", "lb.42:req_7-x"])
def test_a_sane_incoming_request_id_is_kept(client, capsys, incoming):
    capsys.readouterr()
    response = client.get("/pjecer/", headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] == incoming
    (line,) = json_lines(capsys.readouterr().err)
    assert line["request_id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "x" * 129,  # too long
        '"><script>alert(1)</script>',
        "abc def",
        "id\tforged=1",
        "æøå",
        "",
    ],
)
def test_a_hostile_or_odd_request_id_is_replaced(client, capsys, incoming):
    capsys.readouterr()
    response = client.get("/pjecer/", headers={"X-Request-ID": incoming})
    replaced = response.headers["X-Request-ID"]
    assert NEW_ID.fullmatch(replaced)
    (line,) = json_lines(capsys.readouterr().err)
    assert line["request_id"] == replaced


def test_a_post_refused_by_the_rate_limit_has_an_id_and_a_line_too(build_app, capsys):
    client = build_app(INTAKE_FORM_RATE_LIMIT="1 per minute").test_client()
    submit(client, "/pjecer/", VALID_ORDER)
    capsys.readouterr()
    refused = client.post("/pjecer/", data={})
    assert refused.status_code == 429
    (line,) = json_lines(capsys.readouterr().err)
    assert line["request_id"] == refused.headers["X-Request-ID"]
    assert (line["method"], line["path"], line["status"]) == ("POST", "/pjecer/", 429)


def test_a_rejected_delivery_logs_neither_address_nor_value(
    build_app, db, capsys, smtp, salesforce
):
    # Salesforce quotes the rejected value in its message; the SMTP server names the address.
    salesforce.add_field("Lead", "Efternavn__c", length=5)
    app = build_app(SALESFORCE_EXTRA_LEAD_FIELDS="Efternavn__c=last_name")
    smtp.handler.rcpt_reply = "550 5.1.1 <aase.boegh@xn--snder-qra2k.dk>: Brugeren findes ikke"
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    reference = db.scalars(select(Submission.reference)).one()
    capsys.readouterr()

    Worker(app).run_once()
    out = capsys.readouterr().err
    lines = json_lines(out)

    jobs = db.scalars(select(DeliveryJob).order_by(DeliveryJob.id)).all()
    assert {job.status for job in jobs} == {JobStatus.DEAD}
    (crm,) = [job for job in jobs if job.kind is JobKind.SALESFORCE]
    assert "Bøgh-Ørsted" in crm.last_error  # the job keeps Salesforce's whole message …
    gave_up = [line for line in lines if line["message"].startswith("Gave up")]
    assert len(gave_up) == 3
    assert {line["reference"] for line in gave_up} == {reference}
    crm_line = next(line for line in gave_up if "salesforce/lead" in line["message"])
    assert "STRING_TOO_LONG" in crm_line["message"]  # … the log only its code
    mail_line = next(line for line in gave_up if "email/requester" in line["message"])
    assert "550" in mail_line["message"] and "<e-mail>" in mail_line["message"]
    assert_no_personal_data(out)


def test_without_json_the_lines_are_text_with_the_ids(build_app, capsys):
    app = build_app(INTAKE_LOG_JSON=False)
    capsys.readouterr()
    response = submit(app.test_client(), "/pjecer/", VALID_ORDER)
    out = capsys.readouterr().err
    request_id = response.headers["X-Request-ID"]
    (stored,) = [line for line in out.splitlines() if "Stored PJ-" in line]
    assert not stored.startswith("{")
    reference = stored.split("Stored ", 1)[1].split()[0]
    assert f" INFO intake [request_id={request_id} reference={reference}]: Stored " in stored


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_host_app_keeps_its_logging_and_still_gets_the_ids(config, track_app):
    root = logging.getLogger()
    host = Flask("bl_website")
    host.config.update(config)
    host.logger.setLevel(logging.INFO)  # the host decides what it logs

    @host.get("/nyheder/")
    def news() -> str:
        host.logger.info("Nyheder vist")
        return "Nyheder"

    handlers_before = list(root.handlers)
    track_app(host)
    Intake(host)
    assert root.handlers == handlers_before  # mounting the plugin configures nothing

    collect = _Collect()  # the host's own handler
    root.addHandler(collect)
    try:
        client = host.test_client()
        posted = submit(client, "/pjecer/", VALID_ORDER)
        news = client.get("/nyheder/")
    finally:
        root.removeHandler(collect)

    (stored,) = [r for r in collect.records if r.getMessage().startswith("Stored PJ-")]
    assert stored.name == "bl_website"
    assert stored.request_id == posted.headers["X-Request-ID"]  # type: ignore[attr-defined]
    assert stored.reference == stored.getMessage().split()[1]  # type: ignore[attr-defined]
    # The host's own pages are the host's: no id of ours, no request line of ours.
    assert "X-Request-ID" not in news.headers
    assert not any(r.getMessage().startswith("GET /nyheder/") for r in collect.records)


def test_the_worker_command_of_a_host_app_writes_json_lines(config, track_app, smtp):
    host = Flask("bl_website")
    host.config.update(config)
    Intake(host)
    track_app(host)
    submit(host.test_client(), "/opstartshjaelp/", VALID_HELP)
    with host.extensions["intake"].database.sessionmaker() as session:
        reference = session.scalars(select(Submission.reference)).one()

    result = host.test_cli_runner().invoke(args=["intake", "worker", "--once"])
    assert result.exit_code == 0, result.output
    lines = json_lines(result.stderr)  # the command set up JSON lines for its process
    delivered = [line for line in lines if line["message"].startswith("Delivered ")]
    assert len(delivered) == 3  # the lead, the consultant's e-mail and the receipt
    assert {line["reference"] for line in delivered} == {reference}
    assert len(smtp.messages) == 2


# -- no address, token or forged line in the log -------------------------------------------

ADDRESS = "aase.boegh@xn--snder-qra2k.dk"  # VALID_CONTACT's address as Salesforce is asked


def test_salesforce_unreachable_during_the_contact_look_up_logs_no_address(
    build_app, db, capsys, tmp_path, smtp
):
    # The look-up's URL holds the addresses (`?q=SELECT … WHERE Email IN ('aase…%40…')`), and
    # requests puts the URL in its ConnectionError.
    emulator = SalesforceEmulator(state_dir=tmp_path / "salesforce").start()  # keeps its CA
    host = emulator.url.removeprefix("https://")
    try:
        app = build_app(**use_salesforce({}, emulator))
        client = app.test_client()
        worker = Worker(app)
        submit(client, "/opstartshjaelp/", VALID_HELP)
        worker.run_once()  # logged in; its lead is made
        assert len(emulator.records["Lead"]) == 1
    finally:
        emulator.stop()
    # The stopped emulator's handler thread still serves a kept-alive connection: drop them.
    worker.channels[JobKind.SALESFORCE].client.session.close()  # type: ignore[attr-defined]
    submit(client, "/pjecer/", VALID_ORDER)
    submit(client, "/opstartshjaelp/", VALID_HELP)
    capsys.readouterr()

    worker.run_once()
    out = capsys.readouterr().err
    lines = json_lines(out)

    waiting = db.scalars(
        select(DeliveryJob).where(
            DeliveryJob.kind == JobKind.SALESFORCE, DeliveryJob.status == JobStatus.PENDING
        )
    ).all()
    assert len(waiting) == 2  # both wait for Salesforce to come back …
    for job in waiting:
        # … and say why: the error and where, not the look-up's URL.
        assert job.last_error.startswith("Salesforce kunne ikke nås")
        assert "ConnectionError" in job.last_error and host in job.last_error
        assert "Connection refused" in job.last_error
        assert "aase" not in job.last_error and "Email" not in job.last_error
    retries = [line for line in lines if line["message"].startswith("Will retry salesforce/lead")]
    assert len(retries) == 2
    assert all(host in line["message"] for line in retries)
    assert "%40" not in out
    assert_no_personal_data(out)


@pytest.mark.parametrize(
    "text",
    [
        f"550 5.1.1 <{ADDRESS}>: Brugeren findes ikke",
        "Max retries exceeded with url: /services/data/v62.0/query/?q=SELECT+Id%2C+Email+FROM"
        "+Contact+WHERE+Email+IN+%28%27aase.boegh%40xn--snder-qra2k.dk%27%29 (Caused by …)",
        "url: /query/?q=WHERE+Email+IN+%28%27AASE.BOEGH%2540XN--SNDER-QRA2K.DK%27%29 refused",
        "/query/?q=WHERE+Email+IN+%28%27aase.boegh%40s%C3%B8nder%C3%A5.dk%27%29 refused",
    ],
    ids=["plain", "percent-encoded", "encoded twice", "encoded utf-8"],
)
def test_an_address_in_a_delivery_error_is_masked_however_it_is_encoded(text):
    logged = log_text(TransientDeliveryError(text))
    assert "<e-mail>" in logged
    assert_no_personal_data(logged)
    assert logged.endswith(("Brugeren findes ikke", "(Caused by …)", "refused"))


@pytest.mark.parametrize("prefix", ["", "/bl"])
def test_a_path_under_the_receipt_is_logged_as_the_route_whatever_the_answer(
    build_app, capsys, prefix
):
    app = build_app(**({"INTAKE_URL_PREFIX": prefix} if prefix else {}))
    client = app.test_client()
    token = "hemmelig-kvitteringsnoegle-4711"
    capsys.readouterr()
    assert client.post(f"{prefix}/kvittering/{token}").status_code == 405  # no endpoint
    assert client.get(f"{prefix}/kvittering/{token}/mere").status_code == 404  # no route
    assert client.get(f"{prefix}/kvittering/{token}").status_code == 404  # no such receipt
    out = capsys.readouterr().err
    route = f"{prefix}/kvittering/<token>"
    requests = [(line["method"], line["path"], line["status"]) for line in json_lines(out)]
    assert requests == [("POST", route, 405), ("GET", route, 404), ("GET", route, 404)]
    assert token not in out


def _broken_receipt_template(folder: Path) -> str:
    """A template folder whose receipt fails to render (a host's override with a bug)."""
    (folder / "intake").mkdir(parents=True)
    (folder / "intake" / "kvittering.html").write_text("{{ 1 / (submission.id * 0) }}")
    return str(folder)


def test_an_error_on_a_receipt_is_logged_with_the_route_not_the_token(build_app, capsys, tmp_path):
    app = build_app(PROPAGATE_EXCEPTIONS=False)  # as in production: log it, answer 500
    app.template_folder = _broken_receipt_template(tmp_path / "templates")
    client = app.test_client()
    receipt = submit(client, "/pjecer/", VALID_ORDER).headers["Location"]
    capsys.readouterr()
    assert client.get(receipt).status_code == 500
    out = capsys.readouterr().err
    messages = [line["message"] for line in json_lines(out)]
    assert "Exception on /kvittering/<token> [GET]" in messages
    assert receipt.rsplit("/", 1)[1] not in out


def test_in_a_host_app_an_error_on_a_receipt_is_logged_with_the_route(config, track_app, tmp_path):
    host = Flask("bl_website", template_folder=_broken_receipt_template(tmp_path / "templates"))
    host.config.update(config, INTAKE_URL_PREFIX="/intake", PROPAGATE_EXCEPTIONS=False)
    track_app(host)
    Intake(host)
    collect = _Collect()  # the host's own handler
    logging.getLogger().addHandler(collect)
    try:
        client = host.test_client()
        receipt = submit(client, "/intake/pjecer/", VALID_ORDER).headers["Location"]
        assert client.get(receipt).status_code == 500
    finally:
        logging.getLogger().removeHandler(collect)
    written = [logging.Formatter().format(record) for record in collect.records]
    assert any(w.startswith("Exception on /intake/kvittering/<token> [GET]") for w in written)
    assert "ZeroDivisionError" in "\n".join(written)  # the traceback is still there
    assert not [w for w in written if receipt.rsplit("/", 1)[1] in w]


def test_a_path_cannot_forge_a_text_line(build_app, capsys):
    app = build_app(INTAKE_LOG_JSON=False)
    forged = "2026-01-01 00:00:00,000 INFO intake [request_id=forged]: Stored PJ-2026-99999"
    capsys.readouterr()
    # CR LF, a lone LF, an escape sequence and a Unicode line separator, URL-encoded in the path.
    path = "/nope%0d%0a" + quote(forged) + "%0a%1b[2K%e2%80%a8x"
    response = app.test_client().get(path)
    assert response.status_code == 404
    out = capsys.readouterr().err
    (line,) = out.splitlines()  # one request, one line
    request_id = response.headers["X-Request-ID"]
    assert f" INFO intake.requests [request_id={request_id}]: GET /nope\\r\\n2026-01-01" in line
    assert "Stored PJ-2026-99999\\n\\x1b[2K\\u2028x 404 " in line


def test_a_reference_does_not_outlive_a_request_whose_host_teardown_failed(config, track_app):
    host = Flask("bl_website")
    host.config.update(config)
    host.logger.setLevel(logging.INFO)
    track_app(host)
    Intake(host)
    failing = [True]

    @host.teardown_request
    def host_cleanup(_exc: BaseException | None) -> None:  # runs before BL Intake's
        if failing and request.path.startswith("/kvittering/"):
            failing.clear()
            raise RuntimeError("the host's clean-up failed")

    @host.get("/nyheder/")
    def news() -> str:
        host.logger.info("Nyheder vist")
        return "Nyheder"

    collect = _Collect()
    logging.getLogger().addHandler(collect)
    try:
        client = host.test_client()
        receipt = submit(client, "/pjecer/", VALID_ORDER).headers["Location"]
        with pytest.raises(RuntimeError, match="clean-up failed"):
            client.get(receipt)  # tags the rest of its request with the reference
        assert client.get("/nyheder/").status_code == 200  # the next request in this thread
    finally:
        logging.getLogger().removeHandler(collect)
    (shown,) = [r for r in collect.records if r.getMessage() == "Nyheder vist"]
    assert not hasattr(shown, "reference") and not hasattr(shown, "request_id")
