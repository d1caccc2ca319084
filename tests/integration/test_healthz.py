"""/healthz: database, backlog, oldest pending job, last CRM success."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from intake import create_app
from intake.models import DeliveryJob, JobKind, JobStatus, utcnow
from tests.support.helpers import VALID_ORDER, submit
from tests.support.settings import TEST_SECRET


def test_healthy_with_an_empty_outbox(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "healthy",
        "database": "ok",
        "backlog": 0,
        "oldest_pending_age_seconds": 0.0,
        "dead_jobs": 0,
        "last_crm_success": None,
        "crm": {"status": "ok", "behind_since": None, "waiting": 0, "next_try_at": None},
        "follow_up": {"last_pull_at": None, "changes_through": None},
    }


def test_the_backlog_counts_pending_jobs(client):
    submit(client, "/pjecer/", VALID_ORDER)
    body = client.get("/healthz").json
    assert body["backlog"] == 4
    assert body["status"] == "healthy"


def test_unhealthy_when_a_pending_job_is_too_old(client, db):
    submit(client, "/pjecer/", VALID_ORDER)
    db.execute(update(DeliveryJob).values(created_at=utcnow() - timedelta(hours=2)))
    db.commit()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unhealthy"
    assert response.json["oldest_pending_age_seconds"] >= 7200


def test_reports_dead_jobs_and_the_last_crm_success(client, db):
    submit(client, "/pjecer/", VALID_ORDER)
    finished = utcnow() - timedelta(minutes=5)
    db.execute(
        update(DeliveryJob)
        .where(DeliveryJob.kind == JobKind.SALESFORCE)
        .values(status=JobStatus.DONE, finished_at=finished)
    )
    db.execute(
        update(DeliveryJob).where(DeliveryJob.kind == JobKind.EMAIL).values(status=JobStatus.DEAD)
    )
    db.commit()
    body = client.get("/healthz").json
    assert body["backlog"] == 0
    assert body["dead_jobs"] == 3
    assert body["last_crm_success"].startswith(finished.isoformat()[:19])


def test_503_when_the_database_is_unreachable(track_app):
    app = track_app(
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": TEST_SECRET,
                "INTAKE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
            }
        )
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unhealthy", "database": "unreachable"}
