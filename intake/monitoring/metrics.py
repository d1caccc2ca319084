"""/metrics: the numbers for Prometheus, read from the database when it scrapes.

The web runs as several processes and the worker as others, so nothing is counted in
memory: a custom collector, in a registry of the app's own (never prometheus-client's
global one), asks the database at each scrape. Exposed (channel = job kind):

    intake_database_up                                  1, or 0 and nothing else
    intake_submissions_total{kind}                      requests stored, per form
    intake_delivery_jobs{channel, target, status}       delivery jobs by their state
    intake_delivery_backlog{channel}                    jobs pending or running
    intake_delivery_oldest_pending_age_seconds{channel} age of the oldest of them (0: none)
    intake_salesforce_api_requests_total                API requests the workers made
    intake_salesforce_api_daily_limit                   the org's daily API allowance, and
    intake_salesforce_api_daily_remaining               what was left of it, as Salesforce
    intake_salesforce_api_usage_observed_timestamp_seconds  last said it, and when
    intake_crm_behind                                   1 while Salesforce jobs wait after a
                                                        failed try (crm_status), else 0
    intake_crm_waiting_jobs                             how many
    intake_crm_behind_since_timestamp_seconds           since when (only while behind)
    intake_crm_next_try_timestamp_seconds               their next try (only while behind)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask, current_app, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from intake.db import Database
from intake.delivery.backlog import Backlog, backlog_by_channel
from intake.delivery.crm_status import CrmStatus, crm_status
from intake.delivery.salesforce_usage import current_usage
from intake.models import (
    DeliveryJob,
    JobKind,
    JobStatus,
    SalesforceUsage,
    Submission,
    SubmissionKind,
    utcnow,
)
from intake.monitoring import allowlist
from intake.observability.log_context import get_logger

log = get_logger(__name__)

REFUSED = (
    "Adgang nægtet: /metrics kan kun læses fra de adresser, som INTAKE_METRICS_ALLOW nævner.\n"
)


@dataclass
class Snapshot:
    """What one scrape read from the database."""

    submissions: dict[str, int] = field(default_factory=dict)  # kind → count
    jobs: dict[tuple[str, str, str], int] = field(default_factory=dict)  # kind, target, status
    backlog: dict[JobKind, Backlog] = field(default_factory=dict)
    salesforce: SalesforceUsage | None = None
    crm: CrmStatus = field(default_factory=CrmStatus)


def read_snapshot(session: Session) -> Snapshot:
    snapshot = Snapshot()
    for submission_kind, count in session.execute(
        select(Submission.kind, func.count()).group_by(Submission.kind)
    ):
        snapshot.submissions[submission_kind.value] = count
    for job_kind, target, status, count in session.execute(
        select(DeliveryJob.kind, DeliveryJob.target, DeliveryJob.status, func.count()).group_by(
            DeliveryJob.kind, DeliveryJob.target, DeliveryJob.status
        )
    ):
        snapshot.jobs[(job_kind.value, target.value, status.value)] = count
    snapshot.backlog = backlog_by_channel(session)
    snapshot.salesforce = current_usage(session)
    snapshot.crm = crm_status(session)
    return snapshot


class IntakeCollector:
    """prometheus-client's custom collector protocol: `collect` yields metric families."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("intake_database_up", "1 when the database answered this scrape")
        try:
            with self.database.sessionmaker() as session:
                snapshot = read_snapshot(session)
        except SQLAlchemyError as error:
            log.warning("Metrics: the database did not answer (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _families(snapshot, utcnow())


def _families(snapshot: Snapshot, now: datetime) -> Iterator[Metric]:
    submissions = CounterMetricFamily(
        "intake_submissions", "Requests stored, per form", labels=["kind"]
    )
    for submission_kind in SubmissionKind:
        count = snapshot.submissions.get(submission_kind.value, 0)
        submissions.add_metric([submission_kind.value], count)
    yield submissions

    jobs = GaugeMetricFamily(
        "intake_delivery_jobs",
        "Delivery jobs per channel, target and status",
        labels=["channel", "target", "status"],
    )
    for channel, target in sorted({(k, t) for k, t, _ in snapshot.jobs}):
        for status in JobStatus:
            count = snapshot.jobs.get((channel, target, status.value), 0)
            jobs.add_metric([channel, target, status.value], count)
    yield jobs

    backlog = GaugeMetricFamily(
        "intake_delivery_backlog", "Delivery jobs pending or running", labels=["channel"]
    )
    oldest = GaugeMetricFamily(
        "intake_delivery_oldest_pending_age_seconds",
        "Age of the oldest pending or running delivery job (0 when there is none)",
        labels=["channel"],
    )
    for job_kind in JobKind:
        waiting = snapshot.backlog.get(job_kind, Backlog())
        backlog.add_metric([job_kind.value], waiting.count)
        oldest.add_metric([job_kind.value], waiting.age_seconds(now))
    yield backlog
    yield oldest
    yield from _crm_families(snapshot.crm)

    usage = snapshot.salesforce
    yield CounterMetricFamily(
        "intake_salesforce_api_requests",
        "Salesforce API requests the delivery workers have made",
        value=usage.api_requests if usage else 0,
    )
    if usage is None or usage.daily_limit is None or usage.observed_at is None:
        return  # Salesforce has not said yet: no number rather than a made-up one
    yield GaugeMetricFamily(
        "intake_salesforce_api_daily_limit",
        "The Salesforce org's daily API request allowance, as last reported",
        value=usage.daily_limit,
    )
    yield GaugeMetricFamily(
        "intake_salesforce_api_daily_remaining",
        "API requests left of the org's daily allowance, as last reported (Sforce-Limit-Info)",
        value=max(0, usage.daily_limit - (usage.daily_used or 0)),
    )
    yield GaugeMetricFamily(
        "intake_salesforce_api_usage_observed_timestamp_seconds",
        "When Salesforce last reported the daily usage (Unix time)",
        value=usage.observed_at.timestamp(),
    )


def _crm_families(crm: CrmStatus) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "intake_crm_behind",
        "1 while Salesforce jobs wait for Salesforce after a failed try (its allowance, "
        "maintenance, 429, 5xx, the network), else 0",
        value=1 if crm.behind else 0,
    )
    yield GaugeMetricFamily(
        "intake_crm_waiting_jobs",
        "Salesforce jobs waiting after a failed try",
        value=crm.waiting,
    )
    if crm.behind_since is not None:
        yield GaugeMetricFamily(
            "intake_crm_behind_since_timestamp_seconds",
            "When the first failed try of the Salesforce job waiting longest was (Unix time)",
            value=crm.behind_since.timestamp(),
        )
    if crm.next_try_at is not None:
        yield GaugeMetricFamily(
            "intake_crm_next_try_timestamp_seconds",
            "When the waiting Salesforce jobs are next tried (Unix time)",
            value=crm.next_try_at.timestamp(),
        )


@dataclass
class MetricsState:
    registry: CollectorRegistry
    allowed: tuple[allowlist.Network, ...]


def init_app(app: Flask, database: Database) -> None:
    """Called by `Intake.init_app`: the app's registry, and INTAKE_METRICS_ALLOW checked now
    (a bad entry stops the start with a message naming it)."""
    try:
        allowed = allowlist.parse("INTAKE_METRICS_ALLOW", app.config["INTAKE_METRICS_ALLOW"])
    except ValueError as error:
        raise RuntimeError(str(error)) from None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IntakeCollector(database))
    app.extensions["intake_metrics"] = MetricsState(registry, allowed)


def answer() -> Response:
    """The /metrics response: the text format (or OpenMetrics, when asked), or a 403."""
    state: MetricsState = current_app.extensions["intake_metrics"]
    if not allowlist.allows(state.allowed, request.environ, request.remote_addr):
        return Response(REFUSED, 403, mimetype="text/plain")
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(state.registry), 200, headers={"Content-Type": content_type})
