"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from intake import create_app, migrate
from intake.models import Base, StaffRole
from intake.staff import accounts
from tests.support.helpers import VALID_HELP, submit
from tests.support.settings import TEST_SECRET
from tests.support.staff import ADMIN_EMAIL, STAFF_PASSWORD, enrol, sign_in


def test_the_migrated_schema_matches_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": "intake_alembic_version", "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_downgrade_to_nothing_and_up_again(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/m.sqlite3")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert inspect(engine).get_table_names() == ["intake_alembic_version"]
    migrate.upgrade(engine)
    assert "intake_submissions" in inspect(engine).get_table_names()
    engine.dispose()


@pytest.fixture
def submitted(tmp_path, track_app):
    """A SQLite database at the newest schema holding one start-up request and its jobs."""
    url = f"sqlite:///{tmp_path}/d.sqlite3"
    engine = create_engine(url)
    migrate.upgrade(engine)
    config = {"TESTING": True, "SECRET_KEY": TEST_SECRET, "INTAKE_DATABASE_URL": url}
    app = track_app(create_app({**config, "INTAKE_MIN_FILL_SECONDS": 0}))
    assert submit(app.test_client(), "/opstartshjaelp/", VALID_HELP).status_code == 303
    return engine


def statuses(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        query = "SELECT kind, status, last_error FROM intake_delivery_jobs ORDER BY id"
        return [tuple(row) for row in connection.execute(text(query))]


def test_going_back_before_personal_data_leaves_only_rows_the_old_code_reads(submitted):
    with submitted.begin() as connection:
        connection.execute(
            text(
                "UPDATE intake_delivery_jobs SET status = 'cancelled', outcome = 'Annulleret' "
                "WHERE kind = 'email'"
            )
        )
        connection.execute(
            text(
                "UPDATE intake_delivery_jobs SET kind = 'salesforce_erase', status = 'done' "
                "WHERE kind = 'salesforce'"
            )
        )

    migrate.downgrade(submitted, "0005")

    assert statuses(submitted) == [("email", "dead", "Annulleret")] * 2
    submitted.dispose()


def test_going_back_is_refused_while_an_erasure_is_unfinished(submitted):
    with submitted.begin() as connection:
        connection.execute(
            text(
                "UPDATE intake_delivery_jobs SET kind = 'salesforce_erase' "
                "WHERE kind = 'salesforce'"
            )
        )
    before = statuses(submitted)

    with pytest.raises(RuntimeError, match="1 Salesforce erasure job"):
        migrate.downgrade(submitted, "0005")

    assert statuses(submitted) == before
    assert "anonymised_at" in {
        c["name"] for c in inspect(submitted).get_columns("intake_submissions")
    }
    submitted.dispose()


def test_going_back_before_staff_sessions_keeps_the_accounts(tmp_path, track_app):
    """0010 → 0009: the sessions, attempts and recovery codes go, the second factor is
    forgotten, and every account keeps its e-mail, role and password, unlocked."""
    url = f"sqlite:///{tmp_path}/s.sqlite3"
    engine = create_engine(url)
    migrate.upgrade(engine)
    config = {"TESTING": True, "SECRET_KEY": TEST_SECRET, "INTAKE_DATABASE_URL": url}
    app = track_app(create_app(config))
    with app.extensions["intake"].database.sessionmaker() as session:
        accounts.create(session, ADMIN_EMAIL, STAFF_PASSWORD, StaffRole.ADMIN)
        session.commit()
    client = app.test_client()
    enrol(client, sign_in(client, ADMIN_EMAIL).headers["Location"])
    with engine.connect() as connection:
        hash_before = connection.execute(text("SELECT password_hash FROM intake_staff_users"))
        hash_before = hash_before.scalar_one()

    migrate.downgrade(engine, "0009")  # the revision before staff sessions

    tables = set(inspect(engine).get_table_names())
    assert not tables & {"intake_staff_sessions", "intake_sign_in_attempts"}
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT email, role, password_hash, failed_logins, locked_until "
                "FROM intake_staff_users"
            )
        ).one()
    assert tuple(row) == (ADMIN_EMAIL, "admin", hash_before, 0, None)
    migrate.upgrade(engine)
    assert "totp_secret" in {c["name"] for c in inspect(engine).get_columns("intake_staff_users")}
    engine.dispose()


def test_going_back_before_held_posts_keeps_parcel_numbers_and_is_refused_while_posts_wait(
    submitted,
):
    with submitted.begin() as connection:
        connection.execute(
            text(
                "UPDATE intake_submissions SET status_note = 'Lagt i postkassen', "
                "parcel_number = '00370712345678901234', consent_at = NULL"
            )
        )
        connection.execute(
            text(
                "INSERT INTO intake_held_posts (public_id, kind, submission_key, received_at, "
                "email, form_data, trap) VALUES ('p', 'startup_help', 'k', '2026-12-04 10:00:00', "
                "'a@example.dk', '{}', 'x')"
            )
        )

    migrate.downgrade(submitted, "0009")  # first before the staff sessions (0010)
    with pytest.raises(RuntimeError, match="1 held post"):
        migrate.downgrade(submitted, "0008")
    assert "intake_held_posts" in inspect(submitted).get_table_names()

    with submitted.begin() as connection:
        connection.execute(text("DELETE FROM intake_held_posts"))
    migrate.downgrade(submitted, "0008")

    assert "intake_held_posts" not in inspect(submitted).get_table_names()
    with submitted.connect() as connection:
        note, consent_at = connection.execute(
            text("SELECT status_note, consent_at FROM intake_submissions")
        ).one()
    assert note == "Lagt i postkassen (pakkenummer 00370712345678901234)"
    assert consent_at is not None  # the older version requires it
    migrate.upgrade(submitted)
    submitted.dispose()


def test_going_back_before_the_crm_follow_up_keeps_the_requests(database_url, track_app):
    """0012 → the one before, and up again, on SQLite and PostgreSQL: the follow-up columns,
    the pull's lease and the recorded cooperations go; every request stays."""
    config = {"TESTING": True, "SECRET_KEY": TEST_SECRET, "INTAKE_DATABASE_URL": database_url}
    app = track_app(create_app({**config, "INTAKE_MIN_FILL_SECONDS": 0}))
    assert submit(app.test_client(), "/opstartshjaelp/", VALID_HELP).status_code == 303
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE intake_submissions SET crm_lead_status = 'Working - Contacted', "
                "crm_converted = true"
            )
        )
        connection.execute(
            text(
                "INSERT INTO intake_municipal_cooperations (municipality_code, established_on, "
                "note, recorded_by, recorded_at) VALUES ('492', '2026-12-01', 'Ærø', "
                "'bwj@bl.dk', '2026-12-04 10:00:00')"
            )
        )
    try:
        migrate.downgrade(engine, "0011")
        assert "intake_municipal_cooperations" not in inspect(engine).get_table_names()
        columns = {c["name"] for c in inspect(engine).get_columns("intake_submissions")}
        assert not columns & {"crm_lead_status", "crm_converted", "crm_task_status"}
        sync = {c["name"] for c in inspect(engine).get_columns("intake_salesforce_sync")}
        assert "leased_by" not in sync
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM intake_submissions")) == 1
    finally:
        migrate.upgrade(engine)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT crm_lead_status, crm_converted FROM intake_submissions")
        ).one()
    assert (row[0], bool(row[1])) == (None, False)
    engine.dispose()


def test_requests_made_before_0013_were_danish_and_going_back_drops_the_language(submitted):
    """0013 adds the language a requester used: earlier requests were made on the Danish
    forms; going back to 0010 drops it and keeps the requests."""
    migrate.downgrade(submitted, "0010")
    columns = {c["name"] for c in inspect(submitted).get_columns("intake_submissions")}
    assert "language" not in columns
    migrate.upgrade(submitted)
    with submitted.connect() as connection:
        languages = connection.execute(text("SELECT language FROM intake_submissions")).all()
    assert [tuple(row) for row in languages] == [("da",)]
    submitted.dispose()


def test_going_back_before_the_routing_in_the_database_and_up_again(app, client, db):
    """0011 → 0010: the routing tables and the requests' sending-on go (their jobs too; the
    requests stay, with the consultant they are with now); up again, the routing file seeds the
    routing once more. On SQLite and PostgreSQL."""
    from intake.forwarding import forward
    from intake.models import DeliveryJob, Submission

    submit(client, "/opstartshjaelp/", VALID_HELP)
    submission = db.query(Submission).one()
    with app.app_context():
        routing = app.extensions["intake"].routing
        forward(db, submission, routing.consultants["jbh"], routing.consultants["sma"], "it@bl.dk")
    assert db.query(DeliveryJob).count() == 6
    db.close()
    engine = app.extensions["intake"].database.engine

    migrate.downgrade(engine, "0010")
    tables = set(inspect(engine).get_table_names())
    assert not tables & {"intake_forwards", "intake_routing_municipalities"}
    with engine.connect() as connection:
        jobs = connection.execute(text("SELECT count(*) FROM intake_delivery_jobs")).scalar()
        consultant = connection.execute(text("SELECT consultant_key FROM intake_submissions"))
        assert (jobs, consultant.scalar()) == (3, "sma")

    migrate.upgrade(engine)
    with engine.connect() as connection:
        seeded = connection.execute(text("SELECT count(*) FROM intake_routing_municipalities"))
        assert seeded.scalar() == 98


def test_a_sqlite_migration_runs_with_foreign_keys_off_and_refuses_to_leave_one_broken(
    submitted,
):
    """SQLite rebuilds a table to change it; with foreign keys on, that fails once other rows
    refer to it (the requests' jobs, forwards and lines refer to the requests): migrations run
    with them off, and the references are checked before the commit."""
    migrate.downgrade(submitted, "0010")  # rebuilds intake_submissions under its jobs
    migrate.upgrade(submitted)
    with submitted.connect() as connection:  # a request gone under its jobs, keys off
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        connection.execute(text("DELETE FROM intake_submissions"))
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
    with pytest.raises(migrate.BrokenReferences, match="intake_delivery_jobs"):
        migrate.downgrade(submitted, "0012")
    with submitted.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM intake_alembic_version"))
        assert version.scalar() == "0013"  # rolled back
    submitted.dispose()
