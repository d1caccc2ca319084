"""The W3C Nu Html Checker finds no error on any page or HTML e-mail (beside axe-core, which the
browser tests run): every public page in each of its states, in Danish and in English, every
back-office page, the error pages, and every e-mail's HTML for both kinds of request (the
requester's in both languages).

The checker is npm's vnu-jar, run with Debian's Java; `make test` installs both (`make vnu`) and
says where the jar is (INTAKE_VNU_JAR). The back office's pages are found in the app's url_map,
so a page added later is checked without anyone remembering to add it here.
"""

from __future__ import annotations

import email
import json
import os
import re
import shutil
import subprocess
from email import policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from intake.delivery.worker import Worker
from intake.models import HeldPost, Pamphlet, Submission, SubmissionKind, utcnow
from intake.order_lifecycle import mark_cancelled, mark_shipped
from intake.privacy.anonymise import anonymise
from intake.web import error_pages
from tests.support.helpers import VALID_HELP, VALID_ORDER, hidden_fields, submit
from tests.support.paths import ROOT
from tests.support.settings import missing_part

DEFAULT_JAR = ROOT / "tools/vnu/node_modules/vnu-jar/build/dist/vnu.jar"
_ARGUMENT = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")
NOT_PAGES = frozenset({"intake_admin.orders_csv", "intake_admin.static"})  # not HTML


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the HTML does not depend on the database."""
    return sqlite_url


@pytest.fixture(scope="module")
def checker() -> list[str]:
    """The command that runs the Nu Html Checker, or a skip that says what is missing."""
    jar = Path(os.environ.get("INTAKE_VNU_JAR") or DEFAULT_JAR)
    java = shutil.which("java")
    if java is None:
        missing_part("Java for the Nu Html Checker (make vnu installs default-jre-headless)")
    if not jar.is_file():
        missing_part(f"the Nu Html Checker at {jar} (make vnu installs npm's vnu-jar)")
    return [str(java), "-jar", str(jar)]


class Pages:
    """The HTML to check, one file each, named after where it came from."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.names: list[str] = []

    def add(self, name: str, html: str) -> None:
        assert html.lstrip().lower().startswith("<!doctype html>"), name
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")
        (self.folder / f"{len(self.names):03d}-{safe}.html").write_text(html, encoding="utf-8")
        self.names.append(name)

    def get(self, client: Any, path: str, status: int = 200, **kwargs: Any) -> str:
        answer = client.get(path, **kwargs)
        assert answer.status_code == status, (path, answer.status_code)
        html = answer.get_data(as_text=True)
        self.add(f"GET {path}", html)
        return html

    def post(self, client: Any, path: str, data: dict[str, Any], status: int = 200) -> str:
        answer = client.post(path, data={k: v for k, v in data.items() if v is not None})
        assert answer.status_code == status, (path, answer.status_code)
        html = answer.get_data(as_text=True)
        self.add(f"POST {path} {len(self.names)}", html)
        return html


def errors_of(checker: list[str], folder: Path) -> list[str]:
    done = subprocess.run(
        [*checker, "--errors-only", "--format", "json", "--stdout", "--skip-non-html", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    messages = json.loads(done.stdout or '{"messages": []}')["messages"]
    found = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine', '?')}: {m.get('message')}"
        f" [{m.get('extract', '').strip()}]"
        for m in messages
        if m.get("type") in ("error", "non-document-error")
    ]
    if done.returncode != 0 and not found:
        found.append(f"the checker failed (exit {done.returncode}): {done.stderr[-2000:]}")
    return found


def fill_in(rule: str, values: dict[str, str]) -> str:
    return _ARGUMENT.sub(lambda m: values[m.group(1)], rule)


def public_pages(pages: Pages, client: Any) -> None:
    """Each public page in each state a person meets."""
    for path, data in (("/pjecer/", VALID_ORDER), ("/opstartshjaelp/", VALID_HELP)):
        form = hidden_fields(pages.get(client, path))
        pages.post(client, path, {**form, **data, "email": "forkert", "city": "Aalborg"})
        pages.post(client, path, {**form, **data, "form_token": ""})  # "Tjek … og send igen"
        pages.post(client, path, {**form, **data, "csrf_token": None}, status=400)
        pages.post(client, path, {**hidden_fields(client.get(path).text), **data, "website": "x"})
    for path, data in (("/pjecer/", VALID_ORDER), ("/opstartshjaelp/", VALID_HELP)):
        pages.get(client, submit(client, path, data).headers["Location"])  # the receipt
    pages.get(client, "/privatliv/")
    pages.get(client, "/kvittering/forkert", status=404)
    pages.get(client, "/findes-ikke", status=404)


def back_office_pages(pages: Pages, app: Flask, admin: Any, office: Any, db: Any) -> None:
    """Every back-office page (as an admin), each order in each status, and the office's 403."""
    submit(admin, "/pjecer/", VALID_ORDER, website="x")  # one held post to list
    order = db.scalars(
        select(Submission).where(Submission.kind == SubmissionKind.PAMPHLET_ORDER)
    ).first()
    values = {
        "reference": order.reference,
        "slug": db.scalars(select(Pamphlet.slug)).first(),
        "public_id": db.scalars(select(HeldPost.public_id)).first(),
        "code": order.municipality_code,
    }
    checked = set()
    for rule in app.url_map.iter_rules():
        if (
            rule.endpoint.startswith("intake_admin.")
            and "GET" in (rule.methods or set())
            and rule.endpoint not in NOT_PAGES
        ):
            pages.get(admin, fill_in(rule.rule, values), follow_redirects=True)
            checked.add(rule.endpoint)
    assert {
        "intake_admin.held_posts",
        "intake_admin.order",
        "intake_admin.deliveries",
        "intake_admin.overview",
        "intake_admin.municipality",
        "intake_admin.label_sheet",
        "intake_admin.account",
        "intake_admin.routing",
        "intake_admin.routing_edit",
        "intake_admin.consultants",
        "intake_admin.request_page",
    } <= checked
    pages.get(office, "/admin/deliveries/", status=403)
    pages.get(app.test_client(), "/admin/login")


def order_states(pages: Pages, admin: Any, client: Any) -> None:
    """An order packed, another shipped with a parcel and a note, another cancelled: their
    back-office pages and receipts."""
    for action, data in (
        ("pack", {}),
        ("ship", {"parcel": "00370712345678901234", "note": "Lagt i postkassen"}),
    ):
        reference = submit(admin, "/pjecer/", VALID_ORDER).headers["Location"]
        found = re.search(r"PJ-\d{4}-\d{5}", admin.get(reference).get_data(as_text=True))
        order = found.group(0)
        token = hidden_fields(admin.get(f"/admin/orders/{order}").get_data(as_text=True))
        admin.post(f"/admin/orders/{order}/{action}", data={**token, **data})
        pages.get(admin, f"/admin/orders/{order}")
        pages.get(client, reference)
    cancelled = submit(admin, "/pjecer/", VALID_ORDER).headers["Location"]
    order = re.search(r"PJ-\d{4}-\d{5}", admin.get(cancelled).get_data(as_text=True)).group(0)
    token = hidden_fields(admin.get(f"/admin/orders/{order}").get_data(as_text=True))
    admin.post(f"/admin/orders/{order}/cancel", data={**token, "reason": "Udsolgt.\nBeklager."})
    pages.get(admin, f"/admin/orders/{order}")
    pages.get(client, cancelled)


def follow_up_states(pages: Pages, admin: Any, db: Any) -> None:
    """A municipality with a cooperation recorded by hand (and the form's errors), and an order
    whose follow-up was read back from Salesforce."""
    path = "/admin/municipalities/492"
    token = hidden_fields(admin.get(path).get_data(as_text=True))
    pages.post(admin, path + "/cooperation", {**token, "established_on": "31.2.2026"}, status=400)
    admin.post(
        path + "/cooperation", data={**token, "established_on": "2026-11-02", "note": "Ærø – ok"}
    )
    pages.get(admin, path)
    order = db.scalars(
        select(Submission).where(Submission.kind == SubmissionKind.PAMPHLET_ORDER)
    ).first()
    order.salesforce_id, order.salesforce_object = "00QEm0000000001AAA", "Lead"
    order.salesforce_url = (
        "https://example.my.salesforce.com/lightning/r/Lead/00QEm0000000001AAA/view"
    )
    order.crm_lead_status, order.crm_task_status = "Working - Contacted", "In Progress"
    order.crm_modified_at = utcnow()
    db.commit()
    pages.get(admin, f"/admin/orders/{order.reference}")


def routing_and_request_states(pages: Pages, admin: Any, db: Any) -> None:
    """The routing's and the consultants' forms with errors, a request's form with an error,
    and a start-up request sent on (its page then lists the sending-on's deliveries)."""
    token = hidden_fields(admin.get("/admin/routing/492").get_data(as_text=True))["csrf_token"]
    pages.post(admin, "/admin/routing/492", {"csrf_token": token, "kreds": "12", "status": "x"})
    pages.post(
        admin,
        "/admin/consultants/",
        {"csrf_token": token, "office-email": "ikke en adresse", "jf-kredse": "2, 9, x"},
    )
    help_request = db.scalars(
        select(Submission).where(Submission.kind == SubmissionKind.STARTUP_HELP)
    ).first()
    path = f"/admin/requests/{help_request.reference}"
    pages.post(admin, f"{path}/forward", {"csrf_token": token, "consultant": ""})
    sent_on = admin.post(
        f"{path}/forward", data={"csrf_token": token, "consultant": "sma", "note": "Forkert kreds"}
    )
    assert sent_on.status_code == 302
    pages.get(admin, path)


def error_pages_of(pages: Pages, app: Flask) -> None:
    """The Danish error pages that no ordinary request reaches here (413, 429, 500, 503)."""
    with app.test_request_context("/pjecer/"):
        for name in ("TOO_LARGE", "TOO_MANY", "SERVER_ERROR", "UNAVAILABLE", "UNAVAILABLE_PAGE"):
            pages.add(name, error_pages.render_error(getattr(error_pages, name)))


def e_mails(pages: Pages, app: Flask, mail_dir: Path) -> None:
    """Every e-mail the worker writes (the office's, the consultant's, the receipts, shipped,
    cancelled), as .eml files: their HTML parts."""
    Worker(app).run_once()
    written = sorted(mail_dir.glob("*.eml"))
    targets = {path.stem.split("-", 4)[-1] for path in written}
    assert targets == {
        "pamphlet_office",
        "consultant",
        "requester",
        "shipped",
        "cancelled",
        "previous_consultant",
    }
    for path in written:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        html = message.get_body(preferencelist=("html",))
        pages.add(f"e-mail {path.name}", html.get_content())


def english_pages(pages: Pages, app: Flask, db: Any, mail_dir: Path) -> None:
    """The public pages, the error pages and the requester's e-mails in English."""
    client = app.test_client()
    client.get("/pjecer/?lang=en")
    public_pages(pages, client)
    with app.test_request_context("/pjecer/?lang=en"):
        for name in ("TOO_LARGE", "TOO_MANY", "SERVER_ERROR", "UNAVAILABLE", "UNAVAILABLE_PAGE"):
            pages.add(f"{name} en", error_pages.render_error(getattr(error_pages, name)))
    seen = set(mail_dir.glob("*.eml"))
    submit(client, "/opstartshjaelp/", VALID_HELP)
    orders = [submit(client, "/pjecer/", VALID_ORDER).headers["Location"] for _ in range(2)]
    english = db.scalars(select(Submission).where(Submission.language == "en")).all()
    shipped, cancelled = [s for s in english if s.kind is SubmissionKind.PAMPHLET_ORDER][-2:]
    mark_shipped(db, shipped, "test", note="Lagt i postkassen", parcel="00370712345678901234")
    mark_cancelled(db, cancelled, "test", "Udsolgt.")
    for location in orders:
        pages.get(client, location)
    Worker(app).run_once()
    for path in sorted(set(mail_dir.glob("*.eml")) - seen):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        html = message.get_body(preferencelist=("html",)).get_content()
        if "requester" in path.name or "shipped" in path.name or "cancelled" in path.name:
            assert '<html lang="en">' in html, path.name
        pages.add(f"e-mail {path.name}", html)


def test_every_page_and_every_html_e_mail_is_valid_html(
    checker, app, client, admin, office, db, config, tmp_path
):
    pages = Pages(tmp_path / "html")
    public_pages(pages, client)
    order_states(pages, admin, client)
    back_office_pages(pages, app, admin, office, db)
    follow_up_states(pages, admin, db)
    routing_and_request_states(pages, admin, db)
    error_pages_of(pages, app)
    e_mails(pages, app, Path(config["INTAKE_MAIL_DIR"]))
    english_pages(pages, app, db, Path(config["INTAKE_MAIL_DIR"]))

    # A receipt whose personal data is gone (410).
    location = submit(client, "/opstartshjaelp/", VALID_HELP).headers["Location"]
    newest = db.scalars(select(Submission).order_by(Submission.id.desc())).first()
    anonymise(db, newest, "Til testen.")
    db.commit()
    pages.get(client, location, status=410)

    assert len(pages.names) > 60
    assert errors_of(checker, pages.folder) == []
