"""E-mail transports: SMTP, or the local mailbox folder of the embedded mode."""

import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import current_app


def send(message: EmailMessage, outbox_id: int) -> None:
    config = current_app.config
    if config["MAIL_TRANSPORT"] == "smtp":
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
        return
    mailbox = Path(config["MAILBOX_DIR"])
    mailbox.mkdir(parents=True, exist_ok=True)
    target = mailbox / f"{outbox_id:08d}.eml"
    partial = target.with_suffix(".part")
    partial.write_bytes(bytes(message))
    partial.replace(target)  # the same outbox row always lands in the same file: a retry cannot duplicate it


def mailbox_messages() -> list[Path]:
    mailbox = Path(current_app.config["MAILBOX_DIR"])
    return sorted(mailbox.glob("*.eml"), reverse=True) if mailbox.is_dir() else []
