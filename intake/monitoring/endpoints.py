"""Operations endpoints for BL's monitoring: /healthz, and /metrics (metrics.py)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from intake.db import get_session
from intake.delivery import follow_up
from intake.delivery.backlog import backlog_by_channel, total
from intake.delivery.crm_status import crm_status, waiting_for_crm
from intake.models import BACKLOG, DeliveryJob, JobKind, JobStatus, SalesforceSync, utcnow
from intake.monitoring import metrics
from intake.web import csrf, error_pages
from intake.web.blueprints import OPS

bp = Blueprint(OPS, __name__)
error_pages.register(bp)
bp.before_request(csrf.check)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers and no pending delivery is older than the threshold,
    leaving out the Salesforce jobs that wait for Salesforce to come back: Salesforce being
    down (its allowance spent, a maintenance window) is not this app being unhealthy, and
    "crm" says it instead.

    Body: database, backlog (pending jobs), oldest_pending_age_seconds, dead_jobs,
    last_crm_success (ISO time of the last Salesforce delivery, or null) and crm: status
    ("ok" or "behind"), behind_since (the first failed try of the job waiting longest),
    waiting (Salesforce jobs waiting after a failed try) and next_try_at; and follow_up: when
    the last pull read the consultants' follow-up back (last_pull_at) and up to which change in
    Salesforce it has read (changes_through), both null before the first pull.
    """
    session = get_session()
    try:
        session.execute(text("SELECT 1"))
        backlog = total(backlog_by_channel(session))
        dead = session.scalar(select(func.count()).where(DeliveryJob.status == JobStatus.DEAD))
        last_crm = session.scalar(
            select(func.max(DeliveryJob.finished_at)).where(
                DeliveryJob.kind == JobKind.SALESFORCE, DeliveryJob.status == JobStatus.DONE
            )
        )
        stalled = session.scalar(
            select(func.min(DeliveryJob.created_at)).where(
                DeliveryJob.status.in_(BACKLOG), ~waiting_for_crm()
            )
        )
        crm = crm_status(session)
        pulled = session.execute(
            select(SalesforceSync.refreshed_at, SalesforceSync.synced_through).where(
                SalesforceSync.name == follow_up.NAME
            )
        ).first()
    except SQLAlchemyError as exc:
        session.rollback()
        current_app.logger.warning("Health check: database unreachable: %s", exc)
        return jsonify(status="unhealthy", database="unreachable"), 503

    now = utcnow()
    max_age = current_app.config["INTAKE_HEALTH_MAX_PENDING_AGE_SECONDS"]
    healthy = stalled is None or (now - stalled).total_seconds() <= max_age
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "database": "ok",
        "backlog": backlog.count,
        "oldest_pending_age_seconds": round(backlog.age_seconds(now), 1),
        "dead_jobs": dead,
        "last_crm_success": last_crm.isoformat() if last_crm else None,
        "crm": {
            "status": "behind" if crm.behind else "ok",
            "behind_since": crm.behind_since.isoformat() if crm.behind_since else None,
            "waiting": crm.waiting,
            "next_try_at": crm.next_try_at.isoformat() if crm.next_try_at else None,
        },
        "follow_up": {
            "last_pull_at": _iso(pulled[0] if pulled else None),
            "changes_through": _iso(pulled[1] if pulled else None),
        },
    }
    return jsonify(body), 200 if healthy else 503


@bp.get("/metrics")
def metrics_page() -> Response:
    """Prometheus' scrape, for the addresses INTAKE_METRICS_ALLOW names (403 for others).

    No rate limit, session or CSRF: a GET that reads the database and sets no cookie.
    """
    return metrics.answer()
