"""Every back-office route checks who is asking: signed-out visitors are sent to sign in, the
pamphlet office gets everything but the admin-only pages, an admin gets everything.

The routes are found in the app's url_map, not listed here, so a page added later is checked
too without anyone remembering to add it. Only the admin-only pages are listed, on purpose:
a new page is an office page unless it is named here (or lives under /admin/deliveries/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from intake.backoffice.access import OPEN_TO_ALL
from intake.models import DeliveryJob, Pamphlet, Submission, SubmissionKind
from tests.support.helpers import VALID_HELP, VALID_ORDER, hidden_fields, submit

ADMIN_ONLY_ENDPOINTS = frozenset(
    {
        "intake_admin.deliveries",
        "intake_admin.routing",
        "intake_admin.routing_edit",
        "intake_admin.consultants",
    }
)
ADMIN_ONLY_PREFIX = "/admin/deliveries/"  # and every page under it
NOT_CHECKED = frozenset({"intake_admin.login", "intake_admin.static"})  # open to everyone
LOGOUT = "intake_admin.logout"
# Checked last: they end the session of the signed-in client.
SIGNS_OUT = frozenset({LOGOUT, "intake_admin.sign_out_everywhere"})
OFFICE_ANSWERS = frozenset({200, 302, 303, 400})

_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@dataclass(frozen=True)
class Target:
    endpoint: str
    method: str
    path: str
    admin_only: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.endpoint})"


@pytest.fixture
def values(client: Any, db: Any) -> dict[str, Any]:
    """Real values for path arguments: an order and a start-up request with their jobs."""
    assert submit(client, "/pjecer/", VALID_ORDER).status_code == 303
    assert submit(client, "/opstartshjaelp/", VALID_HELP).status_code == 303
    order = db.scalars(
        select(Submission).where(Submission.kind == SubmissionKind.PAMPHLET_ORDER)
    ).one()
    pamphlet = db.scalars(select(Pamphlet).where(Pamphlet.slug == "kommunesamarbejde")).one()
    job = db.scalars(select(DeliveryJob).order_by(DeliveryJob.id)).first()
    return {
        "reference": order.reference,
        "submission_id": order.id,
        "slug": pamphlet.slug,
        "pamphlet_id": pamphlet.id,
        "job_id": job.id,
        "code": order.municipality_code,
    }


def _value(converter: str | None, name: str, values: dict[str, Any]) -> str:
    if name in values:
        return str(values[name])
    if "job" in name:
        return str(values["job_id"])
    if converter == "int":
        return "1"  # each table of the fresh database has a row 1 by now
    return str(values["reference"])


def targets(app: Flask, values: dict[str, Any]) -> list[Target]:
    """Every back-office rule with a GET or POST, its path filled in; signing out last."""
    found = []
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if not endpoint.startswith("intake_admin.") or endpoint in NOT_CHECKED:
            continue
        path = _ARGUMENT.sub(lambda m: _value(m.group(1), m.group(2), values), rule.rule)
        admin_only = endpoint in ADMIN_ONLY_ENDPOINTS or rule.rule.startswith(ADMIN_ONLY_PREFIX)
        for method in sorted({"GET", "POST"} & (rule.methods or set())):
            found.append(Target(endpoint, method, path, admin_only))
    found.sort(key=lambda t: t.endpoint in SIGNS_OUT)
    checked = {t.endpoint for t in found}
    # Not vacuous: the pages that exist from the start are among them.
    assert {"intake_admin.index", "intake_admin.overview", LOGOUT} <= checked
    return found


def token_from(client: Any, path: str) -> str:
    return hidden_fields(client.get(path).get_data(as_text=True))["csrf_token"]


def ask(client: Any, target: Target, token: str) -> Any:
    if target.method == "GET":
        return client.get(target.path)
    return client.post(target.path, data={"csrf_token": token})


def test_signed_out_visitors_are_sent_to_sign_in(app, values):
    client = app.test_client()
    token = token_from(client, "/admin/login")  # a valid token: the role check must answer
    problems = []
    for target in targets(app, values):
        response = ask(client, target, token)
        location = response.headers.get("Location", "")
        if response.status_code != 302 or not location.startswith("/admin/login"):
            problems.append(f"{target}: {response.status_code} {location}")
    assert problems == []


def test_signed_out_visitors_without_a_token_are_sent_to_sign_in_too(app, values):
    """The sign-in comes before the CSRF check: a post without a token shows no page of the
    back office (not even a form shown again with the refusal), only the way to sign in.
    (The steps of signing in are open to all; they answer a missing token with 400.)"""
    client = app.test_client()
    problems = []
    for target in targets(app, values):
        if target.method != "POST" or target.endpoint in OPEN_TO_ALL:
            continue
        response = client.post(target.path, data={"csrf_token": "forfalsket"})
        location = response.headers.get("Location", "")
        if response.status_code != 302 or not location.startswith("/admin/login"):
            problems.append(f"{target}: {response.status_code} {location}")
    assert problems == []


def _check_signed_in(client: Any, target: Target, response: Any) -> str | None:
    """A redirect to sign in, or a session that a request ended, would hide a wrong answer."""
    if target.endpoint in SIGNS_OUT:
        return None
    if response.headers.get("Location", "").startswith("/admin/login"):
        return f"{target}: sent to sign in although signed in"
    if client.get("/admin/orders/").status_code != 200:
        return f"{target}: the client was signed out by this request"
    return None


def test_the_office_gets_everything_but_the_admin_pages(app, office, values):
    token = token_from(office, "/admin/orders/")
    problems = []
    for target in targets(app, values):
        response = ask(office, target, token)
        expected = {403} if target.admin_only else OFFICE_ANSWERS
        if response.status_code not in expected:
            problems.append(f"{target}: {response.status_code}, expected {sorted(expected)}")
        problems.append(_check_signed_in(office, target, response))
    assert [p for p in problems if p] == []


def test_an_admin_is_never_refused(app, admin, values):
    token = token_from(admin, "/admin/orders/")
    problems = []
    for target in targets(app, values):
        response = ask(admin, target, token)
        if response.status_code == 403 or response.status_code >= 500:
            problems.append(f"{target}: {response.status_code}")
        problems.append(_check_signed_in(admin, target, response))
    assert [p for p in problems if p] == []


def test_only_the_listed_pages_are_admin_only(app, values):
    """The explicit list still names real pages (a renamed endpoint would slip through)."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints >= ADMIN_ONLY_ENDPOINTS
    assert any(t.admin_only for t in targets(app, values))
