"""Who may use the back office: staff sign-in through Flask-Login, and roles.

Roles: `office` (the pamphlet office: orders, catalogue, overview) and `admin` (everything,
deliveries too). Every view is wrapped in `requires(...)`; tests check each route.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, abort, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from werkzeug.wrappers import Response

from intake.db import get_session
from intake.models import StaffRole, StaffUser
from intake.web.blueprints import ADMIN

P = ParamSpec("P")
R = TypeVar("R")

SIGN_IN = f"{ADMIN}.login"
OPEN_TO_ALL = frozenset({SIGN_IN})  # the back office's only page for those not signed in


class Staff(UserMixin):
    """The signed-in staff member, as Flask-Login sees them (a detached copy of the row)."""

    def __init__(self, user: StaffUser) -> None:
        self.id = str(user.id)
        self.email = user.email
        self.role = user.role

    def has(self, *roles: StaffRole) -> bool:
        return self.role is StaffRole.ADMIN or self.role in roles


def requires(*roles: StaffRole) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Signed in, with one of these roles (admin may do everything); else sign-in or 403."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            if not current_user.is_authenticated:
                return redirect(url_for(SIGN_IN, next=request.full_path))
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
    return redirect(url_for(SIGN_IN, next=request.full_path))


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
    """The staff member of a session's user id, while their account is active."""
    if not user_id.isdigit():
        return None
    user = get_session().get(StaffUser, int(user_id))
    return Staff(user) if user is not None and user.active else None
