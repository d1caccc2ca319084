"""The start-up help form (/opstartshjaelp/): topics, the cooperation today, who joins."""

from __future__ import annotations

from typing import Any

from wtforms import Field, RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import StopValidation

from forms.contact import TEXT, PublicForm, select_choices
from forms.validators import max_length, one_of
from intake.labels import EXISTING_COOPERATION, TOPICS


def _topics_chosen(form: Any, field: Field) -> None:
    if not field.data:
        raise StopValidation("Vælg mindst ét emne.")
    if any(topic not in TOPICS for topic in field.data):
        raise StopValidation("Vælg emnerne fra listen.")


class StartupHelpForm(PublicForm):
    page_order = (
        *PublicForm.CONTACT_ORDER,
        "topics",
        "existing_cooperation",
        "participants",
        "message",
    )
    topics = SelectMultipleField(
        "Hvad vil I gerne have hjælp til?",
        choices=select_choices(TOPICS.items()),
        validate_choice=False,
        validators=[_topics_chosen],
    )
    existing_cooperation = RadioField(
        "Har I allerede et kommunesamarbejde?",
        choices=select_choices(EXISTING_COOPERATION.items()),
        validate_choice=False,
        validators=[one_of(lambda: EXISTING_COOPERATION.items(), "Vælg et af svarene.")],
    )
    participants = TextAreaField(
        "Andre boligorganisationer i kommunen, der vil være med (valgfrit)",
        filters=TEXT,
        validators=[max_length(2000)],
    )
    message = TextAreaField(
        "Fortæl kort om jeres situation (valgfrit)", filters=TEXT, validators=[max_length(4000)]
    )
