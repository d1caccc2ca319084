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
   use per scenario; then each app scenario's req/s, p50 and p99 as ratios to the bare
   endpoint.
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
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from bench.common import (
    EXIT_OK,
    REPO,
    TIMEOUT,
    VALID_ORDER,
    BenchError,
    FreshForm,
    Gunicorn,
    Tables,
    add_database_and_json_options,
    add_gunicorn_options,
    app_environment,
    cpu_percent,
    describe,
    fetch_form,
    finish,
    free_ports,
    fresh_database,
    gunicorn_line,
    gunicorn_settings,
    headline,
    load_line,
    machine_settings,
    migrate,
    percentile,
    positive,
    post_form,
    printer,
    progress,
    rate_or_nan,
    run_benchmark,
    temp_dir,
)

# Run as a script, this file is `intake` on sys.path and hides the app's package, so it never
# imports the app (nor does common.py, which it imports from bench/): it migrates with the
# app's CLI, serves it with gunicorn and counts with SQL.
BARE = "GET /bare"
FORM = "GET /pjecer/"
POST = "POST /pjecer/"


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
            req_per_s=rate_or_nan(len(self.calls), self.wall),
            p50_ms=1000 * percentile(latencies, 50),
            p99_ms=1000 * percentile(latencies, 99),
            mean_ms=1000 * sum(latencies) / len(latencies) if latencies else math.nan,
            driver_cpu_percent=cpu_percent(self.cpu, self.wall),
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
        try:
            forms[index] = fetch_form(session, url)
        except BenchError as exc:
            return Call(False, 0.0, str(exc))
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
            return timed(lambda: post_form(session, url, form, VALID_ORDER), 303)

        return send

    return sender


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
    return EXIT_OK


# --- The run and the report ---------------------------------------------------------------


def stored_counts(database_url: str) -> dict[str, int]:
    with Tables(database_url) as tables:
        return {
            name: tables.scalar(sql)
            for name, sql in {
                "submissions": "SELECT count(*) FROM intake_submissions",
                "distinct_references": "SELECT count(DISTINCT reference) FROM intake_submissions",
                "order_lines": "SELECT count(*) FROM intake_order_lines",
                "delivery_jobs": "SELECT count(*) FROM intake_delivery_jobs",
            }.items()
        }


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
            "p99": s["p99_ms"] / bare["p99_ms"],
        }
        for s in stats
        if s is not bare
    }


def print_report(
    settings: dict[str, Any], stats: list[dict[str, Any]], check: dict[str, Any], out: IO[str]
) -> None:
    say = printer(out)
    say()
    say(headline("BL Intake benchmark", settings))
    say(gunicorn_line(settings, "same for both apps, on 127.0.0.1"))
    say(
        f"driver: {settings['concurrency']} threads (one requests.Session each), "
        f"{settings['requests']} timed requests per scenario after {settings['warmup']} "
        f"warm-up, in {settings['rounds']} rounds taking the scenarios in turn"
    )
    say(f"database: {settings['database']}")
    say(load_line(settings))
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
            f"(bare is {1 / ratio['req_per_s']:.1f}× faster), p50 {ratio['p50']:.1f}× bare, "
            f"p99 {ratio['p99']:.1f}× bare"
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
    servers: list[Gunicorn] = []
    with (
        temp_dir("intake-bench-") as tmp,
        fresh_database(args.database_url, tmp) as (database_url, database_label),
    ):
        env = app_environment(database_url, tmp)
        migrate(env)
        app_port, bare_port = free_ports(2)
        try:
            for name, app, port in [
                ("app", "wsgi:app", app_port),
                ("bare", "bench.bare_app:app", bare_port),
            ]:
                servers.append(
                    Gunicorn.start(
                        app,
                        args.workers,
                        args.threads,
                        env,
                        tmp / f"{name}.log",
                        name=f"{name} server",
                        port=port,
                    )
                )
            servers[0].wait_until_answering("/pjecer/")
            servers[1].wait_until_answering("/bare")
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
                server.stop()
        counts = stored_counts(database_url)

    stats: list[dict[str, Any]] = result["stats"]
    check = {
        "posts_ok": result["posts_ok"],
        "counts": counts,
        "ok": counts["submissions"] == result["posts_ok"] == counts["distinct_references"],
    }
    settings = {
        **gunicorn_settings(args.workers, args.threads),
        "concurrency": args.concurrency,
        "requests": args.requests,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "database": database_label,
        "load_before": load_before,
        **machine_settings(),
    }
    print_report(settings, stats, check, sys.stdout)
    failed = any(s["errors"] or s["warmup_errors"] for s in stats) or not check["ok"]
    report = {"results": stats, "ratios_vs_bare": ratios(stats), "stored": check}
    return finish(started, args.json, not failed, settings=settings, **report)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_gunicorn_options(parser)
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
    add_database_and_json_options(parser)
    parser.add_argument("--drive", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.drive:
        return drive(json.loads(args.drive))
    return run_benchmark(lambda: benchmark(args), "servers stopped")


if __name__ == "__main__":
    sys.exit(main())
