"""Reading a validated form with the types WTForms' stubs give its fields.

types-WTForms types a StringField's `data` as `str | None` and a field's `errors` as a
Sequence, because both hold before a form is validated. Once validate() has run, a required
field holds its value (its validators stop on an empty one), and `errors` is a list that a
form's own checks may add to.
"""

from __future__ import annotations

from typing import TypeVar

from wtforms import Field

_T = TypeVar("_T")


def required(data: _T | None, name: str) -> _T:
    """A required field's value in a validated form; None means it was read before validate()."""
    if data is None:
        raise ValueError(f"the form's {name} is empty: read it only after validate()")
    return data


def error_list(field: Field) -> list[str]:
    """The field's errors as the list validation made them (a tuple before it ran)."""
    if not isinstance(field.errors, list):
        field.errors = list(field.errors)
    return field.errors
