"""The Salesforce settings, read once from the app's config, and which login flow they mean.

The SALESFORCE_* keys and their defaults are in BL Intake's one table of settings
(intake.settings); `load_config` expects the config to hold every key.

SALESFORCE_LOGIN_URL must be https://: the token request carries the client secret, the
password or the signed assertion. The JWT bearer assertion's `aud` is not that URL but the
audience Salesforce requires (`default_jwt_audience`), unless SALESFORCE_JWT_AUDIENCE says.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crm_sync.mapping import SOURCES


class Flow(enum.StrEnum):
    CLIENT_CREDENTIALS = "client_credentials"
    JWT_BEARER = "jwt_bearer"
    PASSWORD = "password"  # noqa: S105 - the name of the OAuth grant, not a secret


PRODUCTION_AUDIENCE = "https://login.salesforce.com"
SANDBOX_AUDIENCE = "https://test.salesforce.com"


@dataclass(frozen=True, kw_only=True)
class SalesforceConfig:
    login_url: str
    client_id: str
    flow: Flow
    client_secret: str | None
    username: str | None
    private_key_file: str | None
    password: str | None
    security_token: str
    ca_bundle: str | None
    jwt_audience: str
    api_version: str
    external_id_field: str
    lead_source: str
    campaign_id: str | None
    extra_lead_fields: Mapping[str, str]
    task_due_working_days: int
    match_contacts: bool
    timeout_seconds: float
    batch_size: int
    contact_index_minutes: float
    retry_max_seconds: float


def _flow(config: Mapping[str, Any]) -> Flow | None:
    """Which OAuth flow the credentials ask for; None when none are set.

    client id + private key + username        → JWT bearer (production)
    client id + secret + username + password  → username-password (old orgs)
    client id + secret                        → client credentials (production)
    """
    has = {
        key: bool(config.get(f"SALESFORCE_{key}"))
        for key in ("CLIENT_ID", "CLIENT_SECRET", "USERNAME", "PRIVATE_KEY_FILE", "PASSWORD")
    }
    if not any(has.values()):
        return None
    missing: list[str] = []
    if not has["CLIENT_ID"]:
        missing.append("SALESFORCE_CLIENT_ID")
    if has["PRIVATE_KEY_FILE"]:
        if not has["USERNAME"]:
            missing.append("SALESFORCE_USERNAME")
        flow = Flow.JWT_BEARER
    elif has["PASSWORD"] or has["USERNAME"]:
        missing += [
            f"SALESFORCE_{k}" for k in ("CLIENT_SECRET", "USERNAME", "PASSWORD") if not has[k]
        ]
        flow = Flow.PASSWORD
    else:
        if not has["CLIENT_SECRET"]:
            missing.append("SALESFORCE_CLIENT_SECRET")
        flow = Flow.CLIENT_CREDENTIALS
    if missing:
        raise RuntimeError(
            f"Salesforce is half configured for the {flow.value} flow: set {', '.join(missing)} "
            "(or unset every SALESFORCE_ credential to run without Salesforce)."
        )
    return flow


def parse_extra_fields(raw: str | Mapping[str, str]) -> dict[str, str]:
    """ "Kommune__c=municipality_name,Kreds__c=kreds" (or a dict) → {"Kommune__c": ...}."""
    if isinstance(raw, Mapping):
        return dict(raw)
    pairs = [item.strip() for item in raw.split(",") if item.strip()]
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, source = pair.partition("=")
        if not sep or not name.strip() or not source.strip():
            raise RuntimeError(
                f"SALESFORCE_EXTRA_LEAD_FIELDS: {pair!r} is not 'SalesforceField=source'"
            )
        if source.strip() not in SOURCES:
            raise RuntimeError(
                f"SALESFORCE_EXTRA_LEAD_FIELDS: {source.strip()!r} is not a source; "
                f"choose from {', '.join(sorted(SOURCES))}"
            )
        fields[name.strip()] = source.strip()
    return fields


def is_sandbox(login_url: str) -> bool:
    """test.salesforce.com, or a sandbox's My Domain (name--box.sandbox.my.salesforce.com)."""
    host = (urlsplit(login_url).hostname or "").lower()
    return host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com")


def default_jwt_audience(login_url: str) -> str:
    """The `aud` Salesforce requires of a JWT bearer assertion: https://login.salesforce.com
    for a production org, https://test.salesforce.com for a sandbox, whichever login URL the
    token request goes to (My Domain included); an Experience Cloud site needs its own URL,
    set with SALESFORCE_JWT_AUDIENCE."""
    return SANDBOX_AUDIENCE if is_sandbox(login_url) else PRODUCTION_AUDIENCE


def checked_login_url(value: str) -> str:
    """SALESFORCE_LOGIN_URL without a trailing slash, or RuntimeError unless it is https://."""
    url = str(value).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise RuntimeError(
            f"SALESFORCE_LOGIN_URL is {value!r}: it must be an https:// URL, e.g. "
            "https://login.salesforce.com or your My Domain (https://<name>.my.salesforce.com). "
            "The token request carries the client secret, password or signed assertion, which "
            "must not travel in clear."
        )
    return url


def load_config(config: Mapping[str, Any]) -> SalesforceConfig | None:
    """The Salesforce settings, or None when no credentials are set (Salesforce off)."""
    login_url = checked_login_url(config["SALESFORCE_LOGIN_URL"])
    flow = _flow(config)
    if flow is None:
        return None
    return SalesforceConfig(
        login_url=login_url,
        client_id=config["SALESFORCE_CLIENT_ID"],
        flow=flow,
        client_secret=config.get("SALESFORCE_CLIENT_SECRET"),
        username=config.get("SALESFORCE_USERNAME"),
        private_key_file=config.get("SALESFORCE_PRIVATE_KEY_FILE"),
        password=config.get("SALESFORCE_PASSWORD"),
        security_token=config.get("SALESFORCE_SECURITY_TOKEN") or "",
        ca_bundle=config.get("SALESFORCE_CA_BUNDLE"),
        jwt_audience=(
            str(config.get("SALESFORCE_JWT_AUDIENCE") or "").rstrip("/")
            or default_jwt_audience(login_url)
        ),
        api_version=str(config["SALESFORCE_API_VERSION"]),
        external_id_field=config["SALESFORCE_EXTERNAL_ID_FIELD"],
        lead_source=config["SALESFORCE_LEAD_SOURCE"],
        campaign_id=config.get("SALESFORCE_CAMPAIGN_ID"),
        extra_lead_fields=parse_extra_fields(config.get("SALESFORCE_EXTRA_LEAD_FIELDS") or ""),
        task_due_working_days=int(config["SALESFORCE_TASK_DUE_WORKING_DAYS"]),
        match_contacts=bool(config["SALESFORCE_MATCH_CONTACTS"]),
        timeout_seconds=float(config["SALESFORCE_TIMEOUT_SECONDS"]),
        batch_size=max(1, min(200, int(config["SALESFORCE_BATCH_SIZE"]))),
        contact_index_minutes=float(config["SALESFORCE_CONTACT_INDEX_MINUTES"]),
        retry_max_seconds=float(config["SALESFORCE_RETRY_MAX_SECONDS"]),
    )
