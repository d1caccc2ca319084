"""The emulator's HTTPS: a throw-away CA made with trustme, and a server certificate from it.

The CA is kept as ``ca.pem``/``ca.key`` in the state directory and reused when it is there,
so clients that trust ``ca.pem`` keep working across restarts. trustme is in the
``emulator`` extra (``pip install 'bl-intake[emulator]'``; ``make run`` and ``make test``
install it); it is imported only when an emulator starts.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path

__all__ = ["TrustmeMissing", "server_context"]


class TrustmeMissing(RuntimeError):
    """The Salesforce emulator needs trustme, which is in the 'emulator' extra: install it with
    pip install 'bl-intake[emulator]' (or, in a checkout, pip install -e '.[emulator]')."""

    def __init__(self) -> None:
        super().__init__(" ".join(str(self.__doc__).split()))


def server_context(directory: Path, hosts: Iterable[str]) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for ``hosts``, and the CA certificate to trust.

    Writes ``ca.pem`` and ``ca.key`` (mode 0600) in ``directory`` unless both are there.
    """
    try:
        import trustme
    except ModuleNotFoundError as exc:
        if exc.name != "trustme":
            raise
        raise TrustmeMissing() from None

    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    if cert_path.exists() and key_path.exists():
        ca = trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
    else:
        ca = trustme.CA(organization_name="BL Intake Salesforce emulator")
        key_path.touch(mode=0o600)
        key_path.write_bytes(ca.private_key_pem.bytes())
        cert_path.write_bytes(ca.cert_pem.bytes())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*hosts).configure_cert(context)
    return context, cert_path
