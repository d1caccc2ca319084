"""The back office: orders (being written)."""
