"""Logs: where lines go (logging_setup.py), what they carry (log_context.py, request_log.py),
what they may say (redaction.py)."""
