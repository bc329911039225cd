"""E-mail transports: SMTP, or the local mailbox folder of the embedded mode."""

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from flask import current_app


def send(message: EmailMessage, outbox_id: int, on_accepted: Callable[[], None]) -> None:
    """Deliver `message`, and call `on_accepted` the moment the server has accepted it, before the connection is
    closed: the caller records the row as sent there, so that a process dying after the acceptance leaves as short
    a window as possible in which the row still reads as unsent."""
    config = current_app.config
    if config["MAIL_TRANSPORT"] == "smtp":
        smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30)
        try:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
            on_accepted()
        finally:
            _close(smtp)
        return
    mailbox = Path(config["MAILBOX_DIR"])
    mailbox.mkdir(parents=True, exist_ok=True)
    target = mailbox / f"{outbox_id:08d}.eml"
    partial = target.with_suffix(".part")
    partial.write_bytes(bytes(message))
    partial.replace(target)  # the same outbox row always lands in the same file: a retry cannot duplicate it
    on_accepted()


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT politely; a server that hangs up first changes nothing about a message it has accepted."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def mailbox_messages() -> list[Path]:
    mailbox = Path(current_app.config["MAILBOX_DIR"])
    return sorted(mailbox.glob("*.eml"), reverse=True) if mailbox.is_dir() else []
