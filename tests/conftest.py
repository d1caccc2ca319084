"""Fixtures: the app on a real SQLite file and on a real PostgreSQL database.

Every test that takes `app` runs twice, once per database. PostgreSQL comes from
INTAKE_TEST_POSTGRES_URL (the Makefile points it at the local server); when it cannot be
reached the PostgreSQL half skips and says so, except when INTAKE_REQUIRE_ALL_PARTS=1
(CI), where a missing part fails the run.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from crm_sync.emulator import SalesforceEmulator
from intake import create_app, migrate
from intake.models import Base, StaffRole, utcnow
from intake.staff import accounts
from tests.support.settings import TEST_SECRET, missing_part
from tests.support.smtp_sink import SmtpSink
from tests.support.staff import ADMIN_EMAIL, OFFICE_EMAIL, STAFF_PASSWORD, sign_in

pytest_plugins = ["tests.support.browser"]  # the `browser` fixture (Debian's Chromium)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database(worker_id: str) -> Iterator[tuple[str, dict[str, list[dict[str, Any]]]]]:
    """A migrated database of our own on the PostgreSQL server, and what the migrations seeded
    (the catalogue, the routing), by table."""
    base_url = os.environ.get("INTAKE_TEST_POSTGRES_URL")
    if not base_url:
        missing_part("PostgreSQL: INTAKE_TEST_POSTGRES_URL is not set")
    # One database per test process: parallel runs on one server must not reset each other.
    name = f"intake_test_{worker_id}_{os.getpid()}"
    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
    except OperationalError as exc:
        admin.dispose()
        missing_part(f"PostgreSQL not reachable at {base_url}: {exc.orig}")
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        seed = {
            table: [
                dict(row._mapping) for row in conn.execute(Base.metadata.tables[table].select())
            ]
            for table in SEEDED_TABLES
        }
    engine.dispose()
    yield url, seed
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# What the migrations put in a new database, in the order it can be inserted again.
SEEDED_TABLES = (
    "intake_pamphlets",
    "intake_routing_office",
    "intake_routing_consultants",
    "intake_routing_kredse",
    "intake_routing_municipalities",
    "intake_routing_version",
)


def _reset_postgres(url: str, seed: dict[str, list[dict[str, Any]]]) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        for table in SEEDED_TABLES:
            conn.execute(Base.metadata.tables[table].insert(), seed[table])
        # The seed keeps its ids; new pamphlets must be numbered after them.
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('intake_pamphlets', 'id'), "
                "(SELECT max(id) FROM intake_pamphlets))"
            )
        )
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh copy of the migrated SQLite database."""
    path = tmp_path / "intake.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(postgres_database: tuple[str, dict[str, list[dict[str, Any]]]]) -> str:
    """This test process's PostgreSQL database, emptied but for the seeded catalogue and
    routing."""
    url, seed = postgres_database
    _reset_postgres(url, seed)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that uses the app runs on both; a module can override this with one of
    `sqlite_url` / `postgres_url` (browser tests: SQLite only)."""
    return request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'postgres'}_url")


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """The test app's settings; a test may change them before it asks for `app`."""
    return {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "INTAKE_DATABASE_URL": database_url,
        "INTAKE_MIN_FILL_SECONDS": 0,
        "INTAKE_MAIL_DIR": str(tmp_path / "mail"),
        # Tests post many forms from one address; integration/test_security.py tests the limit.
        "INTAKE_FORM_RATE_LIMIT": "1000000 per minute",
    }


@pytest.fixture
def app(config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(config)
    yield app
    app.extensions["intake"].database.dispose()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session of its own, for checking what was stored."""
    with app.extensions["intake"].database.sessionmaker() as session:
        yield session


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def db_for_url() -> Iterator[Any]:
    """Open a session on any database URL (for apps a test builds itself)."""
    opened: list[Session] = []

    def open_session(url: str) -> Session:
        opened.append(Session(create_engine(url)))
        return opened[-1]

    yield open_session
    for session in opened:
        session.close()
        session.get_bind().dispose()


@pytest.fixture
def track_app() -> Iterator[Any]:
    """Dispose of the database pools of apps a test builds itself (no stray connections)."""
    apps: list[Flask] = []

    def track(app: Flask) -> Flask:
        apps.append(app)
        return app

    yield track
    for app in apps:
        if "intake" in app.extensions:
            app.extensions["intake"].database.dispose()


@pytest.fixture
def smtp() -> Iterator[Any]:
    """A real SMTP server on a free loopback port (see tests/support/smtp_sink.py)."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def _salesforce_emulator() -> Iterator[Any]:
    emulator = SalesforceEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def salesforce(_salesforce_emulator: Any) -> Any:
    """The project's Salesforce emulator over real HTTPS on loopback, emptied for each test."""
    _salesforce_emulator.reset()
    return _salesforce_emulator


@pytest.fixture
def build_app(config: dict[str, Any], track_app: Any) -> Any:
    """Build an app from this test's settings plus overrides (settings are read at start)."""

    def build(**overrides: Any) -> Flask:
        return track_app(create_app({**config, **overrides}))

    return build


@pytest.fixture
def staff_users(app: Flask) -> dict[str, str]:
    """An office user (the pamphlet office) and an admin, both with STAFF_PASSWORD. The admin
    has enrolled an authenticator app (a TOTP secret; sign_in gives its codes), as an admin
    must by default; enrolling through the page is tested in test_staff_totp.py."""
    with app.extensions["intake"].database.sessionmaker() as session:
        accounts.create(session, OFFICE_EMAIL, STAFF_PASSWORD, StaffRole.OFFICE)
        admin = accounts.create(session, ADMIN_EMAIL, STAFF_PASSWORD, StaffRole.ADMIN)
        admin.totp_secret = pyotp.random_base32()
        admin.totp_enabled_at = utcnow()
        session.commit()
    return {"office": OFFICE_EMAIL, "admin": ADMIN_EMAIL}


@pytest.fixture
def office(client: Any, staff_users: dict[str, str]) -> Any:
    """The test client, signed in as the pamphlet office."""
    assert sign_in(client, staff_users["office"]).status_code == 302
    return client


@pytest.fixture
def admin(app: Flask, staff_users: dict[str, str]) -> Any:
    """A second test client, signed in as an admin (password, then a TOTP code)."""
    client = app.test_client()
    assert sign_in(client, staff_users["admin"]).status_code == 302
    return client
