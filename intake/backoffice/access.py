"""Who may use the back office: staff sign-in through Flask-Login, and roles.

Roles: `office` (the pamphlet office: orders, catalogue, overview) and `admin` (everything,
deliveries too). Every view is wrapped in `requires(...)`; tests check each route.

Flask-Login keeps the user id in the (signed) session cookie; that alone opens nothing. The
cookie also holds the token of a session kept on the server (intake.staff.sessions), and
`load_staff` lets the user in only while that session is good: not ended, not idle too long,
not too old, the account active, and signed in with a second factor when the account needs one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user
from werkzeug.wrappers import Response

from intake.db import get_session
from intake.models import StaffRole, StaffUser, utcnow
from intake.staff import sessions, totp
from intake.state import current_intake
from intake.web.blueprints import ADMIN

P = ParamSpec("P")
R = TypeVar("R")

SIGN_IN = f"{ADMIN}.login"
# The back office's pages for those not signed in: the password, then the second factor.
OPEN_TO_ALL = frozenset({SIGN_IN, f"{ADMIN}.login_code", f"{ADMIN}.login_enrol"})
SERVER_SESSION_KEY = "intake_staff_session"  # in the session cookie: the server session's token
ENDED = "Du er blevet logget ud. Log ind igen for at fortsætte."


class Staff(UserMixin):
    """The signed-in staff member, as Flask-Login sees them (a detached copy of the row)."""

    def __init__(self, user: StaffUser, session_id: int) -> None:
        self.id = str(user.id)
        self.email = user.email
        self.role = user.role
        self.session_id = session_id  # the row in intake_staff_sessions

    def has(self, *roles: StaffRole) -> bool:
        return self.role is StaffRole.ADMIN or self.role in roles


def requires(*roles: StaffRole) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Signed in, with one of these roles (admin may do everything); else sign-in or 403."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            if not current_user.is_authenticated:
                return to_sign_in()
            if not current_user.has(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def require_sign_in() -> Response | None:
    """Before every back-office view but sign-in: a signed-in staff member, or off to sign in.
    (Which role may do what is each view's `requires`.)"""
    if request.endpoint in OPEN_TO_ALL or current_user.is_authenticated:
        return None
    return to_sign_in()


def to_sign_in() -> Response:
    """Off to sign in, and back here afterwards; saying so when a session has just ended."""
    if "_user_id" in session and SERVER_SESSION_KEY in session:
        renew_session()  # what is left of the ended session goes
        flash(ENDED)
    # full_path ends in "?" when there is no query string: back to the page as it was asked for.
    return redirect(url_for(SIGN_IN, next=request.full_path.removesuffix("?")))


def renew_session() -> None:
    """A new session cookie, with nothing of the old one: no user, no server session token,
    and a new CSRF token (OWASP ASVS 3.2.1). At every sign-in and sign-out."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # its cached copy


def init_login(app: Flask) -> None:
    """Flask-Login for the back office.

    A host app that already has its own Flask-Login LoginManager keeps it; its user loader
    must then also load BL Intake's staff users (`load_staff`).
    """
    if getattr(app, "login_manager", None) is not None:
        return
    manager = LoginManager()
    manager.login_view = SIGN_IN
    manager.login_message = "Log ind for at se siden."
    manager.session_protection = "strong"
    manager.init_app(app)
    manager.user_loader(load_staff)


def load_staff(user_id: str) -> Staff | None:
    """The staff member of a session's user id, while its server session is good."""
    if not user_id.isdigit():
        return None
    config = current_app.config
    now = utcnow()
    row = sessions.signed_in(
        get_session(), session.get(SERVER_SESSION_KEY), now, sessions.Limits.from_config(config)
    )
    if row is None or row.user_id != int(user_id) or not row.user.active:
        return None
    # A password alone never opens a page to an account that must use a second factor, even
    # if the setting changed while it was signed in.
    if not row.second_factor and totp.needs_second_factor(row.user, config["INTAKE_REQUIRE_TOTP"]):
        return None
    sessions.touch(current_intake().database, row, now)
    return Staff(row.user, row.id)
