"""`flask --app wsgi intake crm check`: is the Salesforce org ready for our mapping, and can
the settings log in at all?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crm_sync.client import SalesforceClient
from crm_sync.config import (
    PRODUCTION_AUDIENCE,
    SANDBOX_AUDIENCE,
    Flow,
    SalesforceConfig,
    is_sandbox,
)
from crm_sync.errors import CrmError
from crm_sync.mapping import FIELD_LENGTHS, LEAD_FIELDS

TASK_FIELDS = ("Subject", "WhoId", "OwnerId", "ActivityDate", "Status", "Priority", "Description")


@dataclass
class CheckReport:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        verdict = ["Problems: none"] if self.ok else [f"Problems ({len(self.problems)}):"]
        return "\n".join([*self.lines, *verdict, *(f"  - {p}" for p in self.problems)])


def _fields(client: SalesforceClient, sobject: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in client.call("GET", f"sobjects/{sobject}/describe")["fields"]}


GENERIC_LOGIN_HOSTS = ("login.salesforce.com", "test.salesforce.com")


def login_problems(config: SalesforceConfig) -> list[str]:
    """What in the login settings cannot work with the chosen flow, before trying it."""
    host = (urlsplit(config.login_url).hostname or "").lower()
    problems = []
    if config.flow is Flow.CLIENT_CREDENTIALS and host in GENERIC_LOGIN_HOSTS:
        problems.append(
            f"SALESFORCE_LOGIN_URL is {config.login_url}, but the client-credentials flow works "
            "only against the org's My Domain: set it to https://<name>.my.salesforce.com "
            "(a sandbox: https://<name>--<sandbox>.sandbox.my.salesforce.com)"
        )
    if config.flow is Flow.JWT_BEARER:
        audience_host = (urlsplit(config.jwt_audience).hostname or "").lower()
        wanted = SANDBOX_AUDIENCE if is_sandbox(config.login_url) else PRODUCTION_AUDIENCE
        if audience_host.endswith(".salesforce.com") and config.jwt_audience != wanted:
            problems.append(
                f"SALESFORCE_JWT_AUDIENCE is {config.jwt_audience}, but Salesforce wants the "
                f"JWT's aud to be {wanted} for this login URL (an Experience Cloud site's "
                "own URL for a site), never the My Domain or instance URL: unset it"
            )
    return problems


def check(config: SalesforceConfig, client: SalesforceClient) -> CheckReport:
    report = CheckReport()
    audience = f", JWT aud {config.jwt_audience}" if config.flow is Flow.JWT_BEARER else ""
    report.lines.append(f"Login: {config.flow.value} at {config.login_url}{audience}")
    report.problems += login_problems(config)
    try:
        lead = _fields(client, "Lead")
    except CrmError as error:
        report.problems.append(f"Could not log in or describe Lead: {error}")
        return report
    report.lines.append(f"Instance: {client.instance_url} (API v{config.api_version})")

    mapped = {**LEAD_FIELDS, **config.extra_lead_fields}
    report.lines.append("Lead fields:")
    for name, source in mapped.items():
        info = lead.get(name)
        if info is None:
            report.problems.append(f"Lead has no field {name} (mapped from {source})")
            continue
        state = "ok"
        if not (info.get("createable") and info.get("updateable")):
            report.problems.append(f"Lead.{name} cannot be written by this user")
            state = "read-only"
        length = info.get("length") or 0
        if name in FIELD_LENGTHS and 0 < length < FIELD_LENGTHS[name]:
            report.problems.append(
                f"Lead.{name} holds {length} characters; BL Intake cuts at {FIELD_LENGTHS[name]}"
            )
        report.lines.append(f"  {name:<28} ← {source:<18} {state}")

    external = lead.get(config.external_id_field)
    if external is None:
        report.problems.append(
            f"Lead has no field {config.external_id_field} (SALESFORCE_EXTERNAL_ID_FIELD): "
            "create it as a Text field marked 'External ID' and 'Unique'"
        )
    elif not external.get("externalId"):
        report.problems.append(f"Lead.{config.external_id_field} is not marked as an External ID")
    else:
        report.lines.append(f"External id: Lead.{config.external_id_field} ok")

    task = _fields(client, "Task")
    missing = [name for name in TASK_FIELDS if name not in task]
    if missing:
        report.problems.append(f"Task lacks {', '.join(missing)}")
    if config.campaign_id:
        try:
            campaign = client.call("GET", f"sobjects/Campaign/{config.campaign_id}")
            report.lines.append(f"Campaign: {campaign.get('Name', config.campaign_id)}")
        except CrmError as error:
            report.problems.append(f"SALESFORCE_CAMPAIGN_ID {config.campaign_id}: {error}")

    usage = client.api_usage
    report.lines.append(
        f"API usage today: {usage[0]} of {usage[1]} requests" if usage else "API usage: unknown"
    )
    return report
