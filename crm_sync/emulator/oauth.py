"""``POST /services/oauth2/token``: the grants BL Intake may log in with, and the sessions
they start.

* ``client_credentials``: client id and secret by Basic auth or in the form;
* ``password``: client id and secret, username, and password + security token;
* ``urn:ietf:params:oauth:grant-type:jwt-bearer``: an RS256 assertion signed with the private
  key of the connected app's certificate (``jwt_public_key_pem``: the certificate, or its
  public key), ``iss`` the client id, ``sub`` the username, ``exp`` in the future and ``aud``
  what Salesforce requires: ``https://login.salesforce.com`` for a production org,
  ``https://test.salesforce.com`` for a sandbox, or an Experience Cloud site's URL
  (``jwt_audiences``), never the My Domain or instance URL the token request goes to
  (``invalid_grant`` / ``audience is invalid``; a bad signature: ``invalid assertion``).

Answers are Salesforce's (``access_token``, ``instance_url``, ``id``, ``signature``, …; 400
``invalid_grant`` / ``invalid_client`` / ``invalid_client_id`` / ``unsupported_grant_type``).
Issued tokens stay valid until ``expire_sessions``; ``reset`` does not forget them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from typing import Any, Protocol

import jwt
from cryptography import x509
from werkzeug.wrappers import Request, Response

from crm_sync.emulator.calls import json_response
from crm_sync.emulator.ids import DEFAULT_OWNER_ID, ORG_ID

__all__ = ["JWT_GRANT", "Credentials", "OAuth"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class Credentials(Protocol):
    """The connected app and the integration user the emulator accepts; read on every token
    request, so a test may change them on a running emulator (``SalesforceEmulator`` is one)."""

    client_id: str
    client_secret: str
    username: str
    password: str
    security_token: str
    jwt_public_key_pem: bytes | None

    @property
    def jwt_audiences(self) -> tuple[str, ...]: ...


class OAuth:
    """The token endpoint, and the set of access tokens it has issued (thread-safe)."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.tokens: set[str] = set()
        self._lock = threading.Lock()

    def is_valid(self, authorization: str) -> bool:
        """Whether an ``Authorization`` header carries a token issued here."""
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            return scheme.lower() in ("bearer", "oauth") and token in self.tokens

    def expire_sessions(self) -> None:
        with self._lock:
            self.tokens.clear()

    def token(self, request: Request, instance_url: str) -> Response:
        """Answer a token request; ``instance_url`` is the emulator's own URL."""
        if request.method != "POST":
            return json_response(405, {"error": "invalid_request", "error_description": "POST"})
        form = request.form
        grant = form.get("grant_type", "")
        creds = self.credentials

        def fail(err: str, description: str, status: int = 400) -> Response:
            return json_response(status, {"error": err, "error_description": description})

        def client_ok(client_id: str | None, secret: str | None) -> Response | None:
            if client_id != creds.client_id:
                return fail("invalid_client_id", "client identifier invalid")
            if secret is None or not hmac.compare_digest(secret, creds.client_secret):
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
            if form.get("username") != creds.username or not hmac.compare_digest(
                password, creds.password + creds.security_token
            ):
                return fail("invalid_grant", "authentication failure")
        elif grant == JWT_GRANT:
            problem_text = self._check_jwt(form.get("assertion", ""))
            if problem_text is not None:
                return fail("invalid_grant", problem_text)
        else:
            return fail("unsupported_grant_type", "grant type not supported")
        return json_response(200, self._issue(instance_url))

    def _issue(self, instance_url: str) -> dict[str, Any]:
        token = f"{ORG_ID}!{secrets.token_urlsafe(40)}"
        with self._lock:
            self.tokens.add(token)
        issued_at = str(int(time.time() * 1000))
        identity = f"{instance_url}/id/{ORG_ID}/{DEFAULT_OWNER_ID}"
        signature = hmac.new(
            self.credentials.client_secret.encode(),
            (identity + issued_at).encode(),
            hashlib.sha256,
        ).digest()
        return {
            "access_token": token,
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(signature).decode(),
            "scope": "api",
        }

    def _check_jwt(self, assertion: str) -> str | None:
        """None if the JWT-bearer assertion is good, else why not (Salesforce's words)."""
        creds = self.credentials
        if creds.jwt_public_key_pem is None:
            return "invalid assertion (the emulator has no connected-app certificate)"
        key: Any = creds.jwt_public_key_pem
        if b"BEGIN CERTIFICATE" in key:
            key = x509.load_pem_x509_certificate(key).public_key()
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                issuer=creds.client_id,
                options={"require": ["exp", "iss", "sub", "aud"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            return "expired authorization code"
        except jwt.InvalidIssuerError:
            return "invalid client credentials"
        except jwt.InvalidTokenError:
            return "invalid assertion"
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(a in creds.jwt_audiences for a in audiences):
            return "audience is invalid"
        if claims.get("sub") != creds.username:
            return "authentication failure"
        return None
