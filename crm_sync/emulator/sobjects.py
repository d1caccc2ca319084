"""``sobjects/``: the object list, describe, and one record by id or by external id.

* ``sobjects/`` lists the objects; ``sobjects/{T}/`` describes one (GET) or creates a record
  (POST, 201 with ``Location``); ``sobjects/{T}/describe`` adds the fields.
* ``sobjects/{T}/{id}``: GET (``?fields=`` picks fields), PATCH (204), DELETE (204).
* ``sobjects/{T}/{ExtField}/{value}``: GET and DELETE as by id (300 for several matches);
  PATCH upserts: 201 created, 200 updated with ``created`` (204 and no ``created`` below
  v46), 404 with ``?updateOnly=true`` and no match.
"""

from __future__ import annotations

import copy
from typing import Any

from crm_sync.emulator.calls import Call, Reply, body_fields, truthy
from crm_sync.emulator.errors import ApiError, error, not_found
from crm_sync.emulator.records import RecordStore
from crm_sync.emulator.schema import SObjectDef

__all__ = ["SObjects"]


class SObjects:
    """The ``sobjects/`` resources over ``store``."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    def handle(self, call: Call, rest: list[str]) -> Reply:
        """Answer ``sobjects/…``; ``rest`` is the path after ``sobjects``."""
        if not rest:
            call.allow("GET")
            listing = [s.describe(call.version) for s in self.store.schema.values()]
            return Reply(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": listing})
        sobj = self.store.sobject(rest[0])
        if len(rest) == 1:
            call.allow("GET", "POST")
            if call.method == "GET":
                return Reply(
                    200, {"objectDescribe": sobj.describe(call.version), "recentItems": []}
                )
            record_id = self.store.create(sobj, body_fields(call.body), call.headers)
            result = {"id": record_id, "success": True, "errors": []}
            return Reply(201, result, {"Location": call.path(sobj.name, record_id)})
        if len(rest) == 2 and rest[1] == "describe":
            call.allow("GET")
            described = sobj.describe(call.version)
            described["fields"] = [f.describe() for f in sobj.fields.values()]
            return Reply(200, described)
        if len(rest) == 2:
            call.allow("GET", "PATCH", "DELETE")
            return self._by_id(call, sobj, self.store.existing_id(sobj, rest[1]))
        if len(rest) == 3:
            call.allow("GET", "PATCH", "DELETE")
            return self._by_external_id(call, sobj, rest[1], rest[2])
        raise not_found()

    def _by_id(self, call: Call, sobj: SObjectDef, record_id: str) -> Reply:
        if call.method == "GET":
            fields = call.query.get("fields")
            return Reply(200, self._record_view(call.version, sobj, record_id, fields))
        if call.method == "PATCH":
            self.store.update(sobj, record_id, body_fields(call.body), call.headers)
            return Reply(204)
        self.store.remove(sobj.name, record_id)
        return Reply(204)

    def _by_external_id(self, call: Call, sobj: SObjectDef, field_name: str, value: str) -> Reply:
        ext = sobj.field(field_name)
        if ext is None:
            raise not_found()
        if ext.name == "Id":
            return self._by_id(call, sobj, self.store.existing_id(sobj, value))
        if not ext.external_id:
            message = (
                f"Field name provided, {ext.name} does not match an External ID, "
                f"Salesforce Id, or indexed field for {sobj.name}"
            )
            raise ApiError(400, [error("INVALID_FIELD", message)])
        matches = self.store.matching(sobj, ext.name, value)
        if len(matches) > 1:
            return Reply(300, [call.path(sobj.name, m) for m in matches])
        if call.method in ("GET", "DELETE"):
            if not matches:
                raise not_found()
            return self._by_id(call, sobj, matches[0])
        record_id, created = self.store.upsert_one(
            sobj,
            ext,
            value,
            body_fields(call.body),
            call.headers,
            update_only=truthy(call.query.get("updateOnly")),
        )
        modern = float(call.version) >= 46.0  # "created" exists since v46; updates were 204
        result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
        if modern:
            result["created"] = created
        if created:
            return Reply(201, result, {"Location": call.path(sobj.name, record_id)})
        return Reply(200, result) if modern else Reply(204)

    def _record_view(
        self, version: str, sobj: SObjectDef, record_id: str, fields: str | None = None
    ) -> dict[str, Any]:
        record = self.store.records[sobj.name][record_id]
        url = f"/services/data/v{version}/sobjects/{sobj.name}/{record_id}"
        view: dict[str, Any] = {"attributes": {"type": sobj.name, "url": url}}
        if fields:
            for name in fields.split(","):
                f = sobj.field(name.strip())
                if f is None:
                    message = f"No such column '{name.strip()}' on entity '{sobj.name}'"
                    raise ApiError(400, [error("INVALID_FIELD", message)])
                view[f.name] = record.get(f.name)
        else:
            view.update(copy.deepcopy(record))
        return view
