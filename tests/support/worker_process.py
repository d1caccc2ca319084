"""Run `flask --app wsgi intake worker` as a real process, as production does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.support.paths import ROOT


def start_worker(config: dict[str, Any], **extra: Any) -> subprocess.Popen[str]:
    """A worker process with the test app's settings (passed as environment variables)."""
    settings = {**config, **extra}
    env = {
        key: str(value)
        for key, value in settings.items()
        if key.isupper() and key not in {"TESTING", "MAIL_SUPPRESS_SEND"} and value is not None
    }
    env.update(PATH=os.environ.get("PATH", "/usr/bin:/bin"), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "intake", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 20) -> str:
    """Signal the worker, wait for it, and return what it logged."""
    if process.poll() is None:
        process.send_signal(sig)
    output, _ = process.communicate(timeout=timeout)
    return output


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
