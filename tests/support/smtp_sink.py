"""A real SMTP server on loopback (aiosmtpd) that records what it receives.

Tests can make it refuse recipients (550), ask for a later try (451), or hold a message
(to catch a worker in the middle of a send).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def raw_headers(self) -> bytes:
        return self.raw.split(b"\r\n\r\n", 1)[0]

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return part.get_content().replace("\r\n", "\n")


@dataclass
class _Handler:
    messages: list[Received] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None
    delay: float = 0.0  # seconds to spend on each message
    hold: threading.Event | None = None
    held: threading.Event = field(default_factory=threading.Event)
    quits: int = 0  # sessions the client ended with QUIT: done with its message(s)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        if self.hold is not None:
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 30)
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"


class SmtpSink:
    def __init__(self, port: int | None = None, **smtp_options: Any) -> None:
        """`smtp_options` go to aiosmtpd's SMTP, e.g. tls_context, require_starttls,
        auth_required, authenticator."""
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.handler = _Handler()
        self.smtp_options = smtp_options
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> SmtpSink:
        self._controller = Controller(
            self.handler, hostname=self.host, port=self.port, **self.smtp_options
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self.handler.hold is not None:
            self.handler.hold.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def config(self) -> dict[str, Any]:
        """The app settings that send mail here."""
        return {"MAIL_SERVER": self.host, "MAIL_PORT": self.port, "MAIL_SUPPRESS_SEND": False}
