"""BL Intake behind a real nginx and gunicorn, as deploy/ sets them up for production.

Debian's nginx (installed by `make test`) runs the repository's own site file,
deploy/nginx/bl-intake.conf, with only what must differ on a test machine replaced: where it
listens (loopback, free ports), the socket's path and the certificate (trustme's). gunicorn
runs the web unit's own ExecStart (deploy/systemd/bl-intake-web.service) with this venv's
gunicorn, the test's socket and port, and one worker (the rate limits count in memory here;
in production, in Redis). Clients connect from addresses of their own in 127.0.0.0/8.

What it proves: two clients behind nginx are limited separately; a forwarded-for header sent
straight to gunicorn, past nginx, is ignored; the /metrics allow-list and the sign-in's
records see the client's address; the scheme is https; other Host headers get a 400; the slash
redirect names no host; plain http goes to https.
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import trustme
from sqlalchemy import create_engine, select

from bench.common import app_environment, free_ports, log_tail, stop_process
from intake import migrate
from intake.models import AuditEvent, SignInAttempt, StaffRole
from intake.staff import accounts
from tests.support.paths import ROOT
from tests.support.settings import missing_part
from tests.support.staff import OFFICE_EMAIL, STAFF_PASSWORD
from tests.support.visitor import Visitor

pytestmark = pytest.mark.slow

SITE = ROOT / "deploy" / "nginx" / "bl-intake.conf"
WEB_UNIT = ROOT / "deploy" / "systemd" / "bl-intake-web.service"
HOST = "intake.bl.dk"
START_TIMEOUT = 30.0

NGINX_CONF = """\
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    include {tmp}/bl-intake.conf;
}}
"""


def nginx_binary() -> str | None:
    configured = os.environ.get("INTAKE_NGINX")
    for candidate in [configured] if configured else [shutil.which("nginx"), "/usr/sbin/nginx"]:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def site_for_test(site: str, *, https_port: int, http_port: int, sock: Path, ca: Path) -> str:
    """The production site with only its machine-specific lines replaced; each must be found
    once, so a change to the file that this test would miss fails here."""
    replacements = {
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen [::]:443 ssl;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "unix:/run/bl-intake/web.sock": f"unix:{sock}",
        "/etc/ssl/bl-intake/fullchain.pem": str(ca.parent / "cert.pem"),
        "/etc/ssl/bl-intake/privkey.pem": str(ca.parent / "key.pem"),
    }
    for old, new in replacements.items():
        assert site.count(old) == 1, f"{SITE.name} no longer has {old!r} once"
        site = site.replace(old, new)
    return site


def gunicorn_command(unit: str, *, sock: Path, port: int) -> list[str]:
    """The web unit's ExecStart, with this venv's gunicorn, the test's socket and port, and
    one worker."""
    (line,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[0] == "/opt/bl-intake/venv/bin/gunicorn"
    replaced = {
        "unix:/run/bl-intake/web.sock": f"unix:{sock}",
        "127.0.0.1:8000": f"127.0.0.1:{port}",
    }
    command = [sys.executable, "-m", "gunicorn"]
    for previous, arg in itertools.pairwise(argv):
        command.append("1" if previous == "--workers" else replaced.get(arg, arg))
    assert command.count(f"unix:{sock}") == 1 and command.count(f"127.0.0.1:{port}") == 1
    return command


@dataclass
class Stack:
    https: str  # nginx
    http: str  # nginx's plain http
    direct: str  # gunicorn's own TCP port
    ca: Path
    database_url: str

    def visitor(self, address: str) -> Visitor:
        return Visitor(self.https, address, verify=str(self.ca), headers={"Host": HOST})

    def straight_to_gunicorn(self, forwarded_for: str) -> Visitor:
        return Visitor(
            self.direct, "127.0.0.1", headers={"Host": HOST, "X-Forwarded-For": forwarded_for}
        )


def _wait_until(check: object, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited at start:\n{log_tail(log)}")
        try:
            if check():  # type: ignore[operator]
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} did not answer in time:\n{log_tail(log)}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    nginx = nginx_binary()
    if nginx is None:
        missing_part("nginx: not on PATH nor at /usr/sbin/nginx (make deploy-tools installs it)")
    tmp = tmp_path_factory.mktemp("nginx")
    sock = tmp / "web.sock"
    https_port, http_port, direct_port = free_ports(3)

    authority = trustme.CA()
    authority.cert_pem.write_to_path(tmp / "ca.pem")
    server_cert = authority.issue_cert(HOST, "127.0.0.1")
    server_cert.cert_chain_pems[0].write_to_path(tmp / "cert.pem")
    for extra in server_cert.cert_chain_pems[1:]:
        extra.write_to_path(tmp / "cert.pem", append=True)
    server_cert.private_key_pem.write_to_path(tmp / "key.pem")

    database_url = f"sqlite:///{tmp}/intake.sqlite3"
    engine = create_engine(database_url)
    migrate.upgrade(engine)
    engine.dispose()
    env = app_environment(database_url, tmp)
    env.update(
        INTAKE_PROXY_FIX="1",
        INTAKE_TRUSTED_HOSTS=HOST,
        INTAKE_FORM_RATE_LIMIT="3 per minute",
        INTAKE_METRICS_ALLOW="127.0.0.3",
    )
    gunicorn_log = tmp / "gunicorn.log"
    with gunicorn_log.open("wb") as out:
        gunicorn = subprocess.Popen(
            gunicorn_command(WEB_UNIT.read_text(), sock=sock, port=direct_port),
            cwd=tmp,
            env=env,
            stdout=out,
            stderr=out,
            process_group=0,
        )
    (tmp / "bl-intake.conf").write_text(
        site_for_test(
            SITE.read_text(),
            https_port=https_port,
            http_port=http_port,
            sock=sock,
            ca=tmp / "ca.pem",
        )
    )
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp))
    nginx_log = tmp / "nginx-error.log"
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp), "-e", str(nginx_log), "-c", str(tmp / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    proxy = subprocess.Popen(
        [nginx, "-p", str(tmp), "-e", str(nginx_log), "-c", str(tmp / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        process_group=0,
    )
    built = Stack(
        https=f"https://127.0.0.1:{https_port}",
        http=f"http://127.0.0.1:{http_port}",
        direct=f"http://127.0.0.1:{direct_port}",
        ca=tmp / "ca.pem",
        database_url=database_url,
    )
    try:
        health = built.straight_to_gunicorn("")
        _wait_until(
            lambda: sock.exists() and health.get("/healthz").ok, gunicorn, gunicorn_log, "gunicorn"
        )
        _wait_until(
            lambda: socket.create_connection(("127.0.0.1", https_port), timeout=1).close() is None,
            proxy,
            nginx_log,
            "nginx",
        )
        yield built
    finally:
        stop_process(proxy)
        stop_process(gunicorn)


def _posts(visitor: Visitor, count: int) -> list[int]:
    """`count` posts of the pamphlet form without a token: each counted by the form limit
    (400 for the missing token, then 429)."""
    return [visitor.post("/pjecer/", {"organisation": "x"}).status_code for _ in range(count)]


def test_two_clients_behind_nginx_are_limited_separately(stack):
    first, second = stack.visitor("127.0.0.2"), stack.visitor("127.0.0.3")
    assert _posts(first, 4) == [400, 400, 400, 429]
    assert _posts(second, 1) == [400]  # not shut out by the first one's posts
    # What the first one says of itself is not believed: nginx sets the header.
    first.http.headers["X-Forwarded-For"] = "127.0.0.99"
    assert _posts(first, 1) == [429]


def test_a_forwarded_for_sent_straight_to_gunicorn_is_ignored(stack):
    answers = [_posts(stack.straight_to_gunicorn(f"198.51.100.{n}"), 1)[0] for n in range(1, 5)]
    assert answers == [400, 400, 400, 429]  # four "different" clients were one: 127.0.0.1


def test_the_metrics_allow_list_sees_the_client_behind_nginx(stack):
    assert stack.visitor("127.0.0.3").get("/metrics").status_code == 200
    assert stack.visitor("127.0.0.2").get("/metrics").status_code == 403
    assert stack.straight_to_gunicorn("127.0.0.3").get("/metrics").status_code == 403


def test_sign_in_records_the_clients_address_over_https(stack, db_for_url):
    db = db_for_url(stack.database_url)
    accounts.create(db, OFFICE_EMAIL, STAFF_PASSWORD, StaffRole.OFFICE)
    db.commit()
    browser = stack.visitor("127.0.0.4")
    assert browser.sign_in(OFFICE_EMAIL, "forkert-kodeord").status_code == 200
    signed_in = browser.sign_in(OFFICE_EMAIL)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/admin/orders/"
    assert "Secure" in signed_in.headers["Set-Cookie"]  # https, as nginx said
    assert signed_in.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert browser.get("/admin/orders/").status_code == 200
    assert set(db.scalars(select(SignInAttempt.address))) == {"127.0.0.4"}
    details = db.scalars(select(AuditEvent.detail).where(AuditEvent.action.like("sign_in_%")))
    assert set(details) == {"127.0.0.4"}


def test_other_hosts_are_refused_and_redirects_name_no_host(stack):
    visitor = stack.visitor("127.0.0.5")
    refused = visitor.get("/pjecer/", headers={"Host": "evil.example"})
    assert refused.status_code == 400 and "Ukendt adresse" in refused.text
    redirect = visitor.get("/pjecer")
    assert redirect.status_code == 308 and redirect.headers["Location"] == "/pjecer/"
    assert visitor.get("/pjecer/").status_code == 200


def test_plain_http_goes_to_the_sites_own_https_address(stack):
    answer = Visitor(stack.http, "127.0.0.6").get("/pjecer/", headers={"Host": "evil.example"})
    assert answer.status_code == 301
    assert answer.headers["Location"] == f"https://{HOST}/pjecer/"
