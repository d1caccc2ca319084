"""``composite/sobjects``: sObject Collections, up to 200 records in one API request.

POST creates, PATCH updates (by ``Id`` in each record), DELETE deletes (``?ids=a,b``), and
PATCH ``composite/sobjects/{T}/{ExtField}`` upserts by external id. Every record gets a
result of its own (``{"id", "success", "errors", "created"}``; errors use ``statusCode``).
With ``allOrNone`` one failure undoes the lot and the records that had succeeded answer
``ALL_OR_NONE_OPERATION_ROLLED_BACK``.

Records of several types are processed in chunks: a new chunk starts wherever the type
changes ({account1, account2, contact1, account3} is three chunks), and one request takes at
most ten. A create or update with more answers every record ``EXCEEDED_MAX_TYPES_LIMIT``
and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crm_sync.emulator.calls import Call, Reply, body_fields, truthy
from crm_sync.emulator.errors import ApiError, as_record_errors, error, not_found
from crm_sync.emulator.ids import normalize_id
from crm_sync.emulator.records import RecordStore, Snapshot
from crm_sync.emulator.schema import FieldDef, SObjectDef

__all__ = ["Collections"]

MAX_COLLECTION = 200
MAX_CHUNKS = 10
CHUNKS_MESSAGE = (
    "Cannot have more than 10 chunks in a single operation. Please rearrange the data to "
    "reduce chunking."
)


class Collections:
    """The sObject Collections resources over ``store``."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    def handle(self, call: Call, rest: list[str]) -> Reply:
        """Answer ``composite/sobjects/…``; ``rest`` is the path after ``sobjects``."""
        if not rest:
            call.allow("POST", "PATCH", "DELETE")
            if call.method == "DELETE":
                ids = [i for i in call.query.get("ids", "").split(",") if i]
                return self._delete(ids, truthy(call.query.get("allOrNone")))
            records, all_or_none = _collection_body(call.body)
            if _chunks(records) > MAX_CHUNKS:
                errors = as_record_errors([error("EXCEEDED_MAX_TYPES_LIMIT", CHUNKS_MESSAGE, [])])
                return Reply(200, [{"success": False, "errors": errors} for _ in records])
            operation = self._create if call.method == "POST" else self._update
            return self._apply(records, all_or_none, call.headers, operation)
        if len(rest) == 2:
            call.allow("PATCH")
            sobj = self.store.sobject(rest[0])
            ext = sobj.field(rest[1])
            if ext is None or not ext.external_id:
                message = f"Field name provided, {rest[1]} is not an External ID for {sobj.name}"
                raise ApiError(400, [error("INVALID_FIELD", message)])
            records, all_or_none = _collection_body(call.body)
            for record in records:
                if str(record["attributes"]["type"]).casefold() != sobj.name.casefold():
                    message = f"All records must be of type {sobj.name}"
                    raise ApiError(400, [error("INVALID_INPUT", message)])
            return self._upsert(sobj, ext, records, all_or_none, call.headers)
        raise not_found()

    def _create(self, record: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        sobj = self.store.sobject(str(record["attributes"]["type"]))
        data = body_fields(record)
        if any(k.casefold() == "id" for k in data):
            raise ApiError(400, [error("INVALID_FIELD", "cannot specify Id in an insert call", [])])
        return {"id": self.store.create(sobj, data, headers), "success": True, "errors": []}

    def _update(self, record: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        sobj = self.store.sobject(str(record["attributes"]["type"]))
        data = body_fields(record)
        raw_id = next((v for k, v in data.items() if k.casefold() == "id"), None)
        if raw_id is None:
            raise ApiError(400, [error("MISSING_ARGUMENT", "Id not specified in an update call")])
        record_id = normalize_id(raw_id)
        if record_id is None or record_id not in self.store.records[sobj.name]:
            message = f"invalid cross reference id: {raw_id}"
            raise ApiError(400, [error("INVALID_CROSS_REFERENCE_KEY", message, [])])
        fields = {k: v for k, v in data.items() if k.casefold() != "id"}
        self.store.update(sobj, record_id, fields, headers)
        return {"id": record_id, "success": True, "errors": []}

    def _apply(
        self,
        records: list[dict[str, Any]],
        all_or_none: bool,
        headers: Mapping[str, str],
        operation: Callable[[dict[str, Any], Mapping[str, str]], dict[str, Any]],
    ) -> Reply:
        snapshot = self.store.snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        for record in records:
            try:
                results.append(operation(record, headers))
            except ApiError as exc:
                results.append({"success": False, "errors": as_record_errors(exc.errors)})
        return Reply(200, self._roll_back_if_needed(results, snapshot))

    def _upsert(
        self,
        sobj: SObjectDef,
        ext: FieldDef,
        records: list[dict[str, Any]],
        all_or_none: bool,
        headers: Mapping[str, str],
    ) -> Reply:
        snapshot = self.store.snapshot() if all_or_none else None
        values = [
            next((v for k, v in r.items() if k.casefold() == ext.name.casefold()), None)
            for r in records
        ]
        folded = [str(v).casefold() for v in values if v not in (None, "")]
        results: list[dict[str, Any]] = []
        for record, value in zip(records, values, strict=True):
            try:
                if value not in (None, "") and folded.count(str(value).casefold()) > 1:
                    message = f"Duplicate external id specified: {value}"
                    raise ApiError(400, [error("DUPLICATE_EXTERNAL_ID", message, [ext.name])])
                data = body_fields(record)
                if any(k.casefold() == "id" for k in data):
                    message = "Only external ids are supported; don't send Id"
                    raise ApiError(400, [error("INVALID_FIELD", message, ["Id"])])
                fields = {k: v for k, v in data.items() if k.casefold() != ext.name.casefold()}
                record_id, created = self.store.upsert_one(sobj, ext, value, fields, headers)
                results.append({"id": record_id, "success": True, "errors": [], "created": created})
            except ApiError as exc:
                results.append({"success": False, "errors": as_record_errors(exc.errors)})
        return Reply(200, self._roll_back_if_needed(results, snapshot))

    def _delete(self, ids: list[str], all_or_none: bool) -> Reply:
        if not ids or len(ids) > MAX_COLLECTION:
            message = f"ids must list 1 to {MAX_COLLECTION} record ids"
            raise ApiError(400, [error("INVALID_INPUT", message)])
        snapshot = self.store.snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        for raw_id in ids:
            record_id = normalize_id(raw_id)
            owner = next((t for t, rs in self.store.records.items() if record_id in rs), None)
            if record_id is None or owner is None:
                errors = [error("ENTITY_IS_DELETED", "entity is deleted", [])]
                results.append({"id": raw_id, "success": False, "errors": as_record_errors(errors)})
                continue
            self.store.remove(owner, record_id)
            results.append({"id": record_id, "success": True, "errors": []})
        return Reply(200, self._roll_back_if_needed(results, snapshot))

    def _roll_back_if_needed(
        self, results: list[dict[str, Any]], snapshot: Snapshot | None
    ) -> list[dict[str, Any]]:
        if snapshot is None or all(r["success"] for r in results):
            return results
        self.store.restore(snapshot)
        rolled_back = as_record_errors(
            [
                error(
                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all records were valid and the request was "
                    "using AllOrNone header",
                    [],
                )
            ]
        )
        return [
            r if not r["success"] else {"success": False, "errors": rolled_back} for r in results
        ]


def _chunks(records: list[dict[str, Any]]) -> int:
    """How many chunks Salesforce makes of the records: one more at every change of type."""
    types = [str(r["attributes"]["type"]).casefold() for r in records]
    return sum(1 for i, t in enumerate(types) if i == 0 or t != types[i - 1])


def _collection_body(body: Any) -> tuple[list[dict[str, Any]], bool]:
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not records:
        raise ApiError(400, [error("JSON_PARSER_ERROR", "records is required")])
    if len(records) > MAX_COLLECTION:
        message = f"Request exceeds the limit of {MAX_COLLECTION} records"
        raise ApiError(400, [error("EXCEEDED_ID_LIMIT", message)])
    for record in records:
        attributes = record.get("attributes") if isinstance(record, dict) else None
        if not isinstance(attributes, dict) or not attributes.get("type"):
            message = "Each record needs an attributes map with a type"
            raise ApiError(400, [error("INVALID_TYPE", message)])
    return records, bool(body.get("allOrNone", False))
