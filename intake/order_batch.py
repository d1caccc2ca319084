"""Acting on several pamphlet orders at once: mark a printed batch packed, or ship a selection.

Each order changes on its own, through intake.order_lifecycle (its own transaction, its own
audit event, its own "on their way" e-mail), so one that another staff member has changed
meanwhile is refused and reported without holding the others back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from intake import order_lifecycle as lifecycle
from intake.models import OrderStatus, Submission


@dataclass
class BatchOutcome:
    """What a batch did: the orders changed, those left as they were (with the reason), and,
    when shipping, the pamphlets that were short."""

    changed: list[Submission] = field(default_factory=list)
    refused: list[tuple[Submission, str]] = field(default_factory=list)
    shortages: list[lifecycle.StockShortage] = field(default_factory=list)

    def messages(self, done: str, done_plural: str) -> list[str]:
        """In Danish for staff: which were changed (to `done`, or `done_plural` for several),
        then each refusal and each shortage."""
        lines: list[str] = []
        which = ", ".join(order.reference for order in self.changed)
        if len(self.changed) == 1:
            lines.append(f"Ordren {which} er {done}.")
        elif self.changed:
            lines.append(f"{len(self.changed)} ordrer er {done_plural}: {which}.")
        lines += [reason for _, reason in self.refused]
        lines += [
            f"Bemærk: Der var kun {short.in_stock} stk. af »{short.title}« på lager, men der er "
            f"sendt {short.shipped}. Lageret er sat til 0 – tjek det."
            for short in self.shortages
        ]
        return lines


def pack_all(session: Session, orders: Iterable[Submission], actor: str) -> BatchOutcome:
    """Mark every new order packed. One that is packed already is left out without a word
    (printing a batch twice is no fault); others that cannot be packed are reported."""
    outcome = BatchOutcome()
    for order in orders:
        if order.order_status is OrderStatus.PACKED:
            continue
        try:
            lifecycle.mark_packed(session, order, actor)
        except lifecycle.OrderError as error:
            outcome.refused.append((order, str(error)))
        else:
            outcome.changed.append(order)
    return outcome


def ship_all(
    session: Session, orders_and_notes: Iterable[tuple[Submission, str]], actor: str
) -> BatchOutcome:
    """Ship each order with its own note (or none): stock, e-mail and audit as one by one."""
    outcome = BatchOutcome()
    for order, note in orders_and_notes:
        try:
            shipped = lifecycle.mark_shipped(session, order, actor, note)
        except lifecycle.OrderError as error:
            outcome.refused.append((order, str(error)))
        else:
            outcome.changed.append(order)
            outcome.shortages += shipped.shortages
    return outcome
