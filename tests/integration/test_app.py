"""The extension: start-up checks, mounting into a host app, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from intake import Intake, create_app
from intake.models import Submission
from intake.paths import DATA_DIR
from intake.routing.model import RoutingError
from tests.support.helpers import VALID_ORDER, count, submit
from tests.support.paths import ROOT
from tests.support.settings import TEST_SECRET


def test_refuses_to_start_without_a_secret_key(database_url):
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app({"INTAKE_DATABASE_URL": database_url})


def test_refuses_to_be_registered_twice(app):
    with pytest.raises(RuntimeError, match="already been registered"):
        Intake(app)


def test_a_bad_routing_file_stops_the_app_naming_the_line(database_url, tmp_path):
    routing = (DATA_DIR / "routing.toml").read_text(encoding="utf-8")
    bad = tmp_path / "routing.toml"
    lines = [
        line.replace("kreds = 1,", "kreds = 12,") if line.startswith("101 ") else line
        for line in routing.splitlines()
    ]
    bad.write_text("\n".join(lines), encoding="utf-8")
    line = next(n for n, text in enumerate(lines, 1) if text.startswith("101 "))
    with pytest.raises(RoutingError, match=rf"line {line}: municipality 101 .* kreds 12"):
        create_app(
            {
                "SECRET_KEY": TEST_SECRET,
                "INTAKE_DATABASE_URL": database_url,
                "INTAKE_ROUTING_FILE": str(bad),
            }
        )


def test_the_standalone_app_exits_with_the_routing_problem_and_no_traceback(tmp_path):
    bad = tmp_path / "routing.toml"
    bad.write_text("[pamphlet_office]\nname = 'Bjarne Werth'\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "intake", "routing", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "SECRET_KEY": "x",
            "INTAKE_ROUTING_FILE": str(bad),
            "INTAKE_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
        },
    )
    assert result.returncode == 1
    assert "BL Intake cannot start" in result.stderr
    assert "[pamphlet_office] has no email" in result.stderr
    assert "Traceback" not in result.stderr


def test_mounts_into_a_host_app_under_a_prefix(database_url, db_for_url, track_app):
    host = Flask("host_site")
    host.config.update(
        SECRET_KEY=TEST_SECRET,
        INTAKE_DATABASE_URL=database_url,
        INTAKE_URL_PREFIX="/bl",
        INTAKE_MIN_FILL_SECONDS=0,
    )

    @host.get("/")
    def home() -> str:
        return "BL's website"

    Intake(host)
    track_app(host)
    client = host.test_client()

    assert client.get("/").get_data(as_text=True) == "BL's website"
    assert client.get("/pjecer/").status_code == 404
    page = client.get("/bl/pjecer/")
    assert page.status_code == 200
    assert 'href="/bl/intake-static/intake.css"' in page.get_data(as_text=True)
    with client.get("/bl/intake-static/intake.css") as stylesheet:
        assert stylesheet.status_code == 200
        assert b".error-summary" in stylesheet.data

    response = submit(client, "/bl/pjecer/", VALID_ORDER)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/bl/kvittering/")
    assert client.get(response.headers["Location"]).status_code == 200
    assert client.get("/bl/healthz").status_code == 200
    session = db_for_url(database_url)
    assert session.scalars(select(Submission.organisation)).one() == VALID_ORDER["organisation"]


def test_a_host_template_overrides_the_base_layout(database_url, tmp_path, track_app):
    (tmp_path / "intake").mkdir()
    (tmp_path / "intake" / "base.html").write_text(
        "<!doctype html><title>BL.dk</title><p>BL.dk's own frame</p>"
        "{% block content %}{% endblock %}",
        encoding="utf-8",
    )
    host = Flask("host_site", template_folder=str(tmp_path))
    host.config.update(SECRET_KEY=TEST_SECRET, INTAKE_DATABASE_URL=database_url)
    Intake(host)
    track_app(host)
    html = host.test_client().get("/opstartshjaelp/").get_data(as_text=True)
    assert "BL.dk's own frame" in html
    assert 'name="existing_cooperation"' in html


def _aeroe_moved_to_kreds_7(tmp_path: Path) -> Path:
    """BL's IT moves Ærø (492) from kreds 3 to kreds 7 in a copy of the routing file."""
    routing = (DATA_DIR / "routing.toml").read_text(encoding="utf-8")
    moved = tmp_path / "routing.toml"
    lines = [
        line.replace("kreds = 3,", "kreds = 7,") if line.startswith("492 ") else line
        for line in routing.splitlines()
    ]
    moved.write_text("\n".join(lines), encoding="utf-8")
    return moved


def test_a_custom_routing_file_seeds_a_new_database(tmp_path, db_for_url, track_app):
    url = f"sqlite:///{tmp_path}/fresh.sqlite3"
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "INTAKE_DATABASE_URL": url,
        "INTAKE_ROUTING_FILE": str(_aeroe_moved_to_kreds_7(tmp_path)),
        "INTAKE_MIN_FILL_SECONDS": 0,
    }
    app = track_app(create_app(config))
    assert app.test_cli_runner().invoke(args=["intake", "db", "upgrade"]).exit_code == 0
    submit(app.test_client(), "/pjecer/", VALID_ORDER)
    stored = db_for_url(url).scalars(select(Submission)).one()
    assert (stored.kreds, stored.consultant_key) == (7, "sma")


def test_an_imported_routing_file_changes_where_a_municipality_goes(app, client, db, tmp_path):
    moved = _aeroe_moved_to_kreds_7(tmp_path)
    result = app.test_cli_runner().invoke(args=["intake", "routing", "import", str(moved)])
    assert result.exit_code == 0, result.output
    assert "kommune 492 (Ærø): kreds: 3 → 7" in result.output
    submit(client, "/pjecer/", VALID_ORDER)
    stored = db.scalars(select(Submission)).one()
    assert (stored.kreds, stored.consultant_key) == (7, "sma")


def test_db_upgrade_command_creates_the_schema(tmp_path, track_app):
    url = f"sqlite:///{tmp_path}/fresh.sqlite3"
    app = track_app(
        create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "INTAKE_DATABASE_URL": url})
    )
    result = app.test_cli_runner().invoke(args=["intake", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database is up to date" in result.output
    with app.extensions["intake"].database.sessionmaker() as session:
        assert count(session) == 0
    assert app.test_client().get("/pjecer/").status_code == 200


def test_routing_check_command_lists_unconfirmed_entries(app):
    result = app.test_cli_runner().invoke(args=["intake", "routing", "check"])
    assert result.exit_code == 0
    assert "Unconfirmed entries (97)" in result.output
    assert "Problems: none" in result.output


def test_a_host_app_without_csrf_can_still_post(database_url, track_app, db_for_url):
    app = track_app(
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": TEST_SECRET,
                "INTAKE_DATABASE_URL": database_url,
                "INTAKE_MIN_FILL_SECONDS": 0,
                "WTF_CSRF_ENABLED": False,
            }
        )
    )
    assert submit(app.test_client(), "/pjecer/", VALID_ORDER).status_code == 303
    assert count(db_for_url(database_url)) == 1
