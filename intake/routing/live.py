"""The routing in force in this process: the database's, read again when it has changed.

Every web process and worker keeps the routing it read, with its version. Before routing a
request or delivering a job it reads the version (one row by primary key, on a connection of
its own, so it never touches the caller's transaction) and reads the whole routing again only
when the version differs. An edit in the back office or an `intake routing import` raises the
version in its own commit, so the next submission in every process is routed by it, with no
restart and no timer. Within one web request the routing is read once (kept on `flask.g`).

Before `intake db upgrade` (or on a database whose routing tables are empty) the routing file
checked at start-up is used. When the database does not answer, the routing last read is kept:
the request fails or waits on the database anyway, and a form can still be shown.
"""

from __future__ import annotations

import logging
import threading

from flask import g, has_request_context
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from intake.routing import store
from intake.routing.checker import routing_from_data
from intake.routing.model import Routing, RoutingError

log = logging.getLogger(__name__)

DATABASE_SOURCE = "the database"


class LiveRouting:
    """The routing for one app: `current()`."""

    def __init__(self, from_file: Routing, engine: Engine) -> None:
        self.from_file = from_file
        self.engine = engine
        self._lock = threading.Lock()
        self._held: tuple[int, Routing] | None = None  # (version, routing) last read

    def current(self) -> Routing:
        if has_request_context():
            kept: Routing | None = g.get("intake_routing")
            if kept is None:
                kept = g.intake_routing = self._fresh()
            return kept
        return self._fresh()

    @property
    def version(self) -> int | None:
        """The version of the routing last read from the database (None: the file's)."""
        held = self._held
        return held[0] if held else None

    def _fresh(self) -> Routing:
        try:
            with self.engine.connect() as connection:
                version = store.read_version(connection)
                held = self._held
                if version is None:
                    self._held = None
                    return self.from_file
                if held is not None and held[0] == version:
                    return held[1]
                with self._lock:
                    read = store.read(connection)
                    if read is None:
                        return self.from_file
                    routing = routing_from_data(read[1], DATABASE_SOURCE)
                    self._held = (read[0], routing)
                    log.debug("Routing read from the database (version %d)", read[0])
                    return routing
        except SQLAlchemyError as error:
            held = self._held
            log.warning("Routing version not read (%s); keeping the one held", type(error).__name__)
            return held[1] if held else self.from_file
        except RoutingError as error:  # cannot happen: every write is checked first
            log.error("The routing in the database does not check out: %s", error)
            held = self._held
            return held[1] if held else self.from_file
