"""Benchmark BL Intake under gunicorn against a bare Flask endpoint, in one run.

Run it from the repo root:

    .venv/bin/python bench/intake.py
    .venv/bin/python bench/intake.py --requests 300 --concurrency 4 --json /tmp/bench.json
    .venv/bin/python bench/intake.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres

What one run does:

1. Makes a temp dir with a fresh SQLite database, migrated with
   `flask --app wsgi intake db upgrade`. With --database-url it instead creates a fresh
   database `intake_bench_<random>` on that PostgreSQL server and drops it at the end.
2. Starts gunicorn twice with identical settings (--workers, --threads, a free loopback
   port each): `wsgi:app` (SECRET_KEY, INTAKE_DATABASE_URL, INTAKE_MIN_FILL_SECONDS=0) and
   `bench.bare_app:app` (one `GET /bare` returning "ok").
3. Drives both from a second process (this script with --drive), --concurrency threads, each
   with its own requests.Session, over loopback: per scenario a warm-up (--warmup requests,
   untimed) and then --requests timed requests, each timed with time.perf_counter. The timed
   requests run in --rounds rounds that take the scenarios in turn, so other load on the
   machine during the run hits all scenarios alike.
   - `GET /bare` on the bare app: the baseline.
   - `GET /pjecer/`: the pamphlet order form (catalogue query, form, template).
   - `POST /pjecer/`, valid: validate + store + outbox, answered 303. Every POST gets its
     own fresh form: in an untimed set-up step the driver GETs /pjecer/ once per POST with a
     cookie-keeping session and keeps that form's csrf_token, form_token and session cookie.
     The POSTs then run back to back, each timed alone (redirects are not followed).
4. Prints requests, errors, req/s, p50/p99 latency (errors included) and the driver's CPU
   use per scenario; then each app scenario's req/s and p50 as ratios to the bare endpoint.
5. Stops both servers and checks that the stored submissions equal the successful POSTs.

It is a benchmark, not a test: compare the ratios within one run, not absolute numbers
across machines. The driver runs on the same machine and shares its cores with gunicorn.
Exit status 1 when any request failed or the stored count does not match.
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
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any, NoReturn

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

# Run as a script, this file is `intake` on sys.path and hides the app's package, so it never
# imports the app: it migrates with the app's CLI, serves it with gunicorn and counts with SQL.
REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0  # seconds, per request
START_TIMEOUT = 30.0  # seconds for a server to answer after it was started

BARE = "GET /bare"
FORM = "GET /pjecer/"
POST = "POST /pjecer/"

# A valid pamphlet order (DESIGN.md, "Fields"); postcode 8000 gives the town, city stays empty.
VALID_ORDER: dict[str, str] = {
    "organisation": "Boligselskabet Søbo",
    "first_name": "Åse",
    "last_name": "Bøgh",
    "email": "aase@example.dk",
    "phone": "33762040",
    "municipality": "101",
    "consent": "y",
    "quantity-kommunesamarbejde": "5",
    "street": "Søndergade 1",
    "postcode": "8000",
    "city": "",
}


class BenchError(Exception):
    """The benchmark could not run (a server did not start, set-up failed, …)."""


# --- The load generator (the --drive process) ---------------------------------------------


@dataclass(frozen=True)
class Call:
    ok: bool
    seconds: float
    error: str | None = None


@dataclass
class Stats:
    scenario: str
    requests: int
    errors: int
    seconds: float  # wall-clock time of the timed batch
    req_per_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    driver_cpu_percent: float  # the driver's CPU time over the batch's wall time
    warmup_errors: int
    first_error: str | None


@dataclass(frozen=True)
class FreshForm:
    cookie: str  # the Cookie header of the session the form was shown in
    tokens: dict[str, str]  # csrf_token and form_token


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        name = attr.get("name")
        if tag == "input" and attr.get("type") == "hidden" and name:
            self.values[name] = attr.get("value") or ""


def hidden_inputs(html: str) -> dict[str, str]:
    parser = _HiddenInputs()
    parser.feed(html)
    return parser.values


def describe(response: requests.Response) -> str:
    """HTTP status, where it pointed, and the start of the page's main text."""
    body = response.text
    main = re.search(r"<main\b.*?</main>", body, re.DOTALL)
    words = " ".join(re.sub(r"<[^>]+>", " ", main.group(0) if main else body).split())
    location = response.headers.get("Location")
    where = f" -> {location}" if location else ""
    return f"HTTP {response.status_code}{where}: {words[:300]}"


def timed(send: Callable[[], requests.Response], expect: int) -> Call:
    started = time.perf_counter()
    try:
        response = send()
    except requests.RequestException as exc:
        return Call(False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    if response.status_code != expect:
        return Call(False, seconds, describe(response))
    return Call(True, seconds)


Send = Callable[[requests.Session, int], Call]  # one request; the int numbers it in its batch


def run_batch(count: int, concurrency: int, send: Send) -> tuple[list[Call], float, float]:
    """`count` requests from `concurrency` threads: the calls, wall seconds, driver CPU seconds."""
    results: list[Call] = [Call(False, 0.0, "not run")] * count
    indexes = iter(range(count))
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def worker() -> None:
        with requests.Session() as session:
            start.wait()
            while True:
                with lock:
                    index = next(indexes, None)
                if index is None:
                    return
                try:
                    results[index] = send(session, index)
                except Exception as exc:  # a bug or a broken page: report it as that call's error
                    results[index] = Call(False, 0.0, f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    cpu_started, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started, time.process_time() - cpu_started


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class Scenario:
    """One scenario's requests: `sender(offset)` sends the request numbered offset + index."""

    name: str
    sender: Callable[[int], Send]
    warmup: list[Call] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0

    def run(self, offset: int, count: int, concurrency: int) -> None:
        calls, wall, cpu = run_batch(count, concurrency, self.sender(offset))
        self.calls += calls
        self.wall += wall
        self.cpu += cpu

    def stats(self) -> Stats:
        latencies = sorted(c.seconds for c in self.calls)
        failed = [c for c in [*self.warmup, *self.calls] if not c.ok]
        return Stats(
            scenario=self.name,
            requests=len(self.calls),
            errors=sum(not c.ok for c in self.calls),
            seconds=self.wall,
            req_per_s=len(self.calls) / self.wall if self.wall else math.nan,
            p50_ms=1000 * percentile(latencies, 50),
            p99_ms=1000 * percentile(latencies, 99),
            mean_ms=1000 * sum(latencies) / len(latencies) if latencies else math.nan,
            driver_cpu_percent=100 * self.cpu / self.wall if self.wall else math.nan,
            warmup_errors=sum(not c.ok for c in self.warmup),
            first_error=failed[0].error if failed else None,
        )


def getter(url: str) -> Callable[[int], Send]:
    def sender(_offset: int) -> Send:
        def send(session: requests.Session, _index: int) -> Call:
            return timed(lambda: session.get(url, timeout=TIMEOUT), 200)

        return send

    return sender


def fetch_forms(url: str, count: int, concurrency: int) -> list[FreshForm]:
    """One freshly shown form per POST to come (untimed set-up)."""
    forms: list[FreshForm | None] = [None] * count

    def send(session: requests.Session, index: int) -> Call:
        response = session.get(url, timeout=TIMEOUT)
        if response.status_code != 200:
            return Call(False, 0.0, describe(response))
        fields = hidden_inputs(response.text)
        missing = {"csrf_token", "form_token"} - fields.keys()
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        if missing or not cookie:
            return Call(False, 0.0, f"form without {sorted(missing) or 'a session cookie'}")
        forms[index] = FreshForm(cookie, {k: fields[k] for k in ("csrf_token", "form_token")})
        return Call(True, 0.0)

    calls, _, _ = run_batch(count, concurrency, send)
    failed = [c for c in calls if not c.ok]
    if failed:
        raise BenchError(f"fetching forms failed {len(failed)} times; first: {failed[0].error}")
    return [form for form in forms if form is not None]


def poster(url: str, forms: list[FreshForm]) -> Callable[[int], Send]:
    """Valid POSTs, each with its own form; only the POST is timed, redirects not followed."""

    def sender(offset: int) -> Send:
        def send(session: requests.Session, index: int) -> Call:
            form = forms[offset + index]
            return timed(
                lambda: session.post(
                    url,
                    data={**form.tokens, **VALID_ORDER},
                    headers={"Cookie": form.cookie},  # an explicit Cookie header beats the jar
                    allow_redirects=False,
                    timeout=TIMEOUT,
                ),
                303,
            )

        return send

    return sender


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def drive(config: dict[str, Any]) -> int:
    """The --drive process: run the scenarios and print the results as JSON on stdout.

    After each scenario's warm-up, the timed requests run in `rounds` rounds that take the
    scenarios in turn, so a burst of other load on the machine hits all of them alike.
    """
    n, warmup, rounds = config["requests"], config["warmup"], config["rounds"]
    concurrency = config["concurrency"]
    form_url = config["app_url"] + "/pjecer/"
    progress(f"fetching {warmup + n} fresh forms for the POSTs (untimed set-up)")
    forms = fetch_forms(form_url, warmup + n, concurrency)
    scenarios = [
        Scenario(BARE, getter(config["bare_url"] + "/bare")),
        Scenario(FORM, getter(form_url)),
        Scenario(POST, poster(form_url, forms)),
    ]
    progress(f"warm-up: {warmup} requests per scenario")
    for scenario in scenarios:
        scenario.warmup, _, _ = run_batch(warmup, concurrency, scenario.sender(n))
    sizes = [n // rounds + (i < n % rounds) for i in range(rounds)]
    offset = 0
    for number, size in enumerate(sizes, 1):
        progress(f"round {number}/{rounds}: {size} timed requests per scenario")
        for scenario in scenarios:
            scenario.run(offset, size, concurrency)
        offset += size
    posts_ok = sum(c.ok for c in [*scenarios[2].warmup, *scenarios[2].calls])
    json.dump({"stats": [asdict(s.stats()) for s in scenarios], "posts_ok": posts_ok}, sys.stdout)
    return 0


# --- The servers and the database ---------------------------------------------------------


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def clean_environment(database_url: str, tmp: Path) -> dict[str, str]:
    """This shell's environment without INTAKE_* and GUNICORN_CMD_ARGS, plus the bench's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("INTAKE_") and key != "GUNICORN_CMD_ARGS"
    }
    env.update(
        SECRET_KEY=secrets.token_hex(32),
        INTAKE_DATABASE_URL=database_url,
        INTAKE_MIN_FILL_SECONDS="0",
        INTAKE_MAIL_DIR=str(tmp / "mail"),
    )
    return env


def gunicorn_command(app: str, port: int, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn",
        "--workers", str(args.workers),
        "--threads", str(args.threads),
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
        app,
    ]  # fmt: skip


def start_server(
    name: str, app: str, port: int, args: argparse.Namespace, env: dict[str, str], tmp: Path
) -> Server:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            gunicorn_command(app, port, args), cwd=REPO, env=env, stdout=out, stderr=out
        )
    return Server(name, process, f"http://127.0.0.1:{port}", log)


def log_tail(server: Server, lines: int = 60) -> str:
    with suppress(OSError):
        return "\n".join(server.log.read_text(errors="replace").splitlines()[-lines:])
    return ""


def wait_until_answering(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} server exited at start:\n{log_tail(server)}")
        with suppress(requests.RequestException):
            if requests.get(server.url + path, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise BenchError(f"{server.name} server did not answer {path} in time:\n{log_tail(server)}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


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
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
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


def stored_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.scalar(text(sql)) or 0)
                for name, sql in {
                    "submissions": "SELECT count(*) FROM intake_submissions",
                    "distinct_references": "SELECT count(DISTINCT reference) "
                    "FROM intake_submissions",
                    "order_lines": "SELECT count(*) FROM intake_order_lines",
                    "delivery_jobs": "SELECT count(*) FROM intake_delivery_jobs",
                }.items()
            }
    finally:
        engine.dispose()


# --- The run and the report ---------------------------------------------------------------


def run_driver(config: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--drive", json.dumps(config)]
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"the load generator failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def ratios(stats: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    bare = next(s for s in stats if s["scenario"] == BARE)
    return {
        s["scenario"]: {
            "req_per_s": s["req_per_s"] / bare["req_per_s"],
            "p50": s["p50_ms"] / bare["p50_ms"],
        }
        for s in stats
        if s is not bare
    }


def print_report(
    settings: dict[str, Any], stats: list[dict[str, Any]], check: dict[str, Any], out: IO[str]
) -> None:
    def say(line: str = "") -> None:
        print(line, file=out)

    say()
    say(
        f"BL Intake benchmark — {settings['cpu_cores']} CPU cores, Python "
        f"{settings['python']}, gunicorn {settings['gunicorn']}"
    )
    say(
        f"gunicorn: --workers {settings['workers']} --threads {settings['threads']} "
        f"({settings['worker_class']} worker), same for both apps, on 127.0.0.1"
    )
    say(
        f"driver: {settings['concurrency']} threads (one requests.Session each), "
        f"{settings['requests']} timed requests per scenario after {settings['warmup']} "
        f"warm-up, in {settings['rounds']} rounds taking the scenarios in turn"
    )
    say(f"database: {settings['database']}")
    say(f"load average before the run (1 min): {settings['load_before']:.2f}")
    say()
    say(
        f"{'scenario':<15} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'mean ms':>8} {'driver CPU':>10}"
    )
    for s in stats:
        say(
            f"{s['scenario']:<15} {s['requests']:>8} {s['errors']:>6} {s['req_per_s']:>8.1f} "
            f"{s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f} {s['mean_ms']:>8.2f} "
            f"{s['driver_cpu_percent']:>9.0f}%"
        )
    say()
    say(f"vs the bare endpoint ({BARE}):")
    for scenario, ratio in ratios(stats).items():
        say(
            f"  {scenario:<15} req/s {ratio['req_per_s']:.3f}× bare "
            f"(bare is {1 / ratio['req_per_s']:.1f}× faster), p50 {ratio['p50']:.1f}× bare"
        )
    for s in stats:
        if s["first_error"]:
            say(
                f"! {s['scenario']}: {s['errors']} errors "
                f"(+{s['warmup_errors']} in warm-up); first: {s['first_error']}"
            )
    say()
    counts = check["counts"]
    mark = "OK" if check["ok"] else "MISMATCH"
    say(
        f"stored submissions: {counts['submissions']} = successful POSTs {check['posts_ok']} "
        f"(warm-up included): {mark}"
    )
    say(
        f"  distinct references {counts['distinct_references']}, "
        f"order lines {counts['order_lines']}, delivery jobs {counts['delivery_jobs']}"
    )


def benchmark(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    servers: list[Server] = []
    try:
        with fresh_database(args.database_url, tmp) as (database_url, database_label):
            env = clean_environment(database_url, tmp)
            migrate(env)
            app_port, bare_port = free_ports(2)
            try:
                servers.append(start_server("app", "wsgi:app", app_port, args, env, tmp))
                servers.append(
                    start_server("bare", "bench.bare_app:app", bare_port, args, env, tmp)
                )
                wait_until_answering(servers[0], "/pjecer/")
                wait_until_answering(servers[1], "/bare")
                result = run_driver(
                    {
                        "app_url": servers[0].url,
                        "bare_url": servers[1].url,
                        "requests": args.requests,
                        "warmup": args.warmup,
                        "concurrency": args.concurrency,
                        "rounds": args.rounds,
                    }
                )
            finally:
                for server in servers:
                    stop_server(server)
            counts = stored_counts(database_url)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    stats: list[dict[str, Any]] = result["stats"]
    check = {
        "posts_ok": result["posts_ok"],
        "counts": counts,
        "ok": counts["submissions"] == result["posts_ok"] == counts["distinct_references"],
    }
    settings = {
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread" if args.threads > 1 else "sync",
        "concurrency": args.concurrency,
        "requests": args.requests,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "database": database_label,
        "cpu_cores": os.cpu_count(),
        "load_before": load_before,
        "python": platform.python_version(),
        "gunicorn": version("gunicorn"),
    }
    print_report(settings, stats, check, sys.stdout)
    run_seconds = time.perf_counter() - started
    print(f"\nrun time: {run_seconds:.1f} s")
    if args.json:
        report = {
            "settings": settings,
            "results": stats,
            "ratios_vs_bare": ratios(stats),
            "stored": check,
            "run_seconds": run_seconds,
        }
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    failed = any(s["errors"] or s["warmup_errors"] for s in stats) or not check["ok"]
    return 1 if failed else 0


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=positive, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=positive, default=1, help="gunicorn threads (1)")
    parser.add_argument("--concurrency", type=positive, default=8, help="driver threads (8)")
    parser.add_argument(
        "--requests", type=positive, default=2000, help="timed requests per scenario (2000)"
    )
    parser.add_argument(
        "--warmup", type=int, default=100, help="untimed requests per scenario first (100)"
    )
    parser.add_argument(
        "--rounds",
        type=positive,
        default=5,
        help="split the timed requests into this many rounds that take the scenarios in turn (5)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to benchmark on instead of SQLite, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres; the bench creates and drops "
        "its own database there",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--drive", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def _stop_on_sigterm(_signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signal.SIGTERM)  # runs the finally blocks: servers, temp dir, DB


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.drive:
        return drive(json.loads(args.drive))
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        return benchmark(args)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
