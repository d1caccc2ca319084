"""BL Intake: public Danish forms routed to BL's consultants, pamphlet office and Salesforce.

Mount it into a host site with `Intake(app)` or `intake.init_app(app)`, or run it alone with
`create_app()` (see wsgi.py).

Importing this package loads nothing else: `Intake`, `create_app`, `current_intake` and the
`intake` instance are loaded on first use (PEP 562). `forms/` and `crm_sync/` use
`intake.models` and a few small helpers (`intake.text`, `intake.labels`); if this package
imported the extension, which wires in the views that use forms and crm_sync, importing
`forms` first would import itself half-made.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from intake.extension import Intake
    from intake.factory import create_app
    from intake.state import current_intake

__all__ = ["Intake", "create_app", "current_intake", "intake"]

_WHERE = {
    "Intake": "intake.extension",
    "create_app": "intake.factory",
    "current_intake": "intake.state",
}


def __getattr__(name: str) -> Any:
    if name == "intake":  # the instance a host app may call init_app on
        value: Any = import_module(_WHERE["Intake"]).Intake()
    elif name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module 'intake' has no attribute {name!r}")
    globals()[name] = value
    return value
