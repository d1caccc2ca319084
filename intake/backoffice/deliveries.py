"""The back office: deliveries (being written)."""
