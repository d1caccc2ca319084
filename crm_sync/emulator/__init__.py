"""A local Salesforce emulator (see server.py)."""

from crm_sync.emulator.server import DEFAULT_OWNER_ID, ORG_ID, RequestLog, SalesforceEmulator

__all__ = ["DEFAULT_OWNER_ID", "ORG_ID", "RequestLog", "SalesforceEmulator"]
