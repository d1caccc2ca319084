"""The built wheel works outside the checkout: templates, static files, data and migrations."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RENDER = textwrap.dedent(
    """
    import intake, sys
    from sqlalchemy import create_engine
    from intake import create_app, migrate
    url = "sqlite:///" + sys.argv[1]
    migrate.upgrade(create_engine(url))
    app = create_app({"SECRET_KEY": "x", "INTAKE_DATABASE_URL": url})
    client = app.test_client()
    page = client.get("/pjecer/")
    css = client.get("/intake-static/intake.css")
    print(intake.__file__)
    print(page.status_code, css.status_code)
    print(page.get_data(as_text=True))
    css.close()
    """
)


@pytest.mark.slow
def test_the_wheel_renders_a_form_from_a_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(dist.glob("bl_intake-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # The dependencies come from this test run's environment, which is on the path as a plain
    # directory: its .pth files (the editable install of the checkout) are not processed.
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(fresh_site, "test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = subprocess.run(
        [str(python), "-c", RENDER, str(tmp_path / "intake.sqlite3")],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    installed_at, statuses, html = result.stdout.split("\n", 2)
    assert installed_at.startswith(str(venv)), installed_at
    assert statuses == "200 200"
    assert "<h1>Bestil pjecer</h1>" in html
    assert "Kommunesamarbejde – Hvorfor og hvordan?" in html
    assert '<option value="492">Ærø</option>' in html
