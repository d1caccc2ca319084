"""`make run` as a person runs it (tools/run-embedded): on another port, the receipt e-mail's
link leads to that port; and the README's commands work in a `make run` checkout without
SECRET_KEY in the environment (they read instance/secret_key, as `make run` does)."""

from __future__ import annotations

import email
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
import requests

from tests.support.helpers import VALID_ORDER, hidden_fields
from tests.support.paths import ROOT
from tests.support.smtp_sink import free_port
from tests.support.worker_process import wait_for

pytestmark = pytest.mark.slow


def _environment(**settings: str) -> dict[str, str]:
    """Only what a shell would have, plus `settings`: no SECRET_KEY unless given."""
    keep = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return {**keep, "PYTHONUNBUFFERED": "1", **settings}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """tools/run-embedded on free ports, with its database, e-mails and emulator in tmp_path."""
    port, emulator_port = free_port(), free_port()
    log = tmp_path / "run.log"
    env = _environment(
        HOST="127.0.0.1",
        PORT=str(port),
        EMULATOR_PORT=str(emulator_port),
        EMULATOR_STATE_DIR=str(tmp_path / "salesforce-emulator"),
        SECRET_KEY="a-secret-for-this-test",
        INTAKE_DATABASE_URL=f"sqlite:///{tmp_path / 'intake.sqlite3'}",
        INTAKE_MAIL_DIR=str(tmp_path / "mail"),
        INTAKE_MIN_FILL_SECONDS="0",
        INTAKE_WORKER_POLL_SECONDS="0.2",
    )
    with log.open("w") as output:
        process = subprocess.Popen(
            ["tools/run-embedded"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the web, the worker, the emulator
        )
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"make run ended:\n{log.read_text()}")
        try:
            return requests.get(f"{base}/pjecer/", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(answering, timeout=90, what="make run to serve the forms")
        yield base, tmp_path / "mail", log
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # as Ctrl-C: the script stops all three
        process.wait(timeout=30)


def test_the_receipt_link_leads_to_the_port_make_run_serves_on(served):
    base, mail, log = served
    session = requests.Session()
    form = session.get(f"{base}/pjecer/", timeout=10)
    posted = session.post(
        f"{base}/pjecer/", data={**hidden_fields(form.text), **VALID_ORDER}, timeout=30
    )
    assert posted.status_code == 200 and "/kvittering/" in posted.url, posted.text[:500]

    def receipt() -> Path | None:
        found = sorted(mail.glob("*-requester.eml")) if mail.is_dir() else []
        return found[0] if found else None

    wait_for(lambda: receipt() is not None, timeout=60, what="the receipt e-mail")
    path = receipt()
    assert path is not None
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://\S+/kvittering/\S+", text)
    assert link, text
    assert link.group(0).startswith(f"{base}/kvittering/"), (link.group(0), base)
    assert requests.get(link.group(0), timeout=10).status_code == 200
    assert f"The forms: {base}/pjecer/" in log.read_text()


def _flask(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "intake", *args],
        cwd=ROOT,
        env=_environment(**settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_readmes_commands_work_without_secret_key_in_a_make_run_checkout(tmp_path):
    # What `make run` does first: a key in instance/secret_key (kept if it is already there).
    made = subprocess.run(
        ["make", "--no-print-directory", "instance/secret_key"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert "SECRET_KEY" not in _environment()

    checked = _flask("routing", "check")
    assert checked.returncode == 0, checked.stderr
    assert "SECRET_KEY is not set" not in checked.stderr
    database = {"INTAKE_DATABASE_URL": f"sqlite:///{tmp_path / 'intake.sqlite3'}"}
    upgraded = _flask("db", "upgrade", **database)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Database is up to date" in upgraded.stdout
    listed = _flask("jobs", **database)
    assert listed.returncode == 0, listed.stderr
