"""Addresses as the post reads them: the lines of a delivery address, and the return address.

Danish mail is addressed, top to bottom (Post Danmark's addressing rules, as the UPU's sheet
for Denmark gives them): the addressee — for an organisation its name —, then "Att.: " and
the person it is for, then street, number and floor, then postcode and town. The sender goes
apart from it, small, marked "Afs.:".
"""

from __future__ import annotations

from typing import Protocol


class DeliveryAddress(Protocol):
    """What an address needs of a pamphlet order (intake.models.Submission has it)."""

    organisation: str
    attention: str
    street: str
    postcode: str
    city: str


def address_lines(order: DeliveryAddress) -> list[str]:
    """The delivery address, one line each, in the post's order; empty lines left out."""
    lines = [
        order.organisation,
        f"Att.: {order.attention}" if order.attention else "",
        order.street,
        f"{order.postcode} {order.city}".strip(),
    ]
    return [line for line in lines if line]


def return_address_lines(setting: str) -> list[str]:
    """INTAKE_RETURN_ADDRESS as lines: separated by newlines if it has any, else by commas
    (an environment variable is one line: "BL – Danmarks Almene Boliger, Studiestræde 50,
    1554 København V")."""
    separator = "\n" if "\n" in setting else ","
    return [line.strip() for line in setting.split(separator) if line.strip()]
