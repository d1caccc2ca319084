"""Asking for start-up help on /opstartshjaelp/."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from intake.models import JobKind, JobTarget, Submission, SubmissionKind
from tests.support.helpers import VALID_HELP, count, count_jobs, submit


def test_a_valid_request_is_stored_with_its_jobs(client, db):
    response = submit(client, "/opstartshjaelp/", VALID_HELP)

    assert response.status_code == 303
    submission = db.scalars(select(Submission)).one()
    assert submission.kind is SubmissionKind.STARTUP_HELP
    assert re.fullmatch(r"OH-20\d\d-00001", submission.reference)
    assert submission.topics == ["forsyning_takster", "styringsdialog"]
    assert submission.existing_cooperation == "no"
    assert submission.participants == "Ærøskøbing Boligforening"
    assert submission.message.startswith("Vi vil gerne i gang med et samarbejde med kommunen –")
    assert submission.order_status is None
    assert submission.lines == []
    assert sorted((job.kind, job.target) for job in submission.jobs) == sorted(
        [
            (JobKind.EMAIL, JobTarget.CONSULTANT),
            (JobKind.EMAIL, JobTarget.REQUESTER),
            (JobKind.SALESFORCE, JobTarget.LEAD),
        ]
    )


def test_order_and_help_numbers_are_counted_apart(client, db):
    submit(
        client,
        "/pjecer/",
        {
            **VALID_HELP,
            **{"quantity-kommunesamarbejde": "1", "street": "Vej 1", "postcode": "8000"},
        },
    )
    submit(client, "/opstartshjaelp/", VALID_HELP)
    references = sorted(db.scalars(select(Submission.reference)).all())
    assert [r[:2] + r[-5:] for r in references] == ["OH00001", "PJ00001"]


@pytest.mark.parametrize(
    ("field", "value", "message", "anchor"),
    [
        ("topics", [], "Vælg mindst ét emne.", "topics-0"),
        ("topics", ["styringsdialog", "hacking"], "Vælg emnerne fra listen.", "topics-0"),
        ("existing_cooperation", "", "Vælg et af svarene.", "existing_cooperation-0"),
        ("existing_cooperation", "måske", "Vælg et af svarene.", "existing_cooperation-0"),
        ("message", "æ" * 4001, "Skriv højst 4000 tegn.", "message"),
        ("email", "aase@", "Skriv en gyldig e-mailadresse", "email"),
        ("municipality", "411", "Vælg en kommune fra listen.", "municipality"),  # Christiansø
    ],
)
def test_an_invalid_request_stores_nothing(client, db, field, value, message, anchor):
    response = submit(client, "/opstartshjaelp/", VALID_HELP, **{field: value})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert f'href="#{anchor}"' in html
    assert f'id="{anchor}"' in html
    assert count(db) == 0
    assert count_jobs(db) == 0


def test_choices_are_kept_after_an_error(client):
    html = submit(client, "/opstartshjaelp/", VALID_HELP, email="").get_data(as_text=True)
    assert re.search(r'value="styringsdialog"\s+checked', html)
    assert re.search(r'value="no"\s+checked', html)
    assert not re.search(r'value="andet"\s+checked', html)
    assert "Ærøskøbing Boligforening</textarea>" in html
