"""The baseline for bench/intake.py: a bare Flask app with one tiny endpoint, `GET /bare`.

bench/intake.py serves it with gunicorn under the same settings as BL Intake, so the ratio
between the two shows what the app itself costs on top of Flask, gunicorn and HTTP.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/bare")
def bare() -> tuple[str, int, dict[str, str]]:
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
