"""The Danish words for our codes, in one place: what people read where the database keeps a
code (a topic, a status, a job's kind). Forms, pages, e-mails, the CSV and Salesforce all take
their labels from here; dicts keep the order the forms show them in."""

from __future__ import annotations

from intake.models import JobKind, JobStatus, JobTarget, OrderStatus, SignInOutcome, StaffRole

# The start-up form's topics and its "do you already have a cooperation?" answers.
TOPICS: dict[str, str] = {
    "boligsocial_anvisning": "Boligsocial anvisning",
    "forsyning_takster": "Forsyning og takster",
    "styringsdialog": "Styringsdialog",
    "strukturdebat": "Strukturdebat",
    "andet": "Andet",
}
EXISTING_COOPERATION: dict[str, str] = {
    "yes": "Ja, der er allerede et samarbejde",
    "no": "Nej, ikke endnu",
    "unknown": "Ved ikke",
}

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
