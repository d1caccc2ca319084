"""The emulator's WSGI entry point: which part answers which path.

``/services/data/`` goes to the REST API (api.py), ``/services/oauth2/token`` to the token
endpoint (oauth.py), ``/_emulator/`` to the control pages (control.py), ``/`` to a small
index. A bug in the emulator answers 500 ``UNKNOWN_EXCEPTION``, as Salesforce does, and
prints its trace.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from crm_sync.emulator.api import RestApi
from crm_sync.emulator.calls import json_response
from crm_sync.emulator.control import control_page
from crm_sync.emulator.errors import error
from crm_sync.emulator.oauth import OAuth

if TYPE_CHECKING:
    from crm_sync.emulator.server import SalesforceEmulator

__all__ = ["FrontDoor"]


class FrontDoor:
    """The WSGI application of one emulator."""

    def __init__(self, emulator: SalesforceEmulator, api: RestApi, oauth: OAuth) -> None:
        self.emulator = emulator
        self.api = api
        self.oauth = oauth

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
        raw = raw.encode("latin-1").decode("utf-8", "replace")
        raw_path, _, raw_query = raw.partition("?")
        try:
            response = self._answer(request, raw_path, raw_query)
        except Exception as exc:  # an emulator bug: answer like Salesforce, print the trace
            traceback.print_exc()
            response = json_response(500, [error("UNKNOWN_EXCEPTION", f"emulator: {exc!r}")])
        return response(environ, start_response)

    def _answer(self, request: Request, raw_path: str, raw_query: str) -> Response:
        if raw_path.rstrip("/") == "/services/data" or raw_path.startswith("/services/data/"):
            return self.api.handle(request, raw_path, raw_query)
        if raw_path.rstrip("/") == "/services/oauth2/token":
            return self.oauth.token(request, self.emulator.url)
        if raw_path.startswith("/_emulator"):
            return control_page(self.emulator, request, raw_path)
        if raw_path == "/":
            return json_response(200, self._index())
        return json_response(404, [error("NOT_FOUND", "Not found")])

    def _index(self) -> dict[str, Any]:
        url = self.emulator.url
        return {
            "emulator": "BL Intake Salesforce emulator",
            "instance_url": url,
            "token_endpoint": url + "/services/oauth2/token",
            "api": f"{url}/services/data/v{self.emulator.api_version}/",
            "records": url + "/_emulator/records",
            "requests": url + "/_emulator/requests",
        }
