"""The local mailbox of the embedded mode, readable by admins."""

from email import policy
from email.parser import BytesParser

from flask import Blueprint, abort, render_template
from sqlalchemy import func, select

from core.db import db
from core.permissions import roles_required
from notifications import attachments
from notifications.models import OutboxMessage
from notifications.transport import mailbox_messages

bp = Blueprint("mailbox", __name__, url_prefix="/admin/mailbox")


def _parse(path) -> dict:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    return {
        "name": path.stem,
        "to": message["To"],
        "subject": message["Subject"],
        "body": message.get_body(preferencelist=("plain",)).get_content(),
        "attachments": [part.get_filename() or "" for part in message.iter_attachments()],
    }


def _undelivered() -> list[dict]:
    """Rows a delivery attempt has failed for and that are not sent yet, with the error and what they attach."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status != "sent", OutboxMessage.attempts > 0)
        .order_by(OutboxMessage.id.desc())
        .limit(50)
    )
    return [
        {
            "to": row.recipient,
            "status": row.status,
            "error": row.last_error,
            "attachments": attachments.filenames(row.context),
        }
        for row in rows
    ]


@bp.route("/")
@roles_required("admin")
def index():
    messages = [_parse(p) for p in mailbox_messages()[:200]]
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template("mailbox/index.html", messages=messages, counts=counts, undelivered=_undelivered())


@bp.route("/<name>")
@roles_required("admin")
def show(name: str):
    match = next((p for p in mailbox_messages() if p.stem == name), None)
    if match is None:
        abort(404)
    return render_template("mailbox/show.html", message=_parse(match))
