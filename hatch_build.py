"""The wheel's build hook: the English catalogue compiled (.po → .mo) into the wheel.

The .mo files are never committed. A wheel gets them here, from intake/translations/*/
LC_MESSAGES/messages.po; an editable install (`pip install -e .`, which `make` does) gets them
compiled beside the .po files, where the app in the checkout reads them.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
from i18n import TRANSLATIONS, compile_catalogues


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            compile_catalogues()
            return
        self._built = tempfile.TemporaryDirectory()
        target = Path(self._built.name)
        for mo in compile_catalogues(TRANSLATIONS, target):
            inside = Path("intake") / "translations" / mo.relative_to(target)
            build_data["force_include"][str(mo)] = str(inside)

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        built = getattr(self, "_built", None)
        if built is not None:
            built.cleanup()
