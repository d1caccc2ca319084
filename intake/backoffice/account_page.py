"""/admin/account: the signed-in staff member's own account. Where they are signed in, the
tries on their e-mail that failed, their second factor; signing out everywhere, new recovery
codes."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from intake import audit
from intake.backoffice.access import renew_session, requires
from intake.backoffice.blueprint import bp
from intake.db import get_session
from intake.labels import SIGN_IN_OUTCOMES
from intake.models import StaffRole, StaffUser, utcnow
from intake.staff import attempts, recovery_codes, sessions, totp


def _signed_in_user() -> StaffUser:
    user = get_session().get(StaffUser, int(current_user.id))
    if user is None:  # deleted while signed in: load_staff would not have let them in
        abort(403)
    return user


@bp.get("/account")
@requires(StaffRole.OFFICE)
def account() -> str:
    db = get_session()
    user = _signed_in_user()
    now = utcnow()
    config = current_app.config
    return render_template(
        "intake/admin/account.html",
        user=user,
        sessions=sessions.active(db, user, now, sessions.Limits.from_config(config)),
        this_session=current_user.session_id,
        failures=attempts.failed(db, user.email, since=now - timedelta(days=attempts.SHOWN_DAYS)),
        shown_days=attempts.SHOWN_DAYS,
        outcomes=SIGN_IN_OUTCOMES,
        totp_required=totp.required_for(user.role, config["INTAKE_REQUIRE_TOTP"]),
        codes_left=recovery_codes.left(db, user) if user.totp_secret else 0,
    )


@bp.post("/account/sign-out-everywhere")
@requires(StaffRole.OFFICE)
def sign_out_everywhere() -> Response:
    db = get_session()
    user = _signed_in_user()
    ended = sessions.end_all(db, user)
    audit.record(db, user.email, "signed_out_everywhere", detail=f"{ended} session(s)")
    db.commit()
    logout_user()
    renew_session()
    flash("Du er logget ud alle steder, også her.")
    return redirect(url_for(".login"))


@bp.post("/account/recovery-codes")
@requires(StaffRole.OFFICE)
def new_recovery_codes() -> Response | str:
    db = get_session()
    user = _signed_in_user()
    if user.totp_secret is None:
        flash("Du har ikke totrinsbekræftelse slået til, så der er ingen gendannelseskoder.")
        return redirect(url_for(".account"))
    codes = recovery_codes.replace(db, user)
    audit.record(db, user.email, "recovery_codes_replaced")
    db.commit()
    return render_template(
        "intake/admin/recovery_codes.html",
        codes=codes,
        enrolled=False,
        continue_to=url_for(".account"),
    )
