"""What BL's monitoring reads: /healthz and /metrics (endpoints.py), the metrics read from the
database at each scrape (metrics.py), who may read them (allowlist.py)."""
