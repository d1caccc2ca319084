"""Benchmark the Salesforce sync: API requests per submission, against the local Salesforce
emulator, as the org's daily allowance counts them; and how fast submissions are synced.

Run it from the repo root:

    .venv/bin/python bench/crm.py
    .venv/bin/python bench/crm.py --single 50 --burst 200 --json /tmp/crm.json
    .venv/bin/python bench/crm.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres

It prints three figures, for two orgs:

* one submission alone: --single submissions (20), alternately a pamphlet order and a
  start-up request, each POSTed through gunicorn while a worker runs, and each waited for
  (its Salesforce job done) before the next is sent: the API requests each one cost. The
  first also loads the contact index (every Contact with an e-mail: one request);
* a burst: --burst submissions (100) queued with no worker running, then one worker: the
  API requests for all of them;
* a burst whose first try failed: the same, with the org in read-only maintenance when the
  worker starts (reads answer, every write is refused); once every job has failed its first
  try, maintenance ends and the worker's retry, one for all of them, syncs them: the API
  requests of both tries together;

for a plain org (no duplicate rule, no campaign) and for an org as most are: the Standard
Lead Duplicate Rule on (alert) and SALESFORCE_CAMPAIGN_ID set. In the second, every person
sends a pamphlet order and then a start-up request, so every second lead meets the duplicate
rule (and is saved past its alert). The goals (README, "Salesforce"): one submission alone at
most 1 request; a burst of 100 at most 3; a burst of 100 whose first try failed at most 6.

What one run does, on one machine: a temp dir with a fresh SQLite database (or, with
--database-url, a fresh database `intake_bench_<random>` on that PostgreSQL server, dropped at
the end), migrated with `flask --app wsgi intake db upgrade`; the emulator
(`crm_sync.emulator.SalesforceEmulator`, HTTPS on loopback, a thread of this process: it
counts every `/services/data/` request; OAuth logins are not API requests); gunicorn serving
`wsgi:app`; per scenario a new worker (`flask --app wsgi intake worker`) and an emptied
emulator. Every subprocess gets this shell's environment without INTAKE_*, MAIL_*,
SALESFORCE_* and GUNICORN_CMD_ARGS, plus SECRET_KEY, INTAKE_DATABASE_URL,
INTAKE_MIN_FILL_SECONDS=0, INTAKE_WORKER_POLL_SECONDS (--poll), INTAKE_RETRY_BASE_SECONDS=0.5
(so the retry comes in a second, not in 30), e-mail as .eml files in the temp dir, and the
emulator's SALESFORCE_* settings (client-credentials flow), and INTAKE_CRM_PULL_MINUTES=0 (the
workers do not pull; the pull is measured on its own, below).

Checks, per scenario: one Lead per submission with its public id as external id and its
e-mail, one Task per start-up request on its own lead, one CampaignMember per lead when a
campaign is set, every submission linked to its lead, every Salesforce job done, the worker's
own count of API requests equal to the emulator's; and the goals above. Exit status 0 when
every check passes, 1 otherwise, 2 when the benchmark could not run, 130 when interrupted.

Then the follow-up pull (`flask --app wsgi intake crm pull`, issue 16): for each count in
--pull (1000,2500), the emulator is emptied and given that many leads changed by a consultant
(Status "Working - Contacted", a follow-up task "In Progress" each), their external ids the
stored submissions' public ids (the rest from another database); the command is run and its
API requests counted. The goal: one query, paged by Salesforce at 2,000 records a batch (a
lead and its task are two), so ⌈N / 1,000⌉ requests: 1 for 1,000, 3 for 2,500; every lead
read, every matching submission updated. `--only-pull` skips the sync scenarios (and
gunicorn): the pull alone, over leads that match no submission.

It is a benchmark, not a test: the client, the emulator, gunicorn and the worker share the
machine's cores, so compare timings on one machine (the request counts do not depend on it).
Needs the project installed in the venv (`make` does `pip install -e .[test]`): this script
imports `crm_sync.emulator`, never the app itself.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

import requests
from sqlalchemy import text

from bench.common import (
    REPO,
    STALL_TIMEOUT,
    BenchError,
    Distribution,
    Gunicorn,
    Tables,
    WorkerProcess,
    add_database_and_json_options,
    add_gunicorn_options,
    add_poll_option,
    app_environment,
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
from bench.load import EMAILS_PER_KIND, FORM_DATA, HELP, PATHS, address, kind_of

# Run as a script, bench/ is first on sys.path and bench/intake.py hides the app's package
# `intake`. crm_sync.emulator imports nothing of the app, so it is safe here (it comes from
# the editable install); the app itself is only run: migrated with its CLI, served with
# gunicorn, its worker as `flask --app wsgi intake worker`, and counted with SQL.
from crm_sync.emulator import SalesforceEmulator
from crm_sync.emulator.org import DuplicateRuleAction

DB_POLL_SECONDS = 0.005  # how often the bench looks at the outbox while it waits
GOALS = {"single": 1, "burst": 3, "failed": 6}  # API requests, at most (README)
SENT = re.compile(r"Salesforce: (\d+) job\(s\) sent; (\d+) API request\(s\) so far")
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b")  # a traceback's last line
API_PATH = re.compile(r"^/services/data/v[\d.]+/")


@dataclass(frozen=True)
class Org:
    name: str
    label: str
    duplicate_rule: bool
    campaign: bool

    def person(self, tag: str, index: int) -> str:
        """Who sends submission `index`: in the busy org each person sends two (an order,
        then a start-up request), so the second meets the duplicate rule."""
        return address(tag, index // 2 if self.duplicate_rule else index)


ORGS = (
    Org("plain", "plain org", duplicate_rule=False, campaign=False),
    Org("busy", "duplicate rule on, campaign set", duplicate_rule=True, campaign=True),
)


# --- The app: its environment, its worker and its tables ---------------------------------


def clean_environment(
    database_url: str, tmp: Path, emulator: SalesforceEmulator, poll_seconds: float
) -> dict[str, str]:
    """The app's environment (common.app_environment) without MAIL_* and SALESFORCE_* either
    (so e-mails become .eml files), a quick retry, and Salesforce = the emulator."""
    return app_environment(
        database_url,
        tmp,
        drop=("MAIL_", "SALESFORCE_"),
        INTAKE_WORKER_POLL_SECONDS=str(poll_seconds),
        INTAKE_RETRY_BASE_SECONDS="0.5",
        INTAKE_CRM_PULL_MINUTES="0",  # the pull is measured on its own, not in the sync's count
        SALESFORCE_LOGIN_URL=emulator.url,
        SALESFORCE_CLIENT_ID=emulator.client_id,
        SALESFORCE_CLIENT_SECRET=emulator.client_secret,
        SALESFORCE_CA_BUNDLE=str(emulator.ca_pem_path),
        SALESFORCE_API_VERSION=emulator.api_version,
    )


def prepare_org(emulator: SalesforceEmulator, org: Org, env: dict[str, str]) -> dict[str, str]:
    """Empty the emulator and set it up as `org`; the worker's environment for it."""
    emulator.reset()
    if org.duplicate_rule:
        emulator.org.duplicate_rule = DuplicateRuleAction.ALERT
    if not org.campaign:
        return env
    campaign = emulator.add_record("Campaign", {"Name": "Kommunesamarbejde 2026"})
    return {**env, "SALESFORCE_CAMPAIGN_ID": campaign}


class SyncWorker(WorkerProcess):
    """The worker that also reads its "Salesforce: N job(s) sent; M API request(s)" lines and
    notes its errors (a warning is expected: the failed first try)."""

    TROUBLE = ("ERROR", "CRITICAL", "Traceback")

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.errors: list[str] = []
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
        if self.is_trouble(line):
            self.errors.append(line.rstrip())

    def broken(self) -> str | None:
        if not self.alive():
            return f"the worker exited with status {self.process.returncode}"
        if self.errors:
            return f"the worker logged an error: {self.errors[0]}"
        return None


@dataclass(frozen=True)
class Stored:
    public_id: str
    kind: str
    email: str
    salesforce_id: str | None
    job_status: str


class Outbox(Tables):
    """The bench's read-only look at the app's tables."""

    def done(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM intake_delivery_jobs WHERE kind='salesforce' AND status='done'"
        )

    def failed_once(self) -> int:
        """Salesforce jobs waiting for a retry after a failed try."""
        return self.scalar(
            "SELECT count(*) FROM intake_delivery_jobs WHERE kind='salesforce' "
            "AND status='pending' AND attempts > 0"
        )

    def dead(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM intake_delivery_jobs WHERE kind='salesforce' AND status='dead'"
        )

    def open_jobs(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM intake_delivery_jobs WHERE status IN ('pending', 'running')"
        )

    def job_state(self, public_id: str) -> str | None:
        with self.engine.connect() as conn:
            state = conn.scalar(
                text(
                    "SELECT j.status FROM intake_delivery_jobs j JOIN intake_submissions s "
                    "ON s.id = j.submission_id WHERE s.public_id = :id AND j.kind = 'salesforce'"
                ),
                {"id": public_id},
            )
            return None if state is None else str(state)

    def submissions(self, tag: str) -> list[Stored]:
        """The submissions from this scenario's addresses (`<tag>-NNNN@example.dk`)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.public_id, s.kind, s.email, s.salesforce_id, j.status "
                    "FROM intake_submissions s JOIN intake_delivery_jobs j "
                    "ON j.submission_id = s.id AND j.kind = 'salesforce' "
                    "WHERE s.email LIKE :pattern ORDER BY s.id"
                ),
                {"pattern": f"{tag}-%@example.dk"},
            )
            return [
                Stored(str(public_id), str(kind), str(email), salesforce_id, str(status))
                for public_id, kind, email, salesforce_id, status in rows
            ]

    def public_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT public_id FROM intake_submissions ORDER BY id"))
            return [str(public_id) for (public_id,) in rows]


# --- The follow-up pull ---------------------------------------------------------------------

PULLED = re.compile(r"Read (\d+) changed lead\(s\), updated (\d+) request\(s\) with (\d+) API")
EXTERNAL_ID = "Intake_Submission_Id__c"


@dataclass
class Pull:
    """One `intake crm pull` over `changed` leads a consultant changed."""

    changed: int
    matching: int  # of them, leads of this database's submissions
    api_requests: int = 0  # what the emulator counted
    reported: tuple[int, int, int] | None = None  # the command's read, updated, API requests
    seconds: float = float("nan")
    endpoints: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def goal(self) -> int:
        return math.ceil(self.changed / 1000)

    @property
    def ok(self) -> bool:
        return not self.failures


def run_pull(
    env: dict[str, str], emulator: SalesforceEmulator, outbox: Outbox, changed: int
) -> Pull:
    """Give the emulator `changed` leads a consultant has contacted, then pull once."""
    emulator.reset()
    public_ids = outbox.public_ids()
    pull = Pull(changed, min(changed, len(public_ids)))
    for n in range(changed):
        external_id = public_ids[n] if n < len(public_ids) else f"elsewhere-{n:06d}"
        lead = emulator.add_record(
            "Lead",
            {
                "LastName": f"Bench {n}",
                "Company": "Boligselskabet Bænkeprøven",
                "Status": "Working - Contacted",
                EXTERNAL_ID: external_id,
            },
        )
        emulator.add_record(
            "Task", {"WhoId": lead, "Subject": f"Følg op på bench {n}", "Status": "In Progress"}
        )
    before = len(emulator.requests)
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "intake", "crm", "pull"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    pull.seconds = time.perf_counter() - started
    calls = emulator.requests[before:]
    pull.api_requests = len(calls)
    pull.endpoints = dict(Counter(endpoint(call.method, call.path) for call in calls))
    found = PULLED.search(done.stdout)
    if done.returncode != 0 or found is None:
        pull.failures.append(f"the command failed ({done.returncode}): {done.stderr[-500:]}")
        return pull
    pull.reported = (int(found[1]), int(found[2]), int(found[3]))
    read, updated, reported = pull.reported
    if read != changed:
        pull.failures.append(f"read {read} leads, not {changed}")
    if updated != pull.matching:
        pull.failures.append(f"updated {updated} submissions, not {pull.matching}")
    if reported != pull.api_requests:
        pull.failures.append(
            f"the command counted {reported} requests, the emulator {pull.api_requests}"
        )
    if pull.api_requests > pull.goal:
        pull.failures.append(f"{pull.api_requests} API requests, more than the goal {pull.goal}")
    return pull


# --- The client ---------------------------------------------------------------------------


def post_submission(session: requests.Session, base_url: str, kind: str, email: str) -> str:
    """POST a valid form of this kind from this address (303 expected); its public id is
    read back by the caller from the database."""
    url = base_url + PATHS[kind]
    response = post_form(
        session, url, fetch_form(session, url), {**FORM_DATA[kind], "email": email}
    )
    if response.status_code != 303:
        raise BenchError(f"POST {url}: {describe(response)}")
    return email


# --- The emulator's side ------------------------------------------------------------------


def endpoint(method: str, path: str) -> str:
    return f"{method} {API_PATH.sub('', path)}"


@dataclass
class Check:
    """Does the emulator hold exactly what the scenario's submissions should have made?"""

    submissions: int
    leads: int
    tasks: int
    members: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_emulator(emulator: SalesforceEmulator, stored: list[Stored], org: Org) -> Check:
    leads = emulator.find_records("Lead")
    tasks = emulator.find_records("Task")
    members = emulator.find_records("CampaignMember")
    check = Check(len(stored), len(leads), len(tasks), len(members))
    by_external_id = {lead.get(emulator.external_id_field): lead for lead in leads}
    helps = [s for s in stored if s.kind == HELP]
    tasks_by_who = Counter(task.get("WhoId") for task in tasks)
    if len(leads) != len(stored) or set(by_external_id) != {s.public_id for s in stored}:
        check.problems.append(f"{len(leads)} leads for {len(stored)} submissions")
    for s in stored:
        lead = by_external_id.get(s.public_id, {})
        if str(lead.get("Email", "")).lower() != s.email.lower():
            check.problems.append(f"{s.public_id}: the lead's e-mail is not its submission's")
        if s.salesforce_id != lead.get("Id"):
            check.problems.append(f"{s.public_id}: not linked to its lead")
        if s.job_status != "done":
            check.problems.append(f"{s.public_id}: its Salesforce job is {s.job_status}")
    for s in helps:
        if tasks_by_who[s.salesforce_id] != 1:
            check.problems.append(f"{s.public_id}: {tasks_by_who[s.salesforce_id]} tasks")
    if len(tasks) != len(helps):
        check.problems.append(f"{len(tasks)} tasks for {len(helps)} start-up requests")
    expected_members = len(leads) if org.campaign else 0
    if len(members) != expected_members or len({m["LeadId"] for m in members}) != len(members):
        check.problems.append(f"{len(members)} campaign members, {expected_members} expected")
    return check


# --- Results ------------------------------------------------------------------------------


@dataclass
class Scenario:
    org: str
    name: str  # single, burst, failed
    submissions: int
    api_requests: int  # the emulator's count over the scenario
    worker_api_requests: int  # the worker's own count (its log)
    endpoints: dict[str, int]
    batches: list[int]
    seconds: float  # first POST (single) or the worker's start (bursts) → every job done
    per_submission: list[int] = field(default_factory=list)  # single: each one's requests
    sync: Distribution | None = None  # single: POST → its Salesforce job done
    failures: list[str] = field(default_factory=list)
    check: Check | None = None

    @property
    def figure(self) -> int:
        """What the goal is about: a single submission's requests after the first (which also
        loads the contact index), or the burst's in all."""
        if self.name == "single":
            return max(self.per_submission[1:], default=0)
        return self.api_requests

    @property
    def ok(self) -> bool:
        return (
            not self.failures
            and self.check is not None
            and self.check.ok
            and self.api_requests == self.worker_api_requests
            and self.figure <= GOALS[self.name]
        )


@dataclass
class Results:
    scenarios: list[Scenario] = field(default_factory=list)
    pulls: list[Pull] = field(default_factory=list)
    outbox: dict[str, int] = field(default_factory=dict)
    eml_files: int = 0

    def of(self, org: str, name: str) -> Scenario | None:
        return next((s for s in self.scenarios if (s.org, s.name) == (org, name)), None)


# --- The scenarios ------------------------------------------------------------------------


def wait_until(
    worker: SyncWorker, ready: Callable[[], bool], what: str, progress_of: Callable[[], int]
) -> str | None:
    """Poll until `ready()`; why it gave up (the worker broke, no progress), or None."""
    seen, last_change = progress_of(), time.monotonic()
    while not ready():
        problem = worker.broken()
        now = progress_of()
        if now != seen:
            seen, last_change = now, time.monotonic()
        elif problem is None and time.monotonic() - last_change > STALL_TIMEOUT:
            problem = f"no progress for {STALL_TIMEOUT:g} s"
        if problem is not None:
            return f"{what}: {problem}"
        time.sleep(DB_POLL_SECONDS)
    return None


def synced(outbox: Outbox, public_id: str) -> Callable[[], bool]:
    """Whether the Salesforce job of this submission is done."""
    return lambda: outbox.job_state(public_id) == "done"


def run_single(
    args: argparse.Namespace,
    env: dict[str, str],
    emulator: SalesforceEmulator,
    outbox: Outbox,
    gunicorn: Gunicorn,
    tmp: Path,
    org: Org,
) -> Scenario:
    n, tag = args.single, f"single-{org.name}"
    worker_env = prepare_org(emulator, org, env)
    progress(f"{org.label}, one at a time: {n} submissions, each synced before the next")
    worker = SyncWorker(worker_env, tmp / f"worker-{tag}.log")
    result = Scenario(org.name, "single", n, 0, 0, {}, [], math.nan)
    latencies: list[float] = []
    session = requests.Session()
    try:
        worker.wait_started()
        began = time.perf_counter()
        for index in range(n):
            before, sent = emulator.api_request_count(), time.perf_counter()
            post_submission(session, gunicorn.url, kind_of(index), org.person(tag, index))
            problem = wait_until(
                worker,
                synced(outbox, outbox.submissions(tag)[-1].public_id),
                f"submission {index + 1}",
                outbox.done,
            )
            if problem is not None:
                result.failures.append(problem)
                break
            latencies.append(time.perf_counter() - sent)
            result.per_submission.append(emulator.api_request_count() - before)
        result.seconds = time.perf_counter() - began
        if not result.failures:
            problem = wait_until(
                worker, lambda: outbox.open_jobs() == 0, "e-mails", outbox.open_jobs
            )
            result.failures += [problem] if problem else []
    finally:
        worker.stop()
        session.close()
    return finished(result, emulator, outbox, worker, tag, org, latencies)


def run_burst(
    args: argparse.Namespace,
    env: dict[str, str],
    emulator: SalesforceEmulator,
    outbox: Outbox,
    gunicorn: Gunicorn,
    tmp: Path,
    org: Org,
    *,
    fail_first: bool,
) -> Scenario:
    n, name = args.burst, "failed" if fail_first else "burst"
    tag = f"{name}-{org.name}"
    worker_env = prepare_org(emulator, org, env)
    what = "whose first try fails (maintenance)" if fail_first else ""
    progress(f"{org.label}, burst {what}: queueing {n} submissions, no worker (untimed)")

    def one(session: requests.Session, index: int) -> None:
        post_submission(session, gunicorn.url, kind_of(index), org.person(tag, index))

    in_threads(n, args.concurrency, one)
    if len(outbox.submissions(tag)) != n:
        raise BenchError(f"{tag}: {n} submissions POSTed, but not all stored")
    target = outbox.done() + n
    emulator.org.maintenance = fail_first
    result = Scenario(org.name, name, n, 0, 0, {}, [], math.nan)
    worker = SyncWorker(worker_env, tmp / f"worker-{tag}.log")
    try:
        worker.wait_started()
        if fail_first:
            problem = wait_until(
                worker, lambda: outbox.failed_once() >= n, "the first try", outbox.failed_once
            )
            emulator.org.maintenance = False  # the window is over; the retry is due soon
            result.failures += [problem] if problem else []
        if not result.failures:
            problem = wait_until(worker, lambda: outbox.done() >= target, "the sync", outbox.done)
            result.seconds = time.perf_counter() - worker.started_at
            result.failures += [problem] if problem else []
        if not result.failures:
            problem = wait_until(
                worker, lambda: outbox.open_jobs() == 0, "e-mails", outbox.open_jobs
            )
            result.failures += [problem] if problem else []
    finally:
        worker.stop()
        emulator.org.maintenance = False
    return finished(result, emulator, outbox, worker, tag, org, [])


def finished(
    result: Scenario,
    emulator: SalesforceEmulator,
    outbox: Outbox,
    worker: SyncWorker,
    tag: str,
    org: Org,
    latencies: list[float],
) -> Scenario:
    result.api_requests = emulator.api_request_count()
    result.worker_api_requests = worker.api_requests
    result.endpoints = dict(Counter(endpoint(r.method, r.path) for r in emulator.requests))
    result.batches = worker.batches
    if latencies:
        result.sync = Distribution.of("POST → Salesforce job done", latencies)
    if outbox.dead():
        result.failures.append(f"{outbox.dead()} Salesforce jobs dead")
    result.check = check_emulator(emulator, outbox.submissions(tag), org)
    return result


# --- The report ---------------------------------------------------------------------------


def describe_endpoints(endpoints: dict[str, int]) -> str:
    return ", ".join(f"{name} ×{count}" for name, count in sorted(endpoints.items())) or "none"


def figure_text(s: Scenario | None) -> str:
    if s is None:
        return "not run"
    mark = "OK" if s.ok else "NO"
    if s.name == "single":
        mean = s.api_requests / s.submissions if s.submissions else math.nan
        first = s.per_submission[0] if s.per_submission else 0
        return f"{s.figure} each (first {first}; mean {mean:.2f}) {mark}"
    return f"{s.api_requests} in all ({s.api_requests / s.submissions:.3f} each) {mark}"


def print_report(settings: dict[str, Any], results: Results, ok: bool, out: IO[str]) -> None:
    say = printer(out)
    s = settings
    say()
    say(
        headline(
            "BL Intake Salesforce sync benchmark", s, f"simple-salesforce {s['simple_salesforce']}"
        )
    )
    say(f"database: {s['database']}")
    say(
        f"Salesforce: the emulator at {s['emulator_url']}, API v{s['api_version']}; API requests "
        "= its /services/data/ requests (logins are not API requests)"
    )
    say(gunicorn_line(s, "wsgi:app on 127.0.0.1; e-mail to .eml files"))
    say(
        f"worker: a new `flask --app wsgi intake worker` per scenario, INTAKE_WORKER_POLL_SECONDS="
        f"{s['poll_seconds']:g}, INTAKE_RETRY_BASE_SECONDS=0.5, SALESFORCE_MATCH_CONTACTS=1, "
        "INTAKE_CRM_PULL_MINUTES=0"
    )
    say(load_line(s))
    say()
    say("API requests (goals: one alone ≤ 1 after the contact index's first load; a burst of")
    say(f"{s['burst']} ≤ 3; a burst of {s['burst']} whose first try failed ≤ 6, both tries)")
    rows = (
        ("single", f"one submission alone ({s['single']}, one at a time)"),
        ("burst", f"a burst of {s['burst']}"),
        ("failed", f"a burst of {s['burst']}, first try failed"),
    )
    say(f"   {'':<42} " + "  ".join(f"{org.label:<36}" for org in ORGS))
    for name, label in rows:
        cells = [figure_text(results.of(org.name, name)) for org in ORGS]
        say(f"   {label:<42} " + "  ".join(f"{cell:<36}" for cell in cells))
    for scenario in results.scenarios:
        say()
        org = next(o for o in ORGS if o.name == scenario.org)
        say(f"{org.label}, {dict(rows)[scenario.name]}:")
        say(f"   {describe_endpoints(scenario.endpoints)}")
        say(
            f"   worker batches (jobs each): {', '.join(map(str, scenario.batches)) or 'none'}; "
            f"the worker counted {scenario.worker_api_requests} API requests, the emulator "
            f"{scenario.api_requests}"
        )
        if scenario.sync is not None:
            d = scenario.sync
            say(
                f"   per submission: {', '.join(map(str, scenario.per_submission))}; POST → job "
                f"done: median {d.median_ms:.0f} ms, p90 {d.p90_ms:.0f} ms"
            )
        elif scenario.seconds == scenario.seconds:  # not NaN
            rate = rate_or_nan(scenario.submissions, scenario.seconds)
            say(f"   synced in {scenario.seconds:.2f} s from the worker's start: {rate:.1f}/s")
        check = scenario.check
        if check is not None:
            say(
                f"   emulator: {check.leads} leads, {check.tasks} tasks, {check.members} "
                f"campaign members for {check.submissions} submissions: "
                f"{'OK' if check.ok else 'MISMATCH'}"
            )
            for problem in check.problems[:5]:
                say(f"   ! {problem}")
        for failure in scenario.failures[:5]:
            say(f"   ! {failure}")
    if results.pulls:
        say()
        say("The follow-up pull (`intake crm pull`): one SOQL query, Lead with its Tasks, paged")
        say("by Salesforce at 2,000 records a batch (a lead and its task: two); goal ⌈N/1,000⌉")
        for p in results.pulls:
            read = f"{p.reported[0]} read, {p.reported[1]} updated" if p.reported else "failed"
            say(
                f"   {p.changed:>6} changed leads ({p.matching} of this database's): "
                f"{p.api_requests} API request(s) (goal {p.goal}); {read}; "
                f"{p.seconds:.2f} s for the whole command"
            )
            say(f"          {describe_endpoints(p.endpoints)}")
            for failure in p.failures[:5]:
                say(f"   ! {failure}")
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
                    if not args.only_pull:
                        gunicorn = Gunicorn.start(
                            "wsgi:app", args.workers, args.threads, env, tmp / "gunicorn.log"
                        )
                        gunicorn.wait_until_answering("/pjecer/")
                        for org in ORGS:
                            common = (args, env, emulator, outbox, gunicorn, tmp, org)
                            results.scenarios.append(run_single(*common))
                            results.scenarios.append(run_burst(*common, fail_first=False))
                            results.scenarios.append(run_burst(*common, fail_first=True))
                finally:
                    if gunicorn is not None:
                        gunicorn.stop()
                for changed in args.pull:
                    progress(f"pull over {changed} changed leads")
                    results.pulls.append(run_pull(env, emulator, outbox, changed))
                results.outbox = outbox.outbox_counts()
                results.eml_files = sum(1 for _ in (tmp / "mail").rglob("*.eml"))
                emulator_url = emulator.url
        finally:
            if outbox is not None:
                outbox.close()
            emulator.stop()

    per_org = 0 if args.only_pull else args.single + 2 * args.burst
    submissions = per_org * len(ORGS)
    emails = (
        0
        if args.only_pull
        else len(ORGS)
        * (
            sum(EMAILS_PER_KIND[kind_of(i)] for i in range(args.single))
            + 2 * sum(EMAILS_PER_KIND[kind_of(i)] for i in range(args.burst))
        )
    )
    expected_outbox = (
        {} if args.only_pull else {"email/done": emails, "salesforce/done": submissions}
    )
    outbox_ok = results.outbox == expected_outbox
    ok = (bool(results.scenarios) or args.only_pull) and all(s.ok for s in results.scenarios)
    ok = ok and outbox_ok and results.eml_files == emails and all(p.ok for p in results.pulls)
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
        "concurrency": args.concurrency,
        "load_before": load_before,
        "only_pull": args.only_pull,
    }
    print_report(settings, results, ok, sys.stdout)
    figures: dict[str, Any] = {
        org.name: {name: getattr(results.of(org.name, name), "figure", None) for name in GOALS}
        for org in ORGS
    }
    figures["pull"] = {str(p.changed): p.api_requests for p in results.pulls}
    return finish(
        started, args.json, ok, settings=settings, results=asdict(results), figures=figures
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--single", type=positive, default=20, help="submissions sent one at a time (20)"
    )
    parser.add_argument("--burst", type=positive, default=100, help="submissions in a burst (100)")
    add_poll_option(parser)
    add_gunicorn_options(parser)
    parser.add_argument(
        "--concurrency", type=positive, default=4, help="client threads queueing a burst (4)"
    )
    parser.add_argument(
        "--pull",
        type=counts,
        default=[1000, 2500],
        help="changed leads for each follow-up pull, comma-separated (1000,2500)",
    )
    parser.add_argument(
        "--only-pull", action="store_true", help="only the follow-up pulls, no sync scenarios"
    )
    add_database_and_json_options(parser)
    return parser.parse_args(argv)


def counts(text_value: str) -> list[int]:
    try:
        values = [int(part) for part in text_value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("whole numbers, comma-separated, e.g. 1000,2500") from None
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError("whole numbers above 0, e.g. 1000,2500")
    return values


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_benchmark(lambda: benchmark(args), "servers and worker stopped")


if __name__ == "__main__":
    sys.exit(main())
