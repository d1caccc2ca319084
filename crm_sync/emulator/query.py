"""``query/`` and ``queryAll/``: the SOQL subset of soql.py run over the stored records.

soql.py parses; this module resolves the object and field names (case-insensitively, with
Salesforce's ``INVALID_TYPE`` / ``INVALID_FIELD`` answers), filters, orders (nulls first
ascending, last descending, unless ``NULLS FIRST/LAST`` says otherwise), limits and shapes
the answer. ``queryAll/`` also finds deleted records (``IsDeleted`` true).

A parent-to-child subquery (``(SELECT Id, Status FROM Tasks)`` on Lead) comes back inside each
parent row as a query result of its own, ``{"totalSize", "done": true, "records"}``, or null
when the record has no such children, as Salesforce answers. The relationships are the
standard ones BL Intake's objects have (CHILD_RELATIONSHIPS).

Paging, as Salesforce does it: a batch holds up to 2,000 records, the children of a
subquery counting towards it (the ``Sforce-Query-Options: batchSize=N`` header asks for
200 to 2,000); a parent is never split from its children. A result with more has
``done: false`` and a ``nextRecordsUrl`` (``/services/data/vXX.X/query/01g…-2000``), which
``query/<locator>`` (or ``queryAll/<locator>``) answers with the next batch; the rows are
fixed when the query runs, as a query locator's are.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crm_sync.emulator import soql
from crm_sync.emulator.calls import Reply, header
from crm_sync.emulator.errors import ApiError, error
from crm_sync.emulator.ids import normalize_id
from crm_sync.emulator.records import RecordStore
from crm_sync.emulator.schema import FieldDef, SObjectDef

__all__ = ["CHILD_RELATIONSHIPS", "Cursors", "more", "run_query"]

# (parent object, relationship name) → (child object, the child's field naming the parent)
CHILD_RELATIONSHIPS: dict[tuple[str, str], tuple[str, str]] = {
    ("Lead", "Tasks"): ("Task", "WhoId"),
    ("Contact", "Tasks"): ("Task", "WhoId"),
    ("Account", "Contacts"): ("Contact", "AccountId"),
    ("Lead", "CampaignMembers"): ("CampaignMember", "LeadId"),
    ("Contact", "CampaignMembers"): ("CampaignMember", "ContactId"),
}
MAX_BATCH = 2000
MIN_BATCH = 200
_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


@dataclass
class _Cursor:
    rows: list[tuple[dict[str, Any], int]]  # shaped rows and how many records each counts
    batch_size: int
    total: int


@dataclass
class Cursors:
    """The query locators of results not yet read to the end."""

    open: dict[str, _Cursor] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def clear(self) -> None:
        self.open.clear()

    def new_locator(self) -> str:
        return f"01gEm{next(self._numbers):013d}"


def batch_size(headers: Mapping[str, str]) -> int:
    """The batch size asked for in ``Sforce-Query-Options``, kept within 200..2,000."""
    found = _BATCH_SIZE.search(header(headers, "Sforce-Query-Options") or "")
    asked = int(found[1]) if found else MAX_BATCH
    return min(max(asked, MIN_BATCH), MAX_BATCH)


def run_query(
    store: RecordStore,
    cursors: Cursors,
    version: str,
    text: str,
    *,
    include_deleted: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """The answer to the SOQL ``text`` over ``store`` (and its recycle bin, for queryAll):
    its first batch; or ApiError(400) with Salesforce's error code."""
    try:
        parsed = soql.parse(text)
    except soql.SoqlError as exc:
        raise ApiError(400, [error(exc.error_code, exc.message)]) from None
    sobj = _sobject(store, parsed.sobject)
    rows = _select(
        store, sobj, parsed.where, parsed.order_by, parsed.limit, include_deleted=include_deleted
    )
    if parsed.count:
        return Reply(200, {"totalSize": len(rows), "done": True, "records": []})
    children = [_child_query(store, sobj, sub) for sub in parsed.subqueries]
    selected = [_resolve(sobj, name) for name in parsed.fields]
    shaped: list[tuple[dict[str, Any], int]] = []
    for record in rows:
        view = _view(version, sobj, record, selected)
        weight = 1
        for sub, (child, parent_field) in zip(parsed.subqueries, children, strict=True):
            kids = _select(
                store,
                child,
                sub.where,
                sub.order_by,
                sub.limit,
                include_deleted=False,
                parent=(parent_field, record["Id"]),
            )
            picked = [_resolve(child, name) for name in sub.fields]
            view[sub.relationship] = (
                {
                    "totalSize": len(kids),
                    "done": True,
                    "records": [_view(version, child, kid, picked) for kid in kids],
                }
                if kids
                else None
            )
            weight += len(kids)
        shaped.append((view, weight))
    cursor = _Cursor(shaped, batch_size(headers or {}), len(shaped))
    return _next_batch(cursors, cursor, version, cursors.new_locator(), 0)


def more(cursors: Cursors, version: str, locator: str) -> Reply:
    """``query/<locator>``: the next batch of a result, or 400 ``INVALID_QUERY_LOCATOR``."""
    name, _, offset = locator.rpartition("-")
    cursor = cursors.open.get(name)
    if cursor is None or not offset.isdigit() or int(offset) > len(cursor.rows):
        raise ApiError(400, [error("INVALID_QUERY_LOCATOR", "invalid query locator")])
    return _next_batch(cursors, cursor, version, name, int(offset))


def _next_batch(cursors: Cursors, cursor: _Cursor, version: str, name: str, start: int) -> Reply:
    end, counted = start, 0
    while end < len(cursor.rows):
        weight = cursor.rows[end][1]
        if end > start and counted + weight > cursor.batch_size:
            break
        counted += weight
        end += 1
    body: dict[str, Any] = {
        "totalSize": cursor.total,
        "done": end >= len(cursor.rows),
        "records": [copy.deepcopy(view) for view, _ in cursor.rows[start:end]],
    }
    if end < len(cursor.rows):
        cursors.open[name] = cursor
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{name}-{end}"
    else:
        cursors.open.pop(name, None)
    return Reply(200, body)


def _sobject(store: RecordStore, name: str) -> SObjectDef:
    try:
        return store.sobject(name)
    except ApiError:
        message = f"sObject type '{name}' is not supported."
        raise ApiError(400, [error("INVALID_TYPE", message)]) from None


def _child_query(
    store: RecordStore, parent: SObjectDef, sub: soql.SubQuery
) -> tuple[SObjectDef, str]:
    found = next(
        (
            target
            for (owner, name), target in CHILD_RELATIONSHIPS.items()
            if owner == parent.name and name.casefold() == sub.relationship.casefold()
        ),
        None,
    )
    if found is None:
        message = (
            f"Didn't understand relationship '{sub.relationship}' in FROM part of query call. "
            "If you are attempting to use a custom relationship, be sure to append the '__r' "
            "after the custom relationship name."
        )
        raise ApiError(400, [error("INVALID_TYPE", message)])
    child, parent_field = found
    return store.sobject(child), parent_field


def _resolve(sobj: SObjectDef, name: str) -> FieldDef:
    f = sobj.field(name)
    if f is None:
        message = f"No such column '{name}' on entity '{sobj.name}'."
        raise ApiError(400, [error("INVALID_FIELD", message)])
    return f


def _select(
    store: RecordStore,
    sobj: SObjectDef,
    where: tuple[soql.Condition, ...],
    order_by: soql.OrderBy | None,
    limit: int | None,
    *,
    include_deleted: bool,
    parent: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    conditions = [(_resolve(sobj, c.field), c) for c in where]
    stored = list(store.records[sobj.name].values())
    if include_deleted:
        stored += store.deleted[sobj.name].values()
    if parent is not None:
        stored = [r for r in stored if r.get(parent[0]) == parent[1]]
    rows = []
    for record in stored:
        try:
            if all(soql.compare(c, record.get(f.name), _normalizer(f)) for f, c in conditions):
                rows.append(record)
        except soql.SoqlError as exc:
            raise ApiError(400, [error(exc.error_code, exc.message)]) from None
    if order_by is not None:
        rows = _ordered(rows, _resolve(sobj, order_by.field).name, order_by)
    return rows[:limit] if limit is not None else rows


def _view(
    version: str, sobj: SObjectDef, record: dict[str, Any], selected: list[FieldDef]
) -> dict[str, Any]:
    url = f"/services/data/v{version}/sobjects/{sobj.name}/{record['Id']}"
    view: dict[str, Any] = {"attributes": {"type": sobj.name, "url": url}}
    view.update({f.name: copy.deepcopy(record.get(f.name)) for f in selected})
    return view


def _normalizer(f: FieldDef) -> Callable[[Any], Any]:
    if f.type in ("id", "reference"):
        return lambda v: normalize_id(v) or v
    return lambda v: v.casefold() if isinstance(v, str) else v


def _ordered(rows: list[dict[str, Any]], name: str, order: soql.OrderBy) -> list[dict[str, Any]]:
    nulls_last = order.nulls_last if order.nulls_last is not None else order.descending
    present = [r for r in rows if r.get(name) is not None]
    nulls = [r for r in rows if r.get(name) is None]

    def key(row: dict[str, Any]) -> Any:
        value = row[name]
        return value.casefold() if isinstance(value, str) else value

    present.sort(key=key, reverse=order.descending)
    return present + nulls if nulls_last else nulls + present
