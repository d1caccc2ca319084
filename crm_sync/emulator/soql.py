"""The small SOQL subset the Salesforce emulator understands.

Grammar (keywords are case-insensitive)::

    SELECT COUNT() | item {, item}
    FROM SObject
    [WHERE condition {AND condition}]
    [ORDER BY field [ASC | DESC] [NULLS FIRST | NULLS LAST]]
    [LIMIT n]

    item      := field | ( subquery )
    subquery  := SELECT field {, field} FROM ChildRelationship [WHERE …] [ORDER BY …] [LIMIT n]

    condition := field = literal | field != literal | field <> literal
               | field < literal | field <= literal | field > literal | field >= literal
               | field [NOT] IN (literal {, literal})
               | field LIKE 'pattern'
    literal   := 'string' | null | true | false | number | dateTime
    dateTime  := YYYY-MM-DDThh:mm:ss[.sss](Z | +hh:mm | -hh:mm)   (unquoted, as SOQL writes it)

String literals take Salesforce's backslash escapes (``\\'``, ``\\\\``, ``\\n``, … and, in
LIKE patterns, ``\\%`` and ``\\_``), which is what ``simple_salesforce.format_soql`` produces.
Text comparisons are case-insensitive, as in SOQL; dateTime literals compare with the
stored dateTime values (``SystemModstamp >= 2026-11-25T14:47:31Z``, what an incremental sync
asks). A parent-to-child subquery in the SELECT list names a child relationship (``Tasks`` on
Lead) and takes the same clauses, one level deep, as SOQL allows in a relationship query (the
emulator resolves the relationship). Anything else (OR, parentheses in WHERE, relationship
fields with a dot, date literals such as TODAY, semi-joins) raises
``SoqlError("MALFORMED_QUERY", …)``.
The parser knows nothing about objects or fields: the emulator resolves the names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "Condition",
    "OrderBy",
    "Query",
    "SoqlError",
    "SubQuery",
    "compare",
    "parse",
    "parse_datetime",
]

_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
      | (?P<number>-?\d+(?:\.\d+)?)(?![\w-])
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<op>!=|<>|<=|>=|=|<|>)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE | re.DOTALL,
)
_UNSUPPORTED = {"OR", "NOT", "GROUP", "HAVING", "OFFSET", "FOR", "WITH", "USING", "TYPEOF"}


class SoqlError(Exception):
    """A query the emulator refuses; ``error_code`` is Salesforce's (``MALFORMED_QUERY``)."""

    def __init__(self, message: str, error_code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class Condition:
    """``field op value``; for IN / NOT IN ``value`` is a tuple, for LIKE a compiled regex."""

    field: str
    op: str  # "=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "LIKE"
    value: Any


@dataclass(frozen=True)
class OrderBy:
    field: str
    descending: bool = False
    nulls_last: bool | None = None  # None: Salesforce's default (first for ASC, last for DESC)


@dataclass(frozen=True)
class SubQuery:
    """``(SELECT fields FROM Relationship …)``: a record's children, by relationship name."""

    relationship: str
    fields: tuple[str, ...]
    where: tuple[Condition, ...]
    order_by: OrderBy | None
    limit: int | None


@dataclass(frozen=True)
class Query:
    sobject: str
    fields: tuple[str, ...]  # empty for COUNT()
    count: bool
    where: tuple[Condition, ...]
    order_by: OrderBy | None
    limit: int | None
    subqueries: tuple[SubQuery, ...] = ()


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokenize(soql: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(soql):
        if soql[pos:].strip() == "":
            break
        match = _TOKEN.match(soql, pos)
        if match is None or match.lastgroup is None:
            raise SoqlError(f"unexpected token: '{soql[pos:].strip()[:20]}'")
        tokens.append(_Token(match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    return tokens


def _unescape(quoted: str, *, like: bool) -> str:
    """The value of a string literal; in LIKE patterns ``\\%``/``\\_`` stay escaped."""
    out: list[str] = []
    chars = iter(quoted[1:-1])
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        nxt = next(chars, "")
        if nxt in _ESCAPES:
            out.append("\\\\" if like and nxt == "\\" else _ESCAPES[nxt])
        elif nxt in "%_":
            out.append("\\" + nxt if like else nxt)
        else:
            raise SoqlError(f"Invalid string literal {quoted}: unknown escape '\\{nxt}'")
    return "".join(out)


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


class _Parser:
    def __init__(self, soql: str) -> None:
        self.tokens = _tokenize(soql)
        self.pos = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise SoqlError("unexpected token: <EOF>")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> bool:
        """Consume the keywords if they come next."""
        end = self.pos + len(words)
        found = self.tokens[self.pos : end]
        if len(found) == len(words) and all(
            t.kind == "name" and t.text.upper() == w for t, w in zip(found, words, strict=True)
        ):
            self.pos = end
            return True
        return False

    def comma(self) -> bool:
        """Consume a comma if one comes next."""
        token = self.peek()
        if token is not None and token.text == ",":
            self.pos += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            token = self.peek()
            raise SoqlError(f"expecting '{word}', found '{token.text if token else '<EOF>'}'")

    def expect(self, text: str) -> None:
        token = self.next()
        if token.text != text:
            raise SoqlError(f"expecting '{text}', found '{token.text}'")

    def field(self) -> str:
        token = self.next()
        if token.kind != "name":
            raise SoqlError(f"unexpected token: '{token.text}'")
        if token.text.upper() in _UNSUPPORTED or token.text.upper() == "SELECT":
            raise SoqlError(f"the emulator does not support '{token.text}'")
        if "." in token.text:
            raise SoqlError(f"the emulator does not support relationship fields: '{token.text}'")
        return token.text

    def literal(self, *, like: bool = False) -> Any:
        token = self.next()
        if token.kind == "string":
            return _unescape(token.text, like=like)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.kind == "datetime":
            return parse_datetime(token.text)
        if token.kind == "name" and token.text.lower() in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[token.text.lower()]
        raise SoqlError(f"unexpected token: '{token.text}' (the emulator takes only literals)")

    def condition(self) -> Condition:
        name = self.field()
        op = "NOT IN" if self.keyword("NOT", "IN") else "IN" if self.keyword("IN") else ""
        if op:
            self.expect("(")
            values = [self.literal()]
            while self.comma():
                values.append(self.literal())
            self.expect(")")
            return Condition(name, op, tuple(values))
        if self.keyword("LIKE"):
            pattern = self.literal(like=True)
            if not isinstance(pattern, str):
                raise SoqlError("LIKE needs a string literal")
            return Condition(name, "LIKE", _like_regex(pattern))
        token = self.next()
        if token.kind != "op":
            raise SoqlError(f"the emulator does not support the operator '{token.text}'")
        op = "!=" if token.text == "<>" else token.text
        return Condition(name, op, self.literal())

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        fields: list[str] = []
        subqueries: list[SubQuery] = []
        count = self.keyword("COUNT")
        if count:
            self.expect("(")
            self.expect(")")
        else:
            self.select_item(fields, subqueries)
            while self.comma():
                self.select_item(fields, subqueries)
        self.expect_keyword("FROM")
        sobject = self.field()
        where, order_by, limit = self.clauses()
        leftover = self.peek()
        if leftover is not None:
            raise SoqlError(f"unexpected token: '{leftover.text}' (the emulator supports a subset)")
        return Query(sobject, tuple(fields), count, where, order_by, limit, tuple(subqueries))

    def select_item(self, fields: list[str], subqueries: list[SubQuery]) -> None:
        """A field, or a parenthesised parent-to-child subquery."""
        token = self.peek()
        if token is None or token.text != "(":
            fields.append(self.field())
            return
        self.next()
        self.expect_keyword("SELECT")
        names = [self.field()]
        while self.comma():
            token = self.peek()
            if token is not None and token.text == "(":
                raise SoqlError("the emulator supports one level of subqueries")
            names.append(self.field())
        self.expect_keyword("FROM")
        relationship = self.field()
        where, order_by, limit = self.clauses()
        self.expect(")")
        subqueries.append(SubQuery(relationship, tuple(names), where, order_by, limit))

    def clauses(self) -> tuple[tuple[Condition, ...], OrderBy | None, int | None]:
        """[WHERE …] [ORDER BY …] [LIMIT n]."""
        where: list[Condition] = []
        if self.keyword("WHERE"):
            where.append(self.condition())
            while self.keyword("AND"):
                where.append(self.condition())
        order_by = None
        if self.keyword("ORDER", "BY"):
            name = self.field()
            descending = self.keyword("DESC")
            if not descending:
                self.keyword("ASC")
            nulls_last = True if self.keyword("NULLS", "LAST") else None
            if nulls_last is None and self.keyword("NULLS", "FIRST"):
                nulls_last = False
            order_by = OrderBy(name, descending, nulls_last)
        limit = None
        if self.keyword("LIMIT"):
            token = self.next()
            if token.kind != "number" or not token.text.isdigit():
                raise SoqlError(f"LIMIT needs a whole number, found '{token.text}'")
            limit = int(token.text)
        return tuple(where), order_by, limit


def parse(soql: str) -> Query:
    """Parse ``soql`` or raise ``SoqlError``."""
    return _Parser(soql).parse()


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def parse_datetime(text: str) -> datetime:
    """A SOQL dateTime literal, or a stored value ("2026-11-25T14:47:31.123+0000")."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SoqlError(f"invalid dateTime: {text}") from None


_RANGE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compare(condition: Condition, actual: Any, normalize: Callable[[Any], Any] = _fold) -> bool:
    """Whether a record's value satisfies ``condition``.

    ``normalize`` maps both sides before ``=``/``!=``/IN (default: case-fold text, as SOQL
    does); the emulator passes an id normalizer for id and reference fields.
    """
    if condition.op == "LIKE":
        return isinstance(actual, str) and condition.value.fullmatch(actual) is not None
    if condition.op in _RANGE:
        if actual is None or condition.value is None:
            return False  # SOQL: a null is neither less nor greater than anything
        if isinstance(condition.value, datetime):
            actual, value = parse_datetime(str(actual)), condition.value
        else:
            actual, value = normalize(actual), normalize(condition.value)
        try:
            return _RANGE[condition.op](actual, value)
        except TypeError:
            return False
    if condition.op in ("IN", "NOT IN"):
        found = any(v is not None and normalize(actual) == normalize(v) for v in condition.value)
        return found if condition.op == "IN" else not found  # SOQL: NOT IN keeps nulls
    equal = normalize(actual) == normalize(condition.value)
    return equal if condition.op == "=" else not equal
