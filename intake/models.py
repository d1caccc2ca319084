"""The database tables: submissions with their order lines, the catalogue, and the outbox.

Table names carry an `intake_` prefix so the plugin can share a host site's database.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use intake.models.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _enum(cls: type[enum.StrEnum]) -> Enum:
    """Store an enum by its value, as a plain string column (no database enum type)."""
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class SubmissionKind(enum.StrEnum):
    PAMPHLET_ORDER = "pamphlet_order"
    STARTUP_HELP = "startup_help"

    @property
    def reference_prefix(self) -> str:
        return {"pamphlet_order": "PJ", "startup_help": "OH"}[self.value]


class OrderStatus(enum.StrEnum):
    NEW = "new"
    PACKED = "packed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


# An order still waiting for the pamphlet office: not yet shipped or cancelled.
WAITING_ORDER = (OrderStatus.NEW, OrderStatus.PACKED)


class JobKind(enum.StrEnum):
    EMAIL = "email"
    SALESFORCE = "salesforce"
    SALESFORCE_ERASE = "salesforce_erase"  # delete the submission's unconverted lead (GDPR)
    SALESFORCE_OWNER = "salesforce_owner"  # a request sent on: its lead gets the new owner


class JobTarget(enum.StrEnum):
    PAMPHLET_OFFICE = "pamphlet_office"
    CONSULTANT = "consultant"
    REQUESTER = "requester"
    LEAD = "lead"
    SHIPPED = "shipped"  # "your pamphlets are on their way", to the orderer
    CANCELLED = "cancelled"  # "your order is cancelled", with the reason, to the orderer
    PREVIOUS_CONSULTANT = "previous_consultant"  # a request sent on: told the first consultant


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"  # its submission was anonymised first (intake.privacy.anonymise)


# The delivery backlog, as /healthz, /metrics and the back office count it: jobs not yet done.
BACKLOG = (JobStatus.PENDING, JobStatus.RUNNING)


class Pamphlet(Base):
    """A pamphlet in the catalogue; `slug` names its form field `quantity-<slug>`."""

    __tablename__ = "intake_pamphlets"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    max_per_order: Mapped[int] = mapped_column(Integer, default=50)
    stock: Mapped[int | None] = mapped_column(Integer, default=None)  # None: not counted
    hidden: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Submission(Base):
    """One request from the public: a pamphlet order or a start-up help request.

    The routing (municipality name, kreds, consultant) is copied in at submit time, so a
    later change of the routing does not rewrite history.
    """

    __tablename__ = "intake_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[SubmissionKind] = mapped_column(_enum(SubmissionKind))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    organisation: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(40), default="")
    last_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str] = mapped_column(String(20), default="")
    role: Mapped[str] = mapped_column(String(128), default="")
    cvr: Mapped[str] = mapped_column(String(8), default="")
    # Set by older versions, whose forms asked for consent; requests are now handled because
    # the person makes them (GDPR art. 6(1)(b)/(f)), and new submissions leave it empty.
    consent_at: Mapped[datetime | None] = mapped_column(default=None)

    municipality_code: Mapped[str] = mapped_column(String(3))
    municipality_name: Mapped[str] = mapped_column(String(64))
    kreds: Mapped[int]
    consultant_key: Mapped[str] = mapped_column(String(32))

    # Pamphlet orders
    street: Mapped[str] = mapped_column(String(255), default="")
    postcode: Mapped[str] = mapped_column(String(4), default="")
    city: Mapped[str] = mapped_column(String(64), default="")
    attention: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    order_status: Mapped[OrderStatus | None] = mapped_column(_enum(OrderStatus), default=None)
    packed_at: Mapped[datetime | None] = mapped_column(default=None)
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    status_note: Mapped[str] = mapped_column(Text, default="")  # a note when shipped, or the reason
    parcel_number: Mapped[str] = mapped_column(String(40), default="")  # linked to its tracking

    # Start-up help
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    existing_cooperation: Mapped[str] = mapped_column(String(10), default="")
    participants: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")

    # The Salesforce record that follows the submission up: its Lead, or an existing Contact.
    salesforce_id: Mapped[str | None] = mapped_column(String(18), default=None)
    salesforce_object: Mapped[str | None] = mapped_column(String(20), default=None)
    salesforce_url: Mapped[str | None] = mapped_column(String(255), default=None)

    # The follow-up in Salesforce, as the last pull read it (intake.delivery.follow_up): the
    # lead's Status and whether it was converted, its follow-up task's Status, and the lead's
    # LastModifiedDate that reading is as of. None: not read yet.
    crm_lead_status: Mapped[str | None] = mapped_column(String(40), default=None)
    crm_converted: Mapped[bool] = mapped_column(default=False)
    crm_task_status: Mapped[str | None] = mapped_column(String(40), default=None)
    crm_modified_at: Mapped[datetime | None] = mapped_column(default=None)

    # The language the requester used on the forms ("da" or "en", intake.i18n): their receipt,
    # shipped and cancelled e-mails go out in it; staff, Salesforce and the back office read
    # Danish and are told it.
    language: Mapped[str] = mapped_column(String(2), default="da", server_default="da")

    # Set when the personal fields were blanked (intake.privacy.anonymise): by `intake purge`
    # after INTAKE_RETENTION_DAYS, or by `intake person erase`.
    anonymised_at: Mapped[datetime | None] = mapped_column(default=None)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    jobs: Mapped[list[DeliveryJob]] = relationship(
        back_populates="submission", order_by="DeliveryJob.id"
    )
    forwards: Mapped[list[Forward]] = relationship(order_by="Forward.number")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class HeldPost(Base):
    """A form post held as likely spam: it filled the hidden field people never see (a bot, or
    a password manager filling every field). It is not a submission: no reference, no
    deliveries, not counted. Staff release it at /admin/held/ (it then becomes a submission like
    any other, delivered with a receipt) or delete it; `intake purge` deletes it after
    INTAKE_HELD_DAYS. `form_data` holds the form's fields as checked and cleaned (NFC, no
    invisible characters), ready to be checked again on release."""

    __tablename__ = "intake_held_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[SubmissionKind] = mapped_column(_enum(SubmissionKind))
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    form_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    trap: Mapped[str] = mapped_column(String(255), default="")  # what the hidden field held


class OrderLine(Base):
    __tablename__ = "intake_order_lines"
    __table_args__ = (UniqueConstraint("submission_id", "pamphlet_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("intake_submissions.id"))
    pamphlet_id: Mapped[int] = mapped_column(ForeignKey("intake_pamphlets.id"))
    title: Mapped[str] = mapped_column(String(255))  # as it read when ordered
    quantity: Mapped[int]

    submission: Mapped[Submission] = relationship(back_populates="lines")
    pamphlet: Mapped[Pamphlet] = relationship()


class DeliveryJob(Base):
    """One outbound delivery (the transactional outbox), written with its submission."""

    __tablename__ = "intake_delivery_jobs"
    __table_args__ = (
        # One job per submission, kind, target and sending-on (0: the submission's own).
        UniqueConstraint(
            "submission_id",
            "kind",
            "target",
            "forward_number",
            name="uq_intake_delivery_jobs_submission_forward",
        ),
        # The worker's claim: due jobs of one kind, oldest first.
        Index("ix_intake_delivery_jobs_due", "kind", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("intake_submissions.id"))
    kind: Mapped[JobKind] = mapped_column(_enum(JobKind))
    target: Mapped[JobTarget] = mapped_column(_enum(JobTarget))
    # 0: a job of the submission itself; n: of its n-th sending-on to another consultant
    # (intake.forwarding, the Forward with that number).
    forward_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus), default=JobStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)  # the claim's lease
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)  # worker id
    last_error: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # What came of it, for staff, when the status alone does not say (an erasure's result,
    # why a job was cancelled).
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # When a try of it first failed (since when its receiver has been behind); kept.
    first_failed_at: Mapped[datetime | None] = mapped_column(default=None)

    submission: Mapped[Submission] = relationship(back_populates="jobs")


class StaffRole(enum.StrEnum):
    OFFICE = "office"  # the pamphlet office: orders, catalogue, overview
    ADMIN = "admin"  # everything, deliveries too


class StaffUser(Base):
    """Someone who signs in under /admin/. Passwords are stored as Werkzeug scrypt hashes."""

    __tablename__ = "intake_staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The second factor (intake.staff.totp): the authenticator's RFC 6238 secret (base32), and
    # the last time step a code was accepted for, so that no code is taken twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(default=None)


class StaffSession(Base):
    """A staff member's session on the server (intake.staff.sessions): the browser's cookie
    holds a random token, this row its SHA-256, so that ending the row ends the session.

    `signed_in_at` is None while the password is accepted but the second factor is awaited
    (or is being enrolled, with the new secret in `enrol_secret`)."""

    __tablename__ = "intake_staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("intake_staff_users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_in_at: Mapped[datetime | None] = mapped_column(default=None)
    second_factor: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    enrol_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[StaffUser] = relationship()


class SignInOutcome(enum.StrEnum):
    OK = "ok"
    UNKNOWN_ACCOUNT = "unknown_account"  # no active account with that e-mail
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - an outcome, not a password
    WRONG_CODE = "wrong_code"  # the password was right, the second factor was not
    THROTTLED = "throttled"  # too many failures for this account from this address


class SignInAttempt(Base):
    """One try to sign in (intake.staff.attempts): what throttles an account from one address,
    and what its owner sees of failed tries."""

    __tablename__ = "intake_sign_in_attempts"
    __table_args__ = (Index("ix_intake_sign_in_attempts_email_address", "email", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    email: Mapped[str] = mapped_column(String(254))  # as typed, normalised; any text
    address: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[SignInOutcome] = mapped_column(_enum(SignInOutcome))


class RecoveryCode(Base):
    """A one-time code that stands in for the authenticator (its SHA-256; used once)."""

    __tablename__ = "intake_staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("intake_staff_users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEvent(Base):
    """A staff action (or a command run by BL's IT): who, when, what."""

    __tablename__ = "intake_audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(254))  # a staff e-mail, or "cli"
    action: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("intake_submissions.id"), default=None, index=True
    )
    detail: Mapped[str] = mapped_column(Text, default="")


class ReferenceCounter(Base):
    """The last number handed out per prefix and year (PJ-2026-00042)."""

    __tablename__ = "intake_reference_counters"

    prefix: Mapped[str] = mapped_column(String(4), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class SalesforceUsage(Base):
    """One row (id 1): the Salesforce API requests the workers have made, and the org's daily
    API usage as Salesforce last reported it (Sforce-Limit-Info). Written by
    intake.delivery.salesforce_usage, read by /metrics, so every web process shows what every
    worker did."""

    __tablename__ = "intake_salesforce_usage"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    api_requests: Mapped[int] = mapped_column(Integer, default=0)
    daily_used: Mapped[int | None] = mapped_column(Integer, default=None)
    daily_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    observed_at: Mapped[datetime | None] = mapped_column(default=None)


class SalesforceContact(Base):
    """The contact index: each Salesforce Contact with an e-mail address, by a keyed hash of
    that address (never the address itself), so that a submission from an existing contact
    is matched without a look-up request to Salesforce. Kept by intake.delivery.contact_index,
    refreshed from what changed in Salesforce since the last time."""

    __tablename__ = "intake_salesforce_contacts"

    contact_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    email_key: Mapped[str] = mapped_column(String(64), index=True)


class SalesforceSync(Base):
    """How far a copy of something in Salesforce is up to date, one row per copy (`name`:
    "Contact" for the contact index): the SystemModstamp up to which Salesforce's changes are
    in, when it was last refreshed, and which key its rows were made with."""

    __tablename__ = "intake_salesforce_sync"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    synced_through: Mapped[datetime | None] = mapped_column(default=None)
    refreshed_at: Mapped[datetime | None] = mapped_column(default=None)
    key_id: Mapped[str] = mapped_column(String(16), default="")
    # A lease, for a copy that one worker at a time brings up to date ("LeadFollowUp"): who
    # holds it, until when (a worker that died lets go when it runs out).
    leased_by: Mapped[str | None] = mapped_column(String(64), default=None)
    leased_until: Mapped[datetime | None] = mapped_column(default=None)


class MunicipalCooperation(Base):
    """A municipal cooperation that staff recorded by hand for a municipality (on
    /admin/municipalities/<code>): since when, a note, who recorded it. One per municipality;
    recording again replaces it, and every change is in the audit log."""

    __tablename__ = "intake_municipal_cooperations"

    municipality_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    established_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Forward(Base):
    """A request sent on by staff to another consultant (intake.forwarding): the n-th of its
    submission, from whom to whom, by whom and why. Its jobs carry its number."""

    __tablename__ = "intake_forwards"
    __table_args__ = (UniqueConstraint("submission_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("intake_submissions.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    from_consultant_key: Mapped[str] = mapped_column(String(32))
    to_consultant_key: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(254))  # the staff member's e-mail
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


# The routing (municipality → kreds → consultant) as BL's admins keep it: seeded from the
# shipped TOML by migration 0011, edited in the back office, moved in and out with
# `intake routing import/export`. intake.routing.store reads and writes it.


class RoutingOffice(Base):
    """One row (id 1): the pamphlet office."""

    __tablename__ = "intake_routing_office"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(80), default="")
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(20), default="")


class RoutingConsultant(Base):
    """A district consultant; `key` is the short id requests keep (`consultant_key`)."""

    __tablename__ = "intake_routing_consultants"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the order they are listed in
    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(20), default="")
    salesforce_user_id: Mapped[str | None] = mapped_column(String(18), default=None)


class RoutingKreds(Base):
    """A kreds and its one consultant."""

    __tablename__ = "intake_routing_kredse"

    kreds: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    consultant_key: Mapped[str] = mapped_column(
        ForeignKey("intake_routing_consultants.key"), index=True
    )


class RoutingMunicipality(Base):
    """A municipality's kreds, and how sure that is (`status`, see intake.labels)."""

    __tablename__ = "intake_routing_municipalities"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kreds: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")


class RoutingVersion(Base):
    """One row (id 1): raised by every change of the routing, in the change's own commit.
    Each process compares it with the routing it holds and reads the routing again when it
    differs (intake.routing.live), so a change applies to the next submission everywhere."""

    __tablename__ = "intake_routing_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
