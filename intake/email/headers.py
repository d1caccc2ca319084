"""RFC 2047 headers that keep æ, ø, å and the spaces around them intact.

Flask-Mail 0.10 encodes a header with `email.header.Header` but without the header's name, so
a long subject's first line is too long; it then switches the message to `policy.SMTP`, which
re-folds such lines, and Python 3.11's re-folding drops the spaces around encoded words
("Boligselskabet Sønderå Ærø" arrives as "Boligselskabet  SønderåÆrø"). `IntakeMessage`
re-writes the headers that carry people's text, encoded and folded so that every line is
short enough to be left alone.
"""

from __future__ import annotations

from email import policy
from email.header import Header
from email.mime.base import MIMEBase
from email.utils import formataddr, parseaddr

from flask_mail import Message

from intake.text import ascii_address, one_line

MAX_LINE = 76


def encode_text(header: str, value: str) -> str:
    value = one_line(value)
    if value.isascii() and len(header) + 2 + len(value) <= MAX_LINE:
        return value
    return Header(value, "utf-8", maxlinelen=MAX_LINE, header_name=header).encode(linesep="\r\n")


def encode_address(header: str, address: str | tuple[str, str]) -> str:
    """One address as `name <address>`, the name RFC 2047-encoded, the domain in IDNA."""
    name, address = address if isinstance(address, tuple) else parseaddr(address)
    name, address = one_line(name), ascii_address(one_line(address))
    if not name:
        return address
    if name.isascii():
        plain = formataddr((name, address))
        if len(header) + 2 + len(plain) <= MAX_LINE:
            return plain
    encoded = Header(name, "utf-8", maxlinelen=MAX_LINE, header_name=header).encode(linesep="\r\n")
    last_line = encoded.rsplit("\r\n", 1)[-1]
    separator = " " if len(last_line) + len(address) + 3 <= MAX_LINE else "\r\n "
    return f"{encoded}{separator}<{address}>"


class IntakeMessage(Message):
    """A Flask-Mail message whose Subject, From, To and Reply-To come out right (see above)."""

    def _message(self) -> MIMEBase:
        message = super()._message()
        fixed = {
            "Subject": encode_text("Subject", self.subject or ""),
            "From": encode_address("From", self.sender),
            "To": ", ".join(encode_address("To", r) for r in self.recipients),
        }
        if self.reply_to:
            fixed["Reply-To"] = encode_address("Reply-To", self.reply_to)
        # compat32 stores the values as they are; policy.SMTP would refuse folded values.
        message.policy = policy.compat32
        for header, value in fixed.items():
            del message[header]
            message[header] = value
        message.policy = policy.SMTP
        return message
