"""Where things are, for tests in any folder."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project's checkout
OUTPUT_DIR = ROOT / "test-output"  # screenshots and reports (git-ignored)
