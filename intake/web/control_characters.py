"""Control characters in a back-office address: a Danish 400, never a 500.

Nobody types a NUL, a line break or another control character into an address; only a crafted
link does. PostgreSQL refuses a NUL in a query parameter (a 500), SQLite reads it as the end of
the text (`q=%00` matched every order), and a line break in `next` would reach a Location
header. So every back-office request is checked before anything else looks at it: its path,
and the names and values of its query string; all but `next`, where sign-in is going
afterwards: a bad one is dropped there (sign_in_pages.safe_next), and the sign-in goes to the
default page.
"""

from __future__ import annotations

import unicodedata

from flask import request
from werkzeug.exceptions import BadRequest

MESSAGE = (
    "Adressen indeholder et tegn, der ikke kan bruges i en adresse, fx et linjeskift eller et "
    "nultegn. Ret adressen, eller gå tilbage og prøv igen."
)


CHECKED_LATER = frozenset({"next"})


class ControlCharacters(BadRequest):
    description = MESSAGE


def has_control_characters(text: str) -> bool:
    """Any character of Unicode's category Cc: C0 (NUL, CR, LF, tab …), DEL and C1."""
    return any(unicodedata.category(c) == "Cc" for c in text)


def refuse_control_characters() -> None:
    """Before every back-office view: the path and the query string must be clean."""
    texts = [request.path]
    for name, values in request.args.lists():
        texts.append(name)
        if name not in CHECKED_LATER:
            texts.extend(values)
    if any(has_control_characters(text) for text in texts):
        raise ControlCharacters()
