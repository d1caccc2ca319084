"""Municipal cooperations recorded by hand: staff say that a municipality has one (since when,
with a note) on its page in the back office, or take that back. Each change is in the audit
log with who, when, and what it was before; the overview counts a recorded cooperation as
established (intake.backoffice.coverage)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import audit
from intake.formats import day
from intake.models import AuditEvent, MunicipalCooperation, utcnow
from intake.routing.model import Municipality

RECORDED = "cooperation_recorded"
REMOVED = "cooperation_removed"


def _subject(municipality: Municipality) -> str:
    """How the audit log names the municipality; `history` finds its events by it."""
    return f"Kommune {municipality.code} ({municipality.name})"


def _describe(found: MunicipalCooperation) -> str:
    note = f", note: {found.note}" if found.note else ""
    return f"etableret {day(found.established_on)}{note}"


def recorded(session: Session, code: str) -> MunicipalCooperation | None:
    return session.get(MunicipalCooperation, code)


def record(
    session: Session, municipality: Municipality, established_on: date, note: str, actor: str
) -> MunicipalCooperation:
    """Record (or correct) the municipality's cooperation, audit-logged; the caller commits."""
    found = recorded(session, municipality.code)
    before = _describe(found) if found is not None else "intet registreret"
    if found is None:
        found = MunicipalCooperation(municipality_code=municipality.code)
        session.add(found)
    found.established_on = established_on
    found.note = note
    found.recorded_by = actor
    found.recorded_at = utcnow()
    audit.record(
        session,
        actor,
        RECORDED,
        detail=f"{_subject(municipality)}: {_describe(found)} (før: {before})",
    )
    return found


def remove(session: Session, municipality: Municipality, actor: str) -> bool:
    """Take the record back, audit-logged; False if there was none. The caller commits."""
    found = recorded(session, municipality.code)
    if found is None:
        return False
    audit.record(
        session, actor, REMOVED, detail=f"{_subject(municipality)}: var {_describe(found)}"
    )
    session.delete(found)
    return True


def history(session: Session, municipality: Municipality) -> list[AuditEvent]:
    """The municipality's recorded-cooperation events, newest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action.in_((RECORDED, REMOVED)),
                AuditEvent.detail.startswith(_subject(municipality) + ":", autoescape=True),
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        )
    )
