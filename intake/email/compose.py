"""What each e-mail says and to whom. `render_email` is the only place a message is built."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from flask import current_app, render_template
from flask_babel import force_locale

from intake.email.context import about
from intake.email.headers import IntakeMessage
from intake.email.links import receipt_url
from intake.labels import EXISTING_COOPERATION, LANGUAGES, TOPICS
from intake.models import DeliveryJob, JobTarget
from intake.routing.model import NoConsultant, Routing
from intake.text import one_line

# The e-mail sent for each job target: a folder templates/intake/email/<name>/ holding
# subject.txt, body.txt and body.html.
TEMPLATE_FOR_TARGET = {
    JobTarget.PAMPHLET_OFFICE: "pamphlet_office",
    JobTarget.CONSULTANT: "consultant",
    JobTarget.REQUESTER: "receipt",
    JobTarget.SHIPPED: "shipped",  # "your pamphlets are on their way" (intake.order_lifecycle)
    JobTarget.CANCELLED: "cancelled",  # "your order is cancelled", with the reason
}
# The requester's e-mails, which go out in the language they used on the forms; the others
# (the pamphlet office's, the consultant's) are Danish and say which language that was.
TO_REQUESTER = frozenset({JobTarget.REQUESTER, JobTarget.SHIPPED, JobTarget.CANCELLED})


class CannotCompose(Exception):
    """The e-mail cannot be written (no template for its recipient, no consultant left in the
    routing): retrying will not help."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(name: str, **context: object) -> RenderedEmail:
    """Render the three templates of one e-mail. The subject is folded to one line, so no
    value in it can ever start a new header."""
    subject = render_template(f"intake/email/{name}/subject.txt", **context)
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text=render_template(f"intake/email/{name}/body.txt", **context),
        html=render_template(f"intake/email/{name}/body.html", **context),
    )


def message_id(job: DeliveryJob, sender: str) -> str:
    """The same Message-ID on every try of a job, so a repeated delivery can be recognised."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "bl-intake.invalid"
    return f"<intake.{job.id}.{job.submission.public_id[:12]}@{domain}>"


def compose(job: DeliveryJob, routing: Routing, sender: str) -> IntakeMessage:
    """The Flask-Mail message for an e-mail job.

    Who a reply reaches: the requester, for the office's and the consultant's e-mails; for the
    orderer's e-mails about pamphlets (receipt, shipped, cancelled), the pamphlet office, which
    sends them ("my pamphlets have not come" is theirs to answer); for a start-up request's
    receipt, the consultant who will call."""
    submission = job.submission
    if job.target not in TEMPLATE_FOR_TARGET:
        raise CannotCompose(f"Ingen e-mail for modtageren {job.target.value!r}")
    shared = about(submission, current_app.config)
    requester = (one_line(submission.full_name), submission.email)
    office = (routing.office.name, routing.office.email)
    # Only the e-mails that name the consultant need the routing to still know them.
    try:
        consultant = (
            routing.consultant_of(submission.consultant_key, submission.municipality_code)
            if job.target in (JobTarget.CONSULTANT, JobTarget.REQUESTER)
            else None
        )
    except NoConsultant as error:
        raise CannotCompose(str(error)) from None
    consultant_address = (consultant.name, consultant.email) if consultant else office
    to, reply_to = {
        JobTarget.PAMPHLET_OFFICE: (office, requester),
        JobTarget.CONSULTANT: (consultant_address, requester),
        JobTarget.REQUESTER: (requester, office if shared["is_order"] else consultant_address),
        JobTarget.SHIPPED: (requester, office),
        JobTarget.CANCELLED: (requester, office),
    }[job.target]
    requester_language = submission.language or "da"
    language = requester_language if job.target in TO_REQUESTER else "da"
    with force_locale(language):
        email = render_email(
            TEMPLATE_FOR_TARGET[job.target],
            **shared,
            submission=submission,
            consultant=consultant,
            office=routing.office,
            receipt_url=receipt_url(submission.public_id, language),
            topics=TOPICS,
            cooperation=EXISTING_COOPERATION,
            total_quantity=sum(line.quantity for line in submission.lines),
            salesforce_url=submission.salesforce_url,
            existing_contact=submission.salesforce_object == "Contact",
            requester_language=LANGUAGES.get(requester_language, requester_language),
        )
    message = IntakeMessage(
        subject=email.subject,
        sender=sender,
        recipients=[to],
        body=email.text,
        html=email.html,
        reply_to=reply_to,
        charset="utf-8",
        extra_headers={"X-Intake-Reference": submission.reference},
    )
    message.msgId = message_id(job, sender)
    return message
