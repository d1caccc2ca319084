"""Host headers and reverse proxies (the standalone app): INTAKE_TRUSTED_HOSTS refuses other
Host headers with a Danish 400, slash redirects name no host, and INTAKE_PROXY_FIX believes
X-Forwarded-For only from the proxy's socket (intake.web.proxies).

gunicorn gives a request that came through its Unix socket an empty REMOTE_ADDR; the test
client's `REMOTE_ADDR=""` stands for that here. tests/system/test_nginx.py proves the same
behind a real nginx and gunicorn.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from intake import Intake
from tests.support.helpers import hidden_fields

THROUGH_THE_SOCKET = {"REMOTE_ADDR": ""}  # what gunicorn sets for a Unix socket's request


@pytest.mark.parametrize(
    ("path", "target"),
    [("/pjecer", "/pjecer/"), ("/opstartshjaelp", "/opstartshjaelp/"), ("/admin", "/admin/")],
)
def test_a_slash_redirect_names_no_host(client, path, target):
    response = client.get(path + "?lang=da", headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == target + "?lang=da"


def test_in_a_host_app_only_our_redirects_change(sqlite_url, tmp_path, track_app):
    host = Flask("host")
    host.config.update(
        TESTING=True,
        SECRET_KEY="host-secret",
        INTAKE_DATABASE_URL=sqlite_url,
        INTAKE_URL_PREFIX="/bl",
        INTAKE_MAIL_DIR=str(tmp_path / "mail"),
    )

    @host.get("/nyheder/")
    def news() -> str:
        return "Nyheder"

    Intake(host)
    track_app(host)
    client = host.test_client()
    ours = client.get("/bl/pjecer", headers={"Host": "evil.example"})
    assert ours.headers["Location"] == "/bl/pjecer/"
    theirs = client.get("/nyheder", headers={"Host": "www.bl.dk"})
    assert theirs.headers["Location"] == "http://www.bl.dk/nyheder/"  # as the host made it


def test_other_host_headers_are_refused_in_danish(build_app):
    client = build_app(INTAKE_TRUSTED_HOSTS="intake.bl.dk, .bl.dk").test_client()
    assert client.get("/pjecer/", headers={"Host": "intake.bl.dk"}).status_code == 200
    assert client.get("/pjecer/", headers={"Host": "www.bl.dk"}).status_code == 200
    for path in ("/pjecer/", "/pjecer", "/admin/login", "/findes-ikke"):
        refused = client.get(path, headers={"Host": "evil.example"})
        assert refused.status_code == 400, path
        html = refused.get_data(as_text=True)
        assert "Ukendt adresse" in html and "evil.example" not in html
        assert "Location" not in refused.headers
        assert refused.headers["X-Frame-Options"] == "DENY"


def test_any_host_is_answered_when_none_is_set(client):
    assert client.get("/pjecer/", headers={"Host": "hvad-som-helst.example"}).status_code == 200


def _post_form(client: Any, **environ: Any) -> int:
    """A post of the pamphlet form without its fields: counted by the limit, then a 200."""
    page = client.get("/pjecer/", environ_base=environ)
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    return client.post("/pjecer/", data={"csrf_token": token}, environ_base=environ).status_code


def test_behind_the_proxy_each_client_is_limited_on_its_own(build_app):
    app = build_app(INTAKE_PROXY_FIX=1, INTAKE_FORM_RATE_LIMIT="2 per minute")
    client = app.test_client()

    def post_as(address: str) -> int:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return _post_form(client, **THROUGH_THE_SOCKET)

    assert [post_as("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert post_as("198.51.100.9") == 200  # another visitor, not closed out


def test_a_forwarded_for_sent_straight_to_the_app_is_ignored(build_app):
    app = build_app(INTAKE_PROXY_FIX=1, INTAKE_FORM_RATE_LIMIT="2 per minute")
    client = app.test_client()

    def post_claiming(address: str) -> int:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return _post_form(client)  # over TCP: REMOTE_ADDR is 127.0.0.1

    # Three "different" clients are one: the address that connected.
    assert [post_claiming(f"203.0.113.{n}") for n in (1, 2, 3)] == [200, 200, 429]


def test_the_metrics_allow_list_uses_the_resolved_address(build_app):
    app = build_app(INTAKE_PROXY_FIX=1, INTAKE_METRICS_ALLOW="10.20.0.0/16")
    client = app.test_client()
    scraper = {"X-Forwarded-For": "10.20.3.4"}
    assert (
        client.get("/metrics", headers=scraper, environ_base=THROUGH_THE_SOCKET).status_code == 200
    )
    outsider = {"X-Forwarded-For": "203.0.113.7"}
    assert (
        client.get("/metrics", headers=outsider, environ_base=THROUGH_THE_SOCKET).status_code == 403
    )
    # Straight to the app, the header proves nothing: refused.
    assert client.get("/metrics", headers=scraper).status_code == 403


def test_the_scheme_the_proxy_saw_counts_only_from_the_proxy(build_app):
    client = build_app(INTAKE_PROXY_FIX=1).test_client()  # testing: HSTS only over https
    https = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    proxied = client.get("/pjecer/", headers=https, environ_base=THROUGH_THE_SOCKET)
    assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/pjecer/", headers=https).headers


@pytest.mark.parametrize("value", [-1, "2"])
def test_a_bad_proxy_count_stops_the_app(build_app, value):
    with pytest.raises(RuntimeError, match="INTAKE_PROXY_FIX"):
        build_app(INTAKE_PROXY_FIX=value)
