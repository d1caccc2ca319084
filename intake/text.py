"""Small text helpers every part may use: one-line values, e-mail addresses as servers take them."""

from __future__ import annotations


def one_line(value: str) -> str:
    """Whitespace (CR and LF included) collapsed to single spaces: never a new header."""
    return " ".join(value.split())


def ascii_address(address: str) -> str:
    """The address with its domain in IDNA ("sønderå.dk" → "xn--snder-qra2k.dk"), the form
    mail servers and Salesforce's Email fields accept."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}" if local else address


def normalise_email(email: str) -> str:
    """A staff e-mail as accounts are looked up and recorded: trimmed, lower case."""
    return email.strip().lower()


def counted(number: int, singular: str, plural: str) -> str:
    """ "1 leverance", "3 leverancer": a number with its noun, for Danish messages."""
    return f"{number} {singular if number == 1 else plural}"
