"""Logs, request ids and metrics: where lines go (logging_setup.py), what they carry
(log_context.py, request_log.py), what they may say (redaction.py); /healthz and /metrics
(endpoints.py, metrics.py, allowlist.py)."""
