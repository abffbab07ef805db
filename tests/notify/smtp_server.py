"""A real SMTP server on 127.0.0.1 (aiosmtpd) whose behaviour a test can change: accept,
refuse for a while (4xx or 5xx), answer slowly, or be down."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)
    refuse: str | None = None  # an SMTP reply for RCPT, e.g. "451 4.3.0 try later"
    refuse_data: str | None = None  # the reply to DATA
    delay: float = 0.0  # seconds before answering DATA
    attempts: int = 0  # RCPT commands seen
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.inbox.lock:
            self.inbox.attempts += 1
            refuse = self.inbox.refuse
        if refuse:
            return refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.inbox.delay:
            await asyncio.sleep(self.inbox.delay)
        if self.inbox.refuse_data:
            return self.inbox.refuse_data
        message = email.message_from_bytes(envelope.content)
        with self.inbox.lock:
            self.inbox.messages.append(message)
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(_Handler(self.inbox), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PURDAH_SMTP_HOST": "127.0.0.1",
            "PURDAH_SMTP_PORT": str(self.port),
            "PURDAH_SMTP_SECURITY": "none",
            "PURDAH_MAIL_FROM": "elections@example.gov.uk",
            "PURDAH_PUBLIC_URL": "https://purdah.example.gov.uk",
            "PURDAH_SMTP_TIMEOUT": "2",
            **extra,
        }
