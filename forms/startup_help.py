"""The start-up help form (/opstartshjaelp/): topics, the cooperation today, who joins."""

from __future__ import annotations

import functools
from typing import Any

from flask_babel import gettext
from wtforms import Field, RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import StopValidation

from forms.contact import TEXT, PublicForm, select_choices
from forms.validators import max_length, one_of
from intake.labels import EXISTING_COOPERATION, TOPICS
from intake.translation import _l, lazy


def _topics_chosen(form: Any, field: Field) -> None:
    if not field.data:
        raise StopValidation(gettext("Vælg mindst ét emne."))
    if any(topic not in TOPICS for topic in field.data):
        raise StopValidation(gettext("Vælg emnerne fra listen."))


def _translated(labels: dict[str, str]) -> list[tuple[str, str]]:
    """The choices with their Danish labels (intake.labels, marked there) in the page's language."""
    return [(value, lazy(functools.partial(gettext, label))) for value, label in labels.items()]


class StartupHelpForm(PublicForm):
    page_order = (
        *PublicForm.CONTACT_ORDER,
        "topics",
        "existing_cooperation",
        "participants",
        "message",
    )
    topics = SelectMultipleField(
        _l("Hvad vil I gerne have hjælp til?"),
        choices=select_choices(_translated(TOPICS)),
        validate_choice=False,
        validators=[_topics_chosen],
    )
    existing_cooperation = RadioField(
        _l("Har I allerede et kommunesamarbejde?"),
        choices=select_choices(_translated(EXISTING_COOPERATION)),
        validate_choice=False,
        validators=[one_of(lambda: EXISTING_COOPERATION.items(), _l("Vælg et af svarene."))],
    )
    participants = TextAreaField(
        _l("Andre boligorganisationer i kommunen, der vil være med (valgfrit)"),
        filters=TEXT,
        validators=[max_length(2000)],
    )
    message = TextAreaField(
        _l("Fortæl kort om jeres situation (valgfrit)"),
        filters=TEXT,
        validators=[max_length(4000)],
    )
