"""/metrics: Prometheus' text format, numbers read from the database at each scrape, the
Salesforce API usage the workers recorded, and the address allow-list."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import make_server

from crm_sync.client import PinnedSession, SalesforceClient
from crm_sync.config import load_config
from crm_sync.emulator import SalesforceEmulator
from intake import create_app
from intake.delivery.salesforce_usage import ROW_ID, current_usage, record_usage
from intake.delivery.worker import Worker
from intake.models import DeliveryJob, SalesforceUsage, utcnow
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.metrics import Samples, scrape, value
from tests.support.settings import TEST_SECRET, send_mail_to, use_salesforce


@pytest.fixture
def config(config, smtp, salesforce):
    return use_salesforce(send_mail_to(config, smtp), salesforce)


def jobs(samples: Samples, channel: str, target: str, status: str) -> float:
    return value(samples, "intake_delivery_jobs", channel=channel, target=target, status=status)


def test_an_empty_intake_scrapes_as_zeros(client):
    samples = scrape(client)
    assert value(samples, "intake_database_up") == 1
    for kind in ("pamphlet_order", "startup_help"):
        assert value(samples, "intake_submissions_total", kind=kind) == 0
    for channel in ("email", "salesforce"):
        assert value(samples, "intake_delivery_backlog", channel=channel) == 0
        assert value(samples, "intake_delivery_oldest_pending_age_seconds", channel=channel) == 0
    assert value(samples, "intake_salesforce_api_requests_total") == 0
    # Salesforce has not reported an allowance yet: no number rather than a made-up one.
    assert not any(name.startswith("intake_salesforce_api_daily") for name, _ in samples)


def test_a_submission_and_its_delivery_move_the_numbers(app, client, db, salesforce, smtp):
    submit(client, "/pjecer/", VALID_ORDER)
    samples = scrape(client)
    assert value(samples, "intake_submissions_total", kind="pamphlet_order") == 1
    assert value(samples, "intake_submissions_total", kind="startup_help") == 0
    for target in ("pamphlet_office", "consultant", "requester"):
        assert jobs(samples, "email", target, "pending") == 1
        assert jobs(samples, "email", target, "done") == 0
    assert jobs(samples, "salesforce", "lead", "pending") == 1
    assert value(samples, "intake_delivery_backlog", channel="email") == 3
    assert value(samples, "intake_delivery_backlog", channel="salesforce") == 1

    db.execute(update(DeliveryJob).values(created_at=utcnow() - timedelta(hours=2)))
    db.commit()
    samples = scrape(client)
    assert value(samples, "intake_delivery_oldest_pending_age_seconds", channel="email") >= 7200

    Worker(app).run_once()
    samples = scrape(client)
    for target in ("pamphlet_office", "consultant", "requester"):
        assert jobs(samples, "email", target, "done") == 1
        assert jobs(samples, "email", target, "pending") == 0
    assert jobs(samples, "salesforce", "lead", "done") == 1
    for channel in ("email", "salesforce"):
        assert value(samples, "intake_delivery_backlog", channel=channel) == 0
        assert value(samples, "intake_delivery_oldest_pending_age_seconds", channel=channel) == 0
    assert len(smtp.messages) == 3 and len(salesforce.records["Lead"]) == 1


def test_dead_deliveries_are_counted_as_dead(app, client, smtp):
    smtp.handler.rcpt_reply = "550 5.1.1 Brugeren findes ikke"
    submit(client, "/opstartshjaelp/", VALID_HELP)
    Worker(app).run_once()
    samples = scrape(client)
    assert value(samples, "intake_submissions_total", kind="startup_help") == 1
    for target in ("consultant", "requester"):
        assert jobs(samples, "email", target, "dead") == 1
    assert jobs(samples, "salesforce", "lead", "done") == 1
    assert value(samples, "intake_delivery_backlog", channel="email") == 0


def test_salesforce_requests_and_the_daily_allowance_come_from_salesforce(build_app):
    with SalesforceEmulator(daily_api_limit=250) as emulator:
        app = build_app(**use_salesforce({}, emulator))
        client = app.test_client()
        submit(client, "/opstartshjaelp/", VALID_HELP)
        Worker(app).run_once()
        samples = scrape(client)
        used = emulator.api_request_count()
        assert used == 2  # the contact look-up and one Composite request
        assert len(emulator.records["Lead"]) == 1
    assert value(samples, "intake_salesforce_api_requests_total") == used
    assert value(samples, "intake_salesforce_api_daily_limit") == 250
    assert value(samples, "intake_salesforce_api_daily_remaining") == 250 - used
    assert value(samples, "intake_salesforce_api_usage_observed_timestamp_seconds") > 0


def test_the_requests_of_several_workers_add_up(app, db, salesforce):
    """Workers are separate processes: each adds its own requests to the one row."""
    config = load_config(app.config)
    first, second = SalesforceClient(config), SalesforceClient(config)
    first.call("GET", "limits/")
    first.call("GET", "limits/")
    second.call("GET", "limits/")
    record_usage(db, first)  # makes the row
    db.commit()
    record_usage(db, second)
    db.commit()
    record_usage(db, first)  # nothing new since it last recorded
    db.commit()
    usage = current_usage(db)
    assert usage is not None
    assert usage.api_requests == 3 == salesforce.api_request_count()
    assert (usage.daily_used, usage.daily_limit) == (3, salesforce.daily_api_limit)


def test_requests_recorded_in_a_commit_that_failed_are_recorded_again(app, db, salesforce):
    """A batch's usage is added in the batch's transaction: if that is rolled back, the
    requests are still to be recorded (and a second record in one transaction adds none)."""
    client = SalesforceClient(load_config(app.config))
    client.call("GET", "limits/")
    record_usage(db, client)  # makes the row
    db.commit()
    client.call("GET", "limits/")
    client.call("GET", "limits/")
    record_usage(db, client)
    db.add(SalesforceUsage(id=ROW_ID, api_requests=0))  # the same transaction fails to commit
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()
    record_usage(db, client)
    record_usage(db, client)  # nothing new in this transaction: adds none
    db.commit()
    db.expire_all()
    usage = current_usage(db)
    assert usage is not None
    assert usage.api_requests == 3 == salesforce.api_request_count()


def test_an_older_daily_usage_does_not_replace_a_newer_one(app, db, salesforce):
    """Workers record in any order; the usage Salesforce reported last is the one shown."""
    config = load_config(app.config)
    earlier, later = SalesforceClient(config), SalesforceClient(config)
    earlier.call("GET", "limits/")  # Salesforce: 1 used today
    later.call("GET", "limits/")
    later.call("GET", "limits/")  # Salesforce: 3 used today
    record_usage(db, later)
    db.commit()
    record_usage(db, earlier)  # a slower worker records its older observation last
    db.commit()
    db.expire_all()
    usage = current_usage(db)
    assert usage is not None
    assert usage.api_requests == 3  # its requests still count …
    assert usage.daily_used == 3  # … its daily usage is not the latest
    assert usage.observed_at == later.api_usage_at


@pytest.mark.parametrize(
    "header",
    [
        "api-usage=25/15000; per-app-api-usage=17/250(appName=BL_Intake)",
        "per-app-api-usage=17/250(appName=BL_Intake); api-usage=25/15000",
        "per-app-api-usage=17/250(appName=BL_Intake),api-usage=25/15000",
    ],
)
def test_the_daily_usage_is_the_orgs_not_the_apps(header):
    """Sforce-Limit-Info may also give the connected app's own usage (per-app-api-usage)."""

    def salesforce_answer(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Sforce-Limit-Info", header)]
        )
        return [b"{}"]

    server = make_server("127.0.0.1", 0, salesforce_answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        session = PinnedSession(None, 5)
        session.get(f"http://127.0.0.1:{server.server_port}/services/data/v62.0/limits/")
    finally:
        server.shutdown()
        thread.join()
    assert session.api_usage == (25, 15000)


def test_openmetrics_when_prometheus_asks_for_it(client):
    response = client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    families = {f.name for f in openmetrics_families(response.get_data(as_text=True))}
    assert {"intake_submissions", "intake_delivery_backlog", "intake_database_up"} <= families


# -- who may scrape ----------------------------------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_may_scrape_by_default(client, address):
    assert value(scrape(client, address), "intake_database_up") == 1


@pytest.mark.parametrize("address", ["203.0.113.9", "10.0.0.5", "2001:db8::1", ""])
def test_other_addresses_are_refused_by_default(client, address):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert body.startswith("Adgang nægtet")
    assert "intake_" not in body


def test_the_allow_list_names_addresses_and_networks(build_app):
    client = build_app(INTAKE_METRICS_ALLOW="10.20.0.0/16, 192.0.2.7").test_client()
    for allowed in ("10.20.3.4", "192.0.2.7"):
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": allowed}).status_code == 200
    for refused in ("192.0.2.8", "10.21.0.1", "127.0.0.1"):
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": refused}).status_code == 403


def test_an_empty_allow_list_lets_nobody_in(build_app):
    client = build_app(INTAKE_METRICS_ALLOW="").test_client()
    assert client.get("/metrics").status_code == 403


def test_a_request_relayed_by_a_proxy_is_refused_unless_the_app_resolves_it(build_app):
    # Behind a reverse proxy on the same machine every visitor's peer is 127.0.0.1.
    app = build_app(INTAKE_METRICS_ALLOW="127.0.0.1, 10.20.0.0/16")
    relayed = {"X-Forwarded-For": "10.20.3.4"}
    assert app.test_client().get("/metrics", headers=relayed).status_code == 403
    assert (
        app.test_client().get("/metrics", headers={"Forwarded": "for=10.20.3.4"}).status_code == 403
    )
    # With ProxyFix (as for the rate limits) the address it resolves is the one checked.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    assert app.test_client().get("/metrics", headers=relayed).status_code == 200
    outside = {"X-Forwarded-For": "203.0.113.9"}
    assert app.test_client().get("/metrics", headers=outside).status_code == 403


def test_a_bad_allow_list_stops_the_start_and_names_the_entry(config):
    config["INTAKE_METRICS_ALLOW"] = "127.0.0.1, intranettet"
    with pytest.raises(RuntimeError, match="INTAKE_METRICS_ALLOW: 'intranettet' is not an IP"):
        create_app(config)


def test_scrapes_are_not_rate_limited_and_set_no_cookie(build_app):
    client = build_app(
        INTAKE_FORM_RATE_LIMIT="1 per minute", INTAKE_LOGIN_RATE_LIMIT="1 per minute"
    ).test_client()
    for _ in range(5):
        response = client.get("/metrics")
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert response.headers["X-Request-ID"]


def test_an_unreachable_database_scrapes_as_down(track_app):
    app = track_app(
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": TEST_SECRET,
                "INTAKE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
            }
        )
    )
    samples = scrape(app.test_client())
    assert samples == {("intake_database_up", ()): 0}


@pytest.mark.parametrize(
    ("x_for", "headers"),
    [
        (0, {"X-Forwarded-For": "10.20.3.4"}),  # a ProxyFix that trusts no proxy resolves none
        (2, {"X-Forwarded-For": "10.20.3.4"}),  # it expects two proxies, the header has one
        (1, {"Forwarded": "for=10.20.3.4"}),  # ProxyFix reads X-Forwarded-For, not Forwarded
        (None, {"X-Real-IP": "10.20.3.4"}),  # nginx's other header, nothing to resolve it
        (1, {"X-Real-IP": "10.20.3.4"}),
    ],
    ids=["x_for=0", "x_for=2, one entry", "only Forwarded", "only X-Real-IP", "X-Real-IP, fix"],
)
def test_a_relayed_request_whose_address_nothing_resolved_is_refused(build_app, x_for, headers):
    # The proxy on the same machine connects from loopback, which the default list allows.
    app = build_app()
    if x_for is not None:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=x_for)  # type: ignore[method-assign]
    response = app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 403
    assert "intake_" not in response.get_data(as_text=True)


def test_an_address_resolved_through_two_proxies_is_the_one_checked(build_app):
    app = build_app(INTAKE_METRICS_ALLOW="10.20.0.0/16")
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=2)  # type: ignore[method-assign]
    client = app.test_client()
    two = {"X-Forwarded-For": "10.20.3.4, 10.99.0.1"}  # the client, then the first proxy
    assert client.get("/metrics", headers=two).status_code == 200
    assert (
        client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9, 10.99.0.1"}).status_code
        == 403
    )
