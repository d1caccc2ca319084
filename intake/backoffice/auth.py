"""Signing in and out of the back office."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from forms.staff import ActionForm, LoginForm
from intake import audit, staff
from intake.backoffice import NAVIGATION, Staff, bp, requires
from intake.db import get_session
from intake.extension import current_intake
from intake.models import StaffRole

WRONG = "Forkert e-mail eller adgangskode."
LOCKED = (
    "Kontoen er spærret i et stykke tid efter for mange forkerte forsøg. Prøv igen senere, "
    "eller kontakt BL's IT."
)


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def home_for(user: Staff) -> str:
    return url_for("intake_admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    form = LoginForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(home_for(current_user))
    if request.method == "POST":
        with current_intake().limiter.limit(lambda: current_app.config["INTAKE_LOGIN_RATE_LIMIT"]):
            return _attempt(form)
    return render_template("intake/admin/login.html", form=form)


def _attempt(form: LoginForm) -> Response | str | tuple[str, int]:
    if not form.validate():
        status = (
            400 if getattr(form, "csrf_token", None) is not None and form.csrf_token.errors else 200
        )
        return render_template("intake/admin/login.html", form=form), status
    session = get_session()
    config = current_app.config
    outcome, user = staff.sign_in(
        session,
        form.email.data,
        form.password.data,
        max_failures=config["INTAKE_LOGIN_MAX_FAILURES"],
        lock_minutes=config["INTAKE_LOGIN_LOCK_MINUTES"],
    )
    actor = user.email if user is not None else staff.normalise_email(form.email.data)
    audit.record(session, actor, f"sign_in_{outcome.value}", detail=request.remote_addr or "")
    session.commit()
    if outcome is not staff.SignIn.OK or user is None:
        message = LOCKED if outcome is staff.SignIn.LOCKED else WRONG
        return render_template("intake/admin/login.html", form=form, error=message), 200
    signed_in = Staff(user)
    login_user(signed_in)
    return redirect(safe_next(request.args.get("next")) or home_for(signed_in))


@bp.post("/logout")
def logout() -> Response:
    if ActionForm().validate() and current_user.is_authenticated:
        session = get_session()
        audit.record(session, current_user.email, "sign_out")
        session.commit()
        logout_user()
    return redirect(url_for("intake_admin.login"))


@bp.get("/")
@requires(StaffRole.OFFICE)
def index() -> str:
    return render_template("intake/admin/index.html")


@bp.errorhandler(403)
def forbidden(error: Exception) -> tuple[str, int]:
    return render_template(
        "intake/admin/error.html",
        title="Ingen adgang",
        message="Din rolle giver ikke adgang til denne side.",
    ), 403


@bp.errorhandler(429)
def too_many(error: Exception) -> tuple[str, int]:
    return render_template(
        "intake/admin/error.html",
        title="For mange forsøg",
        message="Der er sendt for mange forsøg fra din adresse. Vent et minut, og prøv igen.",
    ), 429


@bp.context_processor
def admin_context() -> dict[str, object]:
    """The back office's menu (the pages that exist and that the signed-in role may see), and
    `csrf_token()` for the forms behind its action buttons."""
    if not current_user.is_authenticated or not isinstance(current_user, Staff):
        return {"admin_navigation": [], "csrf_token": generate_csrf}
    pages = current_app.view_functions
    navigation = [
        (endpoint, label)
        for endpoint, label, role in NAVIGATION
        if endpoint in pages and current_user.has(role)
    ]
    return {"admin_navigation": navigation, "csrf_token": generate_csrf}
