"""The back office: acting on the orders selected on the list, all at once.

The list is one form with a checkbox per order (`reference`) and a button per action:

- pack: mark the selected orders packed;
- print: their packing slips (slip_pages.py);
- print_and_pack: mark them packed, then their packing slips, in one step;
- ship: a page with a note field for each (a parcel number, or nothing), then ship them.

Nothing selected, or an unknown action, changes nothing and says so. Each order changes on
its own (intake.order_batch): one changed by someone else meanwhile is reported and left.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from forms.order_actions import note_field, ship_selection_form
from intake import order_batch
from intake.backoffice import order_search
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp
from intake.db import get_session
from intake.labels import ORDER_STATUSES
from intake.models import WAITING_ORDER, StaffRole, Submission
from intake.web.csrf import shows_form_again

NOTHING_SELECTED = "Vælg en eller flere ordrer i listen først (sæt flueben ud for dem)."
MAX_SELECTED = 500

PACKED = ("markeret som pakket", "markeret som pakkede")
SHIPPED = (
    "markeret som afsendt, og bestilleren får en e-mail om, at pjecerne er på vej",
    "markeret som afsendte, og hver bestiller får en e-mail om, at pjecerne er på vej",
)


def selected_references() -> list[str]:
    """The references posted or asked for (?reference=… / reference=…), each once."""
    values = request.values.getlist("reference")[:MAX_SELECTED]
    return list(dict.fromkeys(value.strip().upper() for value in values if value.strip()))


def back_to_list() -> str:
    """Where the list was (its filters and page), from the form's `back`; else what waits."""
    target = request.form.get("back", "")
    orders_path = url_for("intake_admin.orders")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path != orders_path:
        return orders_path
    return target


@bp.post("/orders/selection")
@requires(StaffRole.OFFICE)
def orders_selection() -> Response:
    references = selected_references()
    action = request.form.get("action", "")
    if not references:
        flash(NOTHING_SELECTED)
        return redirect(back_to_list(), code=303)
    if action == "print":
        return redirect(url_for("intake_admin.slips", reference=references), code=303)
    if action == "ship":
        return redirect(url_for("intake_admin.ship_selection", reference=references), code=303)
    if action not in {"pack", "print_and_pack"}:
        flash("Vælg en handling med en af knapperne under listen.")
        return redirect(back_to_list(), code=303)

    session = get_session()
    chosen = order_search.orders_by_reference(session, references)
    outcome = order_batch.pack_all(session, chosen, current_user.email)
    for message in outcome.messages(*PACKED):
        flash(message)
    if action == "print_and_pack":
        return redirect(url_for("intake_admin.slips", reference=references), code=303)
    return redirect(back_to_list(), code=303)


def _ship_page(
    chosen: list[Submission], form: object, status: int = 200, notice: str | None = None
) -> tuple[str, int]:
    html = render_template(
        "intake/admin/ship_selection.html",
        orders=chosen,
        form=form,
        note_field=note_field,
        labels=ORDER_STATUSES,
        waiting=WAITING_ORDER,
        notice=notice,
    )
    return html, status


def _ship_again(notice: str) -> str:
    """The page as posted (its notes kept), with the refusal on top, after a refused CSRF
    token: nothing was shipped."""
    chosen = order_search.orders_by_reference(get_session(), selected_references())
    form = ship_selection_form([order.reference for order in chosen])()
    return _ship_page(chosen, form, 400, notice)[0]


@bp.route("/orders/ship", methods=["GET", "POST"])
@requires(StaffRole.OFFICE)
@shows_form_again(_ship_again)
def ship_selection() -> Response | tuple[str, int]:
    """The selected orders, each with a note field; shipping them all in one press."""
    session = get_session()
    chosen = order_search.orders_by_reference(session, selected_references())
    if not chosen:
        flash(NOTHING_SELECTED)
        return redirect(url_for("intake_admin.orders"), code=303)
    form = ship_selection_form([order.reference for order in chosen])()
    if request.method == "GET" or not form.validate():
        return _ship_page(chosen, form)
    outcome = order_batch.ship_all(
        session, [(order, form.note_for(order.reference)) for order in chosen], current_user.email
    )
    for message in outcome.messages(*SHIPPED):
        flash(message)
    return redirect(url_for("intake_admin.orders"), code=303)
