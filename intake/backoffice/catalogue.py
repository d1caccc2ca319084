"""The back office: catalogue (being written)."""
