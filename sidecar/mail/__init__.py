"""Outgoing email. With SMTP configured it is sent; either way it is kept in the outbox
(table outbox_emails and a .eml file under DRONA_DATA_DIR/outbox) so nothing is lost.

Bodies never go to the log: they carry secrets (reset tokens, sign-in links, invitation tokens),
and logs are read by more people, and kept longer, than a mailbox. The log says where the .eml is."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from sqlalchemy.orm import Session

from sidecar.db.base import utcnow
from sidecar.settings import Settings

from .tables import OutboxEmail

logger = logging.getLogger("drona.mail")


def send_email(*, settings: Settings, session: Session, to: str, subject: str, body: str,
               attachments: list[tuple[str, str, bytes]] | None = None) -> OutboxEmail:
    """Send (or queue) one email; `attachments` are (file name, MIME type, bytes), kept in the .eml only."""
    # A subject is one header line: a line break from a user-chosen name would break the message.
    subject = " ".join(subject.split())[:255]
    record = OutboxEmail(to_address=to, subject=subject, body=body)
    session.add(record)
    session.flush()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.SMTP_FROM, to, subject
    message.set_content(body)
    for filename, mime, data in attachments or ():
        maintype, _, subtype = mime.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    outbox = settings.DRONA_DATA_DIR / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{record.created_at:%Y%m%dT%H%M%S}-{record.id}.eml"
    path.write_bytes(bytes(message))
    if settings.SMTP_HOST:
        try:
            with smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=10) as smtp:
                smtp.starttls()
                if settings.SMTP_USER and settings.SMTP_PASSWORD:
                    smtp.login(settings.SMTP_USER, settings.SMTP_PASSWORD)
                smtp.send_message(message)
            record.sent_at = utcnow()
        except (OSError, smtplib.SMTPException) as exc:
            logger.error("email to %s not sent (%s); it stays in the outbox", to, type(exc).__name__)
    elif settings.DRONA_ENV == "local":
        # Local development without SMTP: the developer opens the file (its links work from there).
        logger.warning("email (no SMTP configured) to %s: %s; read it in %s", to, subject, path)
    else:
        logger.warning("email to %s queued in the outbox: SMTP is not configured", to)
    return record
