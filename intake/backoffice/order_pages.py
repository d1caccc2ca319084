"""The back office's order pages: the list, one order and its actions, the CSV.

The life cycle itself (what may follow what, stock, the e-mail) lives in intake.order_lifecycle;
these views only read the request and say in Danish what happened (the CSRF token is checked
before they run, intake.web.csrf).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from forms.order_actions import CancelForm, ShipForm
from intake import order_lifecycle as orders
from intake.backoffice import order_csv, order_search
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp
from intake.backoffice.follow_up_view import follow_up_for
from intake.db import get_session
from intake.labels import AUDIT_ACTIONS, ORDER_STATUSES
from intake.models import StaffRole, Submission
from intake.timefmt import DANISH_TIME


def list_filters() -> order_search.Filters:
    """The list's ?status=, ?received=today and ?q=. Without a status the list shows what
    waits, and a search looks through every order; an unknown status is taken as none."""
    # q in NFC, as the forms store text: an "å" typed as "a" + ring finds the stored "å".
    q = unicodedata.normalize("NFC", request.args.get("q", "")).strip()[:200]
    asked = request.args.get("status", "").strip()
    status = asked if asked in order_search.KNOWN_STATUSES else ""
    return order_search.Filters(
        status=status or (order_search.EVERY if q else order_search.DEFAULT_STATUS),
        today=request.args.get("received") == order_search.TODAY,
        q=q,
    )


def list_url(filters: order_search.Filters, **changes: Any) -> str:
    """The order list with these filters (and any changed), for links and redirects."""
    values: dict[str, Any] = {
        "status": filters.status,
        "received": order_search.TODAY if filters.today else None,
        "q": filters.q or None,
    }
    values.update(changes)
    return url_for("intake_admin.orders", **values)


@bp.get("/orders/", endpoint="orders")
@requires(StaffRole.OFFICE)
def orders_list() -> str:
    filters = list_filters()
    session = get_session()
    found = order_search.search_orders(
        session,
        filters,
        page=request.args.get("page", 1, type=int) or 1,
        page_size=max(1, int(current_app.config["INTAKE_ADMIN_PAGE_SIZE"])),
    )
    return render_template(
        "intake/admin/orders.html",
        found=found,
        filters=filters,
        status_filters=order_search.STATUS_FILTERS,
        counts=order_search.filter_counts(session, filters),
        labels=ORDER_STATUSES,
        total_quantity=orders.total_quantity,
        list_url=list_url,
        today=order_search.TODAY,
    )


@bp.get("/orders/<reference>")
@requires(StaffRole.OFFICE)
def order(reference: str) -> str:
    session = get_session()
    found = _order_or_404(reference)
    return render_template(
        "intake/admin/order.html",
        order=found,
        labels=ORDER_STATUSES,
        action_labels=AUDIT_ACTIONS,
        history=orders.history(session, found),
        shipped_email=orders.shipped_email(session, found),
        possible={status.value for status in orders.possible(found)},
        ship_form=ShipForm(formdata=None),
        cancel_form=CancelForm(formdata=None),
        total_quantity=orders.total_quantity(found),
        admin_role=StaffRole.ADMIN,
        follow_up=follow_up_for(found),
    )


@bp.post("/orders/<reference>/pack")
@requires(StaffRole.OFFICE)
def order_pack(reference: str) -> Response | tuple[str, int]:
    found = _order_or_404(reference)
    return _apply(
        found,
        lambda: orders.mark_packed(get_session(), found, current_user.email),
        f"Ordren {found.reference} er markeret som pakket.",
    )


@bp.post("/orders/<reference>/ship")
@requires(StaffRole.OFFICE)
def order_ship(reference: str) -> Response | tuple[str, int]:
    found = _order_or_404(reference)
    form = ShipForm()
    if not form.validate():
        return _back(found, *_messages(form))
    note, parcel = form.note.data or "", form.parcel.data or ""
    try:
        shipped = orders.mark_shipped(get_session(), found, current_user.email, note, parcel)
    except orders.OrderError as error:
        return _back(found, str(error))
    messages = [
        f"Ordren {found.reference} er markeret som afsendt. Bestilleren får en e-mail om, "
        "at pjecerne er på vej."
    ]
    messages += [
        f"Bemærk: Der var kun {short.in_stock} stk. af »{short.title}« på lager, men der er "
        f"sendt {short.shipped}. Lageret er sat til 0 – tjek det."
        for short in shipped.shortages
    ]
    return _back(found, *messages)


@bp.post("/orders/<reference>/cancel")
@requires(StaffRole.OFFICE)
def order_cancel(reference: str) -> Response | tuple[str, int]:
    found = _order_or_404(reference)
    form = CancelForm()
    if not form.validate():
        return _back(found, *_messages(form))
    return _apply(
        found,
        lambda: orders.mark_cancelled(
            get_session(), found, current_user.email, form.reason.data or ""
        ),
        f"Ordren {found.reference} er annulleret. Bestilleren får en e-mail med begrundelsen.",
    )


@bp.get("/orders.csv")
@requires(StaffRole.OFFICE)
def orders_csv() -> Response:
    """Every order that matches the list's filters (all pages), for Excel."""
    body = order_csv.orders_csv(order_search.all_matching(get_session(), list_filters()))
    filename = order_csv.csv_filename(datetime.now(DANISH_TIME))
    response = current_app.response_class(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


# -- Helpers --------------------------------------------------------------------------------


def _order_or_404(reference: str) -> Submission:
    found = orders.find_order(get_session(), reference)
    if found is None:
        abort(404)
    return found


def _messages(form: FlaskForm) -> list[str]:
    return [message for errors in form.errors.values() for message in errors]


def _apply(found: Submission, change: Callable[[], object], done: str) -> Response:
    try:
        change()
    except orders.OrderError as error:
        return _back(found, str(error))
    return _back(found, done)


def _back(found: Submission, *messages: str) -> Response:
    for message in messages:
        flash(message)
    return redirect(url_for("intake_admin.order", reference=found.reference), code=303)
