"""The back office's blueprint: its error pages and its menu. The pages add their routes to it
(one module each, *_pages.py); intake.extension imports them and registers it."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from intake.backoffice.access import Staff, require_sign_in
from intake.labels import STAFF_ROLES
from intake.models import StaffRole
from intake.paths import templates_dir
from intake.web import csrf, error_pages
from intake.web.blueprints import ADMIN
from intake.web.control_characters import ControlCharacters, refuse_control_characters

bp = Blueprint(ADMIN, __name__, template_folder=str(templates_dir()))
error_pages.register(bp)  # 400 (CSRF), 413, 500, 503; the sign-in's own 429 page is below
# In this order: an address with control characters is refused (400) before anything reads it;
# those not signed in go to sign in, whatever they sent; then the CSRF token.
bp.before_request(refuse_control_characters)
bp.before_request(require_sign_in)
bp.before_request(csrf.check)

# The menu: (endpoint, label, the role that may see it); a page appears once it exists.
NAVIGATION: list[tuple[str, str, StaffRole]] = [
    (f"{ADMIN}.orders", "Ordrer", StaffRole.OFFICE),
    (f"{ADMIN}.slips", "Pakkesedler", StaffRole.OFFICE),
    (f"{ADMIN}.catalogue", "Pjecer og lager", StaffRole.OFFICE),
    (f"{ADMIN}.overview", "Overblik", StaffRole.OFFICE),
    (f"{ADMIN}.held_posts", "Tilbageholdte", StaffRole.OFFICE),
    (f"{ADMIN}.deliveries", "Leverancer", StaffRole.ADMIN),
    (f"{ADMIN}.routing", "Routing", StaffRole.ADMIN),
    (f"{ADMIN}.account", "Din konto", StaffRole.OFFICE),
]


def error_page(title: str, message: str, status: int) -> tuple[str, int]:
    """The back office's error page: what went wrong and what to do, with its status."""
    return render_template("intake/admin/error.html", title=title, message=message), status


@bp.errorhandler(403)
def forbidden(error: Exception) -> tuple[str, int]:
    return error_page("Ingen adgang", "Din rolle giver ikke adgang til denne side.", 403)


@bp.errorhandler(ControlCharacters)
def bad_address(error: ControlCharacters) -> tuple[str, int]:
    return error_page("Adressen kan ikke bruges", str(error.description), 400)


@bp.errorhandler(429)
def too_many(error: Exception) -> tuple[str, int]:
    return error_page(
        "For mange forsøg",
        "Der er sendt for mange forsøg fra din adresse. Vent et minut, og prøv igen.",
        429,
    )


@bp.context_processor
def admin_context() -> dict[str, object]:
    """The back office's menu (the pages that exist and that the signed-in role may see),
    `csrf_token()` for the forms behind its action buttons, and the roles' Danish names."""
    shared = {"csrf_token": generate_csrf, "staff_roles": STAFF_ROLES}
    if not current_user.is_authenticated or not isinstance(current_user, Staff):
        return {"admin_navigation": [], **shared}
    pages = current_app.view_functions
    navigation = [
        (endpoint, label)
        for endpoint, label, role in NAVIGATION
        if endpoint in pages and current_user.has(role)
    ]
    return {"admin_navigation": navigation, **shared}
