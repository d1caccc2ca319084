"""The back office under /admin/: staff sign-in (Flask-Login), roles, and the pages.

Roles: `office` (the pamphlet office: orders, catalogue, overview) and `admin` (everything,
deliveries too). Every view is wrapped in `requires(...)`; tests check each route.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user

from intake import error_pages
from intake.db import get_session
from intake.models import StaffRole, StaffUser
from intake.paths import templates_dir

bp = Blueprint("intake_admin", __name__, template_folder=str(templates_dir()))
error_pages.register(bp)  # 413, 500, 503; the sign-in's own 429 page is in auth.py

F = TypeVar("F", bound=Callable[..., Any])

# The menu: (endpoint, label, the role that may see it); a page appears once it exists.
NAVIGATION: list[tuple[str, str, StaffRole]] = [
    ("intake_admin.orders", "Ordrer", StaffRole.OFFICE),
    ("intake_admin.slips", "Pakkesedler", StaffRole.OFFICE),
    ("intake_admin.catalogue", "Pjecer og lager", StaffRole.OFFICE),
    ("intake_admin.overview", "Overblik", StaffRole.OFFICE),
    ("intake_admin.deliveries", "Leverancer", StaffRole.ADMIN),
]


class Staff(UserMixin):
    """The signed-in staff member, as Flask-Login sees them (a detached copy of the row)."""

    def __init__(self, user: StaffUser) -> None:
        self.id = str(user.id)
        self.email = user.email
        self.role = user.role

    def has(self, *roles: StaffRole) -> bool:
        return self.role is StaffRole.ADMIN or self.role in roles


def requires(*roles: StaffRole) -> Callable[[F], F]:
    """Signed in, with one of these roles (admin may do everything); else sign-in or 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("intake_admin.login", next=request.full_path))
            if not current_user.has(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def init_backoffice(app: Flask) -> None:
    """Sign-in for the back office, and its pages under <INTAKE_URL_PREFIX>/admin/.

    A host app that already has its own Flask-Login LoginManager keeps it; BL Intake's staff
    users are then loaded through this one's loader only if the host has none.
    """
    if getattr(app, "login_manager", None) is None:
        manager = LoginManager()
        manager.login_view = "intake_admin.login"
        manager.login_message = "Log ind for at se siden."
        manager.session_protection = "strong"
        manager.init_app(app)

        @manager.user_loader
        def load_user(user_id: str) -> Staff | None:
            if not user_id.isdigit():
                return None
            user = get_session().get(StaffUser, int(user_id))
            return Staff(user) if user is not None and user.active else None

    app.register_blueprint(bp, url_prefix=(app.config["INTAKE_URL_PREFIX"] or "") + "/admin")


# The pages register themselves on `bp` (they import it from here).
from intake.backoffice import auth, catalogue, deliveries, orders, overview  # noqa: E402, F401
