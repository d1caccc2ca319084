"""Where log lines go and how they look, for the processes BL Intake owns: the standalone
app (intake.factory) and the CLI worker.

INTAKE_LOG_JSON=1: one JSON object per line (python-json-logger) with time (UTC, ISO 8601),
level, logger, message, and request_id / reference / references when the line has them
(log_context.py), plus a request line's method, path, status and duration_ms.
Otherwise the familiar text line, with the same ids in brackets.

A host app that mounts BL Intake keeps its own logging: this module is not called there.
BL Intake's records still carry `request_id` and `reference` for the host's formatter; a host
that wants them on all of its lines adds `intake.observability.log_context.ContextFilter()`
to its handlers.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

from flask import Flask
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from intake.observability.log_context import CONTEXT_FILTER

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"


# Characters that end a line for some reader of the log (`str.splitlines`, a terminal, a log
# viewer), or steer a terminal: C0 and C1 controls, DEL, and Unicode's line separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """`\\r`, `\\n`, `\\x1b`, … for the control characters in `text`: a request's path (URL-
    decoded, so `%0d%0a` is a line break) cannot start a forged line of its own."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


class TextFormatter(logging.Formatter):
    """The human-readable line:
    `… INFO intake.delivery.worker [reference=PJ-2026-00001]: Delivered …`.

    One record, one line: control characters in the message and the fields are escaped (a
    traceback, added after it, keeps its lines).
    """

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        tags = [
            f"{name}={value}"
            for name in ("request_id", "reference", "references")
            if (value := getattr(record, name, None))
        ]
        # Not stored on the record: another handler's formatter (JSON) would show it.
        context = f" [{' '.join(tags)}]" if tags else ""
        return escape_controls(TEXT_FORMAT % {**record.__dict__, "context": context})


def json_formatter() -> JsonFormatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,  # æ, ø and å as themselves
    )


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is when a line is logged (as logging's last resort
    does), so a replaced stderr (a test's capture, a CLI runner) gets the lines."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


OWN_LOGGERS = ("intake", "crm_sync")


def configure_logging(app: Flask) -> None:
    """Send log lines to stderr, as JSON lines or text: BL Intake's own (and the app's) from
    INFO up, other libraries' from the root logger's level (WARNING unless set otherwise).

    Idempotent: a second call (another app in the same process, the worker command after the
    app factory) replaces the handler it installed before.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.addFilter(CONTEXT_FILTER)  # every line of a request, whichever logger wrote it
    handler.setFormatter(json_formatter() if app.config["INTAKE_LOG_JSON"] else TextFormatter())
    root.addHandler(handler)
    for name in (*OWN_LOGGERS, app.logger.name):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    # Flask's own stderr handler would write the app's lines a second time.
    app.logger.removeHandler(default_handler)
