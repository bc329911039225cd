"""Writing to the outbox, and handing committed rows to the broker once their transaction has committed."""

import json

from sqlalchemy import ColumnElement, event, insert, text, update
from sqlalchemy.orm import Session

from core.db import db, is_postgres, utcnow
from core.logs import current_request_id
from notifications.models import OutboxMessage
from notifications.relay import dispatch, redeliver_after

_PENDING_KEY = "outbox_rows"  # (id, attempts) of rows to hand to the broker once this transaction commits


def enqueue_email(recipient: str, template: str, context: dict, language: str = "ru") -> int:
    """Queue one e-mail in the caller's transaction; it is sent only if and after that transaction commits.

    `template` names `templates/emails/<template>.<language>.txt`, whose first line is `Subject: ...`.
    """
    return enqueue_emails([{"recipient": recipient, "template": template, "context": context, "language": language}])[0]


# On PostgreSQL the whole batch travels as one JSON parameter that json_to_recordset unpacks: one short statement,
# several times faster for thousands of rows than a multi-row VALUES whose every placeholder the driver must parse.
# The columns whose defaults live in the model (status, attempts, last_error, created_at) are spelled out here.
_INSERT_FROM_JSON = text(
    "INSERT INTO outbox_messages "
    "(recipient, template, language, context, status, attempts, last_error, created_at, next_attempt_at) "
    "SELECT m.recipient, m.template, m.language, m.context, 'pending', 0, '', :now, :next_attempt_at "
    "FROM json_to_recordset(CAST(:messages AS json)) AS m(recipient text, template text, language text, context json) "
    "RETURNING id"
)


def enqueue_emails(messages: list[dict]) -> list[int]:
    """Queue many e-mails with one INSERT; each dict has recipient, template, context, language. Returns the new
    rows' ids in the order of `messages`."""
    if not messages:
        return []
    request_id = current_request_id()
    if request_id:  # the worker delivering these logs under the id of the request that wrote them
        messages = [{**message, "context": {**message["context"], "request_id": request_id}} for message in messages]
    now = utcnow()
    next_attempt_at = now + redeliver_after()  # the hand-over at commit comes first; the sweep only if it is lost
    if is_postgres():
        # Ids come from the serial in row order, so sorting them restores the order of `messages`.
        ids = sorted(
            db.session.scalars(
                _INSERT_FROM_JSON,
                {
                    "messages": json.dumps(messages, ensure_ascii=False),
                    "now": now,
                    "next_attempt_at": next_attempt_at,
                },
            )
        )
    else:
        ids = list(
            db.session.scalars(
                insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
                [{**message, "created_at": now, "next_attempt_at": next_attempt_at} for message in messages],
            )
        )
    db.session.info.setdefault(_PENDING_KEY, []).extend((outbox_id, 0) for outbox_id in ids)
    return ids


def resend(outbox_ids: list[int]) -> int:
    """Put these rows, unless sent, back to pending now with a fresh retry period; they are handed to the broker once
    the caller's transaction commits. Returns how many were put back."""
    return _resend(OutboxMessage.id.in_(outbox_ids))


def resend_failed() -> int:
    """Put every failed row back to pending now, as `resend` does."""
    return _resend(OutboxMessage.status == "failed")


def _resend(which: ColumnElement[bool]) -> int:
    rows = db.session.execute(
        update(OutboxMessage)
        .where(which, OutboxMessage.status != "sent")
        .values(status="pending", next_attempt_at=utcnow() + redeliver_after(), retry_until=None)
        .returning(OutboxMessage.id, OutboxMessage.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.info.setdefault(_PENDING_KEY, []).extend((outbox_id, attempts) for outbox_id, attempts in rows)
    return len(rows)


@event.listens_for(Session, "after_commit")
def _relay_after_commit(session: Session) -> None:
    rows = session.info.pop(_PENDING_KEY, None)
    if rows:
        dispatch(rows)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
