"""Security headers, the body limit (413), the form rate limit (429) and the Danish error
pages for a server fault (500) and an unreachable database (503)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from intake import Intake, create_app
from intake.paths import templates_dir
from intake.settings import SETTINGS
from intake.web.security_headers import content_security_policy
from tests.support.helpers import VALID_HELP, count, hidden_fields, receipt_token_from, submit
from tests.support.settings import TEST_SECRET, missing_part
from tests.support.staff import sign_in

UNREACHABLE_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
REDIS_URL = "redis://127.0.0.1:6379"

COMMON = {
    "Content-Security-Policy": content_security_policy(None),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def assert_protected(response: Any) -> None:
    for header, value in COMMON.items():
        assert response.headers.get(header) == value, header
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp  # our own intake.js only: nothing inline
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp


def assert_no_trace(html: str) -> None:
    for leak in ("Traceback", "OperationalError", "psycopg", "sqlalchemy", "127.0.0.1:1"):
        assert leak not in html


@pytest.fixture
def receipt_path(client: Any) -> str:
    location = submit(client, "/opstartshjaelp/", VALID_HELP).headers["Location"]
    return f"/kvittering/{receipt_token_from(location)}"


# --- Headers -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/pjecer/", "/opstartshjaelp/", "/healthz", "/admin/login"])
def test_our_pages_carry_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert_protected(response)


def test_the_receipt_and_the_back_office_are_never_stored(client, receipt_path, office):
    receipt = client.get(receipt_path)
    assert receipt.status_code == 200
    assert_protected(receipt)
    assert receipt.headers["Cache-Control"] == "no-store"
    admin_page = office.get("/admin/orders/")
    assert admin_page.status_code == 200
    assert_protected(admin_page)
    assert admin_page.headers["Cache-Control"] == "no-store"
    # A public form carries no personal data until it is posted.
    assert "no-store" not in (client.get("/pjecer/").headers.get("Cache-Control") or "")


def test_the_answer_to_a_post_is_never_stored(client):
    response = submit(client, "/opstartshjaelp/", VALID_HELP, email="ikke-en-adresse")
    assert response.status_code == 200  # the form again, with what was typed
    assert response.headers["Cache-Control"] == "no-store"


def test_errors_and_the_stylesheet_carry_them_too(client):
    assert_protected(client.get("/kvittering/forkert"))  # 404 from our blueprint
    assert_protected(client.get("/findes-ikke"))  # the standalone app's own 404
    stylesheet = client.get("/intake-static/intake.css")
    assert_protected(stylesheet)
    stylesheet.close()  # a file response: close it, or its file is left open


def test_no_hsts_while_testing_or_debugging_over_http(client, build_app):
    assert "Strict-Transport-Security" not in client.get("/pjecer/").headers
    debug = build_app(TESTING=False, DEBUG=True).test_client()
    assert "Strict-Transport-Security" not in debug.get("/pjecer/").headers


def test_hsts_outside_debug_and_on_https(client, config, track_app):
    production = track_app(create_app({**config, "TESTING": False}))
    assert not production.debug and not production.testing
    response = production.test_client().get("/pjecer/")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    https = client.get("/pjecer/", base_url="https://localhost")
    assert https.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_frame_ancestors_names_the_host_that_embeds_the_forms(build_app):
    client = build_app(INTAKE_FRAME_ANCESTORS="https://bl.dk").test_client()
    response = client.get("/pjecer/")
    assert "frame-ancestors https://bl.dk" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers  # it cannot name another site
    same = build_app(INTAKE_FRAME_ANCESTORS="'self'").test_client().get("/pjecer/")
    assert "frame-ancestors 'self'" in same.headers["Content-Security-Policy"]
    assert same.headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.fixture
def host_app(sqlite_url: str, tmp_path: Path, track_app: Any) -> Flask:
    """A host site with a page of its own, and BL Intake mounted under /bl."""
    host = Flask("host")
    host.config.update(
        TESTING=True,
        SECRET_KEY=TEST_SECRET,
        INTAKE_DATABASE_URL=sqlite_url,
        INTAKE_MIN_FILL_SECONDS=0,
        INTAKE_MAIL_DIR=str(tmp_path / "mail"),
        INTAKE_URL_PREFIX="/bl",
    )

    @host.route("/", methods=["GET", "POST"])
    def home() -> str:
        return "Værtens egen side"

    Intake(host)
    return track_app(host)


def test_a_host_apps_own_pages_are_left_alone(host_app):
    client = host_app.test_client()
    own = client.get("/")
    assert own.status_code == 200
    for header in [*COMMON, "Cache-Control", "Strict-Transport-Security"]:
        assert header not in own.headers
    assert_protected(client.get("/bl/pjecer/"))
    # The body limit is ours alone as well: the host's MAX_CONTENT_LENGTH is untouched.
    assert host_app.config["MAX_CONTENT_LENGTH"] is None
    assert client.post("/", data={"x": "a" * 100_000}).status_code == 200
    assert client.post("/bl/opstartshjaelp/", data={"x": "a" * 100_000}).status_code == 413


def test_the_web_templates_have_no_inline_script_or_style():
    """The CSP allows neither: every style and the one script are in intake/static (e-mails are
    not web pages). A <script> element may only load a file, with nothing between its tags."""
    root = templates_dir() / "intake"
    inline = re.compile(
        r"<script(?![^>]*\ssrc=)|<script[^>]*>[^<]|<style|\sstyle=|\son[a-z]+=|javascript:",
        re.IGNORECASE,
    )
    pages = [p for p in root.rglob("*.html") if "email" not in p.relative_to(root).parts]
    assert len(pages) > 10
    for page in pages:
        assert not inline.search(page.read_text(encoding="utf-8")), page


def test_the_overview_charts_have_no_style_attribute(office):
    html = office.get("/admin/overview").get_data(as_text=True)
    assert html.count('class="chart"') == 2
    assert " style=" not in html


# --- 413: bodies over the limit ----------------------------------------------------------


def test_a_body_over_the_limit_is_refused_and_nothing_stored(client, db):
    page = client.get("/opstartshjaelp/")
    form = {**hidden_fields(page.get_data(as_text=True)), **VALID_HELP}
    form["message"] = "æ" * 40_000  # 80 000 bytes in UTF-8, over the 64 KiB default
    response = client.post("/opstartshjaelp/", data=form)
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "Det, du sendte, er for stort" in html
    assert '<html lang="da">' in html
    assert_protected(response)
    assert count(db) == 0


def test_the_body_limit_is_a_setting(build_app, db):
    client = build_app(INTAKE_MAX_BODY_BYTES=2_000).test_client()
    assert submit(client, "/opstartshjaelp/", VALID_HELP).status_code == 303
    assert submit(client, "/opstartshjaelp/", VALID_HELP, message="x" * 2_000).status_code == 413
    assert count(db) == 1


# --- 429: too many posts from one address -------------------------------------------------


def test_the_default_limit_allows_twenty_posts_a_minute(build_app):
    """Posts without a CSRF token are cheap: each is refused (400) but still counted."""
    default = SETTINGS["INTAKE_FORM_RATE_LIMIT"][0]  # conftest raises it for other tests
    assert default == "20 per minute"
    client = build_app(INTAKE_FORM_RATE_LIMIT=default).test_client()
    answers = [client.post("/opstartshjaelp/", data={}).status_code for _ in range(21)]
    assert answers == [400] * 20 + [429]


def test_too_many_posts_from_one_address_get_a_danish_429(build_app, db):
    client = build_app(INTAKE_FORM_RATE_LIMIT="3 per minute").test_client()
    answers = [submit(client, "/opstartshjaelp/", VALID_HELP).status_code for _ in range(3)]
    assert answers == [303, 303, 303]
    page = client.get("/pjecer/")  # both forms count together; showing a form does not count
    assert page.status_code == 200
    refused = client.post("/pjecer/", data=hidden_fields(page.get_data(as_text=True)))
    assert refused.status_code == 429
    assert "For mange henvendelser" in refused.get_data(as_text=True)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert_protected(refused)
    assert count(db) == 3
    # Another address is not held back.
    other = client.post("/opstartshjaelp/", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 400


@pytest.fixture
def redis_prefix() -> Any:
    """A key prefix of this test's own on the local Redis (removed afterwards)."""
    redis = pytest.importorskip("redis")
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        server.ping()
    except redis.exceptions.RedisError as exc:
        missing_part(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"intake-test-{uuid.uuid4().hex}"
    yield server, prefix
    keys = list(server.scan_iter(f"*{prefix}*"))
    if keys:
        server.delete(*keys)
    server.close()


def test_the_limit_is_kept_in_redis(build_app, redis_prefix):
    server, prefix = redis_prefix
    app = build_app(
        INTAKE_RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=prefix,
        INTAKE_FORM_RATE_LIMIT="2 per minute",
    )
    client = app.test_client()
    answers = [client.post("/opstartshjaelp/", data={}).status_code for _ in range(3)]
    assert answers == [400, 400, 429]
    assert list(server.scan_iter(f"*{prefix}*"))  # the counter lives in Redis
    # A second app on the same Redis (another gunicorn worker) sees the same count.
    again = build_app(
        INTAKE_RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=prefix,
        INTAKE_FORM_RATE_LIMIT="2 per minute",
    )
    assert again.test_client().post("/opstartshjaelp/", data={}).status_code == 429


# --- 500 and 503 --------------------------------------------------------------------------


def test_a_fault_gets_a_danish_500_without_a_trace(build_app, monkeypatch):
    app = build_app(PROPAGATE_EXCEPTIONS=False)

    def broken(token: str) -> None:
        raise RuntimeError("intern fejl med hemmelige detaljer")

    monkeypatch.setattr("intake.public.pages.public_id_from_receipt_token", broken)
    response = app.test_client().get("/kvittering/noget")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Der skete en fejl" in html
    assert "hemmelige" not in html and "Traceback" not in html
    assert_protected(response)


@pytest.fixture
def offline_app(config: dict[str, Any], track_app: Any) -> Flask:
    """The app pointed at a PostgreSQL server that is not there."""
    return track_app(create_app({**config, "INTAKE_DATABASE_URL": UNREACHABLE_POSTGRES}))


def assert_unavailable(response: Any, posted: bool = True) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    html = response.get_data(as_text=True)
    if posted:
        assert "Formularen kunne ikke gemmes" in html
    else:  # nothing was sent, so nothing is said of saving it
        assert "Siden kan ikke vises lige nu" in html and "gemme" not in html
    assert "Prøv igen om et øjeblik" in html
    assert_no_trace(html)
    assert_protected(response)


def test_an_unreachable_database_gets_a_danish_503(offline_app):
    client = offline_app.test_client()
    assert_unavailable(client.get("/pjecer/"), posted=False)  # the catalogue is in the database
    assert_unavailable(client.post("/pjecer/", data={}))
    # The start-up form needs no database to be shown, only to be saved.
    page = client.get("/opstartshjaelp/")
    assert page.status_code == 200
    form = {**hidden_fields(page.get_data(as_text=True)), **VALID_HELP}
    assert_unavailable(client.post("/opstartshjaelp/", data=form))
    assert_unavailable(sign_in(client, "bwj@bl.dk"))


@pytest.mark.parametrize("command", [["worker", "--once"], ["purge"], ["jobs"]])
def test_commands_say_in_one_line_that_the_database_is_unreachable(offline_app, command):
    result = offline_app.test_cli_runner().invoke(args=["intake", *command])

    assert result.exit_code == 1
    assert "Error: The database is not reachable: connection failed" in result.output
    assert "Traceback" not in result.output


def test_commands_say_when_the_database_has_no_tables_yet(config, track_app, tmp_path):
    empty = track_app(create_app({**config, "INTAKE_DATABASE_URL": f"sqlite:///{tmp_path}/e.db"}))

    result = empty.test_cli_runner().invoke(args=["intake", "jobs"])

    assert result.exit_code == 1
    assert "Error: The database has no BL Intake tables yet" in result.output
    assert "run `intake db upgrade`" in result.output
