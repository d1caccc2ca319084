"""Where the package finds its templates, static files, migrations and reference data."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
STATIC_DIR = PACKAGE_DIR / "static"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
# The catalogues: messages.pot, and <language>/LC_MESSAGES/messages.po (.mo compiled from it).
TRANSLATIONS_DIR = PACKAGE_DIR / "translations"


def templates_dir() -> Path:
    """The folder holding `intake/...` templates.

    A built wheel carries the repo-root `templates/` inside the package (see pyproject's
    force-include); a checkout or an editable install keeps it beside the package.
    """
    packaged = PACKAGE_DIR / "templates"
    if packaged.is_dir():
        return packaged
    return PACKAGE_DIR.parent / "templates"
