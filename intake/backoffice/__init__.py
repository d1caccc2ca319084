"""The back office under /admin/: the blueprint (blueprint.py), who may do what (access.py),
one module per page (*_pages.py), and what the pages need (order_search, order_csv, coverage,
charts)."""
