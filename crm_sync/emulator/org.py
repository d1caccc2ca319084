"""What an org's admin has set up, and what an emulator run turns on: the things that make a
real org answer differently from an empty Developer Edition.

* ``duplicate_rule``: the Standard Lead Duplicate Rule (duplicates.py), off (``None``), with
  its default action on create, *Allow* with an alert (``"alert"``), or *Block* (``"block"``);
* ``validation_rules``: Lead (or other) validation rules, each a field that must be filled or
  must match a pattern, answered ``FIELD_CUSTOM_VALIDATION_EXCEPTION`` with the admin's message;
* ``maintenance``: read-only mode during planned maintenance: reads and logins work, every
  write answers ``INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE``;
* ``jwt_audiences``: the ``aud`` a JWT bearer assertion must name: production orgs take
  ``https://login.salesforce.com``, sandboxes ``https://test.salesforce.com`` (``sandbox``),
  an Experience Cloud site its own URL (add it here).

``OrgSettings.copy`` keeps the settings an emulator started with, so ``reset`` returns to them.
"""

from __future__ import annotations

import copy
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LOGIN_AUDIENCE",
    "SANDBOX_AUDIENCE",
    "DuplicateRuleAction",
    "OrgSettings",
    "ValidationRule",
]

LOGIN_AUDIENCE = "https://login.salesforce.com"
SANDBOX_AUDIENCE = "https://test.salesforce.com"


class DuplicateRuleAction(enum.StrEnum):
    """A duplicate rule's action on create (DuplicateRule metadata, ``actionOnInsert``)."""

    ALERT = "alert"  # Allow, with an alert: the API refuses unless the client says allowSave
    BLOCK = "block"  # Block: refused whatever the client says


@dataclass(frozen=True)
class ValidationRule:
    """A validation rule: ``field`` must be filled (``pattern`` None) or match ``pattern``.

    Salesforce's rules are formulas that are true for a bad record; these two shapes are the
    ones an admin writes most (``ISBLANK(Phone)``, ``NOT(REGEX(PostalCode, "\\d{4}"))``).
    """

    sobject: str
    name: str
    field: str
    message: str
    pattern: str | None = None

    def broken_by(self, record: Mapping[str, Any]) -> bool:
        value = record.get(self.field)
        if value in (None, ""):
            return True
        return self.pattern is not None and re.fullmatch(self.pattern, str(value)) is None


@dataclass
class OrgSettings:
    duplicate_rule: DuplicateRuleAction | None = None
    maintenance: bool = False
    validation_rules: list[ValidationRule] = field(default_factory=list)
    sandbox: bool = False
    experience_site_urls: tuple[str, ...] = ()

    @property
    def jwt_audiences(self) -> tuple[str, ...]:
        """The ``aud`` values the token endpoint accepts in a JWT bearer assertion."""
        return (SANDBOX_AUDIENCE if self.sandbox else LOGIN_AUDIENCE, *self.experience_site_urls)

    def rules_for(self, sobject: str) -> list[ValidationRule]:
        return [r for r in self.validation_rules if r.sobject.casefold() == sobject.casefold()]

    def copy(self) -> OrgSettings:
        return copy.deepcopy(self)

    def restore(self, saved: OrgSettings) -> None:
        """Take ``saved``'s values in place (the API and the store hold this object)."""
        for name, value in vars(saved.copy()).items():
            setattr(self, name, value)
