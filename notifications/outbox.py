"""Writing to the outbox, and handing committed rows to the broker once their transaction has committed."""

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from core.db import db
from notifications.models import OutboxMessage
from notifications.relay import dispatch

_PENDING_KEY = "outbox_ids"


def enqueue_email(recipient: str, template: str, context: dict, language: str = "ru") -> int:
    """Queue one e-mail in the caller's transaction; it is sent only if and after that transaction commits.

    `template` names `templates/emails/<template>.<language>.txt`, whose first line is `Subject: ...`.
    """
    return enqueue_emails([{"recipient": recipient, "template": template, "context": context,
                            "language": language}])[0]


def enqueue_emails(messages: list[dict]) -> list[int]:
    """Queue many e-mails with one batched INSERT; each dict has recipient, template, context, language."""
    if not messages:
        return []
    ids = list(db.session.scalars(insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
                                  messages))
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
