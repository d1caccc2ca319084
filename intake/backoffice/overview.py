"""The back office: overview (being written)."""
