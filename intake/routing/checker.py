"""Reading and checking a routing file.

The routing is data, not code: a TOML file that BL's IT edits (the shipped default is
``intake/data/routing.toml``; ``INTAKE_ROUTING_FILE`` points to another). ``load_routing``
reads and checks it once, at start-up, and every problem it finds is reported as
"<file>, line <n>: <what is wrong>" so that someone who has never seen the code can fix the
file. Problems that do not stop routing (a municipality missing from the file, an unknown key)
are kept as warnings on the ``Routing`` and shown by ``flask intake routing check``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, TypeGuard

from email_validator import EmailNotValidError, validate_email

from intake.paths import DATA_DIR
from intake.reference_data import municipalities as official_municipalities
from intake.routing.model import (
    STATUSES,
    Consultant,
    Municipality,
    Office,
    Routing,
    RoutingError,
)

# A Salesforce record Id is 15 characters (case-sensitive) or 18 (with a checksum suffix);
# the first three name the object type, and "005" is User.
_SALESFORCE_USER_ID = re.compile(r"005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")
_CODE = re.compile(r"\d{3}")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")

_OFFICE_KEYS = frozenset({"name", "email", "phone"})
_CONSULTANT_KEYS = frozenset({"name", "email", "phone", "kredse", "salesforce_user_id"})
_MUNICIPALITY_KEYS = frozenset({"name", "kreds", "status", "note"})


def default_routing_path() -> Path:
    return DATA_DIR / "routing.toml"


def load_routing(path: Path | str | None = None) -> Routing:
    """Read and check a routing file (``None``: the shipped default).

    Raises ``RoutingError`` listing every problem found, each with the file and line.
    """
    source = Path(path) if path is not None else default_routing_path()
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise RoutingError([f"{source}: cannot read the routing file ({exc.strerror})"]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RoutingError(
            [f"{source}, line {line}: the file is not UTF-8; save it as UTF-8 (æ, ø, å)"]
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RoutingError([_describe_toml_error(source, str(exc))]) from exc
    return _Checker(source, text).check(data)


def routing_from_data(data: dict[str, Any], source: str) -> Routing:
    """Check a routing in the routing file's shape that did not come from a file (the
    database's, an edit in the back office); `source` names it in the problems.

    Raises ``RoutingError`` listing every problem found."""
    return _Checker(source, "").check(data)


def _describe_toml_error(source: Path, message: str) -> str:
    """Rephrase tomllib's "Invalid value (at line 3, column 7)" as "<file>, line 3, ..."."""
    match = _TOML_POSITION.search(message)
    if match:
        reason = message[: match.start()]
        where = f"{source}, line {match[1]}, column {match[2]}"
    else:
        reason = message.removesuffix(" (at end of document)")
        where = f"{source}, end of file"
    hint = ""
    if reason.startswith("Cannot overwrite a value"):
        hint = " (the same key appears twice, e.g. a municipality or consultant listed twice)"
    return f"{where}: not valid TOML: {reason}{hint}"


class _Checker:
    """Turns parsed TOML into a ``Routing``, collecting every problem with its line number.

    tomllib does not say where a value came from, so lines are found by searching the text
    for the entry's table header (``[consultants.jf]``) or key (``101 =``).
    """

    def __init__(self, source: Path | str, text: str) -> None:
        self.source = source
        self.lines = text.splitlines()
        self.errors: list[str] = []
        self.warnings: list[str] = []
        # Unknown keys are only warnings, but when the file is rejected they are shown with the
        # errors: a misspelt [pamphlet_ofice] explains the "no [pamphlet_office]" error.
        self.unknown: list[str] = []
        # Set when a consultant's kredse cannot be read: which kredse are covered is then
        # unknown, and "no consultant covers kreds N" would only repeat the same problem.
        self.coverage_unknown = False

    # -- reporting -------------------------------------------------------------------------

    def _where(self, line: int | None) -> str:
        return f"{self.source}, line {line}" if line else str(self.source)

    def error(self, line: int | None, message: str) -> None:
        self.errors.append(f"{self._where(line)}: {message}")

    def warn(self, line: int | None, message: str) -> None:
        self.warnings.append(f"{self._where(line)}: {message}")

    # -- finding lines ---------------------------------------------------------------------

    @staticmethod
    def _key_pattern(key: str) -> str:
        k = re.escape(key)
        return rf"(?:{k}|\"{k}\"|'{k}')"

    def _find(self, pattern: str, start: int = 0, stop: int | None = None) -> int | None:
        """1-based number of the first line in [start, stop) matching ``pattern``."""
        regex = re.compile(pattern)
        for index in range(start, len(self.lines) if stop is None else stop):
            if regex.match(self.lines[index]):
                return index + 1
        return None

    def table_line(self, *parts: str) -> int | None:
        """The line of the header ``[a.b]``."""
        dotted = r"\s*\.\s*".join(self._key_pattern(p) for p in parts)
        return self._find(rf"\s*\[\s*{dotted}\s*\]\s*(?:#.*)?$")

    def key_line(self, table: tuple[str, ...], key: str) -> int | None:
        """The line of ``key = ...`` inside ``[table]``, else of a sub-table ``[table.key]``."""
        header = self.table_line(*table) if table else 0
        if header is not None:
            end = self._find(r"\s*\[", header) or len(self.lines) + 1
            found = self._find(rf"\s*{self._key_pattern(key)}\s*[=.]", header, end - 1)
            if found:
                return found
        return self.table_line(*table, key)

    def field_line(self, table: tuple[str, ...], key: str, name: str) -> int | None:
        """The line of field ``name`` of entry ``key`` of ``table``, else the entry's line."""
        entry = self.key_line(table, key)
        header = self.table_line(*table, key)
        if header is not None:
            end = self._find(r"\s*\[", header) or len(self.lines) + 1
            found = self._find(rf"\s*{self._key_pattern(name)}\s*=", header, end - 1)
            if found:
                return found
        return entry

    # -- checking --------------------------------------------------------------------------

    def check(self, data: dict[str, Any]) -> Routing:
        for key in sorted(data.keys() - {"pamphlet_office", "consultants", "municipalities"}):
            self._unknown(self.key_line((), key), f"unknown section or key {key!r} is ignored")
        office = self.office(data.get("pamphlet_office"))
        consultants = self.consultants(data.get("consultants"))
        municipalities = self.municipalities(data.get("municipalities"), consultants)
        if self.errors or office is None:
            raise RoutingError(self.errors + self.unknown)
        return Routing(
            source=self.source,
            office=office,
            consultants=consultants,
            municipalities=municipalities,
            warnings=tuple(self.warnings),
        )

    def _text(
        self, entry: dict[str, Any], name: str, line: int | None, what: str, *, required: bool
    ) -> str:
        value = entry.get(name, "")
        if not isinstance(value, str):
            self.error(line, f'{what}: {name} must be text in quotes, e.g. {name} = "..."')
            return ""
        if required and not value.strip():
            self.error(line, f"{what} has no {name}")
        return value.strip()

    def _email(self, value: str, line: int | None, what: str) -> None:
        if not value:
            return  # reported as missing by _text
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            self.error(line, f"{what} has e-mail {value!r}, which is not a valid address: {exc}")

    def _unknown_keys(
        self, entry: dict[str, Any], allowed: frozenset[str], line: int | None, what: str
    ) -> None:
        for key in sorted(entry.keys() - allowed):
            self._unknown(line, f"{what}: unknown key {key!r} is ignored")

    def _unknown(self, line: int | None, message: str) -> None:
        message = f"{self._where(line)}: {message} (a misspelling?)"
        self.unknown.append(message)
        self.warnings.append(message)

    def office(self, section: Any) -> Office | None:
        what = "[pamphlet_office]"
        line = self.key_line((), "pamphlet_office")
        if section is None:
            self.error(None, "there is no [pamphlet_office] section (name, email, phone)")
            return None
        if not isinstance(section, dict):
            self.error(line, f"{what} must be a section with name, email and phone")
            return None
        self._unknown_keys(section, _OFFICE_KEYS, line, what)

        def at(name: str) -> int | None:
            return self.field_line((), "pamphlet_office", name)

        email = self._text(section, "email", at("email"), what, required=True)
        self._email(email, at("email"), "the pamphlet office")
        name = self._text(section, "name", at("name"), what, required=False)
        phone = self._text(section, "phone", at("phone"), what, required=False)
        return Office(name=name, email=email, phone=phone)

    def consultants(self, section: Any) -> dict[str, Consultant]:
        if not isinstance(section, dict) or not section:
            self.error(
                self.table_line("consultants"),
                "there are no consultants; add a [consultants.KEY] section for each",
            )
            return {}
        result: dict[str, Consultant] = {}
        claimed: dict[int, str] = {}  # kreds -> consultant key
        for key, entry in section.items():
            line = self.key_line(("consultants",), key)
            what = f"consultant {key}"
            if not isinstance(entry, dict):
                self.error(line, f"{what} must be a section [consultants.{key}]")
                self.coverage_unknown = True
                continue
            self._unknown_keys(entry, _CONSULTANT_KEYS, line, what)

            def at(name: str, key: str = key) -> int | None:
                return self.field_line(("consultants",), key, name)

            name = self._text(entry, "name", at("name"), what, required=True)
            email = self._text(entry, "email", at("email"), what, required=True)
            self._email(email, at("email"), what)
            phone = self._text(entry, "phone", at("phone"), what, required=False)
            kredse = self._kredse(entry, at("kredse"), what)
            for kreds in kredse:
                if kreds in claimed:
                    first = claimed[kreds]
                    first_line = self.key_line(("consultants",), first)
                    self.error(
                        at("kredse"),
                        f"kreds {kreds} is claimed by both consultant {first} (line {first_line})"
                        f" and consultant {key}; each kreds must have exactly one consultant",
                    )
                else:
                    claimed[kreds] = key
            user_id = self._text(
                entry, "salesforce_user_id", at("salesforce_user_id"), what, required=False
            )
            if user_id and not _SALESFORCE_USER_ID.fullmatch(user_id):
                self.error(
                    at("salesforce_user_id"),
                    f"{what} has salesforce_user_id {user_id!r}, which is not a Salesforce"
                    " User Id (15 or 18 letters and digits, starting with 005); leave it"
                    ' "" if unknown',
                )
            result[key] = Consultant(
                key=key,
                name=name,
                email=email,
                phone=phone,
                kredse=kredse,
                salesforce_user_id=user_id or None,
            )
        return result

    def _kredse(self, entry: dict[str, Any], line: int | None, what: str) -> tuple[int, ...]:
        value = entry.get("kredse")
        if value is None:
            self.coverage_unknown = True
            self.error(line, f"{what} has no kredse; write e.g. kredse = [2, 9, 11]")
            return ()
        if not isinstance(value, list) or not all(_is_kreds(k) for k in value):
            self.coverage_unknown = True
            self.error(
                line,
                f"{what} has kredse = {value!r}; it must be a list of kreds numbers,"
                " e.g. kredse = [2, 9, 11]",
            )
            return ()
        if not value:
            self.warn(line, f"{what} covers no kreds and will receive no requests")
        return tuple(sorted(set(value)))

    def municipalities(
        self, section: Any, consultants: dict[str, Consultant]
    ) -> dict[str, Municipality]:
        header = self.table_line("municipalities")
        if not isinstance(section, dict) or not section:
            self.error(header, "there are no municipalities; add a [municipalities] section")
            return {}
        covered = {k for c in consultants.values() for k in c.kredse}
        official = official_municipalities()
        result: dict[str, Municipality] = {}
        for code, entry in section.items():
            line = self.key_line(("municipalities",), code)
            what = f"municipality {code}"
            if not _CODE.fullmatch(code):
                self.error(line, f"{what}: a kommunekode must be exactly 3 digits, e.g. 101")
                continue
            if not isinstance(entry, dict):
                self.error(
                    line,
                    f'{what} must be written as {{ name = "...", kreds = 1, status = "guess",'
                    ' note = "..." }',
                )
                continue
            self._unknown_keys(entry, _MUNICIPALITY_KEYS, line, what)
            name = self._text(entry, "name", line, what, required=True)
            note = self._text(entry, "note", line, what, required=False)
            if name:
                what = f"municipality {code} ({name})"
            status = entry.get("status")
            if status not in STATUSES:
                self.error(
                    line,
                    f"{what} has status {status!r}; it must be one of"
                    f" {', '.join(repr(s) for s in STATUSES)}",
                )
            kreds = entry.get("kreds")
            if not _is_kreds(kreds):
                self.error(
                    line, f"{what} has kreds {kreds!r}; it must be a whole number, e.g. kreds = 5"
                )
            elif consultants and not self.coverage_unknown and kreds not in covered:
                self.error(
                    line, f"{what} has kreds {kreds}, but no consultant covers kreds {kreds}"
                )
            if code not in official:
                self.warn(line, f"{what} is not one of Denmark's 98 municipalities")
            elif name and name != official[code]:
                self.warn(line, f"{what}: the official name is {official[code]!r}")
            result[code] = Municipality(
                code=code,
                name=name,
                kreds=kreds if _is_kreds(kreds) else 0,
                status=status if isinstance(status, str) else "",
                note=note,
            )
        for code in sorted(official.keys() - section.keys()):
            self.warn(
                header,
                f"municipality {code} ({official[code]}) is missing; it cannot be chosen on the"
                " forms",
            )
        for kreds in sorted(covered - {m.kreds for m in result.values()}):
            owner = next(c for c in consultants.values() if kreds in c.kredse)
            self.warn(
                self.field_line(("consultants",), owner.key, "kredse"),
                f"consultant {owner.key} covers kreds {kreds}, but no municipality is in it",
            )
        return result


def _is_kreds(value: object) -> TypeGuard[int]:
    # bool is a subclass of int in Python; "kreds = true" is a mistake, not kreds 1.
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
