"""Times as Danes read them: Danish local time, "25.11.2026 kl. 13.05"."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

DANISH_TIME = ZoneInfo("Europe/Copenhagen")


def danish_time(moment: datetime) -> str:
    return moment.astimezone(DANISH_TIME).strftime("%d.%m.%Y kl. %H.%M")
