"""The admin mailbox: e-mails the local mailbox holds, and outbox rows not delivered yet, with a resend for each."""

from email import policy
from email.parser import BytesParser

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import _, ngettext
from sqlalchemy import func, select

from core.db import db
from core.paging import Page, paginate, paginate_list
from core.permissions import roles_required
from notifications import attachments
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
            "attachments": attachments.filenames(row.context),
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


@bp.route("/<name>")
@roles_required("admin")
def show(name: str):
    match = next((p for p in mailbox_messages() if p.stem == name), None)
    if match is None:
        abort(404)
    return render_template("mailbox/show.html", message=_parse(match))
