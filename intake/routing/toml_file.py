"""Writing a routing as a routing file (`intake routing export`), in the shipped file's format:
`[pamphlet_office]`, one `[consultants.KEY]` section each, one `[municipalities]` line each.
What it writes, `load_routing` reads back to the same routing."""

from __future__ import annotations

import json

from intake.routing.model import Routing

HEADER = """\
# BL Intake routing: municipality (kommune) -> BL kreds -> district consultant (kredskonsulent).
#
# Exported from {source} by `flask --app wsgi intake routing export`.
# Read it back with `flask --app wsgi intake routing import FILE`; check it with
# `flask --app wsgi intake routing check --file FILE`. The format is the shipped
# intake/data/routing.toml's (its comments say what each key means):
# status is one of "confirmed", "inferred", "likely", "guess".
"""


def _string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, and æ, ø, å stay as they are."""
    return json.dumps(value, ensure_ascii=False)


def routing_toml(routing: Routing) -> str:
    """The routing as the text of a routing file (the same routing, the same text)."""
    lines = [HEADER.format(source=routing.source).rstrip()]
    office = routing.office
    lines += [
        "",
        "[pamphlet_office]",
        f"name = {_string(office.name)}",
        f"email = {_string(office.email)}",
        f"phone = {_string(office.phone)}",
    ]
    for c in routing.consultants.values():
        lines += [
            "",
            f"[consultants.{c.key}]",
            f"name = {_string(c.name)}",
            f"email = {_string(c.email)}",
            f"phone = {_string(c.phone)}",
            f"kredse = [{', '.join(str(k) for k in c.kredse)}]",
            f"salesforce_user_id = {_string(c.salesforce_user_id or '')}",
        ]
    lines += [
        "",
        "# One line per municipality, keyed by its 3-digit kommunekode.",
        "[municipalities]",
    ]
    municipalities = sorted(routing.municipalities.values(), key=lambda m: m.code)
    width = max((len(_string(m.name)) for m in municipalities), default=0) + 1
    for m in municipalities:
        name = (_string(m.name) + ",").ljust(width + 1)
        kreds = f"{m.kreds},".ljust(4)
        status = (_string(m.status) + ",").ljust(13)
        lines.append(
            f"{m.code} = {{ name = {name} kreds = {kreds}status = {status}"
            f"note = {_string(m.note)} }}"
        )
    return "\n".join(lines) + "\n"
