"""The production files in deploy/: the systemd units pass `systemd-analyze verify`, their
commands run (with this venv in place of /opt/bl-intake/venv), the purge timer's calendar is
one systemd reads, and the example settings are settings the app knows. The nginx site is
run by test_nginx.py."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from intake.settings import SETTINGS
from tests.support.paths import ROOT
from tests.support.settings import TEST_SECRET, missing_part

pytestmark = pytest.mark.slow

UNITS = ROOT / "deploy" / "systemd"
INSTALLED_VENV = "/opt/bl-intake/venv/bin/"
VENV_BIN = str(Path(sys.executable).parent) + "/"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        missing_part("systemd-analyze: not on PATH (make deploy-tools installs Debian's systemd)")
    return found or ""


def test_the_units_pass_systemd_analyze_verify(tmp_path):
    analyze = _systemd_analyze()
    names = sorted(p.name for p in UNITS.iterdir())
    assert names == [
        "bl-intake-purge.service",
        "bl-intake-purge.timer",
        "bl-intake-web.service",
        "bl-intake-worker.service",
    ]
    for name in names:  # with this venv where production has its own
        text = (UNITS / name).read_text().replace(INSTALLED_VENV, VENV_BIN)
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / name) for name in names)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_the_timer_runs_the_purge_daily_and_catches_up(tmp_path):
    timer = _unit("bl-intake-purge.timer")["Timer"]
    assert timer["Persistent"] == "true"
    calendar = subprocess.run(
        [_systemd_analyze(), "calendar", timer["OnCalendar"]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert calendar.returncode == 0, calendar.stderr
    assert "Normalized form: *-*-* 03:15:00" in calendar.stdout
    purge = _unit("bl-intake-purge.service")["Service"]
    assert purge["Type"] == "oneshot"
    assert shlex.split(purge["ExecStart"])[-2:] == ["intake", "purge"]


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update(SECRET_KEY=TEST_SECRET, INTAKE_DATABASE_URL=f"sqlite:///{tmp_path}/d.sqlite3")
    return env


def _run_unit(name: str, extra: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The unit's ExecStart, with this venv, and `extra` after it."""
    argv = shlex.split(_unit(name)["Service"]["ExecStart"].replace(INSTALLED_VENV, VENV_BIN))
    return subprocess.run(
        [*argv, extra],
        capture_output=True,
        text=True,
        env=_environment(tmp_path),
        cwd=tmp_path,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("name", ["bl-intake-worker.service", "bl-intake-purge.service"])
def test_the_flask_commands_of_the_units_run(tmp_path, name):
    done = _run_unit(name, "--help", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Usage: flask intake" in done.stdout


def test_the_web_units_gunicorn_loads_the_app(tmp_path):
    done = _run_unit("bl-intake-web.service", "--check-config", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_example_settings_are_settings_the_app_reads():
    example = (ROOT / "deploy" / "bl-intake.env.example").read_text()
    keys = [
        line.split("=", 1)[0]
        for line in example.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    unknown = [key for key in keys if key not in SETTINGS and key != "SECRET_KEY"]
    assert unknown == []
    assert {"INTAKE_PROXY_FIX", "INTAKE_TRUSTED_HOSTS", "SECRET_KEY"} <= set(keys)
