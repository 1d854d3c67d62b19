"""E-mail through the outbox: a message is a row written in the caller's transaction, and the ``send_mail`` job
delivers it over SMTP (``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USE_TLS``, ``MAIL_USERNAME``, ``MAIL_PASSWORD``,
``MAIL_FROM``). Without ``MAIL_SERVER`` (the development default) it is written as a .eml file to ``instance/mail/``
so that the demo's reset links can be followed.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.db import Base, UTCDateTime, utcnow
from services.jobs import outbox, queues

log = logging.getLogger(__name__)
LINK_PLACEHOLDER = "{link}"


class MailMessage(Base):
    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    password_token_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


def queue_mail(session: Session, to_address: str, subject: str, body: str, *,
               password_token_id: int | None = None) -> MailMessage:
    """Record a message (already in the reader's language) and its sending job, both in the caller's transaction."""
    message = MailMessage(to_address=to_address, subject=subject, body=body, password_token_id=password_token_id,
                          created_at=utcnow())
    session.add(message)
    session.flush()
    outbox.enqueue(session, queues.MAIL, "send_mail", mail_id=message.id)
    return message


def send_mail_job(session: Session, settings, *, mail_id: int) -> None:
    """Deliver one message; a message already sent is skipped (the job may run twice)."""
    message = session.get(MailMessage, mail_id)
    if message is None or message.sent_at is not None:
        return
    body = message.body
    if message.password_token_id is not None:
        from services.identity.passwords import link_for_token

        body = body.replace(LINK_PLACEHOLDER, link_for_token(session, settings, message.password_token_id))
    email = EmailMessage()
    email["From"] = settings.get("MAIL_FROM") or "OneWindow <no-reply@onewindow.invalid>"
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email.set_content(body)
    server = settings.get("MAIL_SERVER")
    if server:
        with smtplib.SMTP(server, int(settings.get("MAIL_PORT") or 25), timeout=30) as smtp:
            if settings.get("MAIL_USE_TLS"):
                smtp.starttls()
            if settings.get("MAIL_USERNAME"):
                smtp.login(settings["MAIL_USERNAME"], settings.get("MAIL_PASSWORD") or "")
            smtp.send_message(email)
    else:
        folder = Path(settings["INSTANCE_DIR"]) / "mail"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{message.id}.eml"
        path.write_bytes(bytes(email))
        path.chmod(0o600)
        log.info("MAIL_SERVER not set: wrote the message to %s", path)
    message.sent_at = utcnow()
