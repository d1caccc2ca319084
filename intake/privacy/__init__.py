"""Personal data: anonymising (anonymise.py), the export (export.py), the privacy notice
(notice.py) and their commands (cli.py)."""
