"""The Danish words for our codes, in one place: what people read where the database keeps a
code (a topic, a status, a job's kind). Forms, pages, e-mails, the CSV and Salesforce all take
their labels from here; dicts keep the order the forms show them in."""

from __future__ import annotations

from intake.models import JobKind, JobStatus, JobTarget, OrderStatus, SignInOutcome, StaffRole
from intake.translation import N_

# The start-up form's topics and its answers are shown in English too (on the public pages and
# in the requester's e-mails, translated there); staff, Salesforce and the CSV read them as here.

TOPICS: dict[str, str] = {
    "boligsocial_anvisning": N_("Boligsocial anvisning"),
    "forsyning_takster": N_("Forsyning og takster"),
    "styringsdialog": N_("Styringsdialog"),
    "strukturdebat": N_("Strukturdebat"),
    "andet": N_("Andet"),
}
EXISTING_COOPERATION: dict[str, str] = {
    "yes": N_("Ja, der er allerede et samarbejde"),
    "no": N_("Nej, ikke endnu"),
    "unknown": N_("Ved ikke"),
}

# The language a requester used (Submission.language), as staff read it: "Sprog: engelsk".
LANGUAGES: dict[str, str] = {"da": "dansk", "en": "engelsk"}

ORDER_STATUSES: dict[OrderStatus, str] = {
    OrderStatus.NEW: "Ny",
    OrderStatus.PACKED: "Pakket",
    OrderStatus.SHIPPED: "Afsendt",
    OrderStatus.CANCELLED: "Annulleret",
}

# Audit actions, as an order's history names them.
AUDIT_ACTIONS: dict[str, str] = {
    "order_packed": "Markeret som pakket",
    "order_shipped": "Markeret som afsendt",
    "order_cancelled": "Annulleret",
    "held_released": "Tilbageholdt henvendelse frigivet",
    "anonymised": "Personoplysninger slettet",
    "salesforce_lead_deleted": "Lead slettet i Salesforce",
    "salesforce_lead_kept": "Lead ikke slettet (konverteret)",
    "salesforce_no_lead": "Intet lead at slette i Salesforce",
    "cooperation_recorded": "Kommunesamarbejde registreret",
    "cooperation_removed": "Registreret kommunesamarbejde fjernet",
    "request_forwarded": "Sendt videre til en anden konsulent",
    "routing_municipality_changed": "Routing: kommune ændret",
    "routing_consultants_changed": "Routing: konsulenter og pjecekontor ændret",
    "routing_imported": "Routing importeret",
    "salesforce_owner_changed": "Ny ejer af leadet i Salesforce",
}

JOB_KINDS: dict[JobKind, str] = {
    JobKind.EMAIL: "E-mail",
    JobKind.SALESFORCE: "Salesforce",
    JobKind.SALESFORCE_ERASE: "Sletning i Salesforce",
    JobKind.SALESFORCE_OWNER: "Ny ejer i Salesforce",
}
JOB_TARGETS: dict[JobTarget, str] = {
    JobTarget.PAMPHLET_OFFICE: "Pjecekontoret",
    JobTarget.CONSULTANT: "Kredskonsulenten",
    JobTarget.REQUESTER: "Kvittering til afsenderen",
    JobTarget.LEAD: "Lead",
    JobTarget.SHIPPED: "Afsendt-besked til bestilleren",
    JobTarget.CANCELLED: "Annulleret-besked til bestilleren",
    JobTarget.PREVIOUS_CONSULTANT: "Besked til den forrige konsulent",
}
JOB_STATUSES: dict[JobStatus, str] = {
    JobStatus.PENDING: "Venter",
    JobStatus.RUNNING: "I gang",
    JobStatus.DONE: "Leveret",
    JobStatus.DEAD: "Opgivet",
    JobStatus.CANCELLED: "Annulleret",
}

# How sure the routing is of a municipality's kreds.
ROUTING_STATUSES: dict[str, str] = {
    "confirmed": "bekræftet",
    "inferred": "udledt",
    "likely": "sandsynlig",
    "guess": "gæt",
}

# Staff roles, as the back office names them.
STAFF_ROLES: dict[StaffRole, str] = {
    StaffRole.OFFICE: "pjeceekspedition",
    StaffRole.ADMIN: "administrator",
}

# How far a municipality has come towards a municipal cooperation (the overview's map), as it
# follows "31 af 98 kommuner …" (intake.backoffice.coverage.Stage).
COVERAGE_STAGES: dict[str, str] = {
    "cooperation": "har et kommunesamarbejde",
    "contact": "er i kontakt med en konsulent",
    "startup": "har bedt om opstartshjælp",
    "ordered": "har bestilt pjecer",
    "nothing": "har ikke henvendt sig endnu",
}

# Tries to sign in, as the account page names them.
SIGN_IN_OUTCOMES: dict[SignInOutcome, str] = {
    SignInOutcome.OK: "Logget ind",
    SignInOutcome.UNKNOWN_ACCOUNT: "Ukendt e-mail",
    SignInOutcome.WRONG_PASSWORD: "Forkert adgangskode",
    SignInOutcome.WRONG_CODE: "Forkert kode fra godkendelsesappen",
    SignInOutcome.THROTTLED: "Afvist efter for mange forkerte forsøg",
}

# Salesforce's own values, as the back office shows a request's follow-up (an org's own values
# are shown as Salesforce has them).
SALESFORCE_LEAD_STATUSES: dict[str, str] = {
    "Open - Not Contacted": "Åben – ikke kontaktet endnu",
    "Working - Contacted": "I gang – kontaktet",
    "Closed - Converted": "Lukket – konverteret",
    "Closed - Not Converted": "Lukket – ikke konverteret",
}
SALESFORCE_TASK_STATUSES: dict[str, str] = {
    "Not Started": "Ikke startet",
    "In Progress": "I gang",
    "Completed": "Udført",
    "Waiting on someone else": "Venter på en anden",
    "Deferred": "Udsat",
}
