"""Staff accounts (accounts.py) and their commands (cli.py)."""
