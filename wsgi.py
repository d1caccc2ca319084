"""The standalone BL Intake app, for gunicorn (`gunicorn wsgi:app`) and `flask --app wsgi`."""

from intake import create_app

app = create_app()
