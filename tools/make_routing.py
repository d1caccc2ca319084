"""Generate the shipped default routing, intake/data/routing.toml.

Reads the provisional kreds of every municipality from intake/data/bl_kredse_provisional.csv
and writes it, with the consultant table from DESIGN.md, as a TOML file that BL's IT edits by
hand from then on. Because of that, this script refuses to overwrite an existing file unless
given --force: re-running it would throw away their corrections.

    python tools/make_routing.py [--force]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "intake" / "data" / "bl_kredse_provisional.csv"
OUTPUT = ROOT / "intake" / "data" / "routing.toml"

PAMPHLET_OFFICE = {"name": "Bjarne Werth", "email": "bwj@bl.dk", "phone": "33762049"}

# key: (name, e-mail, phone, kredse), exactly the consultant table in DESIGN.md.
CONSULTANTS: dict[str, tuple[str, str, str, list[int]]] = {
    "taj": ("Tage Jensen", "taj@bl.dk", "33762040", [1]),
    "jf": ("John Frese", "jf@bl.dk", "33762034", [2, 9, 11]),
    "jbh": ("Jens B. Hansen", "jbh@bl.dk", "87331062", [3, 4]),
    "ns": ("Niels Sørensen", "ns@bl.dk", "87331060", [5]),
    "lfi": ("Lisa Fischel", "lfi@bl.dk", "87331061", [6]),
    "sma": ("Søren Madsen", "sma@bl.dk", "87331066", [7, 8, 10]),
}

HEADER = """\
# BL Intake routing: municipality (kommune) -> BL kreds -> district consultant (kredskonsulent).
#
# BL's IT edits this file; no code change is needed to move a municipality to another kreds
# or to change a consultant. The app checks the file when it starts and refuses to start if
# it is broken, naming the line. After an edit, check it with:
#
#     flask --app wsgi intake routing check
#
# To use a copy kept elsewhere, set INTAKE_ROUTING_FILE to its path.
#
# [pamphlet_office]     who receives pamphlet orders (name, email, phone).
# [consultants.KEY]     one section per district consultant; KEY is a short id (initials).
#   kredse              the kredse the consultant covers. Every kreds used below must be
#                       covered by exactly one consultant.
#   salesforce_user_id  optional: the consultant's Salesforce User Id (15 or 18 letters and
#                       digits, starting with 005). Leads from their kredse get this owner.
#                       Leave it "" when unknown.
# [municipalities]      one line per municipality, keyed by its 3-digit kommunekode:
#   name                the municipality's name
#   kreds               the BL kreds it belongs to (a whole number, no quotes)
#   status              how sure that kreds is, one of:
#                         "confirmed"  a source names this municipality's kreds
#                         "inferred"   a source names the area the kreds covers, and the
#                                      municipalities in that area were matched to it
#                         "likely"     strong circumstantial evidence, but no source names it
#                         "guess"      no source; drawn along the old county and region lines
#   note                where the kreds comes from, in Danish (the back office shows it)
#
# When BL confirms a municipality's kreds, set its kreds, set status = "confirmed" and write
# the source in note. `routing check` lists every entry that is not confirmed yet.
#
# Provisional data: generated once by tools/make_routing.py from
# intake/data/bl_kredse_provisional.csv, compiled in 2026 from public sources dated 2019 to
# June 2024 (bl.dk, fabbo.dk, fagbladetboligen.dk; each entry's note names its source). No
# source gave BL's full kreds map, and BL's board noted in June 2024 that kreds boundaries can
# change. Only 101 København is confirmed. Do not re-run the script after editing this file by
# hand: it would overwrite the edits.
"""


def toml_string(value: str) -> str:
    """Quote a string for TOML: JSON's escapes are a subset of TOML's basic-string escapes."""
    return json.dumps(value, ensure_ascii=False)


def read_rows(source: Path) -> list[dict[str, str]]:
    with source.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return sorted(rows, key=lambda row: row["kommunekode"])


def render(rows: list[dict[str, str]]) -> str:
    out = [HEADER, "[pamphlet_office]"]
    out += [f"{key} = {toml_string(value)}" for key, value in PAMPHLET_OFFICE.items()]
    for key, (name, email, phone, kredse) in CONSULTANTS.items():
        out += [
            "",
            f"[consultants.{key}]",
            f"name = {toml_string(name)}",
            f"email = {toml_string(email)}",
            f"phone = {toml_string(phone)}",
            f"kredse = [{', '.join(str(k) for k in kredse)}]",
            'salesforce_user_id = ""   # optional Salesforce User Id (005...) owning their leads',
        ]
    out += [
        "",
        "# One line per municipality, keyed by its 3-digit kommunekode.",
        "[municipalities]",
    ]
    name_width = max(len(toml_string(row["kommune"])) for row in rows) + 1
    status_width = max(len(toml_string(row["status"])) for row in rows) + 1
    for row in rows:
        code = row["kommunekode"]
        if len(code) != 3 or not code.isdigit():
            raise ValueError(f"kommunekode {code!r} is not 3 digits")
        name = (toml_string(row["kommune"]) + ",").ljust(name_width)
        kreds = (str(int(row["kreds"])) + ",").ljust(3)
        status = (toml_string(row["status"]) + ",").ljust(status_width)
        note = toml_string(row["note"])
        out.append(f"{code} = {{ name = {name} kreds = {kreds} status = {status} note = {note} }}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args(argv)

    if args.output.exists() and not args.force:
        print(f"{args.output} exists; it may hold BL's edits. Use --force to overwrite it.")
        return 1
    rows = read_rows(args.source)
    text = render(rows)
    # Round trip: what we wrote must parse back to exactly the rows we read.
    parsed = tomllib.loads(text)["municipalities"]
    if [(c, e["name"], e["kreds"]) for c, e in parsed.items()] != [
        (r["kommunekode"], r["kommune"], int(r["kreds"])) for r in rows
    ]:
        print("the TOML written does not parse back to the rows read; nothing written")
        return 1
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}: {len(rows)} municipalities, {len(CONSULTANTS)} consultants")
    return 0


if __name__ == "__main__":
    sys.exit(main())
