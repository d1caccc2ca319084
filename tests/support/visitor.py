"""A browser over real HTTP: requests, with its cookies, connecting from a loopback address
of its own (Linux answers the whole of 127.0.0.0/8), so that tests can be two people.

Redirects are not followed: tests look at them. Used against the `live_server` fixture
(Werkzeug's server on a loopback port) and, in tests/system, against nginx and gunicorn.
"""

from __future__ import annotations

from typing import Any

import pyotp
import requests
from flask import Flask

from bench.common import FromAddress
from tests.support.helpers import hidden_fields
from tests.support.staff import CODE_PAGE, STAFF_PASSWORD, authenticator_code, secret_on


class Visitor:
    def __init__(self, base_url: str, address: str = "127.0.0.1", **session: Any) -> None:
        self.base_url = base_url
        self.address = address
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy from the environment between us and loopback
        for name, value in session.items():
            setattr(self.http, name, value)
        for scheme in ("http://", "https://"):
            self.http.mount(scheme, FromAddress(address))

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base_url + path, allow_redirects=False, timeout=30, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> requests.Response:
        return self.http.post(
            self.base_url + path, data=data, allow_redirects=False, timeout=30, **kwargs
        )

    def token(self, path: str) -> str:
        """The CSRF token of the form on `path`."""
        return hidden_fields(self.get(path).text)["csrf_token"]

    def submit(self, path: str, **fields: str) -> requests.Response:
        """The form on `path`, posted with its CSRF token and `fields`."""
        return self.post(path, {"csrf_token": self.token(path), **fields})

    def signed_in(self) -> bool:
        return self.get("/admin/orders/").status_code == 200

    def cookies(self) -> dict[str, str]:
        return self.http.cookies.get_dict()

    def sign_in(
        self, email: str, password: str = STAFF_PASSWORD, app: Flask | None = None, next: str = ""
    ) -> requests.Response:
        """The sign-in form; then, given the app (where the authenticator's secret is), the
        code page with a real TOTP code. Returns the last POST's response."""
        path = "/admin/login" + (f"?next={next}" if next else "")
        response = self.submit(path, email=email, password=password)
        location = response.headers.get("Location", "")
        if app is not None and response.status_code == 302 and location.startswith(CODE_PAGE):
            return self.submit(location, code=authenticator_code(app, email))
        return response

    def enrol(self, path: str) -> tuple[requests.Response, str]:
        """Enrol an authenticator on the page at `path`: the secret as the page shows it, and
        the code the app then shows. Returns the POST's response and the secret."""
        secret = secret_on(self.get(path).text)
        return self.submit(path, code=pyotp.TOTP(secret).now()), secret
