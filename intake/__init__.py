"""BL Intake: public Danish forms routed to BL's consultants, pamphlet office and Salesforce.

Mount it into a host site with `Intake(app)` or `intake.init_app(app)`, or run it alone
with `create_app()` (see wsgi.py).
"""

from intake.extension import Intake, current_intake

intake = Intake()

from intake.factory import create_app  # noqa: E402  (needs `intake` above)

__all__ = ["Intake", "create_app", "current_intake", "intake"]
