"""The e-mail channel: over SMTP with Flask-Mail when MAIL_SERVER is set, else to .eml files."""

from __future__ import annotations

import functools
import os
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from email.utils import parseaddr
from pathlib import Path
from types import TracebackType

import flask_mail
from flask import current_app
from sqlalchemy.orm import Session

from intake import settings
from intake.delivery.channel import Outcome
from intake.delivery.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from intake.delivery.retry import RetryPolicy
from intake.email.compose import CannotCompose, compose
from intake.models import DeliveryJob, JobKind
from intake.observability.log_context import get_logger
from intake.routing.model import Routing

log = get_logger(__name__)
_HOSTNAME = socket.gethostname() or "localhost"


class _TimedConnection(flask_mail.Connection):
    """Flask-Mail's connection with a socket timeout, so a hung server cannot stall the
    worker (Flask-Mail 0.10 opens smtplib.SMTP without one), and TLS that verifies the
    server's certificate (against INTAKE_SMTP_CA_BUNDLE, or the system's)."""

    def __init__(self, mail: flask_mail._Mail, timeout: float, ca_bundle: str | None) -> None:
        # Flask-Mail annotates Connection(mail: Mail), but its own Mail.connect() passes the
        # per-app _Mail settings, as we do; Connection only reads those settings.
        super().__init__(mail)  # type: ignore[arg-type]
        self.timeout = timeout
        self.ca_bundle = ca_bundle

    @property
    def tls(self) -> ssl.SSLContext:
        # smtplib's own TLS default does not check the server's certificate; we do.
        return _tls_context(self.ca_bundle)

    def configure_host(self) -> smtplib.SMTP:
        # local_hostname: smtplib would otherwise ask DNS for our FQDN on every connection.
        server, port, timeout = self.mail.server, self.mail.port, self.timeout
        host = (
            smtplib.SMTP_SSL(
                server, port, local_hostname=_HOSTNAME, timeout=timeout, context=self.tls
            )
            if self.mail.use_ssl
            else smtplib.SMTP(server, port, local_hostname=_HOSTNAME, timeout=timeout)
        )
        try:
            if self.mail.use_tls:
                host.starttls(context=self.tls)
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.host is None:
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            self.host.close()  # the server went away; the outcome is already decided


@functools.cache
def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Built once: loading the system's certificates takes tens of milliseconds."""
    return ssl.create_default_context(cafile=ca_bundle)


def classify_smtp_error(error: Exception) -> DeliveryError:
    """Permanent for 5xx replies and bad messages; transient for 4xx, timeouts, refusals."""
    if isinstance(error, flask_mail.BadHeaderError):
        return PermanentDeliveryError("Ugyldig e-mail: et felt i brevhovedet indeholder linjeskift")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = {
            parseaddr(rcpt)[1] or rcpt: (
                code,
                text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text),
            )
            for rcpt, (code, text) in error.recipients.items()
        }
        detail = "; ".join(f"{rcpt}: {code} {text}" for rcpt, (code, text) in replies.items())
        if all(code >= 500 for code, _ in replies.values()):
            return PermanentDeliveryError(f"Modtager afvist: {detail}")
        return TransientDeliveryError(f"Modtager midlertidigt afvist: {detail}")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        # The message is fine; the login is wrong. Retry, so it goes once the setting is fixed.
        return TransientDeliveryError(f"SMTP-login afvist: {error.smtp_code} {_text(error)}")
    if isinstance(error, smtplib.SMTPResponseException):
        reply = f"{error.smtp_code} {_text(error)}"
        if error.smtp_code >= 500:
            return PermanentDeliveryError(f"SMTP-serveren afviste brevet: {reply}")
        return TransientDeliveryError(f"SMTP-serveren bad os prøve igen senere: {reply}")
    return TransientDeliveryError(f"SMTP-serveren kunne ikke nås: {type(error).__name__}: {error}")


def _text(error: smtplib.SMTPResponseException) -> str:
    message = error.smtp_error
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)


class MailChannel:
    """Delivers e-mail jobs, one at a time; the external id is the message's stable Message-ID."""

    kind = JobKind.EMAIL
    batch_size = 1
    retry_policy: RetryPolicy | None = None  # the worker's: dead after INTAKE_MAX_ATTEMPTS
    acts_on_anonymised = False
    reports_in_session = False

    def __init__(self, routing: Callable[[], Routing]) -> None:
        self.routing = routing  # the routing in force when a job is delivered

    def deliver(self, jobs: Sequence[DeliveryJob], session: Session) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        for job in jobs:
            try:
                outcomes[job.id] = self._deliver_one(job)
            except DeliveryError as error:
                outcomes[job.id] = error
        return outcomes

    def delivered_after_cancel(self, session: Session, job: DeliveryJob) -> None:
        """An e-mail that went out cannot be called back."""

    def _deliver_one(self, job: DeliveryJob) -> str:
        config = current_app.config
        try:
            message = compose(job, self.routing(), config["MAIL_DEFAULT_SENDER"])
        except CannotCompose as error:
            raise PermanentDeliveryError(str(error)) from None
        if config["MAIL_SERVER"]:
            self._send(
                message,
                timeout=float(config["INTAKE_SMTP_TIMEOUT_SECONDS"]),
                ca_bundle=config["INTAKE_SMTP_CA_BUNDLE"],
            )
        else:
            path = self._write(message, Path(settings.mail_dir(current_app)), job)
            log.info("E-mail %s (%s) written to %s", job.submission.reference, job.target, path)
        return message.msgId

    @staticmethod
    def _send(message: flask_mail.Message, timeout: float, ca_bundle: str | None) -> None:
        mail = current_app.extensions["mail"]
        try:
            with _TimedConnection(mail, timeout, ca_bundle) as connection:
                connection.send(message)
        except (smtplib.SMTPException, OSError, flask_mail.BadHeaderError) as error:
            raise classify_smtp_error(error) from error

    @staticmethod
    def _write(message: flask_mail.Message, folder: Path, job: DeliveryJob) -> Path:
        """Write the message as an .eml file; a repeated try overwrites the same file."""
        if message.has_bad_headers():
            raise classify_smtp_error(flask_mail.BadHeaderError())
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{job.submission.reference}-{job.id}-{job.target.value}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(message.as_bytes())
        os.replace(temporary, path)
        return path
