"""The orders as CSV for Danish Excel: UTF-8 with a byte order mark, `;` between cells, and no
cell that Excel would run as a formula."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable
from datetime import datetime

from intake.labels import ORDER_STATUSES
from intake.models import Submission
from intake.order_lifecycle import total_quantity
from intake.timefmt import danish_time

CSV_HEADER = [
    "Reference",
    "Status",
    "Modtaget",
    "Boligorganisation",
    "Att.",
    "Adresse",
    "Postnr.",
    "By",
    "Kommune",
    "Kontaktperson",
    "E-mail",
    "Telefon",
    "Pjecer",
    "Antal i alt",
    "Note",
]

# A cell starting with one of these is a formula to Excel (and \t, \r can hide one).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Text that Excel shows as text, never runs as a formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_row(order: Submission) -> list[str | int]:
    status = ORDER_STATUSES[order.order_status] if order.order_status else ""
    lines = "; ".join(f"{line.quantity} stk. {line.title}" for line in order.lines)
    cell = safe_cell
    return [
        cell(order.reference),
        cell(status),
        cell(danish_time(order.created_at)),
        cell(order.organisation),
        cell(order.attention),
        cell(order.street),
        cell(order.postcode),
        cell(order.city),
        cell(order.municipality_name),
        cell(order.full_name),
        cell(order.email),
        cell(order.phone),
        cell(lines),
        total_quantity(order),
        cell(order.note),
    ]


def orders_csv(orders: Iterable[Submission]) -> bytes:
    """UTF-8 with a byte order mark and `;` between cells: what Danish Excel opens as is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_row(order) for order in orders)
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def csv_filename(now: datetime) -> str:
    return f"pjecebestillinger-{now.strftime('%Y-%m-%d')}.csv"
