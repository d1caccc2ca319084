"""SMTP with STARTTLS and login, as Flask-Mail's MAIL_USE_TLS/MAIL_USERNAME configure it."""

from __future__ import annotations

import ssl

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus
from tests.support.helpers import VALID_HELP, submit
from tests.support.settings import send_mail_to
from tests.support.smtp_sink import SmtpSink


@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


@pytest.fixture
def tls_smtp(certificate_authority):
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"intake",
            b"hemmeligt-kodeord",
        )
        return AuthResult(success=ok)

    sink = SmtpSink(
        tls_context=server_context,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    ).start()
    yield sink
    sink.stop()


@pytest.fixture
def config(config, tls_smtp, certificate_authority, tmp_path):
    ca = tmp_path / "smtp-ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca))
    config = send_mail_to(config, tls_smtp)
    config.update(
        MAIL_USE_TLS=True,
        MAIL_USERNAME="intake",
        MAIL_PASSWORD="hemmeligt-kodeord",
        INTAKE_SMTP_CA_BUNDLE=str(ca),
    )
    return config


def mail_jobs(db):
    db.expire_all()
    return db.scalars(select(DeliveryJob).where(DeliveryJob.kind == JobKind.EMAIL)).all()


def test_starttls_and_login_deliver(app, client, db, tls_smtp):
    submit(client, "/opstartshjaelp/", VALID_HELP)
    Worker(app).run_once()
    assert {job.status for job in mail_jobs(db)} == {JobStatus.DONE}
    assert len(tls_smtp.messages) == 2


def test_a_server_certificate_we_do_not_trust_is_refused(build_app, db, tls_smtp):
    app = build_app(INTAKE_SMTP_CA_BUNDLE=None)  # the system's CAs do not know this server
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    Worker(app).run_once()
    jobs = mail_jobs(db)
    assert {job.status for job in jobs} == {JobStatus.PENDING}
    assert all("CERTIFICATE_VERIFY_FAILED" in job.last_error for job in jobs)
    assert tls_smtp.messages == []
