"""Run bandit and pip-audit; fail on any finding not explained in security-allowlist.toml.

    python tools/security_audit.py            # what `make audit` (and so CI) runs

bandit reads the project's own code; pip-audit the installed packages of this environment.
A finding is accepted only by an allow-list entry that names it and gives a reason. When
pip-audit's vulnerability service cannot be reached, the packages it could not check are
counted and said plainly; `--require-service` makes that a failure too.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGETS = ["intake", "forms", "crm_sync", "wsgi.py", "bench", "tools"]


@dataclass(frozen=True)
class Finding:
    tool: str
    key: str  # bandit: the test id; pip-audit: the vulnerability id
    where: str  # bandit: file:line; pip-audit: package version
    text: str
    aliases: tuple[str, ...] = ()


class AllowListError(Exception):
    pass


def load_allowlist(path: Path) -> dict[str, list[dict[str, object]]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AllowListError(f"{path}: {error}") from error
    for tool, key in (("bandit", "test"), ("pip-audit", "id")):
        for number, entry in enumerate(data.get(tool, []), start=1):
            if not str(entry.get(key, "")).strip():
                raise AllowListError(f"{path}: [[{tool}]] entry {number} names no {key}")
            if not str(entry.get("reason", "")).strip():
                raise AllowListError(
                    f"{path}: [[{tool}]] entry {number} ({entry[key]}) gives no reason"
                )
    return data


def bandit_findings(targets: list[str]) -> list[Finding]:
    result = subprocess.run(  # noqa: S603
        # --ignore-nosec: a `# nosec` comment would hide a finding with no reason given.
        [sys.executable, "-m", "bandit", "-r", "-q", "--ignore-nosec", "-f", "json", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if not result.stdout.strip():
        raise RuntimeError(f"bandit gave no report: {result.stderr.strip()}")
    report = json.loads(result.stdout)
    if report.get("errors"):
        raise RuntimeError(f"bandit could not read some files: {report['errors']}")
    return [
        Finding(
            tool="bandit",
            key=item["test_id"],
            where=f"{Path(item['filename']).as_posix().removeprefix('./')}:{item['line_number']}",
            text=f"{item['issue_severity']}: {item['issue_text']}",
        )
        for item in report["results"]
    ]


# What pip-audit's traceback says when its vulnerability service cannot be reached at all.
UNREACHABLE = ("ConnectionError", "Max retries exceeded", "Could not connect", "ConnectTimeout")


class ServiceUnreachable(Exception):
    pass


def pip_audit_findings(osv_url: str | None) -> tuple[list[Finding], int, list[str]]:
    """The vulnerabilities found, how many packages were checked, and those that were not
    (our own project, installed editable, is not a dependency and not counted)."""
    service = ["-s", "osv", "--osv-url", osv_url] if osv_url else []
    command = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off"]
    result = subprocess.run(  # noqa: S603
        [*command, "-f", "json", *service],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        last_line = (result.stderr.strip().splitlines() or ["(nothing)"])[-1]
        if any(sign in result.stderr for sign in UNREACHABLE):
            raise ServiceUnreachable(last_line) from error
        raise RuntimeError(f"pip-audit gave no report: {result.stderr.strip()}") from error
    findings: list[Finding] = []
    checked, unchecked = 0, []
    for dependency in report["dependencies"]:
        if dependency.get("skip_reason") == "distribution marked as editable":
            continue
        if "skip_reason" in dependency:
            unchecked.append(dependency["name"])
            continue
        checked += 1
        for vuln in dependency.get("vulns", []):
            findings.append(
                Finding(
                    tool="pip-audit",
                    key=vuln["id"],
                    where=f"{dependency['name']} {dependency['version']}",
                    text=vuln.get("description") or "",
                    aliases=tuple(vuln.get("aliases", [])),
                )
            )
    return findings, checked, unchecked


def is_allowed(finding: Finding, allowlist: dict[str, list[dict[str, object]]]) -> bool:
    for entry in allowlist.get(finding.tool, []):
        if finding.tool == "bandit":
            path = finding.where.rsplit(":", 1)[0]
            paths = entry.get("paths", ["*"])
            # A list of globs; a single string is one glob (iterating it would give characters).
            patterns = [str(p) for p in paths] if isinstance(paths, list) else [str(paths)]
            if entry["test"] == finding.key and any(fnmatch.fnmatch(path, p) for p in patterns):
                return True
        elif entry["id"] in (finding.key, *finding.aliases):
            package = entry.get("package")
            if package is None or finding.where.split(" ")[0] == str(package).lower():
                return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allowlist", type=Path, default=ROOT / "security-allowlist.toml")
    parser.add_argument("--targets", nargs="+", default=DEFAULT_TARGETS, help="for bandit")
    parser.add_argument("--osv-url", help="audit against this OSV API instead of PyPI's")
    parser.add_argument(
        "--require-service",
        action="store_true",
        help="fail when pip-audit could not check a package (vulnerability service unreachable)",
    )
    args = parser.parse_args(argv)
    try:
        allowlist = load_allowlist(args.allowlist)
    except AllowListError as error:
        print(f"audit: the allow-list is not usable: {error}")
        return 2

    bandit = bandit_findings(args.targets)
    unreachable: str | None = None
    try:
        vulns, checked, unchecked = pip_audit_findings(args.osv_url)
    except ServiceUnreachable as error:
        vulns, checked, unchecked, unreachable = [], 0, [], str(error)
    refused = [f for f in bandit + vulns if not is_allowed(f, allowlist)]
    for finding in refused:
        print(f"audit: {finding.tool} {finding.key} at {finding.where}: {finding.text}")

    print(
        f"bandit: {len(bandit)} findings, {sum(f.tool == 'bandit' for f in refused)} "
        "not in the allow-list"
    )
    print(
        f"pip-audit: {checked} packages checked, {len(vulns)} vulnerabilities, "
        f"{sum(f.tool == 'pip-audit' for f in refused)} not in the allow-list"
    )
    if unreachable:
        print(
            f"pip-audit: NO package checked; its vulnerability service is unreachable: "
            f"{unreachable}"
        )
    elif unchecked:
        print(
            f"pip-audit: {len(unchecked)} packages NOT checked: the vulnerability service did "
            f"not answer for them ({', '.join(unchecked[:5])}{', …' if len(unchecked) > 5 else ''})"
        )
    if refused:
        print(f"audit: FAILED, {len(refused)} findings need a fix or an allow-list reason")
        return 1
    if (unchecked or unreachable) and args.require_service:
        print("audit: FAILED, packages could not be checked (--require-service)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
