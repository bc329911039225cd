"""The local mailbox of the embedded mode, readable by admins."""

from email import policy
from email.parser import BytesParser

from flask import Blueprint, abort, render_template
from sqlalchemy import func, select

from core.db import db
from core.permissions import roles_required
from notifications.models import OutboxMessage
from notifications.transport import mailbox_messages

bp = Blueprint("mailbox", __name__, url_prefix="/admin/mailbox")


def _parse(path) -> dict:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    return {"name": path.stem, "to": message["To"], "subject": message["Subject"],
            "body": message.get_body(preferencelist=("plain",)).get_content()}


@bp.route("/")
@roles_required("admin")
def index():
    messages = [_parse(p) for p in mailbox_messages()[:200]]
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template("mailbox/index.html", messages=messages, counts=counts)


@bp.route("/<name>")
@roles_required("admin")
def show(name: str):
    match = next((p for p in mailbox_messages() if p.stem == name), None)
    if match is None:
        abort(404)
    return render_template("mailbox/show.html", message=_parse(match))
