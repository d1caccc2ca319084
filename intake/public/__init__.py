"""The public pages: the two forms, the receipt and the privacy notice (pages.py)."""
