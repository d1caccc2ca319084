"""The back office's printing: packing slips with their address label (one A4 page an order),
and the same orders' address labels on a label sheet (3 × 8 on A4).

Both print the orders selected on the list (?reference=… repeated), or else every order
waiting to be packed and shipped. Printing changes nothing: marking the printed orders packed
is a button of its own on the page (a POST to the selection's action, selection_pages.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, current_app, render_template, request

from intake import order_lifecycle as orders
from intake.backoffice import order_search
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp
from intake.db import get_session
from intake.labels import ORDER_STATUSES
from intake.models import OrderStatus, StaffRole, Submission
from intake.postal import address_lines, return_address_lines
from intake.timefmt import DANISH_TIME

LABELS_PER_SHEET = 24  # 3 columns × 8 rows of 70 × 37 mm on A4


@dataclass(frozen=True)
class Printed:
    """What a print page prints: the orders, and whether they were selected or are all those
    waiting."""

    orders: list[Submission]
    selected: bool

    @property
    def references(self) -> list[str]:
        return [order.reference for order in self.orders]

    @property
    def new(self) -> list[Submission]:
        """Those not yet marked packed."""
        return [order for order in self.orders if order.order_status is OrderStatus.NEW]


def printed_orders() -> Printed:
    """The orders named by ?reference=, or every waiting order when none is named."""
    references = request.args.getlist("reference")[:500]
    session = get_session()
    if references:
        return Printed(order_search.orders_by_reference(session, references), selected=True)
    return Printed(order_search.waiting_orders(session), selected=False)


def return_address() -> list[str]:
    return return_address_lines(current_app.config["INTAKE_RETURN_ADDRESS"])


@bp.get("/orders/<reference>/slip")
@requires(StaffRole.OFFICE)
def slip(reference: str) -> str:
    found = orders.find_order(get_session(), reference)
    if found is None:
        abort(404)
    return _slips(Printed([found], selected=True), f"Pakkeseddel {found.reference}")


@bp.get("/slips")
@requires(StaffRole.OFFICE)
def slips() -> str:
    printed = printed_orders()
    title = "Pakkesedler for valgte ordrer" if printed.selected else "Pakkesedler"
    return _slips(printed, title)


def _slips(printed: Printed, title: str) -> str:
    return render_template(
        "intake/admin/slips.html",
        printed=printed,
        title=title,
        labels=ORDER_STATUSES,
        total_quantity=orders.total_quantity,
        printed_at=datetime.now(DANISH_TIME),
        address_lines=address_lines,
        return_address=return_address(),
    )


@bp.get("/labels")
@requires(StaffRole.OFFICE)
def label_sheet() -> str:
    """The address labels alone, on sheets of 3 × 8; ?skip= leaves the first labels of a
    sheet that was used before empty."""
    printed = printed_orders()
    skip = min(max(request.args.get("skip", 0, type=int) or 0, 0), LABELS_PER_SHEET - 1)
    cells: list[Submission | None] = [None] * skip + list(printed.orders)
    sheets = [
        cells[start : start + LABELS_PER_SHEET] for start in range(0, len(cells), LABELS_PER_SHEET)
    ]
    return render_template(
        "intake/admin/labels.html",
        printed=printed,
        sheets=sheets if printed.orders else [],
        skip=skip,
        per_sheet=LABELS_PER_SHEET,
        address_lines=address_lines,
        return_address=return_address(),
    )
