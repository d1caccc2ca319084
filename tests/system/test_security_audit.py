"""`make audit` (tools/security_audit.py): bandit and pip-audit fail the build on any finding
that the allow-list does not explain with a reason.

pip-audit talks real HTTP to a vulnerability service in the OSV API's shape on loopback, which
reports one made-up vulnerability in the installed Flask; bandit reads a small file of ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.paths import ROOT

VULNERABLE_PACKAGE = "flask"
VULNERABILITY = {
    "id": "GHSA-bl00-test-0001",
    "aliases": ["CVE-2099-0001"],
    "summary": "Made-up vulnerability for the audit gate's test",
    "affected": [
        {
            "package": {"name": VULNERABLE_PACKAGE, "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
        }
    ],
}


class _VulnerabilityService(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        found = query["package"]["name"] == VULNERABLE_PACKAGE
        body = json.dumps({"vulns": [VULNERABILITY]} if found else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def osv_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _VulnerabilityService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/query"
    server.shutdown()
    server.server_close()


@pytest.fixture
def risky_code(tmp_path: Path) -> Path:
    code = tmp_path / "src" / "runner.py"
    code.parent.mkdir()
    code.write_text(
        "import subprocess\n\n\ndef run(command):\n    subprocess.call(command, shell=True)\n"
    )
    return code.parent


def audit(
    allowlist: str, tmp_path: Path, targets: Path, osv_url: str, *extra: str
) -> tuple[int, str]:
    allowlist_file = tmp_path / "allowlist.toml"
    allowlist_file.write_text(allowlist, encoding="utf-8")
    command = [sys.executable, str(ROOT / "tools" / "security_audit.py")]
    options = ["--allowlist", str(allowlist_file), "--targets", str(targets)]
    result = subprocess.run(
        [*command, *options, "--osv-url", osv_url, *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


BANDIT_ALLOWED = """
[[bandit]]
test = "B602"
paths = ["*/src/runner.py"]
reason = "Test: the command is ours."
[[bandit]]
test = "B404"
paths = ["*/src/*.py"]
reason = "Test."
"""
VULNERABILITY_ALLOWED = """
[[pip-audit]]
id = "GHSA-bl00-test-0001"
package = "flask"
reason = "Test: not reachable in our use."
"""


@pytest.mark.slow
def test_unexplained_findings_fail_the_audit_and_are_named(
    tmp_path: Path, risky_code: Path, osv_url: str
) -> None:
    returncode, output = audit("", tmp_path, risky_code, osv_url)

    assert returncode == 1, output
    assert "bandit B602 at " in output
    assert "src/runner.py:5" in output
    assert f"at {VULNERABLE_PACKAGE} " in output
    assert "Made-up vulnerability for the audit gate's test" in output
    assert "audit: FAILED, 3 findings need a fix or an allow-list reason" in output


@pytest.mark.slow
def test_findings_explained_in_the_allowlist_pass(
    tmp_path: Path, risky_code: Path, osv_url: str
) -> None:
    returncode, output = audit(
        BANDIT_ALLOWED + VULNERABILITY_ALLOWED, tmp_path, risky_code, osv_url
    )

    assert returncode == 0, output
    assert "bandit: 2 findings, 0 not in the allow-list" in output
    assert "1 vulnerabilities, 0 not in the allow-list" in output


@pytest.mark.slow
def test_an_allowed_vulnerability_of_another_package_still_fails(
    tmp_path: Path, risky_code: Path, osv_url: str
) -> None:
    other_package = VULNERABILITY_ALLOWED.replace('package = "flask"', 'package = "requests"')

    returncode, output = audit(BANDIT_ALLOWED + other_package, tmp_path, risky_code, osv_url)

    assert returncode == 1, output
    assert "Made-up vulnerability for the audit gate's test" in output


def test_an_allowlist_entry_without_a_reason_is_refused(
    tmp_path: Path, risky_code: Path, osv_url: str
) -> None:
    no_reason = '[[bandit]]\ntest = "B602"\npaths = ["*"]\n'

    returncode, output = audit(no_reason, tmp_path, risky_code, osv_url)

    assert returncode == 2
    assert "[[bandit]] entry 1 (B602) gives no reason" in output


def test_a_nosec_comment_does_not_hide_a_finding(tmp_path: Path, osv_url: str) -> None:
    code = tmp_path / "src" / "hidden.py"
    code.parent.mkdir()
    code.write_text("import subprocess  # nosec\nsubprocess.call('ls', shell=True)  # nosec\n")

    returncode, output = audit("", tmp_path, code.parent, osv_url)

    assert returncode == 1, output
    assert "bandit B602 at " in output


@pytest.mark.slow
def test_an_unreachable_vulnerability_service_is_said_and_fails_only_when_required(
    tmp_path: Path, risky_code: Path
) -> None:
    closed_port = "http://127.0.0.1:9/v1/query"

    returncode, output = audit(BANDIT_ALLOWED, tmp_path, risky_code, closed_port)
    assert returncode == 0, output
    assert "pip-audit: NO package checked; its vulnerability service is unreachable" in output

    returncode, output = audit(
        BANDIT_ALLOWED, tmp_path, risky_code, closed_port, "--require-service"
    )
    assert returncode == 1, output
    assert "audit: FAILED, packages could not be checked (--require-service)" in output


@pytest.mark.slow
def test_our_own_editable_project_is_not_counted_as_unchecked(
    tmp_path: Path, risky_code: Path, osv_url: str
) -> None:
    allowlist = BANDIT_ALLOWED + VULNERABILITY_ALLOWED

    returncode, output = audit(allowlist, tmp_path, risky_code, osv_url, "--require-service")

    assert returncode == 0, output
    assert "NOT checked" not in output
