"""The e-mails: what each says and to whom (compose.py), headers that keep æ, ø, å (headers.py),
absolute links (links.py)."""
