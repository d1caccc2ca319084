"""What a log line is about: the request being handled, and the submission(s) concerned.

Two context variables hold them, so any code (a view, the worker, a channel) logs with them
without passing them along, in the web process and in the worker alike. `ContextFilter`
copies them onto every record it sees as `request_id` and `reference` (`references`, a list,
when a line is about several submissions, e.g. a Salesforce batch). It only adds attributes,
so it is safe on a host app's loggers and handlers; where the lines go is logging_setup.py's job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("intake_request_id", default=None)
REFERENCES: ContextVar[tuple[str, ...]] = ContextVar("intake_references", default=())


@contextmanager
def about(*references: str) -> Iterator[None]:
    """Log the lines inside the block as being about these submissions (by reference)."""
    token = REFERENCES.set(tuple(references))
    try:
        yield
    finally:
        REFERENCES.reset(token)


class ContextFilter(logging.Filter):
    """Adds `request_id` and `reference`/`references` to a record; never drops one.

    A value the caller already put on the record (`extra={"reference": …}`) is kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        references = REFERENCES.get()
        if references and not hasattr(record, "reference") and not hasattr(record, "references"):
            if len(references) == 1:
                record.reference = references[0]
            else:
                record.references = list(references)
        return True


CONTEXT_FILTER = ContextFilter()


def get_logger(name: str) -> logging.Logger:
    """A module's logger whose records carry the context wherever they are handled
    (a logger's own filters see only the records logged on it, hence one per module)."""
    logger = logging.getLogger(name)
    logger.addFilter(CONTEXT_FILTER)  # addFilter ignores a filter it already has
    return logger
