"""Flashed messages kept on the server, so that a list of any size (the 168 refusals of a big submit) reaches the
next page: the session cookie only says that messages are waiting, and stays small (a browser drops a cookie over
4,093 bytes, and every message with it).

At the end of a signed-in request, the messages flashed and not shown yet go to `flash_messages`, keyed by the
server-side session (`UserSession`); the next page shows them and deletes them. A request without a server-side
session (the sign-in page) keeps Flask's cookie storage: its messages are short.
"""

import logging
from datetime import datetime

from flask import Flask, g, session
from sqlalchemy import ForeignKey, String, Text, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from core.auth import SESSION_KEY
from core.db import db, utcnow
from core.models import UserSession, hash_token

log = logging.getLogger(__name__)
WAITING = "_flashes_waiting"  # in the cookie: messages wait in the table for this session


class FlashMessage(db.Model):
    __tablename__ = "flash_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("user_sessions.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(16), default="message")
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _session_id() -> int | None:
    """The id of this browser's open server-side session, or None (not signed in)."""
    if "flash_session_id" not in g:
        key = session.get(SESSION_KEY)
        g.flash_session_id = (
            db.session.scalar(
                select(UserSession.id).where(UserSession.key_hash == hash_token(key), UserSession.ended_at.is_(None))
            )
            if key
            else None
        )
    return g.flash_session_id


def flashed_messages(with_categories: bool = False, category_filter: tuple = ()) -> list:
    """Flask's `get_flashed_messages` for the templates: the messages stored for this session, then those flashed
    in this request. Those stored are deleted once the response is finished."""
    if "flashes_shown" not in g:
        stored = []
        if session.pop(WAITING, None) and _session_id() is not None:
            rows = db.session.execute(
                select(FlashMessage.id, FlashMessage.category, FlashMessage.message)
                .where(FlashMessage.session_id == _session_id())
                .order_by(FlashMessage.id)
            ).all()
            g.flashes_consumed = [row.id for row in rows]
            stored = [(row.category, row.message) for row in rows]
        g.flashes_shown = stored + [(category, str(message)) for category, message in session.pop("_flashes", [])]
    shown = g.flashes_shown
    if category_filter:
        shown = [(category, message) for category, message in shown if category in category_filter]
    return shown if with_categories else [message for _category, message in shown]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["get_flashed_messages"] = flashed_messages

    @app.after_request
    def keep_flashes(response):
        """After the request's unit of work: delete the messages shown, store those not shown yet, in one short
        transaction of its own."""
        consumed = g.pop("flashes_consumed", None)
        waiting = session.get("_flashes")
        if not consumed and not waiting:
            return response
        try:
            session_id = _session_id()
            if consumed:
                db.session.execute(delete(FlashMessage).where(FlashMessage.id.in_(consumed)))
            if waiting and session_id is not None:
                db.session.execute(
                    insert(FlashMessage),
                    [
                        {"session_id": session_id, "category": str(category)[:16], "message": str(message)}
                        for category, message in waiting
                    ],
                )
            db.session.commit()
        except Exception:  # the page is answered anyway; the messages stay where they were
            db.session.rollback()
            log.exception("could not store the flashed messages")
            return response
        if waiting and session_id is not None:
            session.pop("_flashes", None)
            session[WAITING] = True
        return response
