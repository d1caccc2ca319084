"""Staff accounts for tests, and signing in through the real form."""

from __future__ import annotations

from typing import Any

from tests.support.helpers import hidden_fields

STAFF_PASSWORD = "et-langt-kodeord-med-æøå"
OFFICE_EMAIL = "bwj@bl.dk"
ADMIN_EMAIL = "it@bl.dk"


def sign_in(client: Any, email: str, password: str = STAFF_PASSWORD, **query: str) -> Any:
    """Sign in through the real form (with its CSRF token); returns the POST's response."""
    page = client.get("/admin/login")
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    path = "/admin/login" + (f"?next={query['next']}" if "next" in query else "")
    return client.post(path, data={"csrf_token": token, "email": email, "password": password})
