"""A real SMTP server on 127.0.0.1 (aiosmtpd) for tests that send e-mail through the outbox."""

from __future__ import annotations

import email
import socket
from email.message import Message

import pytest
from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self):
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def body(self, index: int = -1) -> str:
        return self.messages[index].get_payload(decode=True).decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app, monkeypatch):
    """Start an SMTP server and point the app and its jobs at it; yields the mailbox it fills."""
    from services import runtime

    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    for settings in (app.config, runtime.current().settings):
        monkeypatch.setitem(settings, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(settings, "MAIL_PORT", port)
    try:
        yield mailbox
    finally:
        controller.stop()
