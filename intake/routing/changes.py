"""What changed between two routings, in Danish, one line per entry: the audit log's before
and after of every routing change (the back office's edits, `intake routing import`)."""

from __future__ import annotations

from typing import Any

from intake.labels import ROUTING_STATUSES
from intake.routing.store import RoutingData

_OFFICE_FIELDS = (("name", "navn"), ("email", "e-mail"), ("phone", "telefon"))
_CONSULTANT_FIELDS = (
    *_OFFICE_FIELDS,
    ("kredse", "kredse"),
    ("salesforce_user_id", "Salesforce-bruger-id"),
)
_MUNICIPALITY_FIELDS = (
    ("name", "navn"),
    ("kreds", "kreds"),
    ("status", "status"),
    ("note", "note"),
)


def shown(name: str, value: Any) -> str:
    """A value as the audit log shows it."""
    if name == "kredse":
        return ", ".join(str(k) for k in value) or "ingen"
    if name == "status":
        return ROUTING_STATUSES.get(value, str(value))
    if isinstance(value, str):
        return f"„{value if len(value) <= 80 else value[:79] + '…'}“"
    return str(value)


def _fields(
    before: dict[str, Any], after: dict[str, Any], fields: tuple[tuple[str, str], ...]
) -> list[str]:
    return [
        f"{label}: {shown(name, before.get(name, ''))} → {shown(name, after.get(name, ''))}"
        for name, label in fields
        if before.get(name, "") != after.get(name, "")
    ]


def changes(before: RoutingData, after: RoutingData) -> list[str]:
    """Each changed entry as "what: field: before → after; …"; added and removed ones too."""
    lines: list[str] = []
    office = _fields(before["pamphlet_office"], after["pamphlet_office"], _OFFICE_FIELDS)
    if office:
        lines.append(f"pjecekontoret: {'; '.join(office)}")
    for section, what, fields in (
        ("consultants", "konsulent", _CONSULTANT_FIELDS),
        ("municipalities", "kommune", _MUNICIPALITY_FIELDS),
    ):
        old, new = before[section], after[section]
        for key in sorted(old.keys() | new.keys()):
            if key not in new:
                lines.append(f"{what} {key} fjernet")
            elif key not in old:
                added = "; ".join(
                    f"{label}: {shown(n, new[key].get(n, ''))}" for n, label in fields
                )
                lines.append(f"{what} {key} tilføjet: {added}")
            elif found := _fields(old[key], new[key], fields):
                name = new[key].get("name", "")
                lines.append(f"{what} {key} ({name}): {'; '.join(found)}")
    return lines
