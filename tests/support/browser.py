"""Debian's Chromium for the browser tests: where it is, how it starts, and axe-core.

Playwright's own browser download does not work on these machines, so the tests drive the
`chromium` Debian package (installed by `make test`) through `executable_path`. Loaded as a
pytest plugin by conftest.py, so the `browser` fixture is there for every test module.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.paths import OUTPUT_DIR

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",  # the machine's closed network refuses them anyway
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
]


def chromium_executable() -> str | None:
    """INTAKE_CHROMIUM when set (and only it), else `chromium` on PATH, else Debian's path."""
    configured = os.environ.get("INTAKE_CHROMIUM")
    candidates = [configured] if configured else [shutil.which("chromium"), "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from tests.support.settings import missing_part

    executable = chromium_executable()
    if executable is None:
        missing_part(
            "Chromium: no executable at INTAKE_CHROMIUM, on PATH or at /usr/bin/chromium "
            "(apt-get install chromium, or set INTAKE_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def axe_violations(page: Page) -> str:
    """axe-core's violations on the page, readably; empty when there are none."""
    violations = Axe().run(page).response["violations"]
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"  - {target}: {summary}")
    return "\n".join(lines)


def no_axe_violations(page: Page) -> None:
    assert (report := axe_violations(page)) == "", f"{page.url}:\n{report}"


@pytest.fixture
def desktop_page(browser: Browser) -> Iterator[Page]:
    """A page in a Danish browser window of 1280 × 800."""
    context = browser.new_context(locale="da-DK", viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot, test-output/<name>.png (git-ignored), for people to look at."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT_DIR / f"{name}.png"), full_page=True)
