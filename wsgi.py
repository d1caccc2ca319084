"""The standalone BL Intake app, for gunicorn (`gunicorn wsgi:app`) and `flask --app wsgi`."""

from intake import create_app
from intake.routing.model import RoutingError

try:
    app = create_app()
except (RoutingError, RuntimeError) as error:
    # A bad routing file or a missing setting: say which, without a traceback.
    raise SystemExit(f"BL Intake cannot start: {error}") from None
