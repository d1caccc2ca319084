"""What BL Intake keeps per app, and `current_intake()` to reach it.

Like Flask's own `globals.py`, this module imports nothing of the views, the CLI or the worker,
so every module may import it without making a loop; `intake.extension` fills it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app
from flask_limiter import Limiter

from crm_sync.config import SalesforceConfig
from intake.db import Database
from intake.routing.live import LiveRouting
from intake.routing.model import Routing

if TYPE_CHECKING:  # the channels use current_intake(); for their type only
    from intake.delivery.channel import Channel


@dataclass
class IntakeState:
    """Everything BL Intake keeps per app, in `app.extensions["intake"]`."""

    live_routing: LiveRouting  # the database's routing, read again when it changes
    database: Database
    salesforce: SalesforceConfig | None  # None: no credentials, CRM jobs wait
    limiter: Limiter  # throttles sign-in attempts (back office) and form posts (public pages)
    channels: Sequence[Channel]  # what the delivery worker delivers with, in this order

    @property
    def routing(self) -> Routing:
        """The routing in force now (intake.routing.live)."""
        return self.live_routing.current()


def current_intake() -> IntakeState:
    """The state of the app in the current app context."""
    state: IntakeState = current_app.extensions["intake"]
    return state
