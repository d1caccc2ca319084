"""``SalesforceEmulator``: the emulator's HTTPS server, and the one object tests hold.

It owns the settings, the lifecycle (``start``/``stop``, a daemon thread serving werkzeug
over TLS on loopback) and the WSGI entry point, which sends each path to its part:
``/services/oauth2/token`` to oauth.py, ``/services/data/`` to api.py, ``/_emulator/`` to
control.py. Its public methods seed and inspect the records and inject faults; they hold the
same lock as the API, so a test sees whole requests only. ``org`` (org.py) is what the org's
admin has set up: the duplicate rule, validation rules, read-only maintenance, the JWT
audience; a test changes it in place, and ``reset`` puts back what the emulator started with.
"""

from __future__ import annotations

import copy
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from crm_sync.emulator.api import RequestLog, RestApi
from crm_sync.emulator.faults import Faults
from crm_sync.emulator.front import FrontDoor
from crm_sync.emulator.ids import normalize_id
from crm_sync.emulator.oauth import OAuth
from crm_sync.emulator.org import DuplicateRuleAction, OrgSettings
from crm_sync.emulator.records import RecordStore
from crm_sync.emulator.schema import SObjectDef
from crm_sync.emulator.tls import server_context
from crm_sync.emulator.validation import EAI_EMAIL_RE, EMAIL_RE

__all__ = ["DAILY_API_LIMIT", "SalesforceEmulator"]

DAILY_API_LIMIT = 15000


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SalesforceEmulator:
    """An in-memory Salesforce REST API over HTTPS on loopback (see the package docstring)."""

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
        duplicate_rule: DuplicateRuleAction | str | None = None,
        sandbox: bool = False,
    ) -> None:
        """The settings stay attributes: the token endpoint and the API read them when they
        answer, ``start`` reads the address, the state directory and ``log_requests``."""
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

        self._lock = threading.Lock()
        self._stopping = threading.Event()
        email_pattern = EAI_EMAIL_RE if email_internationalization else EMAIL_RE
        rule = DuplicateRuleAction(duplicate_rule) if duplicate_rule else None
        self.org = OrgSettings(duplicate_rule=rule, sandbox=sandbox)
        self._at_start = (self.org.copy(), daily_api_limit)
        self._store = RecordStore(external_id_field, email_pattern, self.org, api_version)
        self._faults = Faults()
        self._oauth = OAuth(self)
        self._api = RestApi(
            self, self._store, self._oauth, self._faults, lock=self._lock, stopping=self._stopping
        )
        self._front = FrontDoor(self, self._api, self._oauth)
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
        """Serve in a daemon thread; returns self. Raises ``TrustmeMissing`` (a RuntimeError
        that says what to install) without the ``emulator`` extra."""
        if self._server is not None:
            return self
        directory = self.state_dir
        if directory is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="sf-emulator-")
            directory = Path(self._tempdir.name)
        directory.mkdir(parents=True, exist_ok=True)
        try:
            hosts = dict.fromkeys([self.host, "127.0.0.1", "localhost"])
            context, self._ca_pem_path = server_context(directory, hosts)
        except BaseException:
            self._remove_tempdir()
            raise

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
        self._remove_tempdir()

    def _remove_tempdir(self) -> None:
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
            self._ca_pem_path = None

    def __enter__(self) -> SalesforceEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- the state, live

    @property
    def records(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The records by type and id, live (``records["Lead"][lead_id]["Email"]``)."""
        return self._store.records

    @property
    def auto_assign_headers(self) -> dict[str, str | None]:
        """Each record's ``Sforce-Auto-Assign`` header at its last write (None: not sent)."""
        return self._store.auto_assign_headers

    @property
    def schema(self) -> dict[str, SObjectDef]:
        return self._store.schema

    @property
    def jwt_audiences(self) -> tuple[str, ...]:
        """The ``aud`` a JWT bearer assertion must name (the org's, org.py)."""
        return self.org.jwt_audiences

    @property
    def requests(self) -> list[RequestLog]:
        """The ``/services/data/`` calls so far, oldest first."""
        return self._api.requests

    # ----------------------------------------------------------------- inspection and seeding

    def api_request_count(self) -> int:
        """``/services/data/`` requests so far (what ``Sforce-Limit-Info`` reports)."""
        return len(self.requests)

    def add_record(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Store a record without validation (seed a Contact, a Campaign, duplicates…)."""
        with self._lock:
            return self._store.add_unchecked(sobject, fields)

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
            self._store.add_field(
                sobject,
                name,
                field_type=field_type,
                length=length,
                required=required,
                external_id=external_id,
                picklist=picklist,
            )

    def get_record(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.records.get(self._store.sobject(sobject).name, {}).get(
                normalize_id(record_id) or ""
            )
            return copy.deepcopy(found)

    def find_records(self, sobject: str, **criteria: Any) -> list[dict[str, Any]]:
        """Records whose fields equal ``criteria``, e.g. ``find_records("Lead", Email=…)``."""
        with self._lock:
            return [
                copy.deepcopy(r)
                for r in self.records[self._store.sobject(sobject).name].values()
                if all(r.get(k) == v for k, v in criteria.items())
            ]

    def convert_lead(self, lead_id: str) -> str:
        """Convert a lead as a sales user would: a new Contact; returns the Contact id."""
        with self._lock:
            return self._store.convert_lead(lead_id)

    def edit_record(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change a record as a sales user would (``edit_record("Lead", id, {"Status":
        "Working - Contacted"})``, a task's Status): LastModifiedDate moves on. KeyError for
        an unknown record; ApiError (errors.py) for a change Salesforce would refuse."""
        with self._lock:
            self._store.edit(sobject, record_id, fields)

    def reset(self) -> None:
        """Forget records, added fields, the request log, the daily usage and pending faults,
        and put back the org's settings and daily limit the emulator started with (issued
        tokens stay valid)."""
        with self._lock:
            self._store.reset()
            self._api.forget()
            self._api.clock_offset = 0.0
            self._faults.clear()
            org, self.daily_api_limit = self._at_start
            self.org.restore(org)

    def records_json(self) -> dict[str, list[dict[str, Any]]]:
        """All records grouped by type (what ``GET /_emulator/records`` shows)."""
        with self._lock:
            return {t: list(copy.deepcopy(rs).values()) for t, rs in self.records.items() if rs}

    def requests_json(self) -> list[dict[str, Any]]:
        """The request log as plain data (what ``GET /_emulator/requests`` shows)."""
        with self._lock:
            return [asdict(entry) for entry in self.requests]

    # ----------------------------------------------------------------- fault injection

    def expire_sessions(self) -> None:
        """Invalidate every issued token: API calls get 401 ``INVALID_SESSION_ID``."""
        self._oauth.expire_sessions()

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        error_code: str = "SERVER_UNAVAILABLE",
        message: str = "Server temporarily unavailable; please try again later.",
    ) -> None:
        """Answer the next ``n`` API requests with this error, without doing the work."""
        with self._lock:
            self._faults.fail_next(n, status, error_code, message)

    def limit_exceeded(self, n: int = 1) -> None:
        """The next ``n`` API requests get 403 ``REQUEST_LIMIT_EXCEEDED`` (to spend the daily
        allowance instead, lower ``daily_api_limit``)."""
        self.fail_next(n, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def too_many_requests(self, n: int = 1, retry_after: int = 30) -> None:
        """The next ``n`` API requests get a plain-text 429 with ``Retry-After``."""
        with self._lock:
            self._faults.too_many_requests(n, retry_after)

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock on: requests older than 24 hours leave the window of
        the daily allowance."""
        with self._lock:
            self._api.clock_offset += seconds

    def api_usage(self) -> int:
        """The API requests counted against the daily allowance (the last 24 hours)."""
        with self._lock:
            return self._api.usage()

    def clear_faults(self) -> None:
        """Forget the errors and delays queued for the next requests."""
        with self._lock:
            self._faults.clear()

    def delay_next(self, seconds: float, n: int = 1) -> None:
        """The next ``n`` API requests are carried out, then answered ``seconds`` late."""
        with self._lock:
            self._faults.delay_next(seconds, n)

    # ----------------------------------------------------------------- WSGI entry point

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self._front(environ, start_response)
