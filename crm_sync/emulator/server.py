"""A local Salesforce emulator: the slice of the REST API that BL Intake uses, over HTTPS.

``SalesforceEmulator`` is a small HTTPS server on loopback. Its certificate comes from a
throw-away CA made with ``trustme``; clients trust ``ca_pem_path`` (for requests:
``session.verify = str(emulator.ca_pem_path)``). Records live in memory. It implements:

* ``POST /services/oauth2/token``: the client-credentials (Basic auth or form), username-password
  (password + security token) and JWT-bearer (RS256, checked against ``jwt_public_key_pem``)
  grants, answering like Salesforce (``access_token``, ``instance_url``, ``id``, …; 400
  ``invalid_grant`` / ``invalid_client`` / ``invalid_client_id`` on failure).
* Every ``/services/data/vNN.N/…`` call needs ``Authorization: Bearer <token>`` (401
  ``INVALID_SESSION_ID`` otherwise) and is answered with ``Sforce-Limit-Info: api-usage=N/15000``
  (N: the API requests so far; the daily limit is ``daily_api_limit`` / ``--daily-api-limit``).
* ``sobjects/`` (list), ``sobjects/{T}/describe``, create (``POST sobjects/{T}/``), get / update
  / delete by id, get / upsert / delete by external id (201 created, 200 updated with
  ``created``; 204 and no ``created`` below v46; 300 for several matches; ``?updateOnly=true``).
* ``composite`` (≤25 subrequests, ``@{ref.field}`` references, ``allOrNone`` roll-back with
  ``PROCESSING_HALTED``; counted as one API request) and sObject Collections
  (``composite/sobjects`` create / update / delete, ``composite/sobjects/{T}/{ExtField}`` upsert;
  ≤200 records, ``allOrNone`` with ``ALL_OR_NONE_OPERATION_ROLLED_BACK``).
* ``query/`` and ``queryAll/`` with the SOQL subset of ``crm_sync.emulator_soql``; ``limits/``.
* Validation as Salesforce answers it: ``INVALID_FIELD``, ``STRING_TOO_LONG`` (lengths in
  characters), ``REQUIRED_FIELD_MISSING``, ``INVALID_EMAIL_ADDRESS``, ``MALFORMED_ID``,
  ``INVALID_CROSS_REFERENCE_KEY``, ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``,
  ``INVALID_FIELD_FOR_INSERT_UPDATE``, ``DUPLICATE_VALUE``, ``CANNOT_UPDATE_CONVERTED_LEAD``,
  ``JSON_PARSER_ERROR``; error bodies are ``[{"message", "errorCode", "fields"}]``. Deleting a
  lead or contact deletes its tasks and campaign memberships with it.
* Objects: Lead (standard fields + the external-id field), Contact, Account, Task, Campaign,
  CampaignMember; ``add_field`` adds custom fields (BL's configured ones).
* Fault injection for the next API requests: ``expire_sessions``, ``fail_next`` (503
  ``SERVER_UNAVAILABLE``, 500 ``UNKNOWN_EXCEPTION``, …), ``limit_exceeded`` (403
  ``REQUEST_LIMIT_EXCEEDED``), ``delay_next`` (does the work, then answers late).
* Inspection without auth: ``GET /_emulator/records`` and ``GET /_emulator/requests`` (JSON);
  control for other processes: ``POST /_emulator/reset``, ``POST /_emulator/faults``,
  ``POST /_emulator/leads/{id}/convert``.

Run it alone with ``python -m crm_sync.emulator [--port 8443] [--state-dir DIR]``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from cryptography import x509
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from crm_sync.emulator import soql

__all__ = ["DEFAULT_OWNER_ID", "ORG_ID", "RequestLog", "SalesforceEmulator"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
DAILY_API_LIMIT = 15000
MAX_COMPOSITE = 25
MAX_COMPOSITE_QUERIES_AND_COLLECTIONS = 5
MAX_COLLECTION = 200
FORBIDDEN_SUBREQUEST_HEADERS = {"accept", "authorization", "content-type"}
ROLLED_BACK_MESSAGE = (
    "The transaction was rolled back since another operation in the same transaction failed."
)

_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
# Email fields take ASCII addresses unless the org turned on Email Address Internationalization
# (EAI, off by default, API v49+); then UTF-8 local parts and domains are accepted too.
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_EAI_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")
_VERSION_RE = re.compile(r"^v(\d{2,3}\.\d)$")
_REFERENCE_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


def _with_checksum(id15: str) -> str:
    """Salesforce's 18-character form of a 15-character id (the case-safe suffix)."""
    suffix = ""
    for start in range(0, 15, 5):
        bits = sum(1 << i for i, c in enumerate(id15[start : start + 5]) if "A" <= c <= "Z")
        suffix += _ID_CHARS[bits]
    return id15 + suffix


def normalize_id(value: Any) -> str | None:
    """The 18-character id for a 15- or 18-character id, or None if it is not one."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    return _with_checksum(value[:15])


ORG_ID = _with_checksum("00DEm0000000001")
DEFAULT_OWNER_ID = _with_checksum("005EMULATOR0001")


def _now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


# --------------------------------------------------------------------------- schema


@dataclass
class FieldDef:
    """One field as ``describe`` shows it and as writes are checked against."""

    name: str
    type: str = "string"  # id string textarea email phone url picklist reference boolean date …
    length: int = 0
    required: bool = False  # must be non-null after a create or update
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    default: Any = None
    reference_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    label: str = ""

    def describe(self) -> dict[str, Any]:
        soap = {
            "id": "tns:ID",
            "reference": "tns:ID",
            "boolean": "xsd:boolean",
            "date": "xsd:date",
            "datetime": "xsd:dateTime",
        }
        return {
            "name": self.name,
            "label": self.label or _label(self.name),
            "type": self.type,
            "soapType": soap.get(self.type, "xsd:string"),
            "length": self.length,
            "byteLength": self.length * 3,
            "nillable": not self.required and self.type not in ("id", "boolean"),
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.default is not None or not self.createable,
            "defaultValue": self.default if self.type in ("picklist", "boolean") else None,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.type == "id" or self.external_id,
            "custom": self.name.endswith("__c"),
            "calculated": False,
            "filterable": True,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.name[:-2] if self.type == "reference" else None,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {"active": True, "defaultValue": v == self.default, "label": v, "value": v}
                for v in self.picklist
            ],
        }


def _label(name: str) -> str:
    if name.endswith("__c"):
        return name[:-3].replace("_", " ")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name.removesuffix("Id") or name) or name


@dataclass
class SObjectDef:
    name: str
    key_prefix: str
    fields: dict[str, FieldDef]
    label_plural: str = ""

    def field(self, name: str) -> FieldDef | None:
        """Field names are case-insensitive in Salesforce."""
        found = self.fields.get(name)
        if found is None:
            folded = name.casefold()
            found = next((f for f in self.fields.values() if f.name.casefold() == folded), None)
        return found

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.name,
            "labelPlural": self.label_plural or self.name + "s",
            "keyPrefix": self.key_prefix,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "queryable": True,
            "custom": self.name.endswith("__c"),
            "urls": {"sobject": base, "describe": base + "/describe", "rowId": base + "/{ID}"},
        }


def _system_fields() -> list[FieldDef]:
    return [
        FieldDef("Id", "id", 18, createable=False, updateable=False),
        FieldDef("CreatedDate", "datetime", createable=False, updateable=False),
        FieldDef("LastModifiedDate", "datetime", createable=False, updateable=False),
        FieldDef("IsDeleted", "boolean", createable=False, updateable=False, default=False),
    ]


def _owner() -> FieldDef:
    return FieldDef(
        "OwnerId",
        "reference",
        18,
        required=True,
        default=DEFAULT_OWNER_ID,
        reference_to=("User", "Group"),
        label="Owner ID",
    )


LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
COUNTRY_CODES = ("DK", "FO", "GL", "SE", "NO", "FI", "IS", "DE", "NL", "PL", "GB", "FR", "US")


def standard_sobjects(external_id_field: str) -> dict[str, SObjectDef]:
    """The objects the project uses, with Salesforce's standard lengths (notes §4)."""

    def sobject(name: str, prefix: str, fields: Iterable[FieldDef], plural: str = "") -> SObjectDef:
        all_fields = [*_system_fields(), *fields]
        return SObjectDef(name, prefix, {f.name: f for f in all_fields}, plural)

    s, ref = "string", "reference"
    lead = sobject(
        "Lead",
        "00Q",
        [
            FieldDef("FirstName", s, 40),
            FieldDef("LastName", s, 80, required=True),
            FieldDef("Company", s, 255, required=True),
            FieldDef("Title", s, 128),
            FieldDef("Email", "email", 80),
            FieldDef("Phone", "phone", 40),
            FieldDef("MobilePhone", "phone", 40),
            FieldDef("Website", "url", 255),
            FieldDef("Street", "textarea", 255),
            FieldDef("City", s, 40),
            FieldDef("State", s, 80),
            FieldDef("PostalCode", s, 20, label="Zip/Postal Code"),
            FieldDef("Country", s, 80),
            FieldDef("CountryCode", "picklist", 2, picklist=COUNTRY_CODES, restricted=True),
            FieldDef("LeadSource", "picklist", 40, picklist=LEAD_SOURCES),
            FieldDef("Industry", "picklist", 40),
            FieldDef("Description", "textarea", 32000),
            FieldDef(
                "Status",
                "picklist",
                40,
                required=True,
                default=LEAD_STATUSES[0],
                picklist=LEAD_STATUSES,
                restricted=True,
            ),
            FieldDef("HasOptedOutOfEmail", "boolean", default=False),
            _owner(),
            FieldDef("IsConverted", "boolean", createable=False, updateable=False, default=False),
            FieldDef("ConvertedDate", "date", createable=False, updateable=False),
            FieldDef(
                "ConvertedContactId",
                ref,
                18,
                createable=False,
                updateable=False,
                reference_to=("Contact",),
            ),
            FieldDef(external_id_field, s, 64, external_id=True, unique=True),
        ],
    )
    contact = sobject(
        "Contact",
        "003",
        [
            FieldDef("FirstName", s, 40),
            FieldDef("LastName", s, 80, required=True),
            FieldDef("Email", "email", 80),
            FieldDef("Phone", "phone", 40),
            FieldDef("AccountId", ref, 18, reference_to=("Account",)),
            _owner(),
        ],
    )
    account = sobject("Account", "001", [FieldDef("Name", s, 255, required=True), _owner()])
    campaign = sobject(
        "Campaign",
        "701",
        [
            FieldDef("Name", s, 80, required=True),
            FieldDef("IsActive", "boolean", default=False),
            _owner(),
        ],
    )
    member = sobject(
        "CampaignMember",
        "00v",
        [
            FieldDef("CampaignId", ref, 18, required=True, reference_to=("Campaign",)),
            FieldDef("LeadId", ref, 18, reference_to=("Lead",)),
            FieldDef("ContactId", ref, 18, reference_to=("Contact",)),
            FieldDef("Status", "picklist", 40, default="Sent", picklist=("Sent", "Responded")),
        ],
    )
    task = sobject(
        "Task",
        "00T",
        [
            FieldDef("Subject", "combobox", 255),
            FieldDef("WhoId", ref, 18, reference_to=("Lead", "Contact"), label="Name ID"),
            FieldDef(
                "WhatId", ref, 18, reference_to=("Account", "Campaign"), label="Related To ID"
            ),
            FieldDef("ActivityDate", "date", label="Due Date Only"),
            FieldDef(
                "Status",
                "picklist",
                40,
                required=True,
                default="Not Started",
                restricted=True,
                picklist=(
                    "Not Started",
                    "In Progress",
                    "Completed",
                    "Waiting on someone else",
                    "Deferred",
                ),
            ),
            FieldDef(
                "Priority",
                "picklist",
                40,
                required=True,
                default="Normal",
                restricted=True,
                picklist=("High", "Normal", "Low"),
            ),
            FieldDef("Description", "textarea", 32000),
            _owner(),
        ],
    )
    objects = [lead, contact, account, campaign, member, task]
    return {o.name: o for o in objects}


# --------------------------------------------------------------------------- plumbing


class ApiError(Exception):
    """An error answer: HTTP status and Salesforce's error list."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else str(status))
        self.status = status
        self.errors = errors


def error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    """One entry of Salesforce's error list."""
    entry: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return entry


def _not_found() -> ApiError:
    return ApiError(404, [error("NOT_FOUND", "The requested resource does not exist")])


def _as_record_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Collections and SaveResults use ``statusCode`` where REST errors use ``errorCode``."""
    return [
        {"statusCode": e["errorCode"], "message": e["message"], "fields": e.get("fields", [])}
        for e in errors
    ]


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Call:
    """One API call being routed: a request, or a Composite subrequest (``top=False``)."""

    method: str
    version: str
    query: Mapping[str, str]
    body: Any
    headers: Mapping[str, str]
    top: bool = True

    def allow(self, *methods: str) -> None:
        if self.method not in methods:
            message = f"HTTP Method '{self.method}' not allowed. Allowed are {','.join(methods)}"
            raise ApiError(405, [error("METHOD_NOT_ALLOWED", message)])

    def path(self, sobject: str, record_id: str = "") -> str:
        return f"/services/data/v{self.version}/sobjects/{sobject}/{record_id}"


@dataclass
class RequestLog:
    """One ``/services/data/`` call as received (a Composite call is one entry)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.time)


@dataclass
class _Fault:
    status: int
    error_code: str
    message: str


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    if status == 204 or body is None:
        return Response(status=status, headers=dict(headers or {}))
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json;charset=UTF-8",
    )


def _split_path(raw_path: str) -> list[str]:
    """Path segments, each percent-decoded on its own (so ``%2F`` stays inside a segment)."""
    return [unquote(part) for part in raw_path.strip("/").split("/")] if raw_path.strip("/") else []


def _truthy(value: str | None) -> bool:
    return (value or "").lower() == "true"


# --------------------------------------------------------------------------- the emulator


class SalesforceEmulator:
    """An in-memory Salesforce REST API over HTTPS on loopback (see the module docstring)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_version: str = "62.0",
        client_id: str = "intake-emulator",
        client_secret: str = "emulator-secret",  # noqa: S107 - a well-known emulator value
        username: str = "intake@bl.dk.emulator",
        password: str = "emulator-password",  # noqa: S107 - a well-known emulator value
        security_token: str = "",
        jwt_public_key_pem: bytes | None = None,
        external_id_field: str = "Intake_Submission_Id__c",
        state_dir: Path | None = None,
        daily_api_limit: int = DAILY_API_LIMIT,
        log_requests: bool = False,
        email_internationalization: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.api_version = api_version
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password
        self.security_token = security_token
        self.jwt_public_key_pem = jwt_public_key_pem
        self.external_id_field = external_id_field
        self.state_dir = Path(state_dir).resolve() if state_dir is not None else None
        self.daily_api_limit = daily_api_limit
        self.log_requests = log_requests
        self.email_pattern = _EAI_EMAIL_RE if email_internationalization else _EMAIL_RE

        self.schema = standard_sobjects(external_id_field)
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.schema}
        self.requests: list[RequestLog] = []
        self.auto_assign_headers: dict[str, str | None] = {}
        self.tokens: set[str] = set()

        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._faults: deque[_Fault] = deque()
        self._delays: deque[float] = deque()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._ca_pem_path: Path | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>`` (the ``instance_url``); only once started."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"https://{self.host}:{self._server.port}"

    @property
    def ca_pem_path(self) -> Path:
        """The throw-away CA certificate (PEM) that clients must trust; only once started."""
        if self._ca_pem_path is None:
            raise RuntimeError("the emulator is not started")
        return self._ca_pem_path

    def start(self) -> SalesforceEmulator:
        """Serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        import trustme  # the test extra: needed only to run the emulator

        directory = self.state_dir
        if directory is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="sf-emulator-")
            directory = Path(self._tempdir.name)
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / "ca.pem", directory / "ca.key"
        if cert_path.exists() and key_path.exists():
            ca = trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
        else:
            ca = trustme.CA(organization_name="BL Intake Salesforce emulator")
            key_path.touch(mode=0o600)
            key_path.write_bytes(ca.private_key_pem.bytes())
            cert_path.write_bytes(ca.cert_pem.bytes())
        self._ca_pem_path = cert_path
        names = dict.fromkeys([self.host, "127.0.0.1", "localhost"])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*names).configure_cert(context)

        handler = WSGIRequestHandler if self.log_requests else _QuietHandler
        self._stopping.clear()
        self._server = make_server(
            self.host,
            self.port,
            self,
            threaded=True,
            request_handler=handler,
            ssl_context=context,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"salesforce-emulator-{self._server.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed answers and remove the temporary CA directory."""
        self._stopping.set()
        server, thread = self._server, self._thread
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
            self._ca_pem_path = None

    def __enter__(self) -> SalesforceEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- inspection and seeding

    def api_request_count(self) -> int:
        """``/services/data/`` requests so far (what ``Sforce-Limit-Info`` reports)."""
        return len(self.requests)

    def add_record(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Store a record without validation (seed a Contact, a Campaign, duplicates…)."""
        with self._lock:
            sobj = self._sobject(sobject)
            data: dict[str, Any] = {}
            for name, value in fields.items():
                f = sobj.field(name)
                if f is None:
                    raise ValueError(f"No such column '{name}' on sobject of type {sobj.name}")
                data[f.name] = value
            return self._insert(sobj, data)

    def add_field(
        self,
        sobject: str,
        name: str,
        *,
        field_type: str = "string",
        length: int = 255,
        required: bool = False,
        external_id: bool = False,
        picklist: Iterable[str] = (),
    ) -> None:
        """Add a (custom) field, e.g. one of BL's configured Lead fields."""
        with self._lock:
            sobj = self._sobject(sobject)
            sobj.fields[name] = FieldDef(
                name,
                field_type,
                length,
                required=required,
                external_id=external_id,
                unique=external_id,
                picklist=tuple(picklist),
            )
            for record in self.records[sobj.name].values():
                record.setdefault(name, None)

    def get_record(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.records.get(self._sobject(sobject).name, {}).get(
                normalize_id(record_id) or ""
            )
            return copy.deepcopy(found)

    def find_records(self, sobject: str, **criteria: Any) -> list[dict[str, Any]]:
        """Records whose fields equal ``criteria``, e.g. ``find_records("Lead", Email=…)``."""
        with self._lock:
            return [
                copy.deepcopy(r)
                for r in self.records[self._sobject(sobject).name].values()
                if all(r.get(k) == v for k, v in criteria.items())
            ]

    def convert_lead(self, lead_id: str) -> str:
        """Convert a lead as a sales user would: a new Contact; returns the Contact id."""
        with self._lock:
            lead = self.records["Lead"].get(normalize_id(lead_id) or "")
            if lead is None:
                raise KeyError(lead_id)
            if lead["IsConverted"]:
                return str(lead["ConvertedContactId"])
            contact_id = self._insert(
                self.schema["Contact"],
                {k: lead[k] for k in ("FirstName", "LastName", "Email", "Phone")},
            )
            lead.update(
                IsConverted=True,
                ConvertedContactId=contact_id,
                ConvertedDate=date.today().isoformat(),
                Status="Closed - Converted",
                LastModifiedDate=_now(),
            )
            return contact_id

    def reset(self) -> None:
        """Forget records, added fields, the request log and pending faults (issued tokens
        stay valid)."""
        with self._lock:
            self.schema = standard_sobjects(self.external_id_field)
            for records in self.records.values():
                records.clear()
            self.requests.clear()
            self.auto_assign_headers.clear()
            self._faults.clear()
            self._delays.clear()

    def records_json(self) -> dict[str, list[dict[str, Any]]]:
        """All records grouped by type (what ``GET /_emulator/records`` shows)."""
        with self._lock:
            return {t: list(copy.deepcopy(rs).values()) for t, rs in self.records.items() if rs}

    # ----------------------------------------------------------------- fault injection

    def expire_sessions(self) -> None:
        """Invalidate every issued token: API calls get 401 ``INVALID_SESSION_ID``."""
        with self._lock:
            self.tokens.clear()

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        error_code: str = "SERVER_UNAVAILABLE",
        message: str = "Server temporarily unavailable; please try again later.",
    ) -> None:
        """Answer the next ``n`` API requests with this error, without doing the work."""
        with self._lock:
            self._faults.extend(_Fault(status, error_code, message) for _ in range(n))

    def limit_exceeded(self, n: int = 1) -> None:
        """The next ``n`` API requests get 403 ``REQUEST_LIMIT_EXCEEDED``."""
        self.fail_next(n, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def delay_next(self, seconds: float, n: int = 1) -> None:
        """The next ``n`` API requests are carried out, then answered ``seconds`` late."""
        with self._lock:
            self._delays.extend(seconds for _ in range(n))

    # ----------------------------------------------------------------- WSGI entry point

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
        raw = raw.encode("latin-1").decode("utf-8", "replace")
        raw_path, _, raw_query = raw.partition("?")
        try:
            if raw_path.rstrip("/") == "/services/data" or raw_path.startswith("/services/data/"):
                response = self._api_entry(request, raw_path, raw_query)
            elif raw_path.rstrip("/") == "/services/oauth2/token":
                response = self._token(request)
            elif raw_path.startswith("/_emulator"):
                response = self._emulator_page(request, raw_path)
            elif raw_path == "/":
                response = _json_response(200, self._index())
            else:
                response = _json_response(404, [error("NOT_FOUND", "Not found")])
        except Exception as exc:  # an emulator bug: answer like Salesforce, print the trace
            traceback.print_exc()
            response = _json_response(500, [error("UNKNOWN_EXCEPTION", f"emulator: {exc!r}")])
        return response(environ, start_response)

    def _index(self) -> dict[str, Any]:
        return {
            "emulator": "BL Intake Salesforce emulator",
            "instance_url": self.url,
            "token_endpoint": self.url + "/services/oauth2/token",
            "api": f"{self.url}/services/data/v{self.api_version}/",
            "records": self.url + "/_emulator/records",
            "requests": self.url + "/_emulator/requests",
        }

    # ----------------------------------------------------------------- OAuth

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return _json_response(405, {"error": "invalid_request", "error_description": "POST"})
        form = request.form
        grant = form.get("grant_type", "")

        def fail(err: str, description: str, status: int = 400) -> Response:
            return _json_response(status, {"error": err, "error_description": description})

        def client_ok(client_id: str | None, secret: str | None) -> Response | None:
            if client_id != self.client_id:
                return fail("invalid_client_id", "client identifier invalid")
            if secret is None or not hmac.compare_digest(secret, self.client_secret):
                return fail("invalid_client", "invalid client credentials")
            return None

        if grant == "client_credentials":
            auth = request.authorization
            if auth is not None and auth.type == "basic":
                problem = client_ok(auth.username, auth.password)
            else:
                problem = client_ok(form.get("client_id"), form.get("client_secret"))
            if problem is not None:
                return problem
        elif grant == "password":
            problem = client_ok(form.get("client_id"), form.get("client_secret"))
            if problem is not None:
                return problem
            password = form.get("password", "")
            if form.get("username") != self.username or not hmac.compare_digest(
                password, self.password + self.security_token
            ):
                return fail("invalid_grant", "authentication failure")
        elif grant == JWT_GRANT:
            problem_text = self._check_jwt(form.get("assertion", ""))
            if problem_text is not None:
                return fail("invalid_grant", problem_text)
        else:
            return fail("unsupported_grant_type", "grant type not supported")

        token = f"{ORG_ID}!{secrets.token_urlsafe(40)}"
        with self._lock:
            self.tokens.add(token)
        issued_at = str(int(time.time() * 1000))
        identity = f"{self.url}/id/{ORG_ID}/{DEFAULT_OWNER_ID}"
        signature = hmac.new(
            self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return _json_response(
            200,
            {
                "access_token": token,
                "instance_url": self.url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
                "signature": base64.b64encode(signature).decode(),
                "scope": "api",
            },
        )

    def _check_jwt(self, assertion: str) -> str | None:
        """None if the JWT-bearer assertion is good, else why not."""
        if self.jwt_public_key_pem is None:
            return "authentication failure (the emulator has no JWT certificate configured)"
        key: Any = self.jwt_public_key_pem
        if b"BEGIN CERTIFICATE" in key:
            key = x509.load_pem_x509_certificate(key).public_key()
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                audience=[*JWT_AUDIENCES, self.url],
                issuer=self.client_id,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            return f"authentication failure ({exc})"
        if claims.get("sub") != self.username:
            return "authentication failure (sub is not the configured user)"
        return None

    # ----------------------------------------------------------------- /_emulator

    def _emulator_page(self, request: Request, raw_path: str) -> Response:
        parts = _split_path(raw_path)[1:]
        if request.method == "GET" and parts == ["records"]:
            return _json_response(200, self.records_json())
        if request.method == "GET" and parts == ["requests"]:
            with self._lock:
                log = [asdict(entry) for entry in self.requests]
            return _json_response(200, log)
        if request.method == "POST" and parts == ["reset"]:
            self.reset()
            return _json_response(204, None)
        if request.method == "POST" and parts == ["faults"]:
            return self._fault_from_json(request.get_json(silent=True) or {})
        if request.method == "POST" and len(parts) == 3 and parts[::2] == ["leads", "convert"]:
            try:
                return _json_response(200, {"contactId": self.convert_lead(parts[1])})
            except KeyError:
                return _json_response(404, [error("NOT_FOUND", "no such lead")])
        return _json_response(404, [error("NOT_FOUND", "Not found")])

    def _fault_from_json(self, spec: Mapping[str, Any]) -> Response:
        """``{"fault": "expire_sessions" | "fail" | "limit_exceeded" | "delay", …}``."""
        kind, n = spec.get("fault"), int(spec.get("n", 1))
        if kind == "expire_sessions":
            self.expire_sessions()
        elif kind == "fail":
            self.fail_next(
                n,
                int(spec.get("status", 503)),
                str(spec.get("error_code", "SERVER_UNAVAILABLE")),
                str(spec.get("message", "Server temporarily unavailable; please try again later.")),
            )
        elif kind == "limit_exceeded":
            self.limit_exceeded(n)
        elif kind == "delay":
            self.delay_next(float(spec.get("seconds", 1.0)), n)
        else:
            return _json_response(400, [error("INVALID_INPUT", f"unknown fault {kind!r}")])
        return _json_response(204, None)

    # ----------------------------------------------------------------- the REST API

    def _api_entry(self, request: Request, raw_path: str, raw_query: str) -> Response:
        parts = _split_path(raw_path)[2:]  # after services/data
        if not parts:
            versions = [
                {
                    "label": "Emulator",
                    "url": f"/services/data/v{self.api_version}",
                    "version": self.api_version,
                }
            ]
            return _json_response(200, versions)
        body_text = request.get_data(as_text=True)
        try:
            body: Any = json.loads(body_text) if body_text.strip() else None
            body_error = None
        except ValueError as exc:
            body, body_error = body_text, exc
        headers = {k: v for k, v in request.headers.items()}
        logged_headers = dict(headers)
        if "Authorization" in logged_headers:
            scheme, _, token = logged_headers["Authorization"].partition(" ")
            logged_headers["Authorization"] = f"{scheme} …{token[-6:]}"
        entry = RequestLog(request.method, raw_path, raw_query, logged_headers, body)

        delay = 0.0
        with self._lock:
            self.requests.append(entry)
            reply = self._authorize(headers)
            if reply is None and self._faults:
                fault = self._faults.popleft()
                reply = Reply(fault.status, [error(fault.error_code, fault.message)])
            if reply is None and body_error is not None:
                reply = Reply(400, [error("JSON_PARSER_ERROR", f"Invalid JSON: {body_error}")])
            if reply is None:
                query = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
                reply = self._dispatch(request.method, parts, query, body, headers, top=True)
            entry.status = reply.status
            if self._delays:
                delay = self._delays.popleft()
            usage = f"api-usage={len(self.requests)}/{self.daily_api_limit}"
        if delay:
            self._stopping.wait(delay)
        return _json_response(
            reply.status, reply.body, {**reply.headers, "Sforce-Limit-Info": usage}
        )

    def _authorize(self, headers: Mapping[str, str]) -> Reply | None:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "oauth") and token in self.tokens:
            return None
        return Reply(401, [error("INVALID_SESSION_ID", "Session expired or invalid")])

    def _dispatch(
        self,
        method: str,
        parts: list[str],
        query: Mapping[str, str],
        body: Any,
        headers: Mapping[str, str],
        *,
        top: bool,
    ) -> Reply:
        """Route one API call (also a Composite subrequest); ``parts`` start at ``vNN.N``."""
        try:
            match = _VERSION_RE.match(parts[0]) if parts else None
            if match is None:
                raise _not_found()
            call = _Call(method, match.group(1), query, body, headers, top)
            return self._route(call, [p for p in parts[1:] if p != ""])
        except ApiError as exc:
            return Reply(exc.status, exc.errors)

    def _route(self, call: _Call, rest: list[str]) -> Reply:
        head = rest[0] if rest else ""
        if not rest:
            call.allow("GET")
            names = ("sobjects", "query", "queryAll", "composite", "limits")
            return Reply(200, {n: f"/services/data/v{call.version}/{n}" for n in names})
        if head == "limits" and len(rest) == 1:
            call.allow("GET")
            limit = self.daily_api_limit
            remaining = limit - len(self.requests)
            return Reply(200, {"DailyApiRequests": {"Max": limit, "Remaining": remaining}})
        if head in ("query", "queryAll") and len(rest) == 1:
            call.allow("GET")
            return self._query(call.version, call.query.get("q", ""))
        if head == "composite" and len(rest) == 1:
            call.allow("POST")
            if not call.top:
                raise ApiError(400, [error("INVALID_API_INPUT", "Composite can't be nested")])
            return self._composite(call.body, call.headers)
        if head == "composite" and len(rest) >= 2 and rest[1] == "sobjects":
            return self._collections(call, rest[2:])
        if head == "sobjects":
            return self._sobjects(call, rest[1:])
        raise _not_found()

    # ----------------------------------------------------------------- sobjects

    def _sobject(self, name: str) -> SObjectDef:
        found = self.schema.get(name) or next(
            (s for s in self.schema.values() if s.name.casefold() == name.casefold()), None
        )
        if found is None:
            raise _not_found()
        return found

    def _sobjects(self, call: _Call, rest: list[str]) -> Reply:
        if not rest:
            call.allow("GET")
            listing = [s.describe(call.version) for s in self.schema.values()]
            return Reply(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": listing})
        sobj = self._sobject(rest[0])
        if len(rest) == 1:
            call.allow("GET", "POST")
            if call.method == "GET":
                return Reply(
                    200, {"objectDescribe": sobj.describe(call.version), "recentItems": []}
                )
            record_id = self._create(sobj, self._body_fields(call.body), call.headers)
            result = {"id": record_id, "success": True, "errors": []}
            return Reply(201, result, {"Location": call.path(sobj.name, record_id)})
        if len(rest) == 2 and rest[1] == "describe":
            call.allow("GET")
            described = sobj.describe(call.version)
            described["fields"] = [f.describe() for f in sobj.fields.values()]
            return Reply(200, described)
        if len(rest) == 2:
            call.allow("GET", "PATCH", "DELETE")
            return self._by_id(call, sobj, self._existing_id(sobj, rest[1]))
        if len(rest) == 3:
            call.allow("GET", "PATCH", "DELETE")
            return self._by_external_id(call, sobj, rest[1], rest[2])
        raise _not_found()

    def _existing_id(self, sobj: SObjectDef, raw_id: str) -> str:
        record_id = normalize_id(raw_id)
        if record_id is None or record_id not in self.records[sobj.name]:
            raise _not_found()
        return record_id

    def _by_id(self, call: _Call, sobj: SObjectDef, record_id: str) -> Reply:
        if call.method == "GET":
            fields = call.query.get("fields")
            return Reply(200, self._record_view(call.version, sobj, record_id, fields))
        if call.method == "PATCH":
            self._update(sobj, record_id, self._body_fields(call.body), call.headers)
            return Reply(204)
        self._remove(sobj.name, record_id)
        return Reply(204)

    def _remove(self, sobject: str, record_id: str) -> None:
        """Delete a record as Salesforce does: a lead's or contact's tasks and campaign
        memberships go with it."""
        del self.records[sobject][record_id]
        self.auto_assign_headers.pop(record_id, None)
        if sobject in ("Lead", "Contact"):
            dependants = [
                ("Task", rid)
                for rid, task in self.records["Task"].items()
                if task.get("WhoId") == record_id
            ] + [
                ("CampaignMember", rid)
                for rid, member in self.records["CampaignMember"].items()
                if record_id in (member.get("LeadId"), member.get("ContactId"))
            ]
            for name, rid in dependants:
                del self.records[name][rid]

    def _by_external_id(self, call: _Call, sobj: SObjectDef, field_name: str, value: str) -> Reply:
        ext = sobj.field(field_name)
        if ext is None:
            raise _not_found()
        if ext.name == "Id":
            return self._by_id(call, sobj, self._existing_id(sobj, value))
        if not ext.external_id:
            message = (
                f"Field name provided, {ext.name} does not match an External ID, "
                f"Salesforce Id, or indexed field for {sobj.name}"
            )
            raise ApiError(400, [error("INVALID_FIELD", message)])
        matches = self._matching(sobj, ext.name, value)
        if len(matches) > 1:
            return Reply(300, [call.path(sobj.name, m) for m in matches])
        if call.method in ("GET", "DELETE"):
            if not matches:
                raise _not_found()
            return self._by_id(call, sobj, matches[0])
        record_id, created = self._upsert_one(
            sobj,
            ext,
            value,
            self._body_fields(call.body),
            call.headers,
            update_only=_truthy(call.query.get("updateOnly")),
        )
        modern = float(call.version) >= 46.0  # "created" exists since v46; updates were 204
        result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
        if modern:
            result["created"] = created
        if created:
            return Reply(201, result, {"Location": call.path(sobj.name, record_id)})
        return Reply(200, result) if modern else Reply(204)

    def _matching(self, sobj: SObjectDef, field_name: str, value: Any) -> list[str]:
        """Ids whose ``field_name`` equals ``value`` (external ids match case-insensitively)."""
        folded = str(value).casefold()
        return [
            rid
            for rid, record in self.records[sobj.name].items()
            if record.get(field_name) is not None and str(record[field_name]).casefold() == folded
        ]

    def _upsert_one(
        self,
        sobj: SObjectDef,
        ext: FieldDef,
        value: Any,
        data: dict[str, Any],
        headers: Mapping[str, str],
        *,
        update_only: bool = False,
    ) -> tuple[str, bool]:
        """Create or update by external id; returns (id, created)."""
        if value in (None, ""):
            raise ApiError(400, [error("MISSING_ARGUMENT", f"{ext.name} not specified", [])])
        if any(k.casefold() == "id" for k in data):
            message = "Unable to create/update fields: Id. Use the external id in the URL."
            raise ApiError(400, [error("INVALID_FIELD_FOR_INSERT_UPDATE", message, ["Id"])])
        in_body = next((k for k in data if k.casefold() == ext.name.casefold()), None)
        if in_body is not None and str(data[in_body]) != str(value):
            message = f"{ext.name}: the value in the body differs from the one in the URL"
            raise ApiError(400, [error("INVALID_FIELD", message, [ext.name])])
        matches = self._matching(sobj, ext.name, value)
        if len(matches) > 1:
            message = f"{ext.name}: more than one record found for external id value {value}"
            raise ApiError(300, [error("DUPLICATE_EXTERNAL_ID", message, [ext.name])])
        if matches:
            self._update(sobj, matches[0], data, headers)
            return matches[0], False
        if update_only:
            raise _not_found()
        fields = {k: v for k, v in data.items() if k != in_body}
        return self._create(sobj, {**fields, ext.name: value}, headers), True

    def _record_view(
        self, version: str, sobj: SObjectDef, record_id: str, fields: str | None = None
    ) -> dict[str, Any]:
        record = self.records[sobj.name][record_id]
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

    @staticmethod
    def _body_fields(body: Any) -> dict[str, Any]:
        if body is None:
            message = "The HTTP entity body is required, but this request has no entity body."
            raise ApiError(400, [error("JSON_PARSER_ERROR", message)])
        if not isinstance(body, dict):
            message = "Cannot deserialize instance of an sObject from a JSON value that is not {}"
            raise ApiError(400, [error("JSON_PARSER_ERROR", message)])
        return {k: v for k, v in body.items() if k != "attributes"}

    # ----------------------------------------------------------------- writes and validation

    def _new_id(self, sobj: SObjectDef) -> str:
        return _with_checksum(f"{sobj.key_prefix}Em{next(self._ids):010d}")

    def _insert(self, sobj: SObjectDef, data: Mapping[str, Any]) -> str:
        """Store a new record (defaults filled in); no validation."""
        record_id = self._new_id(sobj)
        now = _now()
        record: dict[str, Any] = {f: d.default for f, d in sobj.fields.items()}
        record.update(data)
        record.update(Id=record_id, CreatedDate=now, LastModifiedDate=now, IsDeleted=False)
        self.records[sobj.name][record_id] = record
        return record_id

    def _create(self, sobj: SObjectDef, data: Mapping[str, Any], headers: Mapping[str, str]) -> str:
        clean = self._validate(sobj, data, existing=None)
        record_id = self._insert(sobj, clean)
        self.auto_assign_headers[record_id] = _header(headers, "Sforce-Auto-Assign")
        return record_id

    def _update(
        self, sobj: SObjectDef, record_id: str, data: Mapping[str, Any], headers: Mapping[str, str]
    ) -> None:
        record = self.records[sobj.name][record_id]
        if sobj.name == "Lead" and record.get("IsConverted"):
            raise ApiError(
                400, [error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])]
            )
        clean = self._validate(sobj, data, existing=record)
        record.update(clean, LastModifiedDate=_now())
        self.auto_assign_headers[record_id] = _header(headers, "Sforce-Auto-Assign")

    def _validate(
        self, sobj: SObjectDef, data: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Canonical field names and values, or ApiError(400) with Salesforce's errors."""
        creating = existing is None
        clean: dict[str, Any] = {}
        read_only: list[str] = []
        for key, value in data.items():
            f = sobj.field(key)
            if f is None:
                message = f"No such column '{key}' on sobject of type {sobj.name}"
                raise ApiError(400, [error("INVALID_FIELD", message, [])])
            if not (f.createable if creating else f.updateable):
                read_only.append(f.name)
                continue
            clean[f.name] = _coerce(f, value)
        if read_only:
            message = (
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set."
            )
            raise ApiError(400, [error("INVALID_FIELD_FOR_INSERT_UPDATE", message, read_only)])

        errors: list[dict[str, Any]] = []
        for name, value in clean.items():
            errors.extend(self._field_errors(sobj, sobj.fields[name], value, existing))
        merged = {**{f: d.default for f, d in sobj.fields.items()}, **(existing or {}), **clean}
        missing = [
            f.name for f in sobj.fields.values() if f.required and merged.get(f.name) is None
        ]
        if missing:
            message = f"Required fields are missing: [{', '.join(missing)}]"
            errors.append(error("REQUIRED_FIELD_MISSING", message, missing))
        if sobj.name == "CampaignMember" and not errors:
            errors.extend(self._campaign_member_errors(merged, existing))
        if errors:
            raise ApiError(400, errors)
        for name, value in clean.items():  # Salesforce stores 18-character ids
            if sobj.fields[name].type == "reference" and value is not None:
                clean[name] = normalize_id(value)
        return clean

    def _field_errors(
        self, sobj: SObjectDef, f: FieldDef, value: Any, existing: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        if value is None:
            return []
        label = f.label or _label(f.name)
        if isinstance(value, str) and f.length and len(value) > f.length:
            message = f"{label}: data value too large: {value[:80]} (max length={f.length})"
            return [error("STRING_TOO_LONG", message, [f.name])]
        if f.type == "email" and not self.email_pattern.match(value):
            return [
                error("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", [f.name])
            ]
        if f.type == "picklist" and f.restricted and value not in f.picklist:
            message = f"{label}: bad value for restricted picklist field: {value}"
            return [error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, [f.name])]
        if f.type == "reference":
            return self._reference_errors(f, label, value)
        if f.unique:
            others = [
                rid
                for rid in self._matching(sobj, f.name, value)
                if existing is None or rid != existing.get("Id")
            ]
            if others:
                message = (
                    f"duplicate value found: {f.name} duplicates value on record with "
                    f"id: {others[0]}"
                )
                return [error("DUPLICATE_VALUE", message, [f.name])]
        return []

    def _reference_errors(self, f: FieldDef, label: str, value: str) -> list[dict[str, Any]]:
        ref_id = normalize_id(value)
        if ref_id is None:
            return [
                error("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [f.name])
            ]
        message = f"{label}: id value of incorrect type: {value}"
        wrong_type = [error("FIELD_INTEGRITY_EXCEPTION", message, [f.name])]
        if "User" in f.reference_to:  # owners: any user (005) or queue (00G) id
            return [] if ref_id[:3] in ("005", "00G") else wrong_type
        targets = [self.schema[t] for t in f.reference_to if t in self.schema]
        target = next((t for t in targets if t.key_prefix == ref_id[:3]), None)
        if target is None:
            return wrong_type
        if ref_id not in self.records[target.name]:
            return [error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])]
        return []

    def _campaign_member_errors(
        self, merged: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        if merged.get("LeadId") is None and merged.get("ContactId") is None:
            message = "Required fields are missing: [LeadId or ContactId]"
            return [error("REQUIRED_FIELD_MISSING", message, ["LeadId", "ContactId"])]
        key = [normalize_id(merged.get(k)) for k in ("CampaignId", "LeadId", "ContactId")]
        for rid, member in self.records["CampaignMember"].items():
            if existing is not None and rid == existing.get("Id"):
                continue
            other = [normalize_id(member.get(k)) for k in ("CampaignId", "LeadId", "ContactId")]
            if other == key:
                return [error("DUPLICATE_VALUE", "Already a campaign member.", [])]
        return []

    # ----------------------------------------------------------------- query

    def _query(self, version: str, text: str) -> Reply:
        try:
            parsed = soql.parse(text)
        except soql.SoqlError as exc:
            raise ApiError(400, [error(exc.error_code, exc.message)]) from None
        try:
            sobj = self._sobject(parsed.sobject)
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
        for record in self.records[sobj.name].values():
            if all(soql.compare(c, record.get(f.name), _normalizer(f)) for f, c in conditions):
                rows.append(record)
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

    # ----------------------------------------------------------------- composite

    def _snapshot(self) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, str | None]]:
        return copy.deepcopy(self.records), dict(self.auto_assign_headers)

    def _restore(self, snapshot: tuple[Any, Any]) -> None:
        """Put back a snapshot in place (references to ``records`` stay valid)."""
        records, auto_assign = snapshot
        for name in self.records:
            self.records[name].clear()
            self.records[name].update(records.get(name, {}))
        self.auto_assign_headers.clear()
        self.auto_assign_headers.update(auto_assign)

    def _composite(self, body: Any, headers: Mapping[str, str]) -> Reply:
        subrequests = _checked_subrequests(body)
        all_or_none = bool(body.get("allOrNone", False))
        snapshot = self._snapshot() if all_or_none else None
        bodies: dict[str, Any] = {}  # referenceId -> answer, for @{ref.field}
        responses: list[dict[str, Any]] = []
        for sub in subrequests:
            reply = self._subrequest(sub, bodies, headers)
            if reply.status < 400:
                bodies[sub["referenceId"]] = reply.body
            responses.append(_subresponse(sub, reply))
            if reply.status >= 400 and snapshot is not None:
                # allOrNone: undo everything; every other subrequest is "halted".
                self._restore(snapshot)
                halted = Reply(400, [error("PROCESSING_HALTED", ROLLED_BACK_MESSAGE)])
                responses = [_subresponse(s, reply if s is sub else halted) for s in subrequests]
                break
        return Reply(200, {"compositeResponse": responses})

    def _subrequest(
        self, sub: dict[str, Any], bodies: Mapping[str, Any], headers: Mapping[str, str]
    ) -> Reply:
        try:
            url = _resolve_references(sub["url"], bodies)
            body = _resolve_references(sub.get("body"), bodies)
        except _UnresolvedReference as exc:
            return Reply(400, [error("PROCESSING_HALTED", str(exc))])
        sub_headers = {k.casefold(): v for k, v in headers.items()}
        sub_headers.update((k.casefold(), v) for k, v in (sub.get("httpHeaders") or {}).items())
        raw_path, _, raw_query = str(url).partition("?")
        parts = _split_path(raw_path)
        if parts[:2] != ["services", "data"]:
            return Reply(404, [error("NOT_FOUND", "The requested resource does not exist")])
        query = {k: v[-1] for k, v in parse_qs(raw_query).items()}
        method = sub["method"].upper()
        return self._dispatch(method, parts[2:], query, body, sub_headers, top=False)

    # ----------------------------------------------------------------- sObject Collections

    def _collections(self, call: _Call, rest: list[str]) -> Reply:
        if not rest:
            call.allow("POST", "PATCH", "DELETE")
            if call.method == "DELETE":
                ids = [i for i in call.query.get("ids", "").split(",") if i]
                return self._collection_delete(ids, _truthy(call.query.get("allOrNone")))
            records, all_or_none = _collection_body(call.body)
            operation = self._collect_create if call.method == "POST" else self._collect_update
            return self._collection_apply(records, all_or_none, call.headers, operation)
        if len(rest) == 2:
            call.allow("PATCH")
            sobj = self._sobject(rest[0])
            ext = sobj.field(rest[1])
            if ext is None or not ext.external_id:
                message = f"Field name provided, {rest[1]} is not an External ID for {sobj.name}"
                raise ApiError(400, [error("INVALID_FIELD", message)])
            records, all_or_none = _collection_body(call.body)
            for record in records:
                if str(record["attributes"]["type"]).casefold() != sobj.name.casefold():
                    message = f"All records must be of type {sobj.name}"
                    raise ApiError(400, [error("INVALID_INPUT", message)])
            return self._collection_upsert(sobj, ext, records, all_or_none, call.headers)
        raise _not_found()

    def _collect_create(self, record: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        sobj = self._sobject(str(record["attributes"]["type"]))
        data = self._body_fields(record)
        if any(k.casefold() == "id" for k in data):
            raise ApiError(400, [error("INVALID_FIELD", "cannot specify Id in an insert call", [])])
        return {"id": self._create(sobj, data, headers), "success": True, "errors": []}

    def _collect_update(self, record: dict[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
        sobj = self._sobject(str(record["attributes"]["type"]))
        data = self._body_fields(record)
        raw_id = next((v for k, v in data.items() if k.casefold() == "id"), None)
        if raw_id is None:
            raise ApiError(400, [error("MISSING_ARGUMENT", "Id not specified in an update call")])
        record_id = normalize_id(raw_id)
        if record_id is None or record_id not in self.records[sobj.name]:
            message = f"invalid cross reference id: {raw_id}"
            raise ApiError(400, [error("INVALID_CROSS_REFERENCE_KEY", message, [])])
        fields = {k: v for k, v in data.items() if k.casefold() != "id"}
        self._update(sobj, record_id, fields, headers)
        return {"id": record_id, "success": True, "errors": []}

    def _collection_apply(
        self,
        records: list[dict[str, Any]],
        all_or_none: bool,
        headers: Mapping[str, str],
        operation: Callable[[dict[str, Any], Mapping[str, str]], dict[str, Any]],
    ) -> Reply:
        snapshot = self._snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        for record in records:
            try:
                results.append(operation(record, headers))
            except ApiError as exc:
                results.append({"success": False, "errors": _as_record_errors(exc.errors)})
        return Reply(200, self._roll_back_if_needed(results, snapshot))

    def _collection_upsert(
        self,
        sobj: SObjectDef,
        ext: FieldDef,
        records: list[dict[str, Any]],
        all_or_none: bool,
        headers: Mapping[str, str],
    ) -> Reply:
        snapshot = self._snapshot() if all_or_none else None
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
                data = self._body_fields(record)
                if any(k.casefold() == "id" for k in data):
                    message = "Only external ids are supported; don't send Id"
                    raise ApiError(400, [error("INVALID_FIELD", message, ["Id"])])
                fields = {k: v for k, v in data.items() if k.casefold() != ext.name.casefold()}
                record_id, created = self._upsert_one(sobj, ext, value, fields, headers)
                results.append({"id": record_id, "success": True, "errors": [], "created": created})
            except ApiError as exc:
                results.append({"success": False, "errors": _as_record_errors(exc.errors)})
        return Reply(200, self._roll_back_if_needed(results, snapshot))

    def _collection_delete(self, ids: list[str], all_or_none: bool) -> Reply:
        if not ids or len(ids) > MAX_COLLECTION:
            message = f"ids must list 1 to {MAX_COLLECTION} record ids"
            raise ApiError(400, [error("INVALID_INPUT", message)])
        snapshot = self._snapshot() if all_or_none else None
        results: list[dict[str, Any]] = []
        for raw_id in ids:
            record_id = normalize_id(raw_id)
            owner = next((t for t, rs in self.records.items() if record_id in rs), None)
            if record_id is None or owner is None:
                errors = [error("ENTITY_IS_DELETED", "entity is deleted", [])]
                results.append(
                    {"id": raw_id, "success": False, "errors": _as_record_errors(errors)}
                )
                continue
            self._remove(owner, record_id)
            results.append({"id": record_id, "success": True, "errors": []})
        return Reply(200, self._roll_back_if_needed(results, snapshot))

    def _roll_back_if_needed(
        self, results: list[dict[str, Any]], snapshot: tuple[Any, Any] | None
    ) -> list[dict[str, Any]]:
        if snapshot is None or all(r["success"] for r in results):
            return results
        self._restore(snapshot)
        rolled_back = _as_record_errors(
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


# --------------------------------------------------------------------------- helpers


def _header(headers: Mapping[str, str], name: str) -> str | None:
    folded = name.casefold()
    return next((v for k, v in headers.items() if k.casefold() == folded), None)


def _coerce(f: FieldDef, value: Any) -> Any:
    """The stored value for a JSON value, or JSON_PARSER_ERROR like Salesforce's parser."""

    def bad(kind: str) -> ApiError:
        message = (
            f"Cannot deserialize instance of {kind} from {type(value).__name__} value "
            f"{value!r} or request may be missing a required field"
        )
        return ApiError(400, [error("JSON_PARSER_ERROR", message)])

    if f.type == "boolean":
        if value is None:
            return False
        if not isinstance(value, bool):
            raise bad("boolean")
        return value
    if value is None or value == "":
        return None  # Salesforce stores empty text as null
    if f.type == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise bad("date") from None
    if f.type in ("double", "currency", "int", "percent"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f.type)
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad("string")
    return str(value)


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


def _checked_subrequests(body: Any) -> list[dict[str, Any]]:
    """The Composite subrequests, or ApiError(400) for a request Salesforce would refuse."""
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise ApiError(400, [error("JSON_PARSER_ERROR", "compositeRequest is required")])
    if len(subrequests) > MAX_COMPOSITE:
        message = f"Composite takes at most {MAX_COMPOSITE} subrequests"
        raise ApiError(400, [error("LIMIT_EXCEEDED", message)])
    seen: set[str] = set()
    heavy = 0
    for sub in subrequests:
        if not (
            isinstance(sub, dict)
            and isinstance(sub.get("method"), str)
            and isinstance(sub.get("url"), str)
            and re.fullmatch(r"[A-Za-z0-9_]+", str(sub.get("referenceId", "")))
        ):
            message = "Each subrequest needs method, url and a referenceId of letters, digits, _"
            raise ApiError(400, [error("JSON_PARSER_ERROR", message)])
        if sub["referenceId"] in seen:
            message = f"Duplicate referenceId provided in the request: {sub['referenceId']}"
            raise ApiError(400, [error("INVALID_INPUT", message)])
        seen.add(sub["referenceId"])
        if any(k.lower() in FORBIDDEN_SUBREQUEST_HEADERS for k in sub.get("httpHeaders") or {}):
            message = "Subrequests may not set Accept, Authorization or Content-Type"
            raise ApiError(400, [error("INVALID_INPUT", message)])
        path = sub["url"].partition("?")[0]
        heavy += bool(re.search(r"/(query|queryAll)/?$|/composite/sobjects", path))
    if heavy > MAX_COMPOSITE_QUERIES_AND_COLLECTIONS:
        message = "Composite takes at most 5 query or sObject Collections subrequests"
        raise ApiError(400, [error("LIMIT_EXCEEDED", message)])
    return subrequests


def _subresponse(sub: Mapping[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "body": reply.body,
        "httpHeaders": reply.headers,
        "httpStatusCode": reply.status,
        "referenceId": sub["referenceId"],
    }


class _UnresolvedReference(Exception):
    pass


def _resolve_references(value: Any, bodies: Mapping[str, Any]) -> Any:
    """Replace ``@{ref.path}`` in strings (recursively) with values from earlier answers."""
    if isinstance(value, dict):
        return {k: _resolve_references(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_references(v, bodies) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value

    def lookup(match: re.Match[str]) -> Any:
        reference_id, path = match.group(1), match.group(2)
        expression = match.group(0)[2:-1]
        if reference_id not in bodies:
            raise _UnresolvedReference(
                f"Invalid reference specified. No value for {expression} found in "
                f"{reference_id}. Provided referenceId ('{reference_id}') must start with a "
                "letter or a number, and it can contain only letters, numbers and underscores "
                "('_')."
            )
        current = bodies[reference_id]
        for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            try:
                current = current[step[0]] if step[0] else current[int(step[1])]
            except (KeyError, IndexError, TypeError):
                raise _UnresolvedReference(
                    f"Invalid reference specified. No value for {expression} found in "
                    f"{reference_id}."
                ) from None
        return current

    whole = _REFERENCE_RE.fullmatch(value)
    if whole is not None:
        return lookup(whole)
    return _REFERENCE_RE.sub(lambda m: str(lookup(m)), value)
