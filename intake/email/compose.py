"""What each e-mail says and to whom. `render_email` is the only place a message is built."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote

from flask import current_app, render_template
from flask_babel import force_locale

from intake.email.context import about
from intake.email.headers import IntakeMessage
from intake.email.links import receipt_url
from intake.forwarding import consultant_key_for, forward_of
from intake.labels import EXISTING_COOPERATION, LANGUAGES, ROUTING_STATUSES, TOPICS
from intake.models import DeliveryJob, JobTarget, Submission
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
    JobTarget.PREVIOUS_CONSULTANT: "previous_consultant",  # "sent on to a colleague"
}
# The requester's e-mails, which go out in the language they used on the forms; the others
# (the pamphlet office's, the consultant's) are Danish and say which language that was.
TO_REQUESTER = frozenset({JobTarget.REQUESTER, JobTarget.SHIPPED, JobTarget.CANCELLED})
_NAMES_CONSULTANT = (JobTarget.CONSULTANT, JobTarget.REQUESTER, JobTarget.PREVIOUS_CONSULTANT)


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


def wrong_kreds_mailto(routing: Routing, submission: Submission) -> str:
    """A mailto: link to the pamphlet office, who keep the routing with BL's IT, to report that a
    municipality is in the wrong kreds; subject and first line filled in."""
    subject = f"Forkert kreds: {submission.municipality_name} ({submission.reference})"
    body = (
        f"{submission.municipality_name} (kommunekode {submission.municipality_code}) hører "
        f"ikke til {submission.kreds}. kreds, men til kreds: "
    )
    return f"mailto:{routing.office.email}?subject={quote(subject)}&body={quote(body)}"


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
    sent_on = forward_of(job)
    # Only the e-mails that name the consultant need the routing to still know them.
    try:
        consultant = (
            routing.consultant_of(consultant_key_for(job), submission.municipality_code)
            if job.target in _NAMES_CONSULTANT
            else None
        )
        # A request sent on: the consultant it went to (named in the note to the first one).
        now_with = (
            routing.consultant_of(sent_on.to_consultant_key, submission.municipality_code)
            if sent_on is not None
            else None
        )
    except NoConsultant as error:
        raise CannotCompose(str(error)) from None
    consultant_address = (consultant.name, consultant.email) if consultant else office
    # The note to the first consultant: a reply reaches whoever sent the request on.
    sent_on_by = ("", sent_on.by) if sent_on is not None else office
    to, reply_to = {
        JobTarget.PAMPHLET_OFFICE: (office, requester),
        JobTarget.CONSULTANT: (consultant_address, requester),
        JobTarget.REQUESTER: (requester, office if shared["is_order"] else consultant_address),
        JobTarget.SHIPPED: (requester, office),
        JobTarget.CANCELLED: (requester, office),
        JobTarget.PREVIOUS_CONSULTANT: (consultant_address, sent_on_by),
    }[job.target]
    routed = routing.municipalities.get(submission.municipality_code)
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
            forward=sent_on,
            forwarded_to=now_with,
            previous=(routing.consultants.get(sent_on.from_consultant_key) if sent_on else None),
            # How sure the routing is of the municipality's kreds (the consultant's e-mail says
            # when it is not confirmed, and how to report a wrong kreds).
            routing_status=routed.status if routed is not None else "",
            routing_statuses=ROUTING_STATUSES,
            wrong_kreds_mailto=wrong_kreds_mailto(routing, submission),
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
