"""Signing in and out of the back office.

First the e-mail and password (/admin/login). An account that needs a second factor then gives
a code from its authenticator app (/admin/login/code), or, the first time, enrols one
(/admin/login/enrol: a QR code, the secret as text, and recovery codes). Between the steps the
sign-in is half done: a server session that opens no page (intake.staff.sessions).

The session cookie is renewed, with a new CSRF token, at every step that signs in and at
sign-out (access.renew_session). An unknown e-mail, a wrong password and a throttled account
get the same page, status and work (intake.staff.sign_in).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from forms.order_actions import ActionForm
from forms.sign_in import CodeForm, EnrolForm, LoginForm
from forms.validated import required
from intake import audit
from intake.backoffice.access import SERVER_SESSION_KEY, Staff, renew_session, requires
from intake.backoffice.blueprint import bp
from intake.db import get_session
from intake.models import SignInAttempt, SignInOutcome, StaffRole, StaffSession, StaffUser, utcnow
from intake.staff import attempts, recovery_codes, sessions, sign_in, totp
from intake.staff.attempts import Throttle
from intake.state import current_intake
from intake.text import normalise_email
from intake.timefmt import danish_time
from intake.web.control_characters import has_control_characters
from intake.web.csrf import shows_form_again

R = TypeVar("R")

# One answer for an unknown e-mail, a wrong password and a throttled account (ASVS 2.2.1).
NOT_SIGNED_IN = (
    "Forkert e-mail eller adgangskode. Efter flere forkerte forsøg skal du vente lidt, før du "
    "kan prøve igen."
)
WRONG_CODE = (
    "Koden passer ikke. Skriv den kode, appen viser nu: den skifter hvert 30. sekund, og en "
    "kode kan kun bruges én gang."
)
TOO_MANY = "Der har været for mange forkerte forsøg. Vent lidt, og log ind forfra."
START_AGAIN = "Log ind med din e-mail og adgangskode."
SIGNED_OUT = "Du er logget ud."


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host (no open redirect), never a line break
    or another control character (a header cannot carry it)."""
    if not target or has_control_characters(target):
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


def _address() -> str:
    """The client's address: the peer, or what ProxyFix resolved (intake.web.proxies)."""
    return request.remote_addr or ""


def _limited(step: Callable[[], R]) -> R:
    """Sign-in posts per address (INTAKE_LOGIN_RATE_LIMIT): the password's, the code's and
    the enrolment's together (one `with`, so one count)."""
    with current_intake().limiter.limit(lambda: current_app.config["INTAKE_LOGIN_RATE_LIMIT"]):
        return step()


def _sign_in_page(form: LoginForm | None = None, error: str | None = None) -> str:
    return render_template("intake/admin/login.html", form=form or LoginForm(), error=error)


def _sign_in_again(notice: str) -> str:
    return _sign_in_page(error=notice)


def _start_again() -> Response:
    flash(START_AGAIN)
    return redirect(url_for(".login", next=safe_next(request.args.get("next"))))


@bp.route("/login", methods=["GET", "POST"])
@shows_form_again(_sign_in_again)
def login() -> Response | str | tuple[str, int]:
    form = LoginForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(home_for(current_user))
    if request.method == "POST":
        return _limited(lambda: _password(form))
    return _sign_in_page(form)


def _password(form: LoginForm) -> Response | tuple[str, int]:
    if not form.validate():
        return _sign_in_page(form), 200
    email, password = required(form.email.data, "email"), required(form.password.data, "password")
    db = get_session()
    config = current_app.config
    now = utcnow()
    throttle = Throttle.from_config(config)
    outcome, user = sign_in.check_password(db, email, password, _address(), now, throttle)
    if user is None:
        audit.record(db, normalise_email(email), f"sign_in_{outcome.value}", detail=_address())
        db.commit()
        return _sign_in_page(form, NOT_SIGNED_IN), 200
    next_page = safe_next(request.args.get("next"))
    if not totp.needs_second_factor(user, config["INTAKE_REQUIRE_TOTP"]):
        _open_session(db, user, now, second_factor=False)
        return redirect(next_page or home_for(current_user))
    renew_session()
    token, _ = sessions.start(
        db, user, now, signed_in=False, address=_address(), user_agent=_user_agent()
    )
    db.commit()
    session[SERVER_SESSION_KEY] = token
    second_step = ".login_code" if user.totp_secret is not None else ".login_enrol"
    return redirect(url_for(second_step, next=next_page))


def _user_agent() -> str:
    return request.user_agent.string or ""


def _open_session(db: Session, user: StaffUser, now: datetime, *, second_factor: bool) -> None:
    """Sign in: a new session cookie holding a new server session (a half-done sign-in's ends
    here), and a word about the tries on the account that failed since it last signed in."""
    failures = attempts.failed(db, user.email, since=user.last_login_at)
    sessions.end(db, session.get(SERVER_SESSION_KEY))
    sessions.delete_expired(db, now, sessions.Limits.from_config(current_app.config), user)
    token, row = sessions.start(
        db,
        user,
        now,
        signed_in=True,
        second_factor=second_factor,
        address=_address(),
        user_agent=_user_agent(),
    )
    user.last_login_at = now
    audit.record(db, user.email, "sign_in_ok", detail=_address())
    db.commit()
    renew_session()
    session[SERVER_SESSION_KEY] = token
    login_user(Staff(user, row.id))
    if failures:
        flash(failures_notice(failures))


def failures_notice(failures: list[SignInAttempt]) -> str:
    latest = failures[0]
    count = "1 mislykket forsøg" if len(failures) == 1 else f"{len(failures)} mislykkede forsøg"
    where = f" fra {latest.address}" if latest.address else ""
    return (
        f"Siden du sidst loggede ind, har der været {count} på at logge ind med din e-mail, "
        f"senest {danish_time(latest.at)}{where}. Se dem under Din konto."
    )


# --- The second factor ---------------------------------------------------------------------


def _pending() -> StaffSession | None:
    return sessions.pending(get_session(), session.get(SERVER_SESSION_KEY), utcnow())


def _code_page(form: CodeForm | None = None, error: str | None = None) -> str:
    return render_template("intake/admin/login_code.html", form=form or CodeForm(), error=error)


def _code_again(notice: str) -> str:
    return _code_page(error=notice)


@bp.route("/login/code", methods=["GET", "POST"])
@shows_form_again(_code_again)
def login_code() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    pending = _pending()
    if pending is None or pending.user.totp_secret is None:
        return _start_again()
    form = CodeForm()
    if request.method == "POST":
        return _limited(lambda: _code(form, pending))
    return _code_page(form)


def _code(form: CodeForm, pending: StaffSession) -> Response | tuple[str, int]:
    if not form.validate():
        return _code_page(form), 200
    db = get_session()
    now = utcnow()
    throttle = Throttle.from_config(current_app.config)
    code = required(form.code.data, "code")
    check = sign_in.check_code(db, pending, code, _address(), now, throttle)
    if check.outcome is not SignInOutcome.OK:
        return _refused(db, pending, check.outcome, throttle, lambda: _code_page(form, WRONG_CODE))
    user = pending.user
    _open_session(db, user, now, second_factor=True)
    if check.recovery_code_used:
        left = recovery_codes.left(db, user)
        flash(
            f"Du loggede ind med en gendannelseskode; den kan ikke bruges igen. Du har {left} "
            "tilbage. Lav nye under Din konto, hvis du har mistet telefonen."
        )
    return redirect(safe_next(request.args.get("next")) or home_for(current_user))


def _refused(
    db: Session,
    pending: StaffSession,
    outcome: SignInOutcome,
    throttle: Throttle,
    again: Callable[[], str],
) -> tuple[str, int]:
    """A wrong code: the same step again, or, after too many, the sign-in from the start."""
    audit.record(db, pending.user.email, f"sign_in_{outcome.value}", detail=_address())
    if outcome is SignInOutcome.THROTTLED or pending.wrong_codes >= throttle.max_failures:
        db.delete(pending)
        db.commit()
        renew_session()
        return _sign_in_page(error=TOO_MANY), 200
    db.commit()
    return again(), 200


# --- Enrolling an authenticator app ----------------------------------------------------------


def _enrol_page(
    pending: StaffSession, form: EnrolForm | None = None, error: str | None = None
) -> str:
    secret = pending.enrol_secret or ""
    uri = totp.provisioning_uri(secret, pending.user.email)
    return render_template(
        "intake/admin/enrol.html",
        form=form or EnrolForm(),
        error=error,
        qr=totp.qr_svg(uri),
        secret=totp.grouped(secret),
        email=pending.user.email,
        issuer=totp.ISSUER,
    )


def _enrol_again(notice: str) -> str:
    pending = _pending()
    if pending is None or pending.enrol_secret is None:
        return _sign_in_page(error=notice)
    return _enrol_page(pending, error=notice)


@bp.route("/login/enrol", methods=["GET", "POST"])
@shows_form_again(_enrol_again)
def login_enrol() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    pending = _pending()
    if pending is None or pending.user.totp_secret is not None:
        return _start_again()
    if pending.enrol_secret is None:  # one secret per half-done sign-in, shown until it is used
        pending.enrol_secret = totp.new_secret()
        get_session().commit()
    form = EnrolForm()
    if request.method == "POST":
        return _limited(lambda: _enrol(form, pending))
    return _enrol_page(pending, form)


def _enrol(form: EnrolForm, pending: StaffSession) -> str | tuple[str, int]:
    if not form.validate():
        return _enrol_page(pending, form), 200
    db = get_session()
    now = utcnow()
    throttle = Throttle.from_config(current_app.config)
    code = required(form.code.data, "code")
    check = sign_in.check_enrolment(db, pending, code, _address(), now, throttle)
    if check.outcome is not SignInOutcome.OK:
        return _refused(
            db, pending, check.outcome, throttle, lambda: _enrol_page(pending, form, WRONG_CODE)
        )
    user = pending.user
    codes = recovery_codes.replace(db, user)
    audit.record(db, user.email, "totp_enrolled", detail=_address())
    _open_session(db, user, now, second_factor=True)
    return render_template(
        "intake/admin/recovery_codes.html",
        codes=codes,
        enrolled=True,
        continue_to=safe_next(request.args.get("next")) or home_for(current_user),
    )


# --- Signing out ---------------------------------------------------------------------------


@bp.post("/logout")
def logout() -> Response:
    if ActionForm().validate() and current_user.is_authenticated:
        db = get_session()
        sessions.end(db, session.get(SERVER_SESSION_KEY))
        audit.record(db, current_user.email, "sign_out", detail=_address())
        db.commit()
        logout_user()
        renew_session()
        flash(SIGNED_OUT)
    return redirect(url_for("intake_admin.login"))


@bp.get("/")
@requires(StaffRole.OFFICE)
def index() -> Response:
    """The back office's address: its first page is the waiting orders."""
    return redirect(home_for(current_user))
