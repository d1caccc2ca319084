"""The Flask extension: `Intake(app)` or `intake.init_app(app)` mounts BL Intake.

This is the one place that wires BL Intake together: its blueprints, its commands and its
delivery channels. Everything else is reached from here, never the other way round.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mail import Mail

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.config import load_config as load_salesforce_config
from intake import cli, formats, i18n, settings
from intake.backoffice import (  # noqa: F401 - each adds its pages to the back office's blueprint
    account_page,
    catalogue_pages,
    delivery_pages,
    held_pages,
    municipality_pages,
    order_pages,
    overview_page,
    request_pages,
    routing_pages,
    selection_pages,
    sign_in_pages,
    slip_pages,
)
from intake.backoffice import blueprint as backoffice
from intake.backoffice.access import init_login
from intake.db import Database, close_session
from intake.delivery import cli as delivery_cli
from intake.delivery.channel import Channel
from intake.delivery.contact_index import ContactIndex, index_key
from intake.delivery.mail import MailChannel
from intake.delivery.retry import RetryPolicy
from intake.delivery.salesforce import SalesforceChannel
from intake.delivery.salesforce_erasure import SalesforceErasureChannel
from intake.delivery.salesforce_owner import SalesforceOwnerChannel
from intake.monitoring import endpoints, metrics
from intake.observability import request_log
from intake.observability.log_context import CONTEXT_FILTER
from intake.postal import address_lines
from intake.privacy import cli as privacy_cli
from intake.public import pages as public_pages
from intake.routing import cli as routing_cli
from intake.routing.checker import load_routing
from intake.routing.live import LiveRouting
from intake.routing.model import Routing
from intake.staff import cli as staff_cli
from intake.state import IntakeState, current_intake
from intake.web import redirects, security_headers


def current_routing() -> Routing:
    return current_intake().routing


def delivery_channels(app: Flask, salesforce: SalesforceConfig | None) -> list[Channel]:
    """What the worker delivers with, in this order: Salesforce first, so that the e-mails
    sent after it can link to the lead. Without Salesforce credentials its jobs wait (and
    /healthz shows them)."""
    if salesforce is None:
        return [MailChannel(current_routing)]
    client = SalesforceClient(salesforce)  # one login for both Salesforce channels
    # A Salesforce fault that may pass (its allowance, maintenance, 429, 5xx, the network) is
    # waited out however long it lasts: backoff up to SALESFORCE_RETRY_MAX_SECONDS, never dead.
    crm_retry = RetryPolicy(
        base_seconds=float(app.config["INTAKE_RETRY_BASE_SECONDS"]),
        max_seconds=salesforce.retry_max_seconds,
        max_attempts=None,
    )
    contacts = (
        ContactIndex(
            index_key(settings.secret_key(app)),
            timedelta(minutes=salesforce.contact_index_minutes),
        )
        if salesforce.match_contacts
        else None
    )
    return [
        SalesforceChannel(
            salesforce, client, current_routing, retry_policy=crm_retry, contacts=contacts
        ),
        SalesforceErasureChannel(salesforce, client, crm_retry),
        SalesforceOwnerChannel(salesforce, client, current_routing, crm_retry),
        MailChannel(current_routing),
    ]


class Intake:
    """BL Intake as a Flask extension.

    `init_app` reads these config keys (each falls back to the environment variable of the
    same name, then to the default in `intake.settings`, which lists them all): SECRET_KEY,
    INTAKE_DATABASE_URL, INTAKE_ROUTING_FILE, INTAKE_MIN_FILL_SECONDS,
    INTAKE_FORM_MAX_AGE_SECONDS, INTAKE_MAIL_DIR, INTAKE_URL_PREFIX,
    INTAKE_HEALTH_MAX_PENDING_AGE_SECONDS, INTAKE_PUBLIC_URL, INTAKE_RETRY_BASE_SECONDS,
    INTAKE_RETRY_MAX_SECONDS, INTAKE_MAX_ATTEMPTS, INTAKE_JOB_LEASE_SECONDS,
    INTAKE_WORKER_POLL_SECONDS, INTAKE_SMTP_TIMEOUT_SECONDS, INTAKE_SMTP_CA_BUNDLE,
    INTAKE_MAX_BODY_BYTES, INTAKE_FORM_RATE_LIMIT, INTAKE_FRAME_ANCESTORS,
    INTAKE_RATELIMIT_STORAGE_URI, INTAKE_LOGIN_RATE_LIMIT, INTAKE_LOGIN_MAX_FAILURES,
    INTAKE_LOGIN_LOCK_MINUTES, INTAKE_STAFF_IDLE_MINUTES, INTAKE_STAFF_SESSION_HOURS,
    INTAKE_REQUIRE_TOTP, INTAKE_ADMIN_PAGE_SIZE, INTAKE_LOG_JSON, INTAKE_METRICS_ALLOW,
    INTAKE_RETENTION_DAYS, INTAKE_PRIVACY_CONTACT_EMAIL, INTAKE_HELD_DAYS,
    INTAKE_PAMPHLET_SHIPPING_DAYS, INTAKE_TRACKING_URL, INTAKE_CRM_PULL_MINUTES, the SALESFORCE_*
    keys, and
    Flask-Mail's MAIL_* keys (MAIL_DEFAULT_SENDER gets a BL default; without MAIL_SERVER,
    e-mails are written as .eml files to INTAKE_MAIL_DIR). INTAKE_PROXY_FIX and
    INTAKE_TRUSTED_HOSTS are the standalone app's (intake.factory); a host app sets up its own
    ProxyFix and TRUSTED_HOSTS.
    Changes to the app's config after this call are not seen.

    It refuses to start without SECRET_KEY (outside debug and testing), with half a set of
    Salesforce credentials or a SALESFORCE_LOGIN_URL that is not https://, and with a
    routing file that does not check out; the error says which key or which line.
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
        settings.check_staff_settings(app)
        settings.check_receipt_settings(app)
        salesforce = load_salesforce_config(app.config)
        from_file = load_routing(app.config["INTAKE_ROUTING_FILE"])  # checked at start
        database = Database.connect(settings.database_url(app))
        state = IntakeState(
            live_routing=LiveRouting(from_file, database.engine),
            database=database,
            salesforce=salesforce,
            limiter=Limiter(
                get_remote_address,
                app=app,
                storage_uri=app.config["INTAKE_RATELIMIT_STORAGE_URI"],
                default_limits=[],
            ),
            channels=delivery_channels(app, salesforce),
        )
        app.extensions["intake"] = state
        # Form posts per address, before anything else is done with them (Flask-Limiter's own
        # check runs before the blueprint's CSRF check).
        state.limiter.shared_limit(
            public_pages.form_rate_limit, scope="intake_public_forms", methods=["POST"]
        )(public_pages.bp)
        if "mail" not in app.extensions:  # a host app may already have Flask-Mail set up
            Mail(app)
        app.teardown_appcontext(close_session)
        for name, template_filter in formats.FILTERS.items():  # dates, phones, numbers
            app.add_template_filter(template_filter, name)
        app.add_template_filter(address_lines, "intake_address")
        i18n.init_app(app)  # Danish, and English on the public pages
        # On our blueprints only: headers and the body limit (before each blueprint's own CSRF
        # check reads the body), request ids and request lines.
        security_headers.init_security(app)
        app.after_request(redirects.relative_slash_redirect_to_own_pages)
        request_log.init_app(app)
        app.logger.addFilter(CONTEXT_FILTER)  # our lines through app.logger carry the ids too
        metrics.init_app(app, state.database)  # checks INTAKE_METRICS_ALLOW

        prefix = app.config["INTAKE_URL_PREFIX"]
        app.register_blueprint(public_pages.bp, url_prefix=prefix)
        app.register_blueprint(endpoints.bp, url_prefix=prefix)
        init_login(app)
        app.register_blueprint(backoffice.bp, url_prefix=(prefix or "") + "/admin")

        app.cli.add_command(
            cli.intake_group(
                routing_cli.routing_cli,
                delivery_cli.worker_command,
                delivery_cli.jobs_cli,
                delivery_cli.crm_cli,
                staff_cli.users_cli,
                privacy_cli.purge_command,
                privacy_cli.person_cli,
            )
        )
