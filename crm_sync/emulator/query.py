"""``query/`` and ``queryAll/``: the SOQL subset of soql.py run over the stored records.

soql.py parses; this module resolves the object and field names (case-insensitively, with
Salesforce's ``INVALID_TYPE`` / ``INVALID_FIELD`` answers), filters, orders (nulls first
ascending, last descending, unless ``NULLS FIRST/LAST`` says otherwise), limits and shapes
the answer. ``queryAll/`` also finds deleted records (``IsDeleted`` true). All results come
in one batch (``done: true``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from crm_sync.emulator import soql
from crm_sync.emulator.calls import Reply
from crm_sync.emulator.errors import ApiError, error
from crm_sync.emulator.ids import normalize_id
from crm_sync.emulator.records import RecordStore
from crm_sync.emulator.schema import FieldDef

__all__ = ["run_query"]


def run_query(
    store: RecordStore, version: str, text: str, *, include_deleted: bool = False
) -> Reply:
    """The answer to the SOQL ``text`` over ``store`` (and its recycle bin, for queryAll),
    or ApiError(400) with Salesforce's error code."""
    try:
        parsed = soql.parse(text)
    except soql.SoqlError as exc:
        raise ApiError(400, [error(exc.error_code, exc.message)]) from None
    try:
        sobj = store.sobject(parsed.sobject)
    except ApiError:
        message = f"sObject type '{parsed.sobject}' is not supported."
        raise ApiError(400, [error("INVALID_TYPE", message)]) from None

    def resolve(name: str) -> FieldDef:
        f = sobj.field(name)
        if f is None:
            message = f"No such column '{name}' on entity '{sobj.name}'."
            raise ApiError(400, [error("INVALID_FIELD", message)])
        return f

    selected = [resolve(n) for n in parsed.fields]
    conditions = [(resolve(c.field), c) for c in parsed.where]
    rows = []
    stored = list(store.records[sobj.name].values())
    if include_deleted:
        stored += store.deleted[sobj.name].values()
    for record in stored:
        try:
            if all(soql.compare(c, record.get(f.name), _normalizer(f)) for f, c in conditions):
                rows.append(record)
        except soql.SoqlError as exc:
            raise ApiError(400, [error(exc.error_code, exc.message)]) from None
    if parsed.order_by is not None:
        rows = _ordered(rows, resolve(parsed.order_by.field).name, parsed.order_by)
    if parsed.limit is not None:
        rows = rows[: parsed.limit]
    if parsed.count:
        return Reply(200, {"totalSize": len(rows), "done": True, "records": []})
    records = []
    for record in rows:
        url = f"/services/data/v{version}/sobjects/{sobj.name}/{record['Id']}"
        view: dict[str, Any] = {"attributes": {"type": sobj.name, "url": url}}
        view.update({f.name: copy.deepcopy(record.get(f.name)) for f in selected})
        records.append(view)
    return Reply(200, {"totalSize": len(records), "done": True, "records": records})


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
