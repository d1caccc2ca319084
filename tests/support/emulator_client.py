"""simple-salesforce pointed at the Salesforce emulator, for tests of the emulator itself.

These machines export REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE, which override a session's
`verify`, so the sessions set `trust_env = False` and trust only the emulator's CA.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from simple_salesforce import Salesforce

from crm_sync.emulator import SalesforceEmulator

VERSION = "62.0"


def trusting_session(emulator: SalesforceEmulator) -> requests.Session:
    session = requests.Session()
    session.verify = str(emulator.ca_pem_path)
    session.trust_env = False
    return session


def token(emulator: SalesforceEmulator, session: requests.Session) -> str:
    """An access token from the client-credentials flow."""
    response = session.post(
        emulator.url + "/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(emulator.client_id, emulator.client_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def api(emulator: SalesforceEmulator, session: requests.Session) -> Salesforce:
    """simple-salesforce with a session of the emulator's (no login of its own)."""
    return Salesforce(
        instance_url=emulator.url,
        session_id=token(emulator, session),
        session=session,
        version=VERSION,
    )


@dataclass
class EmulatorProcess:
    """`python -m crm_sync.emulator` running: its banner, its URL and a session trusting it."""

    banner: list[str]
    url: str
    session: requests.Session
    process: subprocess.Popen[str]


@contextmanager
def emulator_process(state_dir: Path, *args: str) -> Iterator[EmulatorProcess]:
    """Run the emulator's command line on a free port until the block ends (SIGTERM); it
    must then exit with status 0."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crm_sync.emulator",
            "--port",
            "0",
            "--state-dir",
            str(state_dir),
            "--quiet",
            *args,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        banner = []
        for line in process.stdout:  # the banner ends with a blank line
            if not line.strip():
                break
            banner.append(line)
        with requests.Session() as session:
            session.verify = str(state_dir / "ca.pem")
            session.trust_env = False
            yield EmulatorProcess(banner, banner[0].split()[3], session, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    assert process.returncode == 0
