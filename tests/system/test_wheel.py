"""The built wheel works outside the checkout: templates, static files, data and migrations;
and the Salesforce emulator's trustme comes only with the ``emulator`` extra."""

from __future__ import annotations

import io
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.paths import ROOT

# This test run's packages: the venvs below take their dependencies from here.
TEST_SITE = Path(sysconfig.get_paths()["purelib"])

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
    english = client.get("/pjecer/?lang=en").get_data(as_text=True)
    print(intake.__file__)
    print(page.status_code, css.status_code, "<h1>Order pamphlets</h1>" in english)
    print(page.get_data(as_text=True))
    css.close()
    """
)

SERVE = textwrap.dedent(
    """
    import crm_sync.emulator, requests
    with crm_sync.emulator.SalesforceEmulator() as emulator, requests.Session() as session:
        session.trust_env = False
        session.verify = str(emulator.ca_pem_path)
        print(crm_sync.emulator.__file__)
        print(session.get(emulator.url + "/_emulator/records", timeout=10).json())
    """
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(dist.glob("bl_intake-*.whl"))


def fresh_venv(tmp_path: Path, wheel: Path, deps: Path) -> tuple[Path, Path]:
    """A venv with only the wheel installed (its python, its site-packages). The dependencies
    come from ``deps``, on the path as a plain directory: its .pth files (the editable install
    of the checkout) are not processed."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(fresh_site, "test_deps.pth").write_text(f"{deps}\n")
    return python, Path(fresh_site)


def run_outside(tmp_path: Path, python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python *args`` in a directory outside the checkout, with a bare environment."""
    outside = tmp_path / "elsewhere"
    outside.mkdir(exist_ok=True)
    return subprocess.run(
        [str(python), *args],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )


@pytest.mark.slow
def test_the_wheel_renders_a_form_from_a_fresh_venv(tmp_path, wheel):
    python, _ = fresh_venv(tmp_path, wheel, TEST_SITE)
    result = run_outside(tmp_path, python, "-c", RENDER, str(tmp_path / "intake.sqlite3"))
    assert result.returncode == 0, result.stderr
    installed_at, statuses, html = result.stdout.split("\n", 2)
    assert installed_at.startswith(str(tmp_path / "venv")), installed_at
    assert statuses == "200 200 True"  # the English catalogue came with the wheel
    assert "<h1>Bestil pjecer</h1>" in html
    assert "Kommunesamarbejde – Hvorfor og hvordan?" in html
    assert '<option value="492">Ærø</option>' in html


def installs(requires: list[str], extras: set[str]) -> set[str]:
    """What pip installs for bl-intake with ``extras``, read from its Requires-Dist lines; an
    extra that names bl-intake itself (``bl-intake[emulator]``) is followed, as pip does."""
    names: set[str] = set()
    todo, done = {"", *extras}, set()
    while todo:
        extra = todo.pop()
        done.add(extra)
        for requirement in map(Requirement, requires):
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
                continue
            if canonicalize_name(requirement.name) == "bl-intake":
                todo |= set(requirement.extras) - done
            else:
                names.add(canonicalize_name(requirement.name))
    return names


@pytest.mark.slow
def test_the_wheel_carries_the_compiled_catalogue_and_no_stale_one(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        mo = archive.read("intake/translations/en/LC_MESSAGES/messages.mo")
    assert names.count("intake/translations/en/LC_MESSAGES/messages.mo") == 1
    assert "intake/translations/en/LC_MESSAGES/messages.po" in names
    from babel.messages.mofile import read_mo

    catalog = read_mo(io.BytesIO(mo))
    assert catalog.get("Bestil pjecer").string == "Order pamphlets"


@pytest.mark.slow
def test_trustme_comes_only_with_the_emulator_extra(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    requires = metadata.get_all("Requires-Dist")
    assert {"flask", "simple-salesforce"} <= installs(requires, set())
    assert "trustme" not in installs(requires, set())  # pip install bl-intake
    assert "trustme" in installs(requires, {"emulator"})
    assert "trustme" in installs(requires, {"test"})  # what make test and make run install


@pytest.mark.slow
def test_the_wheels_emulator_says_what_is_missing_and_runs_with_its_extra(tmp_path, wheel):
    without_trustme = tmp_path / "deps-without-trustme"
    without_trustme.mkdir()
    for entry in TEST_SITE.iterdir():
        if not entry.name.lower().startswith("trustme"):
            (without_trustme / entry.name).symlink_to(entry)
    python, site = fresh_venv(tmp_path, wheel, without_trustme)

    assert run_outside(tmp_path, python, "-c", "import trustme").returncode != 0
    imported = run_outside(
        tmp_path, python, "-c", "import crm_sync.emulator as e; print(e.__file__)"
    )
    assert imported.returncode == 0, imported.stderr  # importing needs no trustme
    assert imported.stdout.startswith(str(tmp_path / "venv")), imported.stdout
    started = run_outside(tmp_path, python, "-m", "crm_sync.emulator", "--port", "0", "--quiet")
    assert started.returncode == 1
    assert "needs trustme" in started.stderr
    assert "pip install 'bl-intake[emulator]'" in started.stderr
    assert "Traceback" not in started.stderr

    (site / "test_deps.pth").write_text(f"{TEST_SITE}\n")  # now with trustme: the extra
    helped = run_outside(tmp_path, python, "-m", "crm_sync.emulator", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "--daily-api-limit" in helped.stdout
    served = run_outside(tmp_path, python, "-c", SERVE)
    assert served.returncode == 0, served.stderr
    installed_at, records = served.stdout.splitlines()
    assert installed_at.startswith(str(tmp_path / "venv")), installed_at
    assert records == "{}"
