"""Marking Danish messages for the catalogues, to be shown in the page's language (intake.i18n).

- `_l("…")`: translated when it is shown (a label, hint or message made once, at import, and
  shown in many requests, each in its own language); typed as the str it acts as.
- `N_("…")`: only marked (pybabel extracts it); whoever shows it translates it with gettext.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString


def _l(message: str, **variables: Any) -> str:
    return cast(str, lazy_gettext(message, **variables))


def N_(message: str) -> str:
    return message


def lazy(make: Callable[[], str]) -> str:
    """A text made when shown, by `make` (which may translate and format numbers then)."""
    return cast(str, LazyString(make))
