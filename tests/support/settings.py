"""Test settings: the secret, pointing an app at the SMTP sink or the Salesforce emulator, and
what a test does when a real part is missing."""

from __future__ import annotations

import os
from typing import Any

import pytest

TEST_SECRET = "test-secret-key"

# The SALESFORCE_* settings crm_sync.config.load_config reads besides the login, for tests that
# call it without an app.
SALESFORCE_SETTINGS: dict[str, Any] = {
    "SALESFORCE_API_VERSION": "62.0",
    "SALESFORCE_EXTERNAL_ID_FIELD": "X__c",
    "SALESFORCE_LEAD_SOURCE": "Web",
    "SALESFORCE_TASK_DUE_WORKING_DAYS": 3,
    "SALESFORCE_MATCH_CONTACTS": True,
    "SALESFORCE_TIMEOUT_SECONDS": 30,
    "SALESFORCE_BATCH_SIZE": 500,
    "SALESFORCE_CONTACT_INDEX_MINUTES": 15,
    "SALESFORCE_RETRY_MAX_SECONDS": 900,
}


def missing_part(reason: str) -> None:
    """Skip for a real part that is not on this machine; in CI, fail instead."""
    if os.environ.get("INTAKE_REQUIRE_ALL_PARTS") == "1":
        pytest.fail(f"{reason} (INTAKE_REQUIRE_ALL_PARTS=1: every part must be present)")
    pytest.skip(reason)


def send_mail_to(config: dict[str, Any], smtp: Any) -> dict[str, Any]:
    """Point the app's settings at the `smtp` server, with quick retries; for a module's
    `config` fixture: `def config(config, smtp): return send_mail_to(config, smtp)`."""
    config.update(smtp.config())
    config.update(
        INTAKE_RETRY_BASE_SECONDS=0.01,
        INTAKE_RETRY_MAX_SECONDS=0.05,
        INTAKE_SMTP_TIMEOUT_SECONDS=5,
        INTAKE_PUBLIC_URL="https://intake.bl.dk",
    )
    return config


def use_salesforce(config: dict[str, Any], emulator: Any) -> dict[str, Any]:
    """Point the app's Salesforce settings at the emulator (client-credentials flow), with
    quick retries (a fault that may pass is retried for ever, never dead)."""
    config.update(
        SALESFORCE_LOGIN_URL=emulator.url,
        SALESFORCE_CLIENT_ID=emulator.client_id,
        SALESFORCE_CLIENT_SECRET=emulator.client_secret,
        SALESFORCE_CA_BUNDLE=str(emulator.ca_pem_path),
        SALESFORCE_TIMEOUT_SECONDS=5,
        SALESFORCE_RETRY_MAX_SECONDS=0.05,
    )
    return config
