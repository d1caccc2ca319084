"""Benchmark the delivery worker: e-mail jobs per second, and form POST → message arrival.

Run it from the repo root:

    .venv/bin/python bench/delivery.py
    .venv/bin/python bench/delivery.py --submissions 300 --posts 200 --rate 10
    .venv/bin/python bench/delivery.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres

What one run does, on one machine:

1. Makes a temp dir with a fresh SQLite database, migrated with
   `flask --app wsgi intake db upgrade`. With --database-url it instead creates a fresh
   database `intake_bench_<random>` on that PostgreSQL server and drops it at the end.
   Starts an SMTP sink (aiosmtpd, in this process, a thread) on a free loopback port that
   notes the time.perf_counter() at which each message has fully arrived, and gunicorn
   serving `wsgi:app` (--workers, --threads) as bench/intake.py does. Every subprocess gets
   this shell's environment without INTAKE_*, MAIL_* and GUNICORN_CMD_ARGS, plus SECRET_KEY,
   INTAKE_DATABASE_URL, INTAKE_MIN_FILL_SECONDS=0, MAIL_SERVER/MAIL_PORT (the sink) and
   INTAKE_WORKER_POLL_SECONDS (--poll).
2. Throughput: --submissions valid pamphlet orders are POSTed through gunicorn (untimed
   set-up, --concurrency client threads), each queueing 3 e-mail jobs (pamphlet office,
   consultant, requester) and a Salesforce job this worker does not take. Then ONE worker,
   `flask --app wsgi intake worker` as a subprocess, is started and timed until the sink has
   all the e-mails: jobs/s from its "started" log line to the last message (and from spawn,
   start-up included), and its CPU use over that time.
3. Latency: a fresh worker subprocess runs continuously, polling every --poll seconds when
   idle. This process sends --posts valid POSTs at --rate per second from one thread (forms
   fetched beforehand, untimed), each on a fixed schedule, and for each one notes the time
   the POST was sent; it follows the 303 to the receipt page for the submission's reference
   (`<p class="reference">`), and the sink matches each message to it by its
   X-Intake-Reference header. Reports median / p90 / p99 / max of POST → 303, POST → first
   of the 3 messages, and POST → all 3 messages.
4. Checks that every expected message arrived exactly once (3 per submission, the right
   references, no repeated Message-ID, nothing unexpected) and that the outbox holds every
   e-mail job as done, then prints the settings and the results.

It is a benchmark, not a test: the client, the sink, gunicorn and the worker share the
machine's cores, so compare runs on one machine, not absolute numbers across machines.
Exit status 0 when every expected message arrived exactly once, 1 otherwise, 2 when the
benchmark could not run, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

import requests
from sqlalchemy import text

from bench.common import (
    TIMEOUT,
    VALID_ORDER,
    BenchError,
    Distribution,
    FreshForm,
    Gunicorn,
    Tables,
    WorkerProcess,
    add_database_and_json_options,
    add_gunicorn_options,
    add_poll_option,
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
    in_threads,
    load_line,
    machine_settings,
    migrate,
    positive,
    positive_float,
    post_form,
    printer,
    progress,
    rate_or_nan,
    run_benchmark,
    temp_dir,
)
from bench.stack import Mail, SmtpSink, read_mail

# Run as a script, bench/ is first on sys.path and bench/intake.py hides the app's package
# `intake`, so this file never imports the app either: it migrates with the app's CLI,
# serves it with gunicorn, runs the worker as `flask --app wsgi intake worker` and counts
# with SQL.
EMAILS_PER_ORDER = 3  # pamphlet office, consultant, requester
REFERENCE = re.compile(r'<p class="reference">\s*([^<\s]+)\s*</p>')


@dataclass
class MailCheck:
    """Did each expected reference get its 3 messages exactly once, and nothing else come?"""

    expected: int
    received: int
    distinct_message_ids: int
    references_complete: int  # references with exactly 3 messages to 3 different recipients
    references_missing_mail: int
    references_with_extra_mail: int
    unexpected: int  # messages for no reference of this phase
    ok: bool


def check_mail(mails: list[Mail], references: set[str]) -> MailCheck:
    by_reference: dict[str, list[Mail]] = defaultdict(list)
    for mail in mails:
        by_reference[mail.reference].append(mail)
    complete = sum(
        len(by_reference[r]) == EMAILS_PER_ORDER
        and len({m.rcpt_tos for m in by_reference[r]}) == EMAILS_PER_ORDER
        for r in references
    )
    missing = sum(len(by_reference[r]) < EMAILS_PER_ORDER for r in references)
    extra = sum(len(by_reference[r]) > EMAILS_PER_ORDER for r in references)
    unexpected = sum(len(ms) for r, ms in by_reference.items() if r not in references)
    distinct_ids = len({m.message_id for m in mails if m.message_id})
    expected = EMAILS_PER_ORDER * len(references)
    return MailCheck(
        expected=expected,
        received=len(mails),
        distinct_message_ids=distinct_ids,
        references_complete=complete,
        references_missing_mail=missing,
        references_with_extra_mail=extra,
        unexpected=unexpected,
        ok=len(mails) == expected == distinct_ids and complete == len(references),
    )


# --- The app: its environment and its tables ----------------------------------------------


def clean_environment(
    database_url: str, tmp: Path, smtp_port: int, poll_seconds: float
) -> dict[str, str]:
    """The app's environment (common.app_environment) without MAIL_* either, with mail to the
    sink and the worker's poll."""
    return app_environment(
        database_url,
        tmp,
        drop=("MAIL_",),
        INTAKE_WORKER_POLL_SECONDS=str(poll_seconds),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        SESSION_COOKIE_SECURE="0",  # plain http on loopback: requests would withhold the cookie
    )


def stored_references(database_url: str) -> set[str]:
    with Tables(database_url) as tables, tables.engine.connect() as conn:
        return set(conn.scalars(text("SELECT reference FROM intake_submissions")))


# --- The client: orders and receipts ------------------------------------------------------


def post_order(session: requests.Session, url: str, form: FreshForm) -> str:
    """POST a valid order; the 303's Location (the receipt). The session's cookie jar sends
    the cookie (SESSION_COOKIE_SECURE=0) and keeps the answer's for the receipt page."""
    response = post_form(session, url, form, VALID_ORDER, own_cookie=False)
    if response.status_code != 303 or "Location" not in response.headers:
        raise BenchError(f"POST {url}: {describe(response)}")
    return response.headers["Location"]


def receipt_reference(session: requests.Session, base_url: str, location: str) -> str:
    response = session.get(urljoin(base_url, location), timeout=TIMEOUT)
    found = REFERENCE.search(response.text) if response.status_code == 200 else None
    if found is None:
        raise BenchError(f"receipt {location}: no reference in {describe(response)}")
    return found.group(1)


def queue_orders(form_url: str, count: int, concurrency: int) -> None:
    """`count` valid orders through gunicorn, from `concurrency` threads (untimed set-up)."""

    def one(session: requests.Session, _index: int) -> None:
        post_order(session, form_url, fetch_form(session, form_url))

    in_threads(count, concurrency, one)


# --- Results ------------------------------------------------------------------------------


@dataclass
class Throughput:
    submissions: int
    jobs: int
    setup_seconds: float  # queueing the orders through gunicorn (untimed for the result)
    startup_seconds: float  # worker spawn → its "started" log line
    delivery_seconds: float  # "started" → the last expected message arrived
    first_to_last_seconds: float
    jobs_per_s: float  # jobs / delivery_seconds
    jobs_per_s_with_startup: float  # jobs / (startup + delivery)
    worker_cpu_percent: float  # of one core, over the delivery
    bench_cpu_percent: float  # this process (the sink, mostly) over the delivery
    worker_trouble: list[str]
    mail: MailCheck


@dataclass
class Latency:
    posts: int
    rate: float
    achieved_rate: float
    startup_seconds: float
    distributions: list[Distribution]
    worker_trouble: list[str]
    mail: MailCheck


@dataclass
class Results:
    throughput: Throughput | None = None
    latency: Latency | None = None
    outbox: dict[str, int] = field(default_factory=dict)
    distinct_message_ids: int = 0
    received: int = 0


# --- The two parts ------------------------------------------------------------------------


def run_throughput(
    args: argparse.Namespace, env: dict[str, str], gunicorn: Gunicorn, sink: SmtpSink, tmp: Path
) -> Throughput:
    n = args.submissions
    progress(f"throughput: queueing {n} orders through gunicorn (untimed set-up)")
    setup_started = time.perf_counter()
    queue_orders(gunicorn.url + "/pjecer/", n, args.concurrency)
    setup_seconds = time.perf_counter() - setup_started
    references = stored_references(env["INTAKE_DATABASE_URL"])
    if len(references) != n:
        raise BenchError(f"{n} orders POSTed, but {len(references)} stored")
    jobs = EMAILS_PER_ORDER * n

    progress(f"throughput: one worker delivering {jobs} e-mail jobs")
    first = sink.count()
    worker = WorkerProcess(env, tmp / "worker-throughput.log")
    try:
        worker.wait_started()
        worker_cpu_started, bench_cpu_started = worker.cpu_seconds(), time.process_time()
        arrived = sink.wait_for(first + jobs, worker.alive)
        worker_cpu = worker.cpu_seconds() - worker_cpu_started
        bench_cpu = time.process_time() - bench_cpu_started
    finally:
        worker.stop()
    if not arrived:
        progress(f"throughput: only {sink.count() - first} of {jobs} messages arrived")
    mails = read_mail(sink.since(first))
    times = sorted(m.at for m in mails)
    last = times[min(jobs, len(times)) - 1] if times else math.nan
    delivery = last - worker.started_at
    startup = worker.started_at - worker.spawned_at
    return Throughput(
        submissions=n,
        jobs=jobs,
        setup_seconds=setup_seconds,
        startup_seconds=startup,
        delivery_seconds=delivery,
        first_to_last_seconds=last - times[0] if times else math.nan,
        jobs_per_s=rate_or_nan(jobs, delivery),
        jobs_per_s_with_startup=rate_or_nan(jobs, startup + delivery),
        worker_cpu_percent=cpu_percent(worker_cpu, delivery),
        bench_cpu_percent=cpu_percent(bench_cpu, delivery),
        worker_trouble=worker.trouble,
        mail=check_mail(mails, references),
    )


def run_latency(
    args: argparse.Namespace, env: dict[str, str], gunicorn: Gunicorn, sink: SmtpSink, tmp: Path
) -> Latency:
    m, rate = args.posts, args.rate
    form_url = gunicorn.url + "/pjecer/"
    session = requests.Session()
    progress(f"latency: fetching {m} fresh forms (untimed set-up)")
    forms = [fetch_form(session, form_url) for _ in range(m)]
    first = sink.count()
    worker = WorkerProcess(env, tmp / "worker-latency.log")
    posted: dict[str, float] = {}  # reference → time.perf_counter() when its POST was sent
    answered: list[float] = []  # POST → 303, seconds
    try:
        worker.wait_started()
        progress(f"latency: {m} POSTs at {rate:g}/s with the worker running")
        started = last_sent = time.perf_counter()
        for index, form in enumerate(forms):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = last_sent = time.perf_counter()
            location = post_order(session, form_url, form)
            answered.append(time.perf_counter() - sent)
            posted[receipt_reference(session, gunicorn.url, location)] = sent
        sink.wait_for(first + EMAILS_PER_ORDER * m, worker.alive)
        time.sleep(min(1.0, 20 * args.poll))  # a repeated delivery would come now
    finally:
        worker.stop()
    mails = read_mail(sink.since(first))
    by_reference: dict[str, list[float]] = defaultdict(list)
    for mail in mails:
        if mail.reference in posted:
            by_reference[mail.reference].append(mail.at)
    to_first = [min(by_reference[r]) - sent for r, sent in posted.items() if by_reference[r]]
    to_all = [
        max(by_reference[r]) - sent
        for r, sent in posted.items()
        if len(by_reference[r]) == EMAILS_PER_ORDER
    ]
    return Latency(
        posts=m,
        rate=rate,
        achieved_rate=rate_or_nan(m - 1, last_sent - started) if m > 1 else math.nan,
        startup_seconds=worker.started_at - worker.spawned_at,
        distributions=[
            Distribution.of("POST answered (303)", answered),
            Distribution.of("POST → first message", to_first),
            Distribution.of(f"POST → all {EMAILS_PER_ORDER} messages", to_all),
        ],
        worker_trouble=worker.trouble,
        mail=check_mail(mails, set(posted)),
    )


# --- The report ---------------------------------------------------------------------------


def describe_check(check: MailCheck) -> str:
    mark = "OK" if check.ok else "MISMATCH"
    line = (
        f"received {check.received} of {check.expected} expected messages, "
        f"{check.distinct_message_ids} distinct Message-IDs, "
        f"{check.references_complete} references with exactly {EMAILS_PER_ORDER}: {mark}"
    )
    if not check.ok:
        line += (
            f" (references missing mail {check.references_missing_mail}, with extra mail "
            f"{check.references_with_extra_mail}, unexpected messages {check.unexpected})"
        )
    return line


def print_report(settings: dict[str, Any], results: Results, ok: bool, out: IO[str]) -> None:
    say = printer(out)
    s = settings
    say()
    say(headline("BL Intake delivery benchmark", s, f"aiosmtpd {s['aiosmtpd']}"))
    say(f"database: {s['database']}")
    say(
        f"SMTP sink: aiosmtpd on 127.0.0.1:{s['smtp_port']}, a thread of this process; "
        "records each message's arrival time"
    )
    say(
        "worker: one `flask --app wsgi intake worker` subprocess per part, "
        f"INTAKE_WORKER_POLL_SECONDS={s['poll_seconds']:g}"
    )
    say(gunicorn_line(s, "wsgi:app on 127.0.0.1"))
    say(
        f"throughput: {s['submissions']} orders queued by POST first ({s['concurrency']} client "
        f"threads, untimed) → {EMAILS_PER_ORDER * s['submissions']} e-mail jobs "
        f"(+{s['submissions']} Salesforce jobs this worker does not take)"
    )
    say(f"latency: {s['posts']} POSTs at {s['rate']:g}/s from one client thread, worker running")
    say(load_line(s))

    t = results.throughput
    if t is not None:
        say()
        say(f"1. Throughput — one worker, {t.jobs} e-mail jobs queued before it starts")
        say(f"   {'':<44} {'seconds':>8} {'jobs/s':>8} {'ms/job':>8}")
        rows = [
            ("worker start-up (spawn → 'started' log line)", t.startup_seconds, None),
            ("delivery ('started' → last message)", t.delivery_seconds, t.jobs),
            ("start-up + delivery", t.startup_seconds + t.delivery_seconds, t.jobs),
            ("first message → last message", t.first_to_last_seconds, t.jobs - 1),
        ]
        for label, seconds, jobs in rows:
            if jobs is None:
                say(f"   {label:<44} {seconds:>8.2f}")
                continue
            per_s = rate_or_nan(jobs, seconds)
            say(f"   {label:<44} {seconds:>8.2f} {per_s:>8.1f} {1000 / per_s:>8.2f}")
        say(
            f"   CPU over the delivery: worker {t.worker_cpu_percent:.0f}% of one core, "
            f"this process (sink) {t.bench_cpu_percent:.0f}%; queueing the orders took "
            f"{t.setup_seconds:.1f} s"
        )
        say(f"   {describe_check(t.mail)}")
        for line in t.worker_trouble[:5]:
            say(f"   ! worker: {line}")

    lat = results.latency
    if lat is not None:
        say()
        say(
            f"2. Latency — {lat.posts} POSTs at {lat.rate:g}/s "
            f"(achieved {lat.achieved_rate:.2f}/s), "
            f"one worker polling every {s['poll_seconds']:g} s when idle "
            f"(start-up {lat.startup_seconds:.2f} s, untimed)"
        )
        say(
            f"   {'measure':<24} {'n':>5} {'median ms':>10} {'p90 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8}"
        )
        for d in lat.distributions:
            say(
                f"   {d.measure:<24} {d.n:>5} {d.median_ms:>10.1f} {d.p90_ms:>8.1f} "
                f"{d.p99_ms:>8.1f} {d.max_ms:>8.1f}"
            )
        say(f"   {describe_check(lat.mail)}")
        for line in lat.worker_trouble[:5]:
            say(f"   ! worker: {line}")

    say()
    outbox = ", ".join(f"{k} {v}" for k, v in results.outbox.items()) or "(not read)"
    say(f"outbox after the run: {outbox}")
    say(
        f"all messages: {results.received} received, {results.distinct_message_ids} distinct "
        f"Message-IDs; every expected message arrived exactly once: {'OK' if ok else 'NO'}"
    )


def benchmark(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results = Results()
    gunicorn: Gunicorn | None = None
    with (
        temp_dir("intake-bench-delivery-") as tmp,
        fresh_database(args.database_url, tmp) as (database_url, database_label),
    ):
        (smtp_port,) = free_ports(1)
        env = clean_environment(database_url, tmp, smtp_port, args.poll)
        migrate(env)
        sink = SmtpSink(smtp_port)
        sink.start()
        try:
            gunicorn = Gunicorn.start(
                "wsgi:app", args.workers, args.threads, env, tmp / "gunicorn.log"
            )
            gunicorn.wait_until_answering("/pjecer/")
            results.throughput = run_throughput(args, env, gunicorn, sink, tmp)
            results.latency = run_latency(args, env, gunicorn, sink, tmp)
        finally:
            if gunicorn is not None:
                gunicorn.stop()
            sink.stop()
        with Tables(database_url) as tables:
            results.outbox = tables.outbox_counts()
        all_mail = read_mail(sink.since(0))

    results.received = len(all_mail)
    results.distinct_message_ids = len({m.message_id for m in all_mail})
    expected = EMAILS_PER_ORDER * (args.submissions + args.posts)
    outbox = results.outbox
    ok = (
        results.throughput is not None
        and results.throughput.mail.ok
        and results.latency is not None
        and results.latency.mail.ok
        and results.received == results.distinct_message_ids == expected
        and outbox.get("email/done") == expected
        and sum(v for k, v in outbox.items() if k.startswith("email/")) == expected
    )
    settings = {
        **machine_settings(),
        "aiosmtpd": version("aiosmtpd"),
        "database": database_label,
        "smtp_port": smtp_port,
        "poll_seconds": args.poll,
        **gunicorn_settings(args.workers, args.threads),
        "submissions": args.submissions,
        "concurrency": args.concurrency,
        "posts": args.posts,
        "rate": args.rate,
        "load_before": load_before,
    }
    print_report(settings, results, ok, sys.stdout)
    return finish(started, args.json, ok, settings=settings, results=asdict(results))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--submissions",
        type=positive,
        default=300,
        help="throughput: orders queued before the worker starts, 3 e-mail jobs each (300)",
    )
    parser.add_argument(
        "--posts", type=positive, default=200, help="latency: POSTs with the worker running (200)"
    )
    parser.add_argument(
        "--rate", type=positive_float, default=10.0, help="latency: POSTs per second (10)"
    )
    add_poll_option(parser)
    add_gunicorn_options(parser)
    parser.add_argument(
        "--concurrency",
        type=positive,
        default=4,
        help="client threads queueing the throughput orders (4)",
    )
    add_database_and_json_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(args), "servers and worker stopped")


if __name__ == "__main__":
    sys.exit(main())
