"""``python -m crm_sync.emulator``: serve the Salesforce emulator in the foreground.

It prints the settings that point the app at it and, with ``--state-dir``, writes them to
``emulator.env`` there (``tools/run-embedded`` and ``bench/stack.py`` wait for that file).
``--duplicate-rule alert`` turns on the Standard Lead Duplicate Rule (as most orgs have it),
``--campaign NAME`` makes a campaign and adds ``SALESFORCE_CAMPAIGN_ID`` to the settings.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from crm_sync.emulator.org import DuplicateRuleAction
from crm_sync.emulator.server import DAILY_API_LIMIT, SalesforceEmulator
from crm_sync.emulator.tls import TrustmeMissing


def main(argv: list[str] | None = None) -> int:
    """``python -m crm_sync.emulator``: serve in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m crm_sync.emulator", description="BL Intake's local Salesforce emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--state-dir", type=Path, help="keep ca.pem/ca.key (and emulator.env) here")
    parser.add_argument("--api-version", default="62.0")
    parser.add_argument("--client-id", default="intake-emulator")
    parser.add_argument("--client-secret", default="emulator-secret")
    parser.add_argument("--jwt-public-key", type=Path, help="PEM public key or certificate")
    parser.add_argument(
        "--daily-api-limit",
        type=int,
        default=DAILY_API_LIMIT,
        help="the org's daily API requests, as Sforce-Limit-Info and limits/ report them",
    )
    parser.add_argument(
        "--duplicate-rule",
        choices=[a.value for a in DuplicateRuleAction],
        help="turn on the Standard Lead Duplicate Rule: alert (Allow with an alert, the "
        "default action on create) or block",
    )
    parser.add_argument(
        "--campaign", metavar="NAME", help="make a campaign; its id goes into the settings"
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="answer as a sandbox: JWT assertions must name https://test.salesforce.com",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)

    try:
        emulator = SalesforceEmulator(
            host=args.host,
            port=args.port,
            api_version=args.api_version,
            client_id=args.client_id,
            client_secret=args.client_secret,
            jwt_public_key_pem=args.jwt_public_key.read_bytes() if args.jwt_public_key else None,
            state_dir=args.state_dir,
            daily_api_limit=args.daily_api_limit,
            log_requests=not args.quiet,
            duplicate_rule=args.duplicate_rule,
            sandbox=args.sandbox,
        ).start()
    except TrustmeMissing as exc:
        parser.exit(1, f"{parser.prog}: {exc}\n")
    settings = {
        "SALESFORCE_LOGIN_URL": emulator.url,
        "SALESFORCE_CLIENT_ID": emulator.client_id,
        "SALESFORCE_CLIENT_SECRET": emulator.client_secret,
        "SALESFORCE_CA_BUNDLE": str(emulator.ca_pem_path),
        "SALESFORCE_API_VERSION": emulator.api_version,
    }
    if args.campaign:
        campaign_id = emulator.add_record("Campaign", {"Name": args.campaign, "IsActive": True})
        settings["SALESFORCE_CAMPAIGN_ID"] = campaign_id
    env_text = "".join(f"{k}={v}\n" for k, v in settings.items())
    if args.state_dir is not None:
        (args.state_dir / "emulator.env").write_text(env_text)
    print(f"Salesforce emulator at {emulator.url} (API v{emulator.api_version})")
    print(f"CA certificate to trust: {emulator.ca_pem_path}")
    print(f"Records as JSON: {emulator.url}/_emulator/records")
    if args.duplicate_rule:
        print(f"Duplicate rule: Standard Lead Duplicate Rule, {args.duplicate_rule} on create")
    print("Settings for the app:\n" + env_text, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
