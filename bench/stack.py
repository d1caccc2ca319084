"""BL Intake as it runs in production, as processes on this machine: gunicorn, delivery
workers, an SMTP sink, the Salesforce emulator and, when wanted, a PostgreSQL server of its
own. Started in order, waited for until each answers, stopped in reverse order.

One place for bench/burst.py, bench/delivery.py and the fault test
(tests/system/test_database_restart.py). Everything is imported as `bench.…` (the bench scripts
import `bench.common`, never `common`), so each process has one copy of each module.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import requests
from aiosmtpd.controller import Controller

from bench.common import (
    REPO,
    STALL_TIMEOUT,
    START_TIMEOUT,
    TIMEOUT,
    BenchError,
    Gunicorn,
    WorkerProcess,
    app_environment,
    free_ports,
    log_tail,
    migrate,
    stop_process,
)

# --- The SMTP sink ------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    at: float  # time.perf_counter() when the sink had the whole message
    rcpt_tos: tuple[str, ...]
    raw: bytes


@dataclass(frozen=True)
class Mail:
    """An arrived message with the headers the checks need."""

    at: float
    reference: str
    message_id: str
    rcpt_tos: tuple[str, ...]


class _SinkHandler:
    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.perf_counter()
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        with self.changed:
            self.arrivals.append(Arrival(at, tuple(envelope.rcpt_tos), raw))
            self.changed.notify_all()
        return "250 Message accepted for delivery"


class SmtpSink:
    """An aiosmtpd server on loopback, in a thread of this process, that only records."""

    def __init__(self, port: int) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.handler = _SinkHandler()
        # server_hostname: else aiosmtpd calls socket.getfqdn() for every connection.
        self._controller = Controller(
            self.handler, hostname=self.host, port=port, server_hostname="bench-sink.invalid"
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def count(self) -> int:
        with self.handler.changed:
            return len(self.handler.arrivals)

    def since(self, start: int) -> list[Arrival]:
        with self.handler.changed:
            return self.handler.arrivals[start:]

    def wait_for(self, count: int, alive: Callable[[], bool]) -> bool:
        """Wait until `count` messages in all have arrived: False when they stop coming
        (nothing new for STALL_TIMEOUT seconds) or `alive()` turns False."""
        changed = self.handler.changed
        with changed:
            seen, last_change = len(self.handler.arrivals), time.monotonic()
            while len(self.handler.arrivals) < count:
                changed.wait(0.2)
                if len(self.handler.arrivals) != seen:
                    seen, last_change = len(self.handler.arrivals), time.monotonic()
                elif time.monotonic() - last_change > STALL_TIMEOUT or not alive():
                    return len(self.handler.arrivals) >= count
            return True


def read_mail(arrivals: list[Arrival]) -> list[Mail]:
    parser = BytesHeaderParser()
    mails = []
    for arrival in arrivals:
        headers = parser.parsebytes(arrival.raw)
        mails.append(
            Mail(
                at=arrival.at,
                reference=str(headers.get("X-Intake-Reference", "")).strip(),
                message_id=str(headers.get("Message-ID", "")).strip(),
                rcpt_tos=arrival.rcpt_tos,
            )
        )
    return mails


# --- The Salesforce emulator --------------------------------------------------------------


class EmulatorProcess:
    """`python -m crm_sync.emulator` on a free port, in a process of its own (so that its
    TLS work does not share this process's interpreter lock with the clients)."""

    def __init__(self, state_dir: Path, log: Path) -> None:
        self.state_dir = state_dir
        self.log = log
        self.settings: dict[str, str] = {}  # the app's SALESFORCE_* settings, once ready
        command = [
            sys.executable, "-m", "crm_sync.emulator",
            "--port", "0", "--state-dir", str(state_dir), "--quiet",
        ]  # fmt: skip
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=REPO, stdout=out, stderr=out, process_group=0
            )

    def wait_ready(self) -> dict[str, str]:
        """The settings it wrote to emulator.env once it serves."""
        env_file = self.state_dir / "emulator.env"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if env_file.exists():
                lines = env_file.read_text().splitlines()
                settings = dict(line.split("=", 1) for line in lines if "=" in line)
                if "SALESFORCE_API_VERSION" in settings:  # the last line: the file is whole
                    self.settings = settings
                    return settings
            time.sleep(0.05)
        raise BenchError(f"the Salesforce emulator did not start:\n{log_tail(self.log)}")

    def records(self) -> dict[str, list[dict[str, Any]]]:
        """Every record it holds, by type (GET /_emulator/records)."""
        response = requests.get(
            self.settings["SALESFORCE_LOGIN_URL"] + "/_emulator/records",
            verify=self.settings["SALESFORCE_CA_BUNDLE"],
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        records: dict[str, list[dict[str, Any]]] = response.json()
        return records

    def stop(self) -> None:
        stop_process(self.process)


# --- A PostgreSQL server of its own -------------------------------------------------------


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


class PostgresServer:
    """initdb into a temp dir and pg_ctl on a free loopback port: a server to stop and
    start at will without touching anyone else's. As root, whose servers PostgreSQL refuses
    to run, it runs as the `postgres` user (runuser), and the temp dir is theirs."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.home = Path(tempfile.mkdtemp(prefix="intake-postgres-"))
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        (self.port,) = free_ports(1)
        self.run_as: list[str] = []
        try:
            if os.geteuid() == 0:
                try:
                    owner = pwd.getpwnam("postgres")
                except KeyError:
                    raise BenchError("as root, PostgreSQL needs a user `postgres`") from None
                os.chown(self.home, owner.pw_uid, owner.pw_gid)
                self.run_as = ["runuser", "-u", "postgres", "--"]
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--no-locale", "--no-sync",
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(self.home, ignore_errors=True)
            raise

    @property
    def url(self) -> str:
        """Its `postgres` database, as a superuser (for creating databases)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [*self.run_as, str(self.bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BenchError(
                f"{program} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n"
                f"{log_tail(self.log)}"
            )

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.home} -c fsync=off"
        )
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back, clients are disconnected."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "60")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        """Stop it if it runs (immediately: its data goes too), and delete its directory."""
        if self.running():
            command = [*self.run_as, str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data)]
            subprocess.run([*command, "-m", "immediate", "-w"], capture_output=True, check=False)
        shutil.rmtree(self.home, ignore_errors=True)


@contextmanager
def postgres_server(bindir: Path) -> Iterator[PostgresServer]:
    """A started PostgreSQL server of its own, removed with its data at the end."""
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.remove()


# --- The whole stack ----------------------------------------------------------------------


@dataclass
class Stack:
    """What one run needs, all started: gunicorn serving wsgi:app, the delivery workers, the
    SMTP sink that every e-mail goes to and the emulator that Salesforce is."""

    env: dict[str, str]  # every app process's environment
    web: Gunicorn
    workers: list[WorkerProcess]
    sink: SmtpSink
    emulator: EmulatorProcess

    @property
    def url(self) -> str:
        return self.web.url

    @property
    def database_url(self) -> str:
        return self.env["INTAKE_DATABASE_URL"]

    def workers_alive(self) -> bool:
        return all(worker.alive() for worker in self.workers)


@contextmanager
def running_stack(
    database_url: str,
    tmp: Path,
    *,
    web_processes: int,
    workers: int,
    poll_seconds: float = 0.05,
    **settings: str,
) -> Iterator[Stack]:
    """Migrate the (empty) database with `flask --app wsgi intake db upgrade`, then start the
    sink, the emulator, gunicorn with `web_processes` sync workers and `workers` delivery
    workers; wait until each is ready; stop them all in reverse order at the end.

    The app's environment is common.app_environment's (no minimum fill time, the per-address
    form limit raised so far that a flood from 127.0.0.1 passes) with mail to the sink,
    Salesforce at the emulator and the workers polling every `poll_seconds`; then `settings`.
    """
    with ExitStack() as stack:
        (smtp_port,) = free_ports(1)
        sink = SmtpSink(smtp_port)
        sink.start()
        stack.callback(sink.stop)
        emulator_dir = tmp / "salesforce-emulator"
        emulator_dir.mkdir()
        emulator = EmulatorProcess(emulator_dir, tmp / "emulator.log")
        stack.callback(emulator.stop)
        env = app_environment(
            database_url,
            tmp,
            drop=("MAIL_", "SALESFORCE_"),
            MAIL_SERVER=sink.host,
            MAIL_PORT=str(sink.port),
            INTAKE_WORKER_POLL_SECONDS=str(poll_seconds),
            PYTHONUNBUFFERED="1",
            **emulator.wait_ready(),
            **settings,
        )
        migrate(env)
        web = Gunicorn.start("wsgi:app", web_processes, 1, env, tmp / "gunicorn.log")
        stack.callback(web.stop)
        started: list[WorkerProcess] = []
        for number in range(1, workers + 1):
            started.append(WorkerProcess(env, tmp / f"worker-{number}.log"))
            stack.callback(started[-1].stop)
        web.wait_until_answering("/pjecer/")
        for worker in started:
            worker.wait_started()
        yield Stack(env, web, started, sink, emulator)
