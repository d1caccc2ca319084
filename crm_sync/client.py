"""The Salesforce REST client: simple-salesforce over a session we control.

What we add to simple-salesforce (../shared/notes/salesforce.md §1, §3):
- a timeout on every request (simple-salesforce sets none, so a hung Salesforce would stall
  the worker for ever);
- SALESFORCE_CA_BUNDLE that the environment cannot override (requests lets
  REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE replace a session's `verify`, and these machines set them);
- our own re-login on an expired session, once: simple-salesforce only refreshes sessions it
  logged in itself, loses custom headers on the retried request, and can loop;
- one translation of its exceptions into CrmUnavailable / CrmRejected (errors.py): a 429 or
  any 5xx is unavailable whatever its body says (a gateway's 429 is plain text), with the
  Retry-After it gave;
- a count of API requests, and the daily usage from the Sforce-Limit-Info header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMoreThanOneRecord,
)

from crm_sync.auth import request_token
from crm_sync.config import SalesforceConfig
from crm_sync.errors import CrmError, CrmRejected, CrmUnavailable, error_for

# The org's usage, not the connected app's (`per-app-api-usage=17/250(appName=…)`), which
# Salesforce may send in the same header, in either order.
_API_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


class PinnedSession(requests.Session):
    """A requests session with a default timeout and a CA bundle the environment can't replace;
    it counts API requests and keeps the daily usage of the last answer that gave one."""

    def __init__(self, ca_bundle: str | None, timeout: float) -> None:
        super().__init__()
        if ca_bundle:
            self.verify = ca_bundle
        self.timeout = timeout
        self.api_requests = 0
        self.api_usage: tuple[int, int] | None = None  # (used, limit) today, org-wide
        self.api_usage_at: datetime | None = None  # when Salesforce reported it
        self.retry_after: float | None = None  # the last answer's Retry-After, in seconds

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and self.verify is not True:
            settings["verify"] = self.verify
        return settings

    def request(
        self, method: str, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        api = "/services/data/" in str(url)
        if api:
            self.api_requests += 1
        response = super().request(method, url, *args, **kwargs)
        # Sforce-Limit-Info: api-usage=18/15000 on every REST answer, errors included.
        usage = _API_USAGE.search(response.headers.get("Sforce-Limit-Info", "")) if api else None
        if usage:
            self.api_usage = (int(usage[1]), int(usage[2]))
            self.api_usage_at = datetime.now(UTC)
        self.retry_after = _seconds(response.headers.get("Retry-After"))
        return response


def _seconds(retry_after: str | None) -> float | None:
    """Retry-After in seconds (its delay-seconds form; an HTTP date is not worth the parse)."""
    try:
        return max(0.0, float(retry_after)) if retry_after else None
    except ValueError:
        return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The exceptions behind `error`, nearest first: requests wraps urllib3's, which wraps the
    socket's or the TLS library's (in args, `reason` or the exception chain)."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending and len(seen) < 20:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [
            e
            for e in (
                getattr(current, "reason", None),
                *current.args,
                current.__cause__,
                current.__context__,
            )
            if isinstance(e, BaseException)
        ]


def _unreachable(error: requests.RequestException) -> CrmUnavailable:
    """What went wrong and where, without the URL: requests' message quotes it, query and all,
    and the contact look-up's query holds e-mail addresses (`WHERE Email IN ('…%40…')`)."""
    request = error.request
    where = urlsplit(str(request.url)) if request is not None and request.url else None
    host = f" ({where.hostname}{f':{where.port}' if where.port else ''})" if where else ""
    why = ""
    for cause in _causes(error):
        # The operating system's or the TLS library's own words, e.g. "Connection refused",
        # "certificate has expired": never a URL.
        reason = getattr(cause, "verify_message", None) or getattr(cause, "strerror", None)
        if isinstance(reason, str) and reason:
            why = f": {type(cause).__name__}: {reason}"
            break
    return CrmUnavailable(f"Salesforce kunne ikke nås{host}: {type(error).__name__}{why}")


def translate(error: Exception, retry_after: float | None = None) -> CrmError:
    """simple-salesforce's and requests' exceptions as CrmUnavailable or CrmRejected;
    `retry_after`: the answer's Retry-After, for a 429 or 503."""
    if isinstance(error, requests.RequestException):
        return _unreachable(error)
    if isinstance(error, SalesforceMoreThanOneRecord):
        return CrmRejected("Eksternt id findes på flere poster i Salesforce (HTTP 300)")
    if isinstance(error, SalesforceError):
        # simple-salesforce annotates `content` as bytes, but passes the parsed JSON body
        # (or the body's text when it is not JSON).
        content: object = error.content
        first: object = content[0] if isinstance(content, list) and content else {}
        code = first.get("errorCode", "") if isinstance(first, dict) else ""
        message = first.get("message", str(content)) if isinstance(first, dict) else str(content)
        if isinstance(error, SalesforceGeneralError) and (
            error.status >= 500 or error.status == 429
        ):
            text = f"Salesforce svarede {error.status}: {code} {message}".strip()
            return CrmUnavailable(" ".join(text.split())[:500], retry_after)
        return error_for(code or f"HTTP {error.status}", message, retry_after)
    return CrmUnavailable(f"{type(error).__name__}: {error}")


class SalesforceClient:
    """One logged-in connection to Salesforce, made on first use and renewed when it expires."""

    def __init__(self, config: SalesforceConfig) -> None:
        self.config = config
        self.session = PinnedSession(config.ca_bundle, config.timeout_seconds)
        self._sf: Salesforce | None = None
        self.instance_url = ""
        # API requests the database has (BL Intake's intake.delivery.salesforce_usage)
        self.recorded_requests = 0

    @property
    def api_requests(self) -> int:
        """API requests sent so far (logins not counted: they are not API calls)."""
        return self.session.api_requests

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, limit) of the org's daily API requests, from the last response."""
        return self.session.api_usage

    @property
    def api_usage_at(self) -> datetime | None:
        """When Salesforce reported `api_usage`."""
        return self.session.api_usage_at

    def mark_recorded(self, up_to: int) -> None:
        """The database has this client's first `up_to` API requests (once committed)."""
        self.recorded_requests = max(self.recorded_requests, up_to)

    def _connection(self) -> Salesforce:
        if self._sf is None:
            token = request_token(self.config, self.session)
            self.instance_url = token.instance_url
            self._sf = Salesforce(
                instance_url=token.instance_url,
                session_id=token.access_token,
                session=self.session,
                version=self.config.api_version,
            )
        return self._sf

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One REST call, `path` relative to /services/data/vXX.X/; the parsed JSON or None."""
        for attempt in (1, 2):
            try:
                sf = self._connection()
                return sf.restful(
                    path, params=params, method=method, json=json, headers=dict(headers or {})
                )
            except SalesforceExpiredSession:
                self._sf = None  # log in again, once
                if attempt == 2:
                    raise CrmUnavailable(
                        "Salesforce afviste sessionen igen lige efter et nyt login"
                    ) from None
            except CrmError:
                raise
            except (SalesforceError, requests.RequestException) as error:
                retry_after = self.session.retry_after
                raise translate(error, retry_after) from error
        raise AssertionError("unreachable")

    def query(self, soql: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The records of a SOQL query (following nextRecordsUrl pages); with
        `include_deleted`, queryAll: deleted records too (`IsDeleted` true)."""
        resource = "queryAll/" if include_deleted else "query/"
        result = self.call("GET", resource, params={"q": soql})
        records = list(result.get("records", []))
        while not result.get("done", True) and result.get("nextRecordsUrl"):
            next_path = result["nextRecordsUrl"].split(f"/v{self.config.api_version}/", 1)[-1]
            result = self.call("GET", next_path)
            records += result.get("records", [])
        return records

    def record_url(self, sobject: str, record_id: str) -> str:
        return f"{self.instance_url}/lightning/r/{sobject}/{record_id}/view"
