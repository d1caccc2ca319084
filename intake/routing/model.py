"""The routing: municipality (kommune) → BL kreds → district consultant (kredskonsulent).

These are the values the app routes with; `intake.routing.checker` makes them from the routing
file and says what is wrong with a bad one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from intake.labels import ROUTING_STATUSES

# How sure an entry's kreds is, surest first.
STATUSES = tuple(ROUTING_STATUSES)


@dataclass(frozen=True)
class Consultant:
    key: str
    name: str
    email: str
    phone: str
    kredse: tuple[int, ...]
    salesforce_user_id: str | None


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    kreds: int
    status: str
    note: str


@dataclass(frozen=True)
class Office:
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class Route:
    municipality: Municipality
    consultant: Consultant


class NoConsultant(LookupError):
    """The routing has no consultant for a request any more (neither the one it was sent to,
    nor one for its municipality)."""


class RoutingError(ValueError):
    """The routing file cannot be used. The message says where and what, one problem a line.

    ``problems`` holds the individual messages, each "<file>, line <n>: ...".
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems in the routing file:\n" + "\n".join(
                self.problems
            )
        super().__init__(message)


@dataclass(frozen=True)
class Routing:
    source: Path | str  # the routing file, or where else it came from ("the database")
    office: Office
    consultants: dict[str, Consultant]
    municipalities: dict[str, Municipality]
    warnings: tuple[str, ...] = field(default=())

    def route(self, code: str) -> Route:
        """The municipality and its consultant. ``KeyError`` for a code not in the file."""
        municipality = self.municipalities[code]
        return Route(municipality, self.consultant_for_kreds(municipality.kreds))

    def consultant_of(self, consultant_key: str, municipality_code: str) -> Consultant:
        """The consultant a request was routed to; if the routing has since dropped them,
        whoever covers its municipality now. Neither: NoConsultant."""
        consultant = self.consultants.get(consultant_key)
        if consultant is not None:
            return consultant
        try:
            return self.route(municipality_code).consultant
        except KeyError:
            raise NoConsultant(
                f"Ingen konsulent i routingen for {consultant_key!r} eller kommune "
                f"{municipality_code}"
            ) from None

    def consultant_for_kreds(self, kreds: int) -> Consultant:
        for consultant in self.consultants.values():
            if kreds in consultant.kredse:
                return consultant
        raise KeyError(f"no consultant covers kreds {kreds}")

    def unconfirmed(self) -> list[Municipality]:
        """Entries whose kreds no source confirms yet, by kommunekode."""
        return sorted(
            (m for m in self.municipalities.values() if m.status != "confirmed"),
            key=lambda m: m.code,
        )

    def choices(self) -> list[tuple[str, str]]:
        """(code, name) for the form's municipality list, in Danish alphabetical order."""
        return list(self._choices)

    @cached_property
    def _choices(self) -> tuple[tuple[str, str], ...]:
        # Sorted once: every form shown or posted needs the list, and a routing never changes.
        ordered = sorted(self.municipalities.values(), key=lambda m: (_danish_key(m.name), m.code))
        return tuple((m.code, m.name) for m in ordered)


_DANISH_LETTERS = str.maketrans({"æ": "{", "ä": "{", "ø": "|", "ö": "|", "å": "}"})


def _danish_key(name: str) -> str:
    folded = name.casefold().translate(_DANISH_LETTERS)
    # Other accented letters (é, ü) sort as their base letter.
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
