"""What the benchmarks in bench/ share: a fresh database, the app's environment, gunicorn and
the worker as subprocesses, fresh forms, latency statistics, the report's first lines, and
the exit codes.

The benchmarks run as `python bench/<name>.py`, so bench/ is first on sys.path and
bench/intake.py hides the app's package `intake`. Neither they nor this module import the
app: they migrate it with its CLI, serve it with gunicorn, run its worker as
`flask --app wsgi intake worker` and read its tables with SQL. They import this module as
`bench.common` (the repo root is on sys.path through the venv's editable install), as do
bench/stack.py and the tests that use it, so a process never has two copies of it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from html.parser import HTMLParser
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any, NoReturn

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0  # seconds, per HTTP request
START_TIMEOUT = 30.0  # seconds for gunicorn or the worker to be up after it was started
STALL_TIMEOUT = 30.0  # seconds without progress before waiting for the worker is given up
STOP_TIMEOUT = 15.0  # seconds for a subprocess to exit after SIGTERM

EXIT_OK = 0
EXIT_FAILED = 1  # the benchmark ran, but a request failed or a check did not pass
EXIT_BROKEN = 2  # the benchmark could not run (BenchError)
EXIT_INTERRUPTED = 130  # Ctrl-C; SIGTERM exits with 128 + SIGTERM

# A valid pamphlet order (DESIGN.md, "Fields"); postcode 8000 gives the town, city stays empty.
VALID_ORDER: dict[str, str] = {
    "organisation": "Boligselskabet Søbo",
    "first_name": "Åse",
    "last_name": "Bøgh",
    "email": "aase@example.dk",
    "phone": "33762040",
    "municipality": "101",
    "quantity-kommunesamarbejde": "5",
    "street": "Søndergade 1",
    "postcode": "8000",
    "city": "",
}


class BenchError(Exception):
    """The benchmark could not run (a server did not start, set-up failed, …)."""


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


# --- The command line and the run ---------------------------------------------------------


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def positive_float(value: str) -> float:
    number = float(value)
    if not number > 0 or math.isinf(number):
        raise argparse.ArgumentTypeError("must be a positive number")
    return number


def add_poll_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--poll",
        type=positive_float,
        default=0.05,
        help="INTAKE_WORKER_POLL_SECONDS, the worker's idle poll interval (0.05)",
    )


def add_gunicorn_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=positive, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=positive, default=1, help="gunicorn threads (1)")


def add_database_and_json_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to benchmark on instead of SQLite, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres; the bench creates and drops "
        "its own database there",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")


def _stop_on_sigterm(_signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signal.SIGTERM)  # runs the finally blocks: processes, DB, temp dir


def run_benchmark(benchmark: Callable[[], int], stopped: str) -> int:
    """Run `benchmark` so that every way out cleans up: SIGTERM becomes SystemExit and Ctrl-C
    KeyboardInterrupt, both of which run its finally blocks. Its own exit status, else
    EXIT_BROKEN for a BenchError and EXIT_INTERRUPTED for Ctrl-C (reporting `stopped`)."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        return benchmark()
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    except KeyboardInterrupt:
        print(f"interrupted; {stopped}", file=sys.stderr)
        return EXIT_INTERRUPTED


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temp dir for the database, logs and mail, removed with everything in it at the end."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def finish(started: float, json_path: str | None, ok: bool, **report: Any) -> int:
    """After the printed report: the run time since `started` (time.perf_counter); with
    --json, the report written there with `ok` and the run time; the exit status."""
    run_seconds = time.perf_counter() - started
    print(f"\nrun time: {run_seconds:.1f} s")
    if json_path:
        document = {**report, "ok": ok, "run_seconds": run_seconds}
        Path(json_path).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK if ok else EXIT_FAILED


# --- The database -------------------------------------------------------------------------


@contextmanager
def fresh_database(database_url: str | None, tmp: Path) -> Iterator[tuple[str, str]]:
    """A fresh, empty database: its URL and how to name it in the output."""
    if database_url is None:
        path = tmp / "bench.sqlite3"
        yield f"sqlite:///{path}", f"SQLite, {path}"
        return
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BenchError("--database-url must be a PostgreSQL URL (SQLite is the default)")
    name = f"intake_bench_{secrets.token_hex(4)}"
    # NullPool: no connection kept between the two uses, so a server restart in between (the
    # fault test) leaves nothing stale to drop the database with.
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
        except OperationalError as exc:
            raise BenchError(f"cannot create a database on {url!r}: {exc}") from exc
        try:
            server = f"{url.host or 'localhost'}:{url.port or 5432}"
            yield (
                url.set(database=name).render_as_string(hide_password=False),
                f"PostgreSQL, fresh database {name} on {server}",
            )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def migrate(env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "intake", "db", "upgrade"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"migration failed:\n{done.stdout}{done.stderr}")


class Tables:
    """A read-only look at the app's tables with SQL, over one engine until close()."""

    def __init__(self, database_url: str) -> None:
        self.engine: Engine = create_engine(database_url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Tables:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()

    def scalar(self, sql: str, **params: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(text(sql), params) or 0)

    def outbox_counts(self) -> dict[str, int]:
        """Delivery jobs by `kind/status`, e.g. {"email/done": 900, "salesforce/pending": 300}."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT kind, status, count(*) FROM intake_delivery_jobs "
                    "GROUP BY kind, status ORDER BY kind, status"
                )
            )
            return {f"{kind}/{status}": int(count) for kind, status, count in rows}


# --- Subprocesses: the app's environment, gunicorn and the worker -------------------------
# gunicorn and the worker run in their own process group, so a Ctrl-C in the terminal reaches
# only the benchmark, which then stops them in order (SIGTERM) in its finally blocks.


def app_environment(
    database_url: str, tmp: Path, *, drop: tuple[str, ...] = (), **settings: str
) -> dict[str, str]:
    """This shell's environment without INTAKE_*, GUNICORN_CMD_ARGS and the variables starting
    with one of `drop` (e.g. "MAIL_"), plus what every run needs: a new SECRET_KEY, the
    database, no minimum fill time, no form rate limit to speak of (every post comes from
    127.0.0.1), e-mail as files in the temp dir (unless MAIL_SERVER is among `settings`);
    then `settings`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("INTAKE_", *drop)) and key != "GUNICORN_CMD_ARGS"
    }
    env.update(
        SECRET_KEY=secrets.token_hex(32),
        INTAKE_DATABASE_URL=database_url,
        INTAKE_MIN_FILL_SECONDS="0",
        INTAKE_FORM_RATE_LIMIT="1000000 per minute",
        INTAKE_MAIL_DIR=str(tmp / "mail"),
        **settings,
    )
    return env


class FromAddress(HTTPAdapter):
    """A requests adapter whose connections leave from `address` (Linux answers all of
    127.0.0.0/8 on loopback): a client that the app's rate limits take for another visitor."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def free_ports(count: int) -> list[int]:
    """`count` different free loopback ports (all bound at once, so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_tail(path: Path, lines: int = 40) -> str:
    with suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


@dataclass
class Gunicorn:
    name: str  # how errors name it
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @classmethod
    def start(
        cls,
        app: str,
        workers: int,
        threads: int,
        env: dict[str, str],
        log: Path,
        *,
        name: str = "gunicorn",
        port: int | None = None,
    ) -> Gunicorn:
        """gunicorn serving `app` (e.g. "wsgi:app") on `port` (a free one by default)."""
        if port is None:
            (port,) = free_ports(1)
        command = [
            sys.executable, "-m", "gunicorn",
            "--workers", str(workers),
            "--threads", str(threads),
            "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning",
            app,
        ]  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=out, stderr=out, process_group=0
            )
        return cls(name, process, f"http://127.0.0.1:{port}", log)

    def wait_until_answering(self, path: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited at start:\n{log_tail(self.log)}")
            with suppress(requests.RequestException):
                if requests.get(self.url + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not answer {path} in time:\n{log_tail(self.log)}")

    def stop(self) -> None:
        stop_process(self.process)


STARTED = re.compile(r"\bWorker \S+ started\b")


class WorkerProcess:
    """`flask --app wsgi intake worker`; a thread copies its log to a file, notes the moment
    it says it started, and collects the lines that show trouble.

    A subclass reads more of the log by extending read_line; it must set its own attributes
    before calling this __init__, which starts the reading thread.
    """

    TROUBLE: tuple[str, ...] = ("WARNING", "ERROR", "Traceback")

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.started = threading.Event()
        self.started_at = math.nan  # time.perf_counter() when the "started" line was read
        self.trouble: list[str] = []  # warnings, errors and tracebacks it logged
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "intake", "worker"]
        self.spawned_at = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            process_group=0,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        lines = self.process.stdout
        if lines is None:
            return
        with self.log.open("w", encoding="utf-8") as out:
            for line in lines:
                if not self.started.is_set() and STARTED.search(line):
                    self.started_at = time.perf_counter()
                    self.started.set()
                self.read_line(line)
                out.write(line)

    def is_trouble(self, line: str) -> bool:
        return any(word in line for word in self.TROUBLE)

    def read_line(self, line: str) -> None:
        """Note what matters in one line of the worker's log (in the reading thread)."""
        if self.is_trouble(line):
            self.trouble.append(line.rstrip())

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_started(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self.started.wait(0.1):
            if not self.alive() or time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"the worker did not start:\n{log_tail(self.log)}")

    def cpu_seconds(self) -> float:
        """User + system CPU time so far (Linux /proc), NaN where that cannot be read."""
        with suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return math.nan

    def stop(self) -> None:
        """SIGTERM: the worker finishes and records the job in hand, then exits."""
        stop_process(self.process)
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


# --- The client: forms and POSTs ----------------------------------------------------------


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        name = attr.get("name")
        if tag == "input" and attr.get("type") == "hidden" and name:
            self.values[name] = attr.get("value") or ""


def describe(response: requests.Response) -> str:
    """HTTP status, where it pointed, and the start of the page's main text."""
    body = response.text
    main = re.search(r"<main\b.*?</main>", body, re.DOTALL)
    words = " ".join(re.sub(r"<[^>]+>", " ", main.group(0) if main else body).split())
    location = response.headers.get("Location")
    where = f" -> {location}" if location else ""
    return f"HTTP {response.status_code}{where}: {words[:300]}"


@dataclass(frozen=True)
class FreshForm:
    tokens: dict[str, str]  # csrf_token and form_token
    cookie: str  # the Cookie header of the session the form was shown in


def fetch_form(session: requests.Session, url: str) -> FreshForm:
    """A freshly shown form's csrf_token, form_token and session cookie.

    The app marks its session cookie Secure unless SESSION_COOKIE_SECURE=0, and requests'
    cookie jar does not send a Secure cookie back over plain http://127.0.0.1 (a browser, for
    which loopback is a secure context, does). So the cookie is kept with the form, for
    post_form to send in its own Cookie header.
    """
    return read_form(session.get(url, timeout=TIMEOUT), session)


def read_form(response: requests.Response, session: requests.Session) -> FreshForm:
    """The form in an answer to a GET of a form page (see fetch_form); BenchError if it
    is not one."""
    url = response.url
    if response.status_code != 200:
        raise BenchError(f"GET {url}: {describe(response)}")
    parser = _HiddenInputs()
    parser.feed(response.text)
    tokens = {k: parser.values.get(k, "") for k in ("csrf_token", "form_token")}
    if not all(tokens.values()):
        raise BenchError(f"GET {url}: a form without csrf_token or form_token")
    cookie = "; ".join(f"{c.name}={c.value}" for c in response.cookies or session.cookies)
    if not cookie:
        raise BenchError(f"GET {url}: a form without a session cookie")
    return FreshForm(tokens, cookie)


def post_form(
    session: requests.Session,
    url: str,
    form: FreshForm,
    data: Mapping[str, str | list[str]],
    *,
    own_cookie: bool = True,
) -> requests.Response:
    """POST `data` with the form's tokens; redirects are not followed. With own_cookie=False
    the session's cookie jar sends the cookies instead of the form's Cookie header (the jar
    then also keeps what the answer sets, e.g. for the receipt page)."""
    return session.post(
        url,
        data={**form.tokens, **data},
        # an explicit Cookie header beats the jar
        headers={"Cookie": form.cookie} if own_cookie else None,
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def in_threads(count: int, concurrency: int, one: Callable[[requests.Session, int], None]) -> None:
    """one(session, index) for each index in range(count), from `concurrency` threads with a
    requests.Session each; re-raises the first failure."""
    local = threading.local()

    def call(index: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        one(local.session, index)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(call, range(count)))


# --- Results and the report ---------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class Distribution:
    """How long something took, in milliseconds; NaN where nothing was measured."""

    measure: str
    n: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, measure: str, seconds: list[float]) -> Distribution:
        values = sorted(seconds)
        return cls(
            measure=measure,
            n=len(values),
            median_ms=1000 * statistics.median(values) if values else math.nan,
            p90_ms=1000 * percentile(values, 90),
            p99_ms=1000 * percentile(values, 99),
            max_ms=1000 * values[-1] if values else math.nan,
        )


def rate_or_nan(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.nan


def cpu_percent(cpu: float, wall: float) -> float:
    return 100 * cpu / wall if wall > 0 else math.nan


def machine_settings() -> dict[str, Any]:
    """The machine and the versions the numbers depend on."""
    return {
        "cpu_cores": os.cpu_count(),
        "python": platform.python_version(),
        "gunicorn": version("gunicorn"),
    }


def gunicorn_settings(workers: int, threads: int) -> dict[str, Any]:
    return {
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
    }


def printer(out: IO[str]) -> Callable[..., None]:
    """say(line="") prints one line of the report to `out`."""

    def say(line: str = "") -> None:
        print(line, file=out)

    return say


def headline(title: str, settings: Mapping[str, Any], *versions: str) -> str:
    """The report's first line: what was measured, on what, with which versions."""
    return ", ".join(
        [
            f"{title} — {settings['cpu_cores']} CPU cores",
            f"Python {settings['python']}",
            f"gunicorn {settings['gunicorn']}",
            *versions,
        ]
    )


def gunicorn_line(settings: Mapping[str, Any], serving: str) -> str:
    return (
        f"gunicorn: --workers {settings['workers']} --threads {settings['threads']} "
        f"({settings['worker_class']} worker), {serving}"
    )


def load_line(settings: Mapping[str, Any]) -> str:
    return f"load average before the run (1 min): {settings['load_before']:.2f}"
