"""Routing: municipality → kreds → consultant (model.py), the routing file (checker.py), its
commands (cli.py)."""
