"""Signing in and out of the back office."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from forms.order_actions import ActionForm
from forms.sign_in import LoginForm
from forms.validated import required
from intake import audit
from intake.backoffice.access import Staff, requires
from intake.backoffice.blueprint import bp
from intake.db import get_session
from intake.models import StaffRole
from intake.staff import accounts
from intake.state import current_intake
from intake.text import normalise_email
from intake.web.csrf import shows_form_again

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
    """Where staff land after signing in: the orders waiting to be packed and shipped."""
    return url_for("intake_admin.orders")


def _sign_in_again(notice: str) -> str:
    return render_template("intake/admin/login.html", form=LoginForm(), error=notice)


@bp.route("/login", methods=["GET", "POST"])
@shows_form_again(_sign_in_again)
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
        return render_template("intake/admin/login.html", form=form), 200
    email, password = required(form.email.data, "email"), required(form.password.data, "password")
    session = get_session()
    config = current_app.config
    outcome, user = accounts.sign_in(
        session,
        email,
        password,
        max_failures=config["INTAKE_LOGIN_MAX_FAILURES"],
        lock_minutes=config["INTAKE_LOGIN_LOCK_MINUTES"],
    )
    actor = user.email if user is not None else normalise_email(email)
    audit.record(session, actor, f"sign_in_{outcome.value}", detail=request.remote_addr or "")
    session.commit()
    if outcome is not accounts.SignIn.OK or user is None:
        message = LOCKED if outcome is accounts.SignIn.LOCKED else WRONG
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
def index() -> Response:
    """The back office's address: its first page is the waiting orders."""
    return redirect(home_for(current_user))
