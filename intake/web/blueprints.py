"""The names of BL Intake's own blueprints: what our security headers, body limit, CSRF check,
request log and error pages cover (a host app's own pages are left as the host made them)."""

from __future__ import annotations

PUBLIC = "intake_public"  # the forms, the receipt, the privacy notice
OPS = "intake_ops"  # /healthz, /metrics
ADMIN = "intake_admin"  # the back office

OWN_BLUEPRINTS = frozenset({PUBLIC, OPS, ADMIN})
