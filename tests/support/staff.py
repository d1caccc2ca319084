"""Staff accounts for tests, and signing in through the real pages: the password form, then a
real TOTP code (pyotp) where the account has an authenticator app, or enrolling one."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import pyotp
from flask import Flask

from intake.staff import accounts
from tests.support.helpers import hidden_fields

STAFF_PASSWORD = "et-langt-kodeord-med-æøå"
OFFICE_EMAIL = "bwj@bl.dk"
ADMIN_EMAIL = "it@bl.dk"

CODE_PAGE = "/admin/login/code"
ENROL_PAGE = "/admin/login/enrol"
_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)</code>')


def sign_in(client: Any, email: str, password: str = STAFF_PASSWORD, **query: str) -> Any:
    """Sign in through the real form (with its CSRF token); where the next page asks for the
    authenticator's code, give it one. Returns the last POST's response: for an account that
    has yet to enrol an authenticator, the password's (a redirect to /admin/login/enrol)."""
    page = client.get("/admin/login")
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    path = "/admin/login" + (f"?next={query['next']}" if "next" in query else "")
    response = client.post(path, data={"csrf_token": token, "email": email, "password": password})
    location = response.headers.get("Location", "")
    if response.status_code == 302 and location.startswith(CODE_PAGE):
        return post_code(client, location, authenticator_code(client.application, email))
    return response


def post_code(client: Any, path: str, code: str) -> Any:
    """The second step's form, posted with `code`."""
    page = client.get(path)
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    return client.post(path, data={"csrf_token": token, "code": code})


def authenticator_code(app: Flask, email: str) -> str:
    """What the account's authenticator app shows now: a code (pyotp) for its secret.

    A code is taken once per 30-second step, and the app accepts one step either side of now;
    so this gives a step the account has not used yet, waiting for the next step when the
    three around now are used (three sign-ins of one account within 30 seconds)."""
    with app.extensions["intake"].database.sessionmaker() as session:
        user = accounts.find(session, email)
        assert user is not None and user.totp_secret is not None, email
        secret, last = user.totp_secret, user.totp_last_step
    totp = pyotp.TOTP(secret)
    while True:
        now = time.time()
        current = totp.timecode(datetime.fromtimestamp(now, UTC))
        left_in_step = totp.interval - now % totp.interval
        # The step before now only while the server cannot move on two steps before it checks.
        steps = ([current - 1] if left_in_step > 10 else []) + [current, current + 1]
        for step in steps:
            if last is None or step > last:
                return totp.generate_otp(step)
        time.sleep(left_in_step + 0.2)


def secret_on(page_html: str) -> str:
    """The secret the enrolment page shows as text (what a person types into the app)."""
    found = _SECRET.search(page_html)
    assert found is not None, "no secret on the enrolment page"
    return found.group(1).replace(" ", "")


def enrol(client: Any, path: str = ENROL_PAGE) -> tuple[Any, str]:
    """Enrol an authenticator through the real page: read the secret it shows, answer with
    the app's code. Returns the POST's response (the recovery codes) and the secret."""
    page = client.get(path)
    html = page.get_data(as_text=True)
    secret = secret_on(html)
    token = hidden_fields(html)["csrf_token"]
    response = client.post(path, data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    return response, secret
