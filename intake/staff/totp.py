"""The second factor: TOTP codes (RFC 6238, through pyotp) from an authenticator app.

Codes are six digits for a 30-second time step; one step either side is accepted for a phone
whose clock is a little off. A code is taken once: the account keeps the last step it accepted
and refuses that step and earlier ones (RFC 6238 section 5.2), with a conditional UPDATE so that
two requests racing with the same code cannot both get in.

Who must use it is INTAKE_REQUIRE_TOTP: `admin` (the default), `all` or `none`; an account that
has enrolled uses it whatever the setting.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from intake.db import rows_matched
from intake.models import StaffRole, StaffUser

ISSUER = "BL Intake"  # the name the authenticator app shows beside the code
DIGITS = 6
VALID_WINDOW = 1  # steps either side of now


def required_for(role: StaffRole, setting: str) -> bool:
    """Whether INTAKE_REQUIRE_TOTP (`setting`) makes this role sign in with a code."""
    return setting == "all" or (setting == "admin" and role is StaffRole.ADMIN)


def needs_second_factor(user: StaffUser, setting: str) -> bool:
    return user.totp_secret is not None or required_for(user.role, setting)


def new_secret() -> str:
    """160 random bits, base32: what the authenticator app is given."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI that the QR code carries."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The URI as a QR code, an inline SVG drawn here (no request to another site, no
    script, no style attribute: the page's CSP allows neither)."""
    qr = segno.make(uri, error="m", micro=False)
    svg = qr.svg_inline(scale=5, light="#fff", svgclass="qr-code", lineclass=None)
    return Markup(svg)  # noqa: S704 - segno's own SVG of our own URI: only path data, no text


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app: "ABCD EFGH …"."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def looks_like_code(text: str) -> bool:
    return len(text) == DIGITS and text.isascii() and text.isdigit()


def accepted_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step `code` is right for, around `now` and later than step `after`; or None."""
    if not looks_like_code(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def use_code(session: Session, user: StaffUser, code: str, now: datetime) -> bool:
    """Whether `code` is the account's, for a step not used before; that step is then used."""
    if user.totp_secret is None:
        return False
    step = accepted_step(user.totp_secret, code, now, user.totp_last_step)
    if step is None:
        return False
    taken = rows_matched(
        session,
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step),
    )
    return taken == 1


def enable(user: StaffUser, secret: str, code: str, now: datetime) -> bool:
    """Enrol the authenticator holding `secret`, if `code` comes from it (the caller commits)."""
    step = accepted_step(secret, code, now, None)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_last_step = step
    user.totp_enabled_at = now
    return True


def disable(user: StaffUser) -> None:
    """Forget the authenticator (the caller deletes the recovery codes and ends sessions)."""
    user.totp_secret = None
    user.totp_last_step = None
    user.totp_enabled_at = None
