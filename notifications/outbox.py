"""Writing to the outbox, and handing committed rows to the broker once their transaction has committed."""

import json

from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session

from core.db import db, is_postgres, utcnow
from core.logs import current_request_id
from notifications.models import OutboxMessage
from notifications.relay import dispatch

_PENDING_KEY = "outbox_ids"


def enqueue_email(recipient: str, template: str, context: dict, language: str = "ru") -> int:
    """Queue one e-mail in the caller's transaction; it is sent only if and after that transaction commits.

    `template` names `templates/emails/<template>.<language>.txt`, whose first line is `Subject: ...`.
    """
    return enqueue_emails([{"recipient": recipient, "template": template, "context": context, "language": language}])[0]


# On PostgreSQL the whole batch travels as one JSON parameter that json_to_recordset unpacks: one short statement,
# several times faster for thousands of rows than a multi-row VALUES whose every placeholder the driver must parse.
# The columns whose defaults live in the model (status, attempts, last_error, created_at) are spelled out here.
_INSERT_FROM_JSON = text(
    "INSERT INTO outbox_messages (recipient, template, language, context, status, attempts, last_error, created_at) "
    "SELECT m.recipient, m.template, m.language, m.context, 'pending', 0, '', :now "
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
    if is_postgres():
        # Ids come from the serial in row order, so sorting them restores the order of `messages`.
        ids = sorted(
            db.session.scalars(
                _INSERT_FROM_JSON, {"messages": json.dumps(messages, ensure_ascii=False), "now": utcnow()}
            )
        )
    else:
        ids = list(
            db.session.scalars(
                insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True), messages
            )
        )
    db.session.info.setdefault(_PENDING_KEY, []).extend(ids)
    return ids


@event.listens_for(Session, "after_commit")
def _relay_after_commit(session: Session) -> None:
    ids = session.info.pop(_PENDING_KEY, None)
    if ids:
        dispatch(ids)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
