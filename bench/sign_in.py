"""Benchmark the back office's sign-in: does an answer's time tell what it was?

Run it from the repo root:

    .venv/bin/python bench/sign_in.py
    .venv/bin/python bench/sign_in.py --samples 60 --database-url postgresql+psycopg://postgres@127.0.0.1/postgres

What one run does, on one machine:

1. A fresh database (SQLite in a temp dir, or a fresh PostgreSQL database with
   --database-url), migrated with `flask --app wsgi intake db upgrade`; one office account
   made with `flask --app wsgi intake users create`; gunicorn serving `wsgi:app` with one
   worker, the per-address limit on sign-in posts raised out of the way.
2. --samples rounds; each round times one sign-in POST of each kind, in turn: an unknown
   e-mail, a wrong password, the right password for an account throttled from the address
   (five wrong passwords from there first, untimed), and the right password (signed in).
   Each kind but the throttled one comes from an address of its own in 127.0.0.0/8, so that
   it is not throttled; the form and its CSRF token are fetched beforehand, untimed.
3. Prints each kind's median and p90 time and its ratio to the wrong password's median. The
   issue it answers: a locked account used to answer in about 10 ms against about 200 ms, and
   said "spærret". Now the first three should be the same page in the same time (ratios near
   1.00), as each computes one password hash; the right password does more (it signs in).

A benchmark, not a test: compare the ratios of one run, not times across machines. Exit
status 0 when every answer had the status its kind should (200, or a 302 into the back office
for the right password), 1 otherwise, 2 when it could not run, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import time

import requests

from bench.common import (
    REPO,
    FromAddress,
    Gunicorn,
    add_database_and_json_options,
    app_environment,
    finish,
    fresh_database,
    migrate,
    positive,
    progress,
    run_benchmark,
    temp_dir,
)

EMAIL = "bwj@bl.dk"
PASSWORD = secrets.token_urlsafe(18)  # this run's account; any password of 12 or more
KINDS = ("unknown e-mail", "wrong password", "throttled account", "right password")


def _client(address: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", FromAddress(address))
    return session


def _token(session: requests.Session, url: str) -> str:
    html = session.get(url + "/admin/login", timeout=30).text
    return html.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]


def _timed_post(
    session: requests.Session, url: str, email: str, password: str
) -> tuple[float, int]:
    data = {"csrf_token": _token(session, url), "email": email, "password": password}
    started = time.perf_counter()
    answer = session.post(url + "/admin/login", data=data, allow_redirects=False, timeout=30)
    return time.perf_counter() - started, answer.status_code


def _address(n: int) -> str:
    return f"127.1.{n // 250}.{n % 250 + 1}"


def benchmark(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with (
        temp_dir("intake-bench-sign-in-") as tmp,
        fresh_database(args.database_url, tmp) as (
            url,
            described,
        ),
    ):
        env = app_environment(url, tmp)
        env["INTAKE_LOGIN_RATE_LIMIT"] = "1000000 per minute"
        env["SESSION_COOKIE_SECURE"] = "0"  # plain http on loopback: requests keeps it then
        migrate(env)
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "intake", "users", "create",
             EMAIL, "--role", "office"],
            input=PASSWORD + "\n", text=True, cwd=REPO, env=env, check=True,
            capture_output=True,
        )  # fmt: skip
        gunicorn = Gunicorn.start("wsgi:app", 1, 1, env, tmp / "gunicorn.log")
        try:
            gunicorn.wait_until_answering("/admin/login")
            progress(f"{described}; gunicorn at {gunicorn.url}")
            throttled = _client("127.0.0.200")
            for _ in range(5):
                _timed_post(throttled, gunicorn.url, EMAIL, "forkert-kodeord")
            times: dict[str, list[float]] = {kind: [] for kind in KINDS}
            statuses: dict[str, set[int]] = {kind: set() for kind in KINDS}
            for n in range(args.samples):
                cases = {
                    "unknown e-mail": (_client(_address(3 * n)), "ukendt@bl.dk", PASSWORD),
                    "wrong password": (_client(_address(3 * n + 1)), EMAIL, "forkert-kodeord"),
                    "throttled account": (throttled, EMAIL, PASSWORD),
                    "right password": (_client(_address(3 * n + 2)), EMAIL, PASSWORD),
                }
                for kind, (session, email, password) in cases.items():
                    seconds, status = _timed_post(session, gunicorn.url, email, password)
                    times[kind].append(seconds)
                    statuses[kind].add(status)
        finally:
            gunicorn.stop()
    base = statistics.median(times["wrong password"])
    print(f"\n{described}; {args.samples} samples of each\n")
    print(f"{'kind':<20}{'median ms':>11}{'p90 ms':>9}{'ratio':>8}  status")
    for kind in KINDS:
        median = statistics.median(times[kind])
        p90 = statistics.quantiles(times[kind], n=10)[-1] if len(times[kind]) > 1 else median
        shown = ",".join(str(s) for s in sorted(statuses[kind]))
        print(f"{kind:<20}{median * 1000:>11.1f}{p90 * 1000:>9.1f}{median / base:>8.2f}  {shown}")
    ok = all(statuses[kind] == {200} for kind in KINDS[:3]) and statuses["right password"] == {302}
    ratios = {kind: statistics.median(times[kind]) / base for kind in KINDS}
    return finish(started, args.json, ok, samples=args.samples, ratios=ratios)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=positive, default=30, help="rounds (default 30)")
    add_database_and_json_options(parser)
    args = parser.parse_args(argv)
    if args.samples * 3 > 250 * 250:
        parser.error("--samples: at most 20833 (one loopback address per sign-in)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(args), "gunicorn stopped")


if __name__ == "__main__":
    sys.exit(main())
