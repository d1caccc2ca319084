"""The back office's order pages: the list, one order and its actions, the CSV, the slips.

The life cycle itself (what may follow what, stock, the e-mail) lives in intake.order_lifecycle;
these views only read the request and say in Danish what happened (the CSRF token is checked
before they run, intake.web.csrf).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from forms.order_actions import CancelForm, ShipForm
from intake import order_lifecycle as orders
from intake.backoffice import order_csv, order_search
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp
from intake.db import get_session
from intake.labels import AUDIT_ACTIONS, ORDER_STATUSES
from intake.models import StaffRole, Submission
from intake.timefmt import DANISH_TIME


def _filters() -> tuple[str, str]:
    """The list's ?status= and ?q=, as given (an unknown status shows every order); q in NFC,
    as the forms store text, so an "å" typed as "a" + ring finds the stored "å"."""
    q = unicodedata.normalize("NFC", request.args.get("q", "")).strip()[:200]
    return request.args.get("status", "").strip(), q


@bp.get("/orders/", endpoint="orders")
@requires(StaffRole.OFFICE)
def orders_list() -> str:
    status, q = _filters()
    session = get_session()
    found = order_search.search_orders(
        session,
        status=status,
        q=q,
        page=request.args.get("page", 1, type=int) or 1,
        page_size=max(1, int(current_app.config["INTAKE_ADMIN_PAGE_SIZE"])),
    )
    return render_template(
        "intake/admin/orders.html",
        found=found,
        status=status,
        q=q,
        filters=order_search.STATUS_FILTERS,
        counts=order_search.filter_counts(session),
        labels=ORDER_STATUSES,
        total_quantity=orders.total_quantity,
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
    status, q = _filters()
    body = order_csv.orders_csv(order_search.all_matching(get_session(), status=status, q=q))
    filename = order_csv.csv_filename(datetime.now(DANISH_TIME))
    response = current_app.response_class(body, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/orders/<reference>/slip")
@requires(StaffRole.OFFICE)
def slip(reference: str) -> str:
    found = _order_or_404(reference)
    return _slips([found], f"Pakkeseddel {found.reference}")


@bp.get("/slips")
@requires(StaffRole.OFFICE)
def slips() -> str:
    return _slips(order_search.waiting_orders(get_session()), "Pakkesedler for ventende ordrer")


def _slips(chosen: list[Submission], title: str) -> str:
    return render_template(
        "intake/admin/slips.html",
        orders=chosen,
        title=title,
        labels=ORDER_STATUSES,
        total_quantity=orders.total_quantity,
        printed_at=datetime.now(DANISH_TIME),
    )


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
