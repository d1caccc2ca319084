"""Every setting BL Intake reads, with its default, in one table (SETTINGS).

Each setting is a Flask config key. A host app sets it in its config; when it is not set
there, the environment variable of the same name is used, and then the default below. The
SALESFORCE_* keys are read by crm_sync.config, the MAIL_* keys by Flask-Mail.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask

# Used only when the app runs in debug mode without a SECRET_KEY (never in production).
DEBUG_ONLY_SECRET_KEY = "intake-debug-only-not-secret"  # noqa: S105


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _optional_str(value: str) -> str | None:
    return value or None


# key: (default, parser for the environment's string value)
SETTINGS: dict[str, tuple[Any, Callable[[str], Any]]] = {
    "INTAKE_DATABASE_URL": (None, _optional_str),  # None: SQLite file in the instance folder
    "INTAKE_ROUTING_FILE": (None, _optional_str),  # None: the routing shipped in the package
    "INTAKE_MIN_FILL_SECONDS": (3.0, float),
    "INTAKE_FORM_MAX_AGE_SECONDS": (24 * 3600, int),  # how long a shown form can be posted
    "INTAKE_MAIL_DIR": (None, _optional_str),  # None: instance/mail/
    "INTAKE_URL_PREFIX": (None, _optional_str),  # public pages and /healthz, e.g. "/bl"
    "INTAKE_HEALTH_MAX_PENDING_AGE_SECONDS": (3600, int),
    # Links in e-mails (the receipt) point here: the site as the public reaches it.
    "INTAKE_PUBLIC_URL": ("http://127.0.0.1:5000", str),
    # The delivery worker (intake.delivery.worker) and its retries (outbox.RetryPolicy)
    "INTAKE_RETRY_BASE_SECONDS": (30.0, float),
    "INTAKE_RETRY_MAX_SECONDS": (3600.0, float),
    "INTAKE_MAX_ATTEMPTS": (8, int),
    "INTAKE_JOB_LEASE_SECONDS": (300.0, float),  # a claimed job is retaken after this
    "INTAKE_WORKER_POLL_SECONDS": (2.0, float),
    "INTAKE_SMTP_TIMEOUT_SECONDS": (30.0, float),
    "INTAKE_SMTP_CA_BUNDLE": (None, _optional_str),  # CA for MAIL_USE_TLS/SSL; None: system's
    # Abuse and framing (intake.web.security_headers, intake.web.error_pages)
    "INTAKE_MAX_BODY_BYTES": (64 * 1024, int),  # larger bodies on our pages answer 413
    "INTAKE_FORM_RATE_LIMIT": ("20 per minute", str),  # public form posts per address; 429
    # Who may put our pages in a frame (CSP frame-ancestors), e.g. "https://bl.dk" for a host
    # page that embeds the forms; None: nobody (frame-ancestors 'none', X-Frame-Options DENY).
    "INTAKE_FRAME_ANCESTORS": (None, _optional_str),
    # The back office (intake.backoffice); the storage serves the form rate limit too
    "INTAKE_RATELIMIT_STORAGE_URI": ("memory://", str),  # e.g. redis://127.0.0.1:6379 in production
    "INTAKE_LOGIN_RATE_LIMIT": ("10 per minute", str),  # sign-in posts per address
    # Failed sign-ins for one account from one address within the minutes after which that
    # address is throttled for that account (intake.staff.attempts); other addresses are not.
    "INTAKE_LOGIN_MAX_FAILURES": (5, int),
    "INTAKE_LOGIN_LOCK_MINUTES": (15.0, float),
    # Staff sessions (intake.staff.sessions) and the second factor (intake.staff.totp):
    # "admin" | "all" | "none"; checked at start (check_staff_settings).
    "INTAKE_STAFF_IDLE_MINUTES": (30.0, float),
    "INTAKE_STAFF_SESSION_HOURS": (12.0, float),
    "INTAKE_REQUIRE_TOTP": ("admin", str),
    # The standalone app behind reverse proxies (intake.web.proxies): how many to trust, and
    # the Host headers it answers (comma-separated, Flask's TRUSTED_HOSTS); None: any.
    "INTAKE_PROXY_FIX": (0, int),
    "INTAKE_TRUSTED_HOSTS": (None, _optional_str),
    "INTAKE_ADMIN_PAGE_SIZE": (50, int),
    # The sender on address labels: its lines separated by commas (or newlines).
    "INTAKE_RETURN_ADDRESS": (
        "BL – Danmarks Almene Boliger, Studiestræde 50, 1554 København V",
        str,
    ),
    # Logs and metrics (intake.observability): JSON lines instead of text (the
    # standalone app and the worker command; a host app keeps its own logging), and who may
    # read /metrics: addresses and networks, comma-separated; "" is nobody. Checked at start.
    "INTAKE_LOG_JSON": (False, _bool),
    "INTAKE_METRICS_ALLOW": ("127.0.0.0/8, ::1", str),
    # Personal data (intake.privacy): `intake purge` anonymises
    # submissions older than this; checked at start (check_retention_days).
    "INTAKE_RETENTION_DAYS": (730, str),
    "INTAKE_PRIVACY_CONTACT_EMAIL": ("info@bl.dk", str),  # named on the privacy page
    # Posts held as likely spam (intake.held) are deleted by `intake purge` after this.
    "INTAKE_HELD_DAYS": (30, str),
    # What the receipts promise (intake.email.context): pamphlets normally sent within this
    # many working days; and the parcel's tracking page ("{parcel}" is replaced), PostNord's.
    "INTAKE_PAMPHLET_SHIPPING_DAYS": (5, str),
    "INTAKE_TRACKING_URL": ("https://tracking.postnord.com/dk/?id={parcel}", str),
    # Salesforce (crm_sync). Which OAuth flow is used follows from which credentials are set;
    # with none, the Salesforce channel is off and its jobs wait (crm_sync.config explains).
    "SALESFORCE_LOGIN_URL": ("https://login.salesforce.com", str),
    "SALESFORCE_CLIENT_ID": (None, _optional_str),
    "SALESFORCE_CLIENT_SECRET": (None, _optional_str),
    "SALESFORCE_USERNAME": (None, _optional_str),
    "SALESFORCE_PRIVATE_KEY_FILE": (None, _optional_str),
    "SALESFORCE_PASSWORD": (None, _optional_str),
    "SALESFORCE_SECURITY_TOKEN": ("", str),
    "SALESFORCE_CA_BUNDLE": (None, _optional_str),  # None: the system's certificates
    # The JWT bearer assertion's aud; None: https://login.salesforce.com, or
    # https://test.salesforce.com for a sandbox login URL (crm_sync.config.default_jwt_audience)
    "SALESFORCE_JWT_AUDIENCE": (None, _optional_str),
    "SALESFORCE_API_VERSION": ("62.0", str),
    "SALESFORCE_EXTERNAL_ID_FIELD": ("Intake_Submission_Id__c", str),
    "SALESFORCE_LEAD_SOURCE": ("Web", str),
    "SALESFORCE_CAMPAIGN_ID": (None, _optional_str),
    # Extra Lead fields, "SalesforceField=source" pairs separated by commas, e.g.
    # "Kommune__c=municipality_name,Kreds__c=kreds" (sources: crm_sync.mapping.SOURCES).
    "SALESFORCE_EXTRA_LEAD_FIELDS": ("", str),
    "SALESFORCE_TASK_DUE_WORKING_DAYS": (3, int),
    "SALESFORCE_MATCH_CONTACTS": (True, _bool),  # an existing Contact gets the task, no lead
    "SALESFORCE_TIMEOUT_SECONDS": (30.0, float),
    "SALESFORCE_BATCH_SIZE": (200, int),  # CRM jobs sent together (sObject Collections: ≤ 200)
    # The contact index (matching without a look-up request) is refreshed from what changed
    # in Salesforce when it is older than this, before a send
    "SALESFORCE_CONTACT_INDEX_MINUTES": (15.0, float),
    # A Salesforce fault that may pass is retried for as long as it lasts, never dead: backoff
    # from INTAKE_RETRY_BASE_SECONDS doubling up to this
    "SALESFORCE_RETRY_MAX_SECONDS": (900.0, float),
    # How often the worker reads the follow-up back from Salesforce (intake.delivery.follow_up):
    # lead Status, IsConverted, task Status; 0: never (`intake crm pull` still does, on demand)
    "INTAKE_CRM_PULL_MINUTES": (60.0, float),
    # Flask-Mail's own settings that BL Intake gives a default (the rest keep Flask-Mail's).
    "MAIL_SERVER": (None, _optional_str),  # None: write .eml files to INTAKE_MAIL_DIR
    "MAIL_PORT": (25, int),
    "MAIL_USE_TLS": (False, _bool),
    "MAIL_USE_SSL": (False, _bool),
    "MAIL_USERNAME": (None, _optional_str),
    "MAIL_PASSWORD": (None, _optional_str),
    "MAIL_DEFAULT_SENDER": ("BL – Danmarks Almene Boliger <noreply@bl.dk>", str),
}


def apply_defaults(app: Flask) -> None:
    """Fill in every INTAKE_* key the app's config does not already hold."""
    for key, (default, parse) in SETTINGS.items():
        if key in app.config:
            continue
        raw = os.environ.get(key)
        app.config[key] = parse(raw) if raw is not None else default
    if not app.config.get("SECRET_KEY") and os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]


INSTANCE_KEY_FILE = "secret_key"  # the file `make run` keeps the key in, in the instance folder


def secret_key_from_instance(app: Flask) -> None:
    """When neither the config nor the environment sets SECRET_KEY, use the one `make run`
    keeps in the instance folder (instance/secret_key), so that the commands work as the README
    writes them in such a checkout. (Called by the standalone app; a host app has its own.)"""
    if app.config.get("SECRET_KEY") or os.environ.get("SECRET_KEY"):
        return
    try:
        with open(os.path.join(app.instance_path, INSTANCE_KEY_FILE), encoding="utf-8") as f:
            key = f.read().strip()
    except FileNotFoundError:
        return
    if key:
        app.config["SECRET_KEY"] = key


def require_secret_key(app: Flask) -> None:
    """Refuse to start without SECRET_KEY, except in debug and testing."""
    if app.config.get("SECRET_KEY"):
        return
    if app.debug or app.testing:
        app.config["SECRET_KEY"] = DEBUG_ONLY_SECRET_KEY
        app.logger.warning("SECRET_KEY is not set; using a debug-only key.")
        return
    raise RuntimeError(
        "SECRET_KEY is not set. BL Intake signs sessions, CSRF tokens and receipt links with it: "
        "set the SECRET_KEY environment variable (or the host app's config) to a long random "
        "value, e.g. from `python -c 'import secrets; print(secrets.token_hex(32))'` (the "
        "standalone app also reads it from instance/secret_key, which `make run` writes)."
    )


def secret_key(app: Flask) -> str | bytes:
    """The key BL Intake signs with. Flask allows None, but init_app has refused to start
    without one (require_secret_key above): None means the app was never set up by it."""
    key = app.secret_key
    if key is None:
        raise RuntimeError("SECRET_KEY is not set: the app was not set up by Intake.init_app")
    return key


def _whole_days(app: Flask, key: str, example: str) -> int:
    """The setting as a whole number of days above 0, stored back as an int; else refuse to
    start, saying what it is for (`example`)."""
    value = app.config[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        days = 0 if isinstance(value, bool | float) else int(str(value).strip())
    except ValueError:
        days = 0
    if days < 1:
        raise RuntimeError(
            f"{key} is {value!r}: it must be a whole number of days above 0, e.g. {example}."
        )
    app.config[key] = days
    return days


def check_retention_days(app: Flask) -> None:
    """INTAKE_RETENTION_DAYS must be a whole number of days above 0; stored as an int."""
    _whole_days(
        app,
        "INTAKE_RETENTION_DAYS",
        "730 (two years), after which `intake purge` anonymises a submission",
    )


def check_receipt_settings(app: Flask) -> None:
    """The days held posts are kept and the receipts promise, and the tracking link: checked at
    start, so that a typo stops the app instead of a receipt saying nonsense."""
    _whole_days(app, "INTAKE_HELD_DAYS", "30, after which `intake purge` deletes a held post")
    _whole_days(
        app,
        "INTAKE_PAMPHLET_SHIPPING_DAYS",
        "5: the receipt says pamphlets are normally sent within that many working days",
    )
    url = str(app.config["INTAKE_TRACKING_URL"])
    if "{parcel}" not in url or not url.startswith(("https://", "http://")):
        raise RuntimeError(
            f"INTAKE_TRACKING_URL is {url!r}: it must be a web address with {{parcel}} where the "
            "parcel number goes, e.g. https://tracking.postnord.com/dk/?id={parcel}."
        )


REQUIRE_TOTP_CHOICES = ("admin", "all", "none")


def check_staff_settings(app: Flask) -> None:
    """The staff sessions' timeouts are above 0, INTAKE_REQUIRE_TOTP is one of its choices
    (stored in lower case), and INTAKE_PROXY_FIX is a whole number from 0."""
    config = app.config
    for key in ("INTAKE_STAFF_IDLE_MINUTES", "INTAKE_STAFF_SESSION_HOURS"):
        if not float(config[key]) > 0:
            raise RuntimeError(f"{key} is {config[key]!r}: it must be above 0.")
    require = str(config["INTAKE_REQUIRE_TOTP"]).strip().lower()
    if require not in REQUIRE_TOTP_CHOICES:
        raise RuntimeError(
            f"INTAKE_REQUIRE_TOTP is {config['INTAKE_REQUIRE_TOTP']!r}: it must be one of "
            f"{', '.join(REQUIRE_TOTP_CHOICES)} (who must sign in with a TOTP code)."
        )
    config["INTAKE_REQUIRE_TOTP"] = require
    proxies = config["INTAKE_PROXY_FIX"]
    if isinstance(proxies, bool) or not isinstance(proxies, int) or proxies < 0:
        raise RuntimeError(
            f"INTAKE_PROXY_FIX is {proxies!r}: it must be the number of reverse proxies in "
            "front of the app (0 when there is none)."
        )


def trusted_hosts(app: Flask) -> list[str] | None:
    """INTAKE_TRUSTED_HOSTS as Flask's TRUSTED_HOSTS: a list of host names, or None (any)."""
    value = app.config["INTAKE_TRUSTED_HOSTS"]
    if not value:
        return None
    hosts = value.split(",") if isinstance(value, str) else list(value)
    return [host.strip() for host in hosts if host.strip()] or None


def database_url(app: Flask) -> str:
    url: str | None = app.config["INTAKE_DATABASE_URL"]
    if url:
        return url
    os.makedirs(app.instance_path, exist_ok=True)
    return "sqlite:///" + os.path.join(app.instance_path, "intake.sqlite3")


def mail_dir(app: Flask) -> str:
    return app.config["INTAKE_MAIL_DIR"] or os.path.join(app.instance_path, "mail")
