"""The routing in the database: reading it, replacing it, and its version.

The routing's one shape in and out of the database is the routing file's own (`RoutingData`:
what `tomllib` reads from a routing TOML), so that every way in — the shipped file seeding a
new database, `intake routing import`, an edit in the back office — is checked by the same
checker (intake.routing.checker) before it is written, and `intake routing export` writes
the same file back. Every write raises the version (`intake_routing_version`) in the same
commit; intake.routing.live reads the routing again when it sees a new version.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Connection, delete, insert, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError

from intake.models import (
    Base,
    RoutingConsultant,
    RoutingKreds,
    RoutingMunicipality,
    RoutingOffice,
    RoutingVersion,
    utcnow,
)
from intake.routing.model import Routing

RoutingData = dict[
    str, Any
]  # {"pamphlet_office": {...}, "consultants": {...}, "municipalities": {...}}

_OFFICE = Base.metadata.tables[RoutingOffice.__tablename__]
_CONSULTANTS = Base.metadata.tables[RoutingConsultant.__tablename__]
_KREDSE = Base.metadata.tables[RoutingKreds.__tablename__]
_MUNICIPALITIES = Base.metadata.tables[RoutingMunicipality.__tablename__]
_VERSION = Base.metadata.tables[RoutingVersion.__tablename__]


def data_of(routing: Routing) -> RoutingData:
    """A checked routing in the routing file's shape."""
    office = routing.office
    return {
        "pamphlet_office": {"name": office.name, "email": office.email, "phone": office.phone},
        "consultants": {
            c.key: {
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "kredse": list(c.kredse),
                "salesforce_user_id": c.salesforce_user_id or "",
            }
            for c in routing.consultants.values()
        },
        "municipalities": {
            m.code: {"name": m.name, "kreds": m.kreds, "status": m.status, "note": m.note}
            for m in sorted(routing.municipalities.values(), key=lambda m: m.code)
        },
    }


def edited(data: RoutingData) -> RoutingData:
    """A copy to change and check before it is written."""
    return copy.deepcopy(data)


def read_version(connection: Connection) -> int | None:
    """The routing's version; None when the database holds no routing (not migrated yet, or
    emptied). Raises SQLAlchemyError for a database that does not answer."""
    try:
        return connection.scalar(select(_VERSION.c.version).where(_VERSION.c.id == 1))
    except SQLAlchemyError:
        if _has_routing_tables(connection):
            raise
        return None


def _has_routing_tables(connection: Connection) -> bool:
    connection.rollback()  # PostgreSQL: the failed statement ended the transaction
    return inspect(connection).has_table(_VERSION.name)


def read(connection: Connection) -> tuple[int, RoutingData] | None:
    """The routing and its version, as one transaction saw them; None when there is none."""
    version = read_version(connection)
    if version is None:
        return None
    office = connection.execute(select(_OFFICE).where(_OFFICE.c.id == 1)).first()
    if office is None:
        return None
    kredse: dict[str, list[int]] = {}
    for row in connection.execute(select(_KREDSE).order_by(_KREDSE.c.kreds)):
        kredse.setdefault(row.consultant_key, []).append(row.kreds)
    consultants = {
        row.key: {
            "name": row.name,
            "email": row.email,
            "phone": row.phone,
            "kredse": kredse.get(row.key, []),
            "salesforce_user_id": row.salesforce_user_id or "",
        }
        for row in connection.execute(
            select(_CONSULTANTS).order_by(_CONSULTANTS.c.position, _CONSULTANTS.c.key)
        )
    }
    municipalities = {
        row.code: {"name": row.name, "kreds": row.kreds, "status": row.status, "note": row.note}
        for row in connection.execute(select(_MUNICIPALITIES).order_by(_MUNICIPALITIES.c.code))
    }
    return version, {
        "pamphlet_office": {"name": office.name, "email": office.email, "phone": office.phone},
        "consultants": consultants,
        "municipalities": municipalities,
    }


class Conflict(Exception):
    """The routing changed since it was read (another admin, another window): nothing was
    written; read it again and redo the change."""


def write(connection: Connection, routing: Routing, read_at: int | None = None) -> int:
    """Replace the routing in the database with this checked one and raise its version, in
    the caller's transaction; the new version. With `read_at` (the version the change was made
    from), Conflict if it is no longer the version: two changes never overwrite each other."""
    if read_at is None:
        version = bump_version(connection)
    else:
        raised = connection.execute(
            update(_VERSION)
            .where(_VERSION.c.id == 1, _VERSION.c.version == read_at)
            .values(version=_VERSION.c.version + 1, changed_at=utcnow())
            .returning(_VERSION.c.version)
        ).scalar()
        if raised is None:
            raise Conflict()
        version = int(raised)
    connection.execute(delete(_MUNICIPALITIES))
    connection.execute(delete(_KREDSE))
    connection.execute(delete(_CONSULTANTS))
    connection.execute(delete(_OFFICE))
    office = routing.office
    connection.execute(
        insert(_OFFICE),
        [{"id": 1, "name": office.name, "email": office.email, "phone": office.phone}],
    )
    consultants = list(routing.consultants.values())
    connection.execute(
        insert(_CONSULTANTS),
        [
            {
                "key": c.key,
                "position": position,
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "salesforce_user_id": c.salesforce_user_id,
            }
            for position, c in enumerate(consultants, 1)
        ],
    )
    kredse = [{"kreds": k, "consultant_key": c.key} for c in consultants for k in c.kredse]
    if kredse:
        connection.execute(insert(_KREDSE), kredse)
    connection.execute(
        insert(_MUNICIPALITIES),
        [
            {"code": m.code, "name": m.name, "kreds": m.kreds, "status": m.status, "note": m.note}
            for m in routing.municipalities.values()
        ],
    )
    return int(version)


def bump_version(connection: Connection) -> int:
    """Raise the version by one (the first: 1), in the caller's transaction."""
    changed = connection.execute(
        update(_VERSION)
        .where(_VERSION.c.id == 1)
        .values(version=_VERSION.c.version + 1, changed_at=utcnow())
        .returning(_VERSION.c.version)
    ).scalar()
    if changed is None:
        connection.execute(insert(_VERSION), [{"id": 1, "version": 1, "changed_at": utcnow()}])
        return 1
    return int(changed)
