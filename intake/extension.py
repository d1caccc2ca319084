"""The Flask extension: `intake = Intake(); intake.init_app(app)` mounts BL Intake."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mail import Mail

from crm_sync.config import SalesforceConfig
from crm_sync.config import load_config as load_salesforce_config
from intake import request_log, security, settings
from intake.db import Database, close_session
from intake.log_context import CONTEXT_FILTER
from intake.routing import Routing, load_routing
from intake.timefmt import danish_time


@dataclass
class IntakeState:
    """Everything BL Intake keeps per app, in `app.extensions["intake"]`."""

    routing: Routing
    database: Database
    salesforce: SalesforceConfig | None  # None: no credentials, CRM jobs wait
    limiter: Limiter  # throttles sign-in attempts (intake.backoffice) and form posts (public)


def current_intake() -> IntakeState:
    return current_app.extensions["intake"]


class Intake:
    """BL Intake as a Flask extension.

    `init_app` reads these config keys (each falls back to the environment variable of the
    same name, then to the default in `intake.settings`): SECRET_KEY, INTAKE_DATABASE_URL,
    INTAKE_ROUTING_FILE, INTAKE_MIN_FILL_SECONDS, INTAKE_FORM_MAX_AGE_SECONDS,
    INTAKE_MAIL_DIR, INTAKE_URL_PREFIX, INTAKE_HEALTH_MAX_PENDING_AGE_SECONDS,
    INTAKE_PUBLIC_URL, INTAKE_RETRY_BASE_SECONDS, INTAKE_RETRY_MAX_SECONDS, INTAKE_MAX_ATTEMPTS,
    INTAKE_JOB_LEASE_SECONDS, INTAKE_WORKER_POLL_SECONDS, INTAKE_SMTP_TIMEOUT_SECONDS,
    INTAKE_MAX_BODY_BYTES, INTAKE_FORM_RATE_LIMIT, INTAKE_FRAME_ANCESTORS,
    INTAKE_RETENTION_DAYS, INTAKE_PRIVACY_CONTACT_EMAIL, INTAKE_LOG_JSON,
    INTAKE_METRICS_ALLOW, and
    Flask-Mail's MAIL_* keys (MAIL_DEFAULT_SENDER gets a BL default; without MAIL_SERVER,
    e-mails are written as .eml files to INTAKE_MAIL_DIR).
    Changes to the app's config after this call are not seen.

    It refuses to start without SECRET_KEY (outside debug and testing), with half a set of
    Salesforce credentials, and with a routing file that does not check out; the error says
    which key or which line. The SALESFORCE_* keys are listed in intake.settings.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        if "intake" in app.extensions:
            raise RuntimeError(
                "An 'Intake' instance has already been registered on this Flask app. "
                "Import and use that instance instead."
            )
        settings.apply_defaults(app)
        settings.require_secret_key(app)
        settings.check_retention_days(app)
        state = IntakeState(
            routing=load_routing(app.config["INTAKE_ROUTING_FILE"]),
            database=Database.connect(settings.database_url(app)),
            salesforce=load_salesforce_config(app.config),
            limiter=Limiter(
                get_remote_address,
                app=app,
                storage_uri=app.config["INTAKE_RATELIMIT_STORAGE_URI"],
                default_limits=[],
            ),
        )
        app.extensions["intake"] = state
        if "mail" not in app.extensions:  # a host app may already have Flask-Mail set up
            Mail(app)
        app.teardown_appcontext(close_session)
        app.add_template_filter(danish_time, "intake_time")
        security.init_security(app)  # headers and the body limit, on our blueprints only
        request_log.init_app(app)  # request ids and request lines, on our blueprints only
        app.logger.addFilter(CONTEXT_FILTER)  # our lines through app.logger carry the ids too

        from intake import cli, metrics, ops, public  # the views need the package importable
        from intake.backoffice import init_backoffice

        metrics.init_app(app, state.database)  # checks INTAKE_METRICS_ALLOW

        prefix = app.config["INTAKE_URL_PREFIX"]
        app.register_blueprint(public.bp, url_prefix=prefix)
        app.register_blueprint(ops.bp, url_prefix=prefix)
        init_backoffice(app)
        app.cli.add_command(cli.intake_cli)
