"""Benchmark the Salesforce sync: API requests per submission (single and burst), and
submissions synced per second, against the local Salesforce emulator.

Run it from the repo root:

    .venv/bin/python bench/crm.py
    .venv/bin/python bench/crm.py --single 100 --burst 400 --json /tmp/crm.json
    .venv/bin/python bench/crm.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres

What one run does, on one machine:

1. Makes a temp dir with a fresh SQLite database, migrated with
   `flask --app wsgi intake db upgrade`. With --database-url it instead creates a fresh
   database `intake_bench_<random>` on that PostgreSQL server and drops it at the end.
   Starts the Salesforce emulator (`crm_sync.emulator.SalesforceEmulator`, HTTPS on loopback,
   a thread of this process; it counts every `/services/data/` request, which is what the org's
   daily API allowance counts; OAuth logins are not API requests) and gunicorn serving
   `wsgi:app` (--workers, --threads) as bench/intake.py does. Every subprocess gets this
   shell's environment without INTAKE_*, MAIL_*, SALESFORCE_* and GUNICORN_CMD_ARGS, plus
   SECRET_KEY, INTAKE_DATABASE_URL, INTAKE_MIN_FILL_SECONDS=0, INTAKE_WORKER_POLL_SECONDS
   (--poll), INTAKE_MAIL_DIR (no MAIL_SERVER: the e-mails become .eml files in the temp dir)
   and the emulator's SALESFORCE_LOGIN_URL, _CLIENT_ID, _CLIENT_SECRET and _CA_BUNDLE.
2. Single, twice: with SALESFORCE_MATCH_CONTACTS=1 (the default: a Contact look-up before
   the write) and =0 (no look-up; the goal is 1 API request per submission). A worker,
   `flask --app wsgi intake worker`, runs continuously; --single submissions, alternately a
   pamphlet order (/pjecer/) and a start-up request (/opstartshjaelp/), each with its own
   e-mail address, are POSTed one at a time through gunicorn, and each waits until its
   Salesforce job is done (polling the database) before the next is sent. The emulator's
   request count before the POST and after the job is done gives each submission's API
   requests, by kind and by endpoint; POST → job done is its sync latency.
3. Burst: --burst submissions (half orders, half start-up requests) are queued through
   gunicorn with no worker running (--concurrency client threads, untimed), then ONE worker
   is started (SALESFORCE_MATCH_CONTACTS from --burst-match-contacts) and timed until every
   Salesforce job is done (`SELECT count(*) FROM intake_delivery_jobs WHERE
   kind='salesforce' AND status='done'`, polled): the burst's API requests in all and per
   submission, and submissions synced per second from the worker's "started" log line (and
   from its spawn). The worker does Salesforce jobs before e-mails in each pass; the e-mails
   are then drained (untimed) so the outbox ends empty.
4. Checks, per scenario (the emulator is emptied before each): exactly one Lead per
   submission with distinct Intake_Submission_Id__c values equal to the submissions' public
   ids, one Task per start-up request on its own lead, every submission linked to its lead,
   every Salesforce job done, the worker's own API request count equal to the emulator's;
   and the documented request counts (channel.py): 2 per single submission with the look-up,
   1 without, and for a burst at most, per batch of up to 200 jobs, one look-up per 100
   addresses, one upsert per owner group (≤ 2) and one create per 200 tasks. At the end every
   outbox job is done.

It is a benchmark, not a test: the client, the emulator, gunicorn and the worker share the
machine's cores, so compare timings on one machine, not across machines (the request counts
do not depend on the machine). The emulator (werkzeug's development server) closes the
connection after every answer, so each API request pays a fresh TLS handshake on loopback;
real Salesforce keeps connections open but is further away: the timings compare runs, the
request counts are what carries over. Needs the project installed in the venv (`make` does
`pip install -e .[test]`): this script imports `crm_sync.emulator`, never the app itself.
Exit status 0 when every check passes, 1 otherwise, 2 when the benchmark could not run,
130 when interrupted.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

import requests
from sqlalchemy import text

from bench.common import (
    STALL_TIMEOUT,
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
    fresh_database,
    gunicorn_line,
    gunicorn_settings,
    headline,
    in_threads,
    load_line,
    machine_settings,
    migrate,
    positive,
    post_form,
    printer,
    progress,
    rate_or_nan,
    run_benchmark,
    temp_dir,
)
from bench.load import EMAILS_PER_KIND, FORM_DATA, HELP, ORDER, PATHS, address, kind_of

# Run as a script, bench/ is first on sys.path and bench/intake.py hides the app's package
# `intake`. crm_sync.emulator imports nothing of the app, so it is safe here (it comes from
# the editable install); the app itself is only run: migrated with its CLI, served with
# gunicorn, its worker as `flask --app wsgi intake worker`, and counted with SQL.
from crm_sync.emulator import SalesforceEmulator

DB_POLL_SECONDS = 0.005  # how often the bench looks at the outbox while it waits

LOOKUP_ADDRESSES = 100  # channel.py: one Contact look-up per 100 e-mail addresses
COLLECTION_LIMIT = 200  # channel.py: records per sObject Collections request
BATCH_SIZE = 200  # SALESFORCE_BATCH_SIZE's default: CRM jobs the worker claims together

SENT = re.compile(r"Salesforce: (\d+) job\(s\) sent; (\d+) API request\(s\) so far")
WORKER_ERRORS = ("ERROR", "CRITICAL", "Traceback")  # the bench stops waiting at once
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b")  # a traceback's last line
API_PATH = re.compile(r"^/services/data/v[\d.]+/")


# --- The app: its environment, its worker and its tables ---------------------------------


def clean_environment(
    database_url: str, tmp: Path, emulator: SalesforceEmulator, poll_seconds: float
) -> dict[str, str]:
    """The app's environment (common.app_environment) without MAIL_* and SALESFORCE_* either
    (so e-mails become .eml files), the worker's poll, and Salesforce = the emulator
    (client-credentials flow)."""
    return app_environment(
        database_url,
        tmp,
        drop=("MAIL_", "SALESFORCE_"),
        INTAKE_WORKER_POLL_SECONDS=str(poll_seconds),
        SALESFORCE_LOGIN_URL=emulator.url,
        SALESFORCE_CLIENT_ID=emulator.client_id,
        SALESFORCE_CLIENT_SECRET=emulator.client_secret,
        SALESFORCE_CA_BUNDLE=str(emulator.ca_pem_path),
        SALESFORCE_API_VERSION=emulator.api_version,
    )


def with_match_contacts(env: dict[str, str], match_contacts: bool) -> dict[str, str]:
    return {**env, "SALESFORCE_MATCH_CONTACTS": "1" if match_contacts else "0"}


class SyncWorker(WorkerProcess):
    """The worker (common.WorkerProcess) that also reads its "Salesforce: N job(s) sent;
    M API request(s)" lines and notes its errors, which end the bench's waiting at once."""

    TROUBLE = ("WARNING", "ERROR", "CRITICAL", "Traceback")

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.errors: list[str] = []  # its errors and tracebacks' exception lines
        self.batches: list[int] = []  # jobs per Salesforce batch it sent
        self.api_requests = 0  # its own count of API requests (the last such line)
        super().__init__(env, log)  # starts reading the log

    def is_trouble(self, line: str) -> bool:
        return super().is_trouble(line) or bool(EXCEPTION_LINE.match(line))

    def read_line(self, line: str) -> None:
        super().read_line(line)
        sent = SENT.search(line)
        if sent:
            self.batches.append(int(sent.group(1)))
            self.api_requests = int(sent.group(2))
        if any(word in line for word in WORKER_ERRORS) or EXCEPTION_LINE.match(line):
            self.errors.append(line.rstrip())

    def broken(self) -> str | None:
        """Why waiting for this worker is pointless (it exited, or logged an error), or None."""
        if not self.alive():
            return f"the worker exited with status {self.process.returncode}"
        if self.errors:
            cause = next((e for e in self.errors if EXCEPTION_LINE.match(e)), self.errors[0])
            return f"the worker logged an error: {cause}"
        return None


@dataclass(frozen=True)
class Stored:
    """A stored submission, as the checks need it."""

    public_id: str
    kind: str
    email: str
    salesforce_id: str | None
    salesforce_object: str | None
    job_status: str  # its Salesforce job's


class Outbox(Tables):
    """The bench's read-only look at the app's tables (one engine for the run), with the
    queries the Salesforce scenarios wait on and check."""

    def salesforce_done(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM intake_delivery_jobs WHERE kind='salesforce' AND status='done'"
        )

    def salesforce_failed(self) -> int:
        """Salesforce jobs that are dead or waiting for a retry after a failed try."""
        return self.scalar(
            "SELECT count(*) FROM intake_delivery_jobs WHERE kind='salesforce' "
            "AND (status='dead' OR (status='pending' AND attempts > 0))"
        )

    def open_jobs(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM intake_delivery_jobs WHERE status IN ('pending', 'running')"
        )

    def sync_state(self, email: str) -> tuple[str, int, str] | None:
        """(status, attempts, last_error) of the Salesforce job of the submission from
        `email`, None while there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT j.status, j.attempts, j.last_error FROM intake_delivery_jobs j "
                    "JOIN intake_submissions s ON s.id = j.submission_id "
                    "WHERE s.email = :email AND j.kind = 'salesforce'"
                ),
                {"email": email},
            ).first()
        return None if row is None else (str(row[0]), int(row[1]), str(row[2] or ""))

    def submissions(self, tag: str) -> list[Stored]:
        """The submissions from this scenario's addresses (`<tag>-NNNN@example.dk`)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.public_id, s.kind, s.email, s.salesforce_id, s.salesforce_object, "
                    "j.status FROM intake_submissions s JOIN intake_delivery_jobs j "
                    "ON j.submission_id = s.id AND j.kind = 'salesforce' "
                    "WHERE s.email LIKE :pattern ORDER BY s.id"
                ),
                {"pattern": f"{tag}-%@example.dk"},
            )
            return [
                Stored(
                    public_id=str(public_id),
                    kind=str(kind),
                    email=str(email),
                    salesforce_id=salesforce_id,
                    salesforce_object=salesforce_object,
                    job_status=str(status),
                )
                for public_id, kind, email, salesforce_id, salesforce_object, status in rows
            ]


# --- The client: forms and POSTs ----------------------------------------------------------


def post_submission(
    session: requests.Session, url: str, kind: str, email: str, form: FreshForm
) -> None:
    """POST a valid form of this kind from this address; it must be answered 303."""
    response = post_form(session, url, form, {**FORM_DATA[kind], "email": email})
    if response.status_code != 303:
        raise BenchError(f"POST {url}: {describe(response)}")


def queue_submissions(base_url: str, tag: str, count: int, concurrency: int) -> None:
    """`count` valid submissions through gunicorn, from `concurrency` threads (untimed)."""

    def one(session: requests.Session, index: int) -> None:
        kind = kind_of(index)
        url = base_url + PATHS[kind]
        post_submission(session, url, kind, address(tag, index), fetch_form(session, url))

    in_threads(count, concurrency, one)


# --- The emulator: requests and records ---------------------------------------------------


def endpoint(method: str, path: str) -> str:
    """`GET query/`, `POST composite`, … (the path after /services/data/vNN.N/)."""
    return f"{method} {API_PATH.sub('', path)}"


def endpoints_since(emulator: SalesforceEmulator, start: int) -> list[str]:
    return [endpoint(r.method, r.path) for r in list(emulator.requests)[start:]]


@dataclass
class EmulatorCheck:
    """Does the emulator hold exactly what this scenario's submissions should have made?"""

    submissions: int  # stored with this scenario's addresses
    expected_submissions: int
    leads: int
    distinct_external_ids: int
    external_ids_match: bool  # the leads' Intake_Submission_Id__c = the submissions' public ids
    emails_match: bool  # each lead's Email is its submission's address
    tasks: int
    expected_tasks: int  # one per start-up request
    tasks_on_own_lead: int  # start-up requests whose lead has exactly one task, theirs
    linked: int  # submissions whose salesforce_id is their lead's Id (salesforce_object Lead)
    jobs_done: int
    ok: bool


def check_emulator(
    emulator: SalesforceEmulator, stored: list[Stored], expected: int, external_id_field: str
) -> EmulatorCheck:
    leads = emulator.find_records("Lead")
    tasks = emulator.find_records("Task")
    by_external_id = {lead.get(external_id_field): lead for lead in leads}
    public_ids = {s.public_id for s in stored}
    helps = [s for s in stored if s.kind == HELP]
    tasks_by_who = Counter(task.get("WhoId") for task in tasks)
    on_own_lead = sum(
        s.public_id in by_external_id and tasks_by_who[by_external_id[s.public_id]["Id"]] == 1
        for s in helps
    )
    emails_match = all(
        str(by_external_id.get(s.public_id, {}).get("Email", "")).lower() == s.email.lower()
        for s in stored
    )
    linked = sum(
        s.public_id in by_external_id
        and s.salesforce_id == by_external_id[s.public_id]["Id"]
        and s.salesforce_object == "Lead"
        for s in stored
    )
    jobs_done = sum(s.job_status == "done" for s in stored)
    n = len(stored)
    return EmulatorCheck(
        submissions=n,
        expected_submissions=expected,
        leads=len(leads),
        distinct_external_ids=len(by_external_id),
        external_ids_match=set(by_external_id) == public_ids,
        emails_match=emails_match,
        tasks=len(tasks),
        expected_tasks=len(helps),
        tasks_on_own_lead=on_own_lead,
        linked=linked,
        jobs_done=jobs_done,
        ok=(
            n == expected == len(leads) == len(by_external_id) == linked == jobs_done
            and set(by_external_id) == public_ids
            and emails_match
            and len(tasks) == len(helps) == on_own_lead
        ),
    )


# --- Results ------------------------------------------------------------------------------


@dataclass
class Single:
    match_contacts: bool
    submissions: int
    orders: int
    helps: int
    api_requests: int  # the emulator's count over the scenario
    worker_api_requests: int  # the worker's own count (its log)
    requests_per_order: list[int]  # each order's, in order
    requests_per_help: list[int]
    endpoints: dict[str, int]
    documented_per_submission: int  # channel.py: 2 with the look-up, 1 without
    sync: Distribution  # POST sent → its Salesforce job seen done
    seconds: float  # the whole scenario, first POST to last job done
    startup_seconds: float
    failures: list[str]
    worker_trouble: list[str]
    check: EmulatorCheck

    @property
    def per_submission(self) -> float:
        return self.api_requests / self.submissions if self.submissions else math.nan

    @property
    def ok(self) -> bool:
        each = [*self.requests_per_order, *self.requests_per_help]
        return (
            self.check.ok
            and not self.failures
            and self.api_requests == self.worker_api_requests == sum(each)
            and len(each) == self.submissions
            and all(n == self.documented_per_submission for n in each)
        )


@dataclass
class Burst:
    match_contacts: bool
    submissions: int
    orders: int
    helps: int
    queue_seconds: float  # queueing them through gunicorn (untimed for the result)
    api_requests: int
    worker_api_requests: int
    endpoints: dict[str, int]
    batches: list[int]  # jobs per Salesforce batch, from the worker's log
    documented_max: int
    startup_seconds: float  # spawn → "started" log line
    sync_seconds: float  # "started" → every Salesforce job done
    synced_per_s: float
    synced_per_s_with_startup: float  # from spawn
    email_jobs: int
    emails_seconds: float  # every Salesforce job done → every e-mail job done
    worker_cpu_percent: float  # of one core, over the sync
    bench_cpu_percent: float  # this process (the emulator, mostly) over the sync
    worker_trouble: list[str]
    failures: list[str]
    check: EmulatorCheck

    @property
    def per_submission(self) -> float:
        return self.api_requests / self.submissions if self.submissions else math.nan

    @property
    def ok(self) -> bool:
        return (
            self.check.ok
            and not self.failures
            and self.api_requests == self.worker_api_requests
            and self.api_requests <= self.documented_max
        )


@dataclass
class Results:
    singles: list[Single] = field(default_factory=list)
    burst: Burst | None = None
    outbox: dict[str, int] = field(default_factory=dict)
    eml_files: int = 0


def documented_burst_max(n: int, helps: int, match_contacts: bool) -> int:
    """channel.py's count for a burst, at most: per batch of up to BATCH_SIZE jobs, one
    look-up per 100 addresses, one upsert per owner group (with and without an owner from the
    routing: ≤ 2) per 200 leads, one create per 200 tasks (no campaign is configured)."""
    total, left, helps_left = 0, n, helps
    while left > 0:
        batch = min(BATCH_SIZE, left)
        batch_helps = min(helps_left, batch)
        lookups = math.ceil(batch / LOOKUP_ADDRESSES) if match_contacts else 0
        total += lookups + 2 + math.ceil(batch_helps / COLLECTION_LIMIT)
        left, helps_left = left - batch, helps_left - batch_helps
    return total


# --- The scenarios ------------------------------------------------------------------------


def drain(worker: SyncWorker, outbox: Outbox) -> tuple[float, str | None]:
    """Wait until no job is pending or running (the e-mails are left): the seconds waited,
    and why it gave up, if it did."""
    started = time.perf_counter()
    seen, last_change = outbox.open_jobs(), time.monotonic()
    while seen:
        problem = worker.broken()
        if problem is not None:
            return time.perf_counter() - started, f"draining the outbox: {problem}"
        if time.monotonic() - last_change > STALL_TIMEOUT:
            stalled = f"{seen} jobs still open after {STALL_TIMEOUT:g} s without progress"
            return time.perf_counter() - started, stalled
        time.sleep(DB_POLL_SECONDS * 4)
        now_open = outbox.open_jobs()
        if now_open != seen:
            seen, last_change = now_open, time.monotonic()
    return time.perf_counter() - started, None


def run_single(
    args: argparse.Namespace,
    env: dict[str, str],
    emulator: SalesforceEmulator,
    outbox: Outbox,
    gunicorn: Gunicorn,
    tmp: Path,
    match_contacts: bool,
) -> Single:
    n = args.single
    tag = f"single-{'lookup' if match_contacts else 'nolookup'}"
    emulator.reset()
    setting = f"SALESFORCE_MATCH_CONTACTS={int(match_contacts)}"
    progress(f"single, {setting}: {n} submissions one at a time, worker running")
    worker = SyncWorker(with_match_contacts(env, match_contacts), tmp / f"worker-{tag}.log")
    per_kind: dict[str, list[int]] = {ORDER: [], HELP: []}
    latencies: list[float] = []
    failures: list[str] = []
    session = requests.Session()
    try:
        worker.wait_started()
        began = time.perf_counter()
        for index in range(n):
            kind, email = kind_of(index), address(tag, index)
            url = gunicorn.url + PATHS[kind]
            form = fetch_form(session, url)
            before = emulator.api_request_count()
            sent = time.perf_counter()
            post_submission(session, url, kind, email, form)
            deadline = time.monotonic() + STALL_TIMEOUT
            while True:
                state = outbox.sync_state(email)
                if state is not None and state[0] == "done":
                    latencies.append(time.perf_counter() - sent)
                    per_kind[kind].append(emulator.api_request_count() - before)
                    break
                if state is not None and (state[0] == "dead" or state[2]):
                    failures.append(f"{email}: {state[0]} after {state[1]} tries: {state[2]}")
                    break
                problem = worker.broken()
                if problem is None and time.monotonic() > deadline:
                    problem = f"not done after {STALL_TIMEOUT:g} s (state {state})"
                if problem is not None:
                    failures.append(f"{email}: {problem}")
                    break
                time.sleep(DB_POLL_SECONDS)
            if failures:  # something is broken: stop posting, report it
                progress(f"single, {setting}: stopped after submission {index + 1}: {failures[0]}")
                break
        seconds = time.perf_counter() - began
        if not failures:
            _, problem = drain(worker, outbox)
            if problem is not None:
                failures.append(problem)
    finally:
        worker.stop()
        session.close()
    used = endpoints_since(emulator, 0)
    check = check_emulator(emulator, outbox.submissions(tag), n, emulator.external_id_field)
    return Single(
        match_contacts=match_contacts,
        submissions=n,
        orders=sum(kind_of(i) == ORDER for i in range(n)),
        helps=sum(kind_of(i) == HELP for i in range(n)),
        api_requests=emulator.api_request_count(),
        worker_api_requests=worker.api_requests,
        requests_per_order=per_kind[ORDER],
        requests_per_help=per_kind[HELP],
        endpoints=dict(Counter(used)),
        documented_per_submission=2 if match_contacts else 1,
        sync=Distribution.of("POST → Salesforce job done", latencies),
        seconds=seconds,
        startup_seconds=worker.started_at - worker.spawned_at,
        failures=failures,
        worker_trouble=worker.trouble,
        check=check,
    )


def run_burst(
    args: argparse.Namespace,
    env: dict[str, str],
    emulator: SalesforceEmulator,
    outbox: Outbox,
    gunicorn: Gunicorn,
    tmp: Path,
) -> Burst:
    n, tag, match_contacts = args.burst, "burst", bool(args.burst_match_contacts)
    emulator.reset()
    progress(f"burst: queueing {n} submissions through gunicorn, no worker (untimed set-up)")
    queue_started = time.perf_counter()
    queue_submissions(gunicorn.url, tag, n, args.concurrency)
    queue_seconds = time.perf_counter() - queue_started
    stored = outbox.submissions(tag)
    if len(stored) != n:
        raise BenchError(f"burst: {n} submissions POSTed, but {len(stored)} stored")
    helps = sum(s.kind == HELP for s in stored)
    email_jobs = sum(EMAILS_PER_KIND[s.kind] for s in stored)
    target = outbox.salesforce_done() + n
    failures: list[str] = []

    progress(f"burst: one worker syncing {n} Salesforce jobs")
    worker = SyncWorker(with_match_contacts(env, match_contacts), tmp / "worker-burst.log")
    done_at = math.nan
    try:
        worker.wait_started()
        worker_cpu_started, bench_cpu_started = worker.cpu_seconds(), time.process_time()
        seen, last_change = outbox.salesforce_done(), time.monotonic()
        while True:
            done = outbox.salesforce_done()
            if done >= target:
                done_at = time.perf_counter()
                break
            if done != seen:
                seen, last_change = done, time.monotonic()
            problem = worker.broken()
            if problem is None and time.monotonic() - last_change > STALL_TIMEOUT:
                problem = f"no progress for {STALL_TIMEOUT:g} s"
            failed = outbox.salesforce_failed()
            if problem is None and failed:
                problem = f"{failed} Salesforce jobs failed (dead or waiting to retry)"
            if problem is not None:
                failures.append(f"{done - target + n} of {n} Salesforce jobs done: {problem}")
                progress(f"burst: {failures[-1]}")
                break
            time.sleep(DB_POLL_SECONDS)
        worker_cpu = worker.cpu_seconds() - worker_cpu_started
        bench_cpu = time.process_time() - bench_cpu_started
        emails_seconds = math.nan
        if not failures:
            emails_seconds, problem = drain(worker, outbox)
            if problem is not None:
                failures.append(problem)
    finally:
        worker.stop()
    sync_seconds = done_at - worker.started_at
    startup_seconds = worker.started_at - worker.spawned_at
    check = check_emulator(emulator, outbox.submissions(tag), n, emulator.external_id_field)
    return Burst(
        match_contacts=match_contacts,
        submissions=n,
        orders=n - helps,
        helps=helps,
        queue_seconds=queue_seconds,
        api_requests=emulator.api_request_count(),
        worker_api_requests=worker.api_requests,
        endpoints=dict(Counter(endpoints_since(emulator, 0))),
        batches=worker.batches,
        documented_max=documented_burst_max(n, helps, match_contacts),
        startup_seconds=startup_seconds,
        sync_seconds=sync_seconds,
        synced_per_s=rate_or_nan(n, sync_seconds),
        synced_per_s_with_startup=rate_or_nan(n, startup_seconds + sync_seconds),
        email_jobs=email_jobs,
        emails_seconds=emails_seconds,
        worker_cpu_percent=cpu_percent(worker_cpu, sync_seconds),
        bench_cpu_percent=cpu_percent(bench_cpu, sync_seconds),
        worker_trouble=worker.trouble,
        failures=failures,
        check=check,
    )


# --- The report ---------------------------------------------------------------------------


def describe_check(check: EmulatorCheck) -> str:
    mark = "OK" if check.ok else "MISMATCH"
    return (
        f"stored {check.submissions}/{check.expected_submissions}; emulator: {check.leads} "
        f"leads, {check.distinct_external_ids} distinct Intake_Submission_Id__c "
        f"(= the public ids: {'yes' if check.external_ids_match else 'NO'}; e-mails match: "
        f"{'yes' if check.emails_match else 'NO'}), {check.tasks} tasks for "
        f"{check.expected_tasks} start-up requests ({check.tasks_on_own_lead} on their own "
        f"lead); {check.linked} submissions linked to their lead; {check.jobs_done} Salesforce "
        f"jobs done: {mark}"
    )


def describe_endpoints(endpoints: dict[str, int]) -> str:
    return ", ".join(f"{name} ×{count}" for name, count in sorted(endpoints.items())) or "none"


def mean_or_nan(values: list[int]) -> float:
    return sum(values) / len(values) if values else math.nan


def print_report(settings: dict[str, Any], results: Results, ok: bool, out: IO[str]) -> None:
    say = printer(out)
    s = settings
    say()
    say(
        headline(
            "BL Intake Salesforce sync benchmark",
            s,
            f"simple-salesforce {s['simple_salesforce']}",
        )
    )
    say(f"database: {s['database']}")
    say(
        f"Salesforce: the emulator (crm_sync.emulator) at {s['emulator_url']}, API "
        f"v{s['api_version']}, a thread of this process; API requests = its /services/data/ "
        "requests (logins not counted)"
    )
    say(gunicorn_line(s, "wsgi:app on 127.0.0.1; e-mail to .eml files"))
    say(
        "worker: one `flask --app wsgi intake worker` subprocess per scenario, "
        f"INTAKE_WORKER_POLL_SECONDS={s['poll_seconds']:g}, SALESFORCE_BATCH_SIZE default "
        f"({BATCH_SIZE}), no campaign"
    )
    say(
        f"single: {s['single']} submissions one at a time, alternately /pjecer/ and "
        "/opstartshjaelp/, each waiting for its Salesforce job; once per "
        "SALESFORCE_MATCH_CONTACTS setting"
    )
    say(
        f"burst: {s['burst']} submissions queued first ({s['concurrency']} client threads, "
        f"untimed), then one worker; SALESFORCE_MATCH_CONTACTS={s['burst_match_contacts']}"
    )
    say(load_line(s))

    if results.singles:
        say()
        say("1. Single — API requests per submission, each synced alone")
        say(
            f"   {'SALESFORCE_MATCH_CONTACTS':<27} {'subm.':>5} {'requests':>8} "
            f"{'per subm.':>9} {'per order':>9} {'per start-up':>12} {'documented':>10}"
        )
        for r in results.singles:
            label = "1 (look-up, default)" if r.match_contacts else "0 (no look-up)"
            say(
                f"   {label:<27} {r.submissions:>5} {r.api_requests:>8} "
                f"{r.per_submission:>9.2f} {mean_or_nan(r.requests_per_order):>9.2f} "
                f"{mean_or_nan(r.requests_per_help):>12.2f} {r.documented_per_submission:>10}"
            )
        say()
        say(
            f"   {'POST → Salesforce job done':<27} {'n':>5} {'median ms':>10} {'p90 ms':>8} "
            f"{'max ms':>8} {'subm./s':>8}   (worker start-up s)"
        )
        for r in results.singles:
            label = f"MATCH_CONTACTS={int(r.match_contacts)}"
            say(
                f"   {label:<27} {r.sync.n:>5} {r.sync.median_ms:>10.1f} {r.sync.p90_ms:>8.1f} "
                f"{r.sync.max_ms:>8.1f} {rate_or_nan(r.submissions, r.seconds):>8.1f}   "
                f"({r.startup_seconds:.2f})"
            )
        say("   (subm./s: one client posting and waiting for each; the first sync logs in)")
        for r in results.singles:
            say()
            say(f"   MATCH_CONTACTS={int(r.match_contacts)}: {describe_endpoints(r.endpoints)}")
            spread = Counter([*r.requests_per_order, *r.requests_per_help])
            say(
                "     requests per submission: "
                + ", ".join(f"{k} ×{v}" for k, v in sorted(spread.items()))
                + f"; the worker counted {r.worker_api_requests}, the emulator "
                f"{r.api_requests}: {'OK' if r.ok else 'MISMATCH'}"
            )
            say(f"     {describe_check(r.check)}")
            for line in [*r.failures, *r.worker_trouble][:5]:
                say(f"     ! {line}")

    b = results.burst
    if b is not None:
        say()
        say(
            f"2. Burst — {b.submissions} submissions ({b.orders} orders, {b.helps} start-up "
            f"requests) queued in {b.queue_seconds:.1f} s, then ONE worker, "
            f"SALESFORCE_MATCH_CONTACTS={int(b.match_contacts)}"
        )
        say(
            f"   API requests: {b.api_requests} for the burst = {b.per_submission:.3f} per "
            f"submission (documented: at most {b.documented_max}); the worker counted "
            f"{b.worker_api_requests}: "
            f"{'OK' if b.worker_api_requests == b.api_requests <= b.documented_max else 'NO'}"
        )
        say(f"   {describe_endpoints(b.endpoints)}")
        say(f"   worker batches (jobs each): {', '.join(map(str, b.batches)) or 'none'}")
        say(f"   {'':<46} {'seconds':>8} {'synced/s':>9} {'ms/subm.':>9}")
        rows = [
            ("worker start-up (spawn → 'started' log line)", b.startup_seconds, None),
            ("sync ('started' → all Salesforce jobs done)", b.sync_seconds, b.synced_per_s),
            (
                "start-up + sync (spawn → all done)",
                b.startup_seconds + b.sync_seconds,
                b.synced_per_s_with_startup,
            ),
        ]
        for label, seconds, per_s in rows:
            if per_s is None:
                say(f"   {label:<46} {seconds:>8.2f}")
            else:
                say(f"   {label:<46} {seconds:>8.2f} {per_s:>9.1f} {1000 / per_s:>9.2f}")
        say(
            f"   CPU over the sync: worker {b.worker_cpu_percent:.0f}% of one core, this "
            f"process (emulator + polling) {b.bench_cpu_percent:.0f}%; then the {b.email_jobs} "
            f"e-mail jobs took {b.emails_seconds:.2f} s more"
        )
        say(f"   {describe_check(b.check)}")
        for line in [*b.failures, *b.worker_trouble][:5]:
            say(f"   ! {line}")

    say()
    outbox = ", ".join(f"{k} {v}" for k, v in results.outbox.items()) or "(not read)"
    say(f"outbox after the run: {outbox}; .eml files written: {results.eml_files}")
    say(f"every check passed: {'OK' if ok else 'NO'}")


def benchmark(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results = Results()
    gunicorn: Gunicorn | None = None
    outbox: Outbox | None = None
    with temp_dir("intake-bench-crm-") as tmp:
        emulator = SalesforceEmulator(state_dir=tmp / "emulator")
        try:
            with fresh_database(args.database_url, tmp) as (database_url, database_label):
                emulator.start()
                env = clean_environment(database_url, tmp, emulator, args.poll)
                migrate(env)
                outbox = Outbox(database_url)
                try:
                    gunicorn = Gunicorn.start(
                        "wsgi:app", args.workers, args.threads, env, tmp / "gunicorn.log"
                    )
                    gunicorn.wait_until_answering("/pjecer/")
                    for match_contacts in (True, False):
                        results.singles.append(
                            run_single(args, env, emulator, outbox, gunicorn, tmp, match_contacts)
                        )
                    results.burst = run_burst(args, env, emulator, outbox, gunicorn, tmp)
                finally:
                    if gunicorn is not None:
                        gunicorn.stop()
                results.outbox = outbox.outbox_counts()
                results.eml_files = sum(1 for _ in (tmp / "mail").rglob("*.eml"))
                emulator_url = emulator.url
        finally:
            if outbox is not None:
                outbox.close()
            emulator.stop()

    total = len(results.singles) * args.single + args.burst
    expected_emails = sum(EMAILS_PER_KIND[kind_of(i)] for i in range(args.single)) * len(
        results.singles
    ) + sum(EMAILS_PER_KIND[kind_of(i)] for i in range(args.burst))
    outbox_ok = (
        results.outbox
        == {
            "email/done": expected_emails,
            "salesforce/done": total,
        }
        and results.eml_files == expected_emails
    )
    ok = (
        all(r.ok for r in results.singles)
        and results.burst is not None
        and results.burst.ok
        and outbox_ok
    )
    settings = {
        **machine_settings(),
        "simple_salesforce": version("simple-salesforce"),
        "database": database_label,
        "emulator_url": emulator_url,
        "api_version": emulator.api_version,
        "poll_seconds": args.poll,
        **gunicorn_settings(args.workers, args.threads),
        "single": args.single,
        "burst": args.burst,
        "burst_match_contacts": args.burst_match_contacts,
        "concurrency": args.concurrency,
        "load_before": load_before,
    }
    print_report(settings, results, ok, sys.stdout)
    per_submission = {
        "single": {
            f"match_contacts_{int(r.match_contacts)}": r.per_submission for r in results.singles
        },
        "burst": results.burst.per_submission if results.burst else None,
    }
    return finish(
        started,
        args.json,
        ok,
        settings=settings,
        results=asdict(results),
        per_submission=per_submission,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--single",
        type=positive,
        default=50,
        help="single: submissions posted one at a time, per MATCH_CONTACTS setting (50)",
    )
    parser.add_argument(
        "--burst", type=positive, default=200, help="burst: submissions queued first (200)"
    )
    parser.add_argument(
        "--burst-match-contacts",
        type=int,
        choices=(0, 1),
        default=1,
        help="SALESFORCE_MATCH_CONTACTS for the burst (1, the app's default)",
    )
    add_poll_option(parser)
    add_gunicorn_options(parser)
    parser.add_argument(
        "--concurrency",
        type=positive,
        default=4,
        help="client threads queueing the burst (4)",
    )
    add_database_and_json_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(args), "servers and worker stopped")


if __name__ == "__main__":
    sys.exit(main())
