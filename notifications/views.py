"""The admin mailbox: e-mails the local mailbox holds, and outbox rows not delivered yet, with a resend for each."""

import io
from email import policy
from email.parser import BytesParser

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import _, ngettext
from sqlalchemy import func, select

from core.db import db
from core.paging import Page, paginate, paginate_list
from core.permissions import roles_required
from notifications import attachments, references
from notifications.models import OutboxMessage
from notifications.outbox import resend, resend_failed
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


def _attachment_names(context: dict) -> list[str]:
    """What a row attaches, as the worker would compose it (a row naming its signed line reads the names there)."""
    try:
        return attachments.filenames(references.full_context(context))
    except LookupError:  # what it names is gone or unknown: the delivery will say so; list what the row itself has
        return attachments.filenames(context)


def _undelivered(raw_page: str | None) -> Page:
    """One page of the rows an attempt has failed for and that are not sent (pending a retry, or failed), newest
    first, with what each attaches. Rows not attempted yet are on their way and only counted."""
    page = paginate(
        select(OutboxMessage)
        .where(OutboxMessage.status != "sent", OutboxMessage.attempts > 0)
        .order_by(OutboxMessage.id.desc()),
        raw_page,
    )
    page.items = [
        {
            "id": row.id,
            "to": row.recipient,
            "status": row.status,
            "attempts": row.attempts,
            "next_attempt_at": row.next_attempt_at,
            "error": row.last_error,
            "attachments": _attachment_names(row.context),
        }
        for row in page.items
    ]
    return page


@bp.route("/")
@roles_required("admin")
def index():
    messages = paginate_list(mailbox_messages(), request.args.get("page"))
    messages.items = [_parse(path) for path in messages.items]
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return render_template(
        "mailbox/index.html",
        messages=messages,
        counts=counts,
        undelivered=_undelivered(request.args.get("outbox_page")),
    )


@bp.route("/outbox/<int:outbox_id>/resend", methods=["POST"])
@roles_required("admin")
def resend_one(outbox_id: int):
    if resend([outbox_id]):
        flash(_("The e-mail is queued to be sent again now."), "success")
    else:
        flash(_("This e-mail was sent already."), "error")
    return redirect(url_for(".index", outbox_page=request.args.get("outbox_page", 1, type=int)))


@bp.route("/outbox/resend-failed", methods=["POST"])
@roles_required("admin")
def resend_all_failed():
    count = resend_failed()
    message = ngettext(
        "%(num)s failed e-mail is queued to be sent again now.",
        "%(num)s failed e-mails are queued to be sent again now.",
        count,
    )
    flash(message, "success")
    return redirect(url_for(".index"))


def _message_file(name: str):
    match = next((p for p in mailbox_messages() if p.stem == name), None)
    if match is None:
        abort(404)
    return match


@bp.route("/<name>")
@roles_required("admin")
def show(name: str):
    return render_template("mailbox/show.html", message=_parse(_message_file(name)))


@bp.route("/<name>/attachments/<int:number>")
@roles_required("admin")
def attachment(name: str, number: int):
    """The `number`-th file (from 1) the e-mail attaches, as the recipient got it."""
    message = BytesParser(policy=policy.default).parsebytes(_message_file(name).read_bytes())
    parts = list(message.iter_attachments())
    if not 1 <= number <= len(parts):
        abort(404)
    part = parts[number - 1]
    return send_file(
        io.BytesIO(part.get_payload(decode=True) or b""),
        download_name=part.get_filename() or f"attachment-{number}",
        mimetype=part.get_content_type(),
        as_attachment=True,
    )
