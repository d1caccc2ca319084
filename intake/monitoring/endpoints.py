"""Operations endpoints for BL's monitoring: /healthz, and /metrics (metrics.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from intake.db import get_session
from intake.delivery.backlog import backlog_by_channel, total
from intake.models import DeliveryJob, JobKind, JobStatus, utcnow
from intake.monitoring import metrics
from intake.web import csrf, error_pages
from intake.web.blueprints import OPS

bp = Blueprint(OPS, __name__)
error_pages.register(bp)
bp.before_request(csrf.check)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers and no pending delivery is older than the threshold.

    Body: database, backlog (pending jobs), oldest_pending_age_seconds, dead_jobs and
    last_crm_success (ISO time of the last Salesforce delivery, or null).
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
    except SQLAlchemyError as exc:
        session.rollback()
        current_app.logger.warning("Health check: database unreachable: %s", exc)
        return jsonify(status="unhealthy", database="unreachable"), 503

    oldest_age = backlog.age_seconds(utcnow())
    max_age = current_app.config["INTAKE_HEALTH_MAX_PENDING_AGE_SECONDS"]
    healthy = oldest_age <= max_age
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "database": "ok",
        "backlog": backlog.count,
        "oldest_pending_age_seconds": round(oldest_age, 1),
        "dead_jobs": dead,
        "last_crm_success": last_crm.isoformat() if last_crm else None,
    }
    return jsonify(body), 200 if healthy else 503


@bp.get("/metrics")
def metrics_page() -> Response:
    """Prometheus' scrape, for the addresses INTAKE_METRICS_ALLOW names (403 for others).

    No rate limit, session or CSRF: a GET that reads the database and sets no cookie.
    """
    return metrics.answer()
