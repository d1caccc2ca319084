"""Changing the routing in the database: an edit in the back office, or an import.

Every change is made to the routing as it is in the database, checked whole by the routing
file's checker (intake.routing.checker), written with its audit event (who, and each entry's
before → after) and the raised version in one commit. Two changes at once never overwrite each
other: one made from a version that is no longer the newest is made again from the newest.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from intake import audit
from intake.routing import store
from intake.routing.changes import changes
from intake.routing.checker import routing_from_data
from intake.routing.store import RoutingData

EDIT_SOURCE = "the edited routing"
TRIES = 3  # a change made again from the newest version; more conflicts than that: give up

EMPTY: RoutingData = {"pamphlet_office": {}, "consultants": {}, "municipalities": {}}


def current_data(session: Session) -> RoutingData | None:
    """The routing in the database, in the routing file's shape (None: there is none)."""
    read = store.read(session.connection())
    return read[1] if read else None


def change_routing(
    session: Session, actor: str, action: str, edit: Callable[[RoutingData], None]
) -> list[str]:
    """Apply `edit` to (a copy of) the routing in the database and commit it with an audit
    event; the changes, one line each (none: nothing to change, nothing written).

    Raises RoutingError, with nothing written, when the edited routing does not check out,
    and store.Conflict when it kept changing under us."""
    for _ in range(TRIES):
        read = store.read(session.connection())
        version, before = read if read else (None, EMPTY)
        after = store.edited(before)
        edit(after)
        routing = routing_from_data(after, EDIT_SOURCE)  # RoutingError: nothing written
        lines = changes(before, store.data_of(routing))
        if not lines:
            session.rollback()
            return []
        try:
            store.write(session.connection(), routing, read_at=version)
        except store.Conflict:
            session.rollback()
            continue
        audit.record(session, actor, action, detail="\n".join(lines))
        session.commit()
        return lines
    raise store.Conflict()
