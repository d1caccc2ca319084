"""Logging in to Salesforce: one OAuth 2.0 token request to SALESFORCE_LOGIN_URL.

simple-salesforce's own login helpers always build `https://<domain>.salesforce.com` URLs
(see ../shared/notes/salesforce.md §2), so a My Domain URL, a sandbox or the local emulator
would be out of reach; we request the token ourselves and hand simple-salesforce the
`instance_url` and access token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import requests

from crm_sync.config import Flow, SalesforceConfig
from crm_sync.errors import CrmRejected, CrmUnavailable


@dataclass(frozen=True)
class Token:
    access_token: str
    instance_url: str


def _jwt_assertion(config: SalesforceConfig) -> str:
    """The signed JWT of the bearer flow (RS256; exp three minutes ahead, as Salesforce asks;
    aud the audience Salesforce requires, not the login URL: see config.default_jwt_audience)."""
    key = Path(config.private_key_file or "").read_bytes()
    claims = {
        "iss": config.client_id,
        "sub": config.username,
        "aud": config.jwt_audience,
        "exp": int(time.time()) + 180,
    }
    return jwt.encode(claims, key, algorithm="RS256")


def request_token(config: SalesforceConfig, session: requests.Session) -> Token:
    url = f"{config.login_url}/services/oauth2/token"
    auth: tuple[str, str] | None = None
    if config.flow is Flow.CLIENT_CREDENTIALS:
        data = {"grant_type": "client_credentials"}
        auth = (config.client_id, config.client_secret or "")
    elif config.flow is Flow.JWT_BEARER:
        data = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": _jwt_assertion(config),
        }
    else:
        data = {
            "grant_type": "password",
            "client_id": config.client_id,
            "client_secret": config.client_secret or "",
            "username": config.username or "",
            "password": f"{config.password or ''}{config.security_token}",
        }
    try:
        response = session.post(url, data=data, auth=auth, timeout=config.timeout_seconds)
    except requests.RequestException as error:
        raise CrmUnavailable(f"Salesforce-login ({url}) kunne ikke nås: {error}") from error
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500:
        raise CrmUnavailable(f"Salesforce-login svarede {response.status_code}")
    if response.status_code != 200 or "access_token" not in body or "instance_url" not in body:
        reason = f"{body.get('error', response.status_code)}: {body.get('error_description', '')}"
        # A refused login is a setting to fix, not a bad lead: keep the jobs (retry) and say so.
        raise CrmUnavailable(
            f"Salesforce afviste login med {config.flow.value} ({reason}); "
            "tjek SALESFORCE_-indstillingerne"
        )
    if not str(body["instance_url"]).startswith("https://"):
        raise CrmRejected(f"Salesforce gav en instance_url uden https: {body['instance_url']}")
    return Token(body["access_token"], body["instance_url"].rstrip("/"))
