"""Benchmark a burst: 1,000 submissions in one minute through the whole production set-up.

Run it from the repo root (the project installed in the venv, as `make` does it):

    .venv/bin/python bench/burst.py
    .venv/bin/python bench/burst.py --count 300 --seconds 20 --clients 10 --web-processes 2

What one run does, on one machine:

1. Creates a fresh database `intake_bench_<random>` on the PostgreSQL server of
   --database-url (the local one by default), migrates it with
   `flask --app wsgi intake db upgrade`, and drops it at the end.
2. Starts (bench/stack.py) an SMTP sink (aiosmtpd, a thread of this process), the Salesforce
   emulator (`python -m crm_sync.emulator`), gunicorn serving `wsgi:app` with
   --web-processes sync workers, and two delivery workers (`flask --app wsgi intake worker`,
   --workers). Their environment: INTAKE_MIN_FILL_SECONDS=0, and INTAKE_FORM_RATE_LIMIT
   raised to 1000000 per minute, because every post comes from 127.0.0.1 and the default
   (20 per minute per address) would refuse the burst with 429s; mail to the sink;
   Salesforce at the emulator.
3. --clients threads (one requests.Session each) send --count submissions, alternately a
   pamphlet order and a start-up request (æ, ø and å in the values, each from its own
   address), paced evenly over --seconds: each GETs the form (CSRF token, form token,
   cookie) and POSTs it at its time (bench/load.py).
4. Waits until the outbox has no pending or running job, then counts (bench/audit.py):
   accepted (303) and refused (by status), stored rows, messages at the sink and leads and
   tasks in the emulator against what the stored submissions call for, and duplicates: a
   Message-ID twice, two leads with one external id, two tasks for one request, two rows
   for one post. Prints them with the throughput, p50/p99 latency and the time from the
   last post until the backlog was empty.

It is a benchmark, not a test: the clients, the sink, the emulator, gunicorn, the workers and
PostgreSQL share the machine's cores; compare runs on one machine. Exit status 0 when every
post was accepted and everything arrived exactly once, 1 otherwise, 2 when the benchmark
could not run, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict
from importlib.metadata import version
from typing import IO, Any

from bench.audit import Audit, audit, wait_for_empty_backlog
from bench.common import (
    Tables,
    add_poll_option,
    finish,
    fresh_database,
    headline,
    load_line,
    machine_settings,
    percentile,
    positive,
    positive_float,
    printer,
    progress,
    rate_or_nan,
    run_benchmark,
    temp_dir,
)
from bench.load import HELP, ORDER, Burst, Post
from bench.stack import read_mail, running_stack

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def milliseconds(seconds: list[float]) -> dict[str, float]:
    values = sorted(seconds)
    return {"p50_ms": 1000 * percentile(values, 50), "p99_ms": 1000 * percentile(values, 99)}


def timings(posts: list[Post], started: float, drained_at: float | None) -> dict[str, Any]:
    answered = [post.answered_at for post in posts]
    last = max(answered, default=started)
    accepted = sum(post.accepted for post in posts)
    return {
        "burst_seconds": last - started,
        "accepted_per_s": rate_or_nan(accepted, last - started),
        "post": milliseconds([p.seconds for p in posts if p.accepted]),
        "form": milliseconds([p.form_seconds for p in posts if p.form_status == 200]),
        "drain_seconds": None if drained_at is None else drained_at - last,
        "total_seconds": None if drained_at is None else drained_at - started,
    }


def mark(ok: bool) -> str:
    return "OK" if ok else "MISMATCH"


def print_report(
    settings: dict[str, Any], result: Audit, times: dict[str, Any], trouble: list[str], out: IO[str]
) -> None:
    say = printer(out)
    s, r = settings, result
    say()
    say(headline("BL Intake burst benchmark", s, f"aiosmtpd {s['aiosmtpd']}"))
    say(f"database: {s['database']}")
    say(
        f"gunicorn: {s['web_processes']} sync web processes; {s['workers']} delivery workers "
        f"polling every {s['poll_seconds']:g} s; SMTP sink in this process; Salesforce emulator "
        "in its own process; INTAKE_FORM_RATE_LIMIT=1000000 per minute (all posts come from "
        "127.0.0.1)"
    )
    say(
        f"load: {s['count']} submissions ({s['orders']} pamphlet orders, {s['helps']} start-up "
        f"requests) paced over {s['seconds']:g} s ({s['rate']:.1f}/s) from {s['clients']} "
        "clients, each GET form → POST"
    )
    say(load_line(s))
    say()
    refused = ", ".join(f"{outcome}: {n}" for outcome, n in r.refused.items()) or "none"
    say(f"accepted (303):  {r.accepted} of {r.posts}; refused: {refused}")
    say(
        f"stored:          {r.stored} rows; accepted without a row {r.lost}, rows without a "
        f"303 {r.stored_refused}: {mark(r.stored == r.accepted and not r.lost)}"
    )
    say(
        f"mailed:          {r.mail_received} of {r.mail_expected} expected messages at the sink "
        f"(missing {r.mail_missing}, for no submission {r.mail_unexpected}): "
        f"{mark(r.mail_received == r.mail_expected and not r.mail_missing)}"
    )
    say(
        f"synced:          {r.leads} of {r.leads_expected} leads, {r.tasks} of "
        f"{r.tasks_expected} follow-up tasks in the emulator: "
        f"{mark(r.leads == r.leads_expected and r.tasks == r.tasks_expected)}"
    )
    say(
        f"duplicates:      {r.duplicates} (Message-ID twice {r.duplicate_message_ids}, two leads "
        f"for one external id {r.duplicate_leads}, two tasks for one request "
        f"{r.duplicate_tasks}, two rows for one post {r.duplicate_rows}): {mark(not r.duplicates)}"
    )
    post, form = times["post"], times["form"]
    say(
        f"throughput:      {times['accepted_per_s']:.1f} accepted submissions/s "
        f"({r.accepted} in {times['burst_seconds']:.1f} s, offered {s['rate']:.1f}/s)"
    )
    say(
        f"latency:         POST p50 {post['p50_ms']:.1f} ms, p99 {post['p99_ms']:.1f} ms; "
        f"GET form p50 {form['p50_ms']:.1f} ms, p99 {form['p99_ms']:.1f} ms"
    )
    if times["drain_seconds"] is None:
        say(f"backlog:         NOT emptied (stalled); outbox: {r.outbox}")
    else:
        deliveries = r.mail_received + r.leads
        say(
            f"backlog:         empty {times['drain_seconds']:.1f} s after the last post; "
            f"{deliveries} deliveries (e-mails + leads) done "
            f"{times['total_seconds']:.1f} s after the first post "
            f"({rate_or_nan(deliveries, times['total_seconds']):.1f}/s)"
        )
    if r.open_or_dead_jobs:
        say(f"! outbox: {r.outbox}")
    for line in trouble[:10]:
        say(f"! {line}")


def benchmark(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    with (
        temp_dir("intake-bench-burst-") as tmp,
        fresh_database(args.database_url, tmp) as (database_url, database_label),
        running_stack(
            database_url,
            tmp,
            web_processes=args.web_processes,
            workers=args.workers,
            poll_seconds=args.poll,
        ) as stack,
        Tables(database_url) as tables,
    ):
        rate = args.count / args.seconds
        progress(f"{args.count} submissions over {args.seconds:g} s from {args.clients} clients")
        burst = Burst(stack.url, args.count, rate, args.clients, tag="burst").start()
        posts = burst.wait()
        progress("waiting until the outbox is empty")
        drained_at = wait_for_empty_backlog(tables, stack.workers_alive)
        result = audit(posts, tables, read_mail(stack.sink.since(0)), stack.emulator.records())
        times = timings(posts, burst.started_at, drained_at)
        trouble = [
            f"worker {number}: {line}"
            for number, worker in enumerate(stack.workers, 1)
            for line in worker.trouble
        ]
        errors = [post.error for post in posts if post.error]
        trouble += [f"client: {error}" for error in errors[:5]]
    settings = {
        **machine_settings(),
        "aiosmtpd": version("aiosmtpd"),
        "database": database_label,
        "web_processes": args.web_processes,
        "workers": args.workers,
        "poll_seconds": args.poll,
        "count": args.count,
        "orders": sum(post.kind == ORDER for post in posts),
        "helps": sum(post.kind == HELP for post in posts),
        "seconds": args.seconds,
        "rate": rate,
        "clients": args.clients,
        "load_before": load_before,
    }
    print_report(settings, result, times, trouble, sys.stdout)
    ok = result.ok and not result.refused and drained_at is not None
    return finish(started, args.json, ok, settings=settings, result=asdict(result), timings=times)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=positive, default=1000, help="submissions (1000)")
    parser.add_argument(
        "--seconds", type=positive_float, default=60.0, help="paced evenly over (60)"
    )
    parser.add_argument("--clients", type=positive, default=20, help="client threads (20)")
    parser.add_argument(
        "--web-processes", type=positive, default=4, help="gunicorn sync workers (4)"
    )
    parser.add_argument("--workers", type=positive, default=2, help="delivery workers (2)")
    add_poll_option(parser)
    parser.add_argument(
        "--database-url",
        default=LOCAL_POSTGRES,
        help=f"the PostgreSQL server to make a throw-away database on ({LOCAL_POSTGRES})",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(args), "servers, workers and database stopped")


if __name__ == "__main__":
    sys.exit(main())
