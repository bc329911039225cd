"""The broker, the delivery actor, and the relay that hands committed outbox rows to it.

Embedded mode uses dramatiq's in-process StubBroker with a worker thread; production uses Redis or RabbitMQ
and separate `registrar worker` processes. Delivery is idempotent: the actor takes an outbox id and does nothing
for a row already sent, so a resend by the sweep or a broker redelivery never e-mails twice.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Flask, current_app
from jinja2 import TemplateNotFound
from sqlalchemy import case, select, update

from core.db import db, is_postgres, utcnow
from notifications import attachments, transport
from notifications.models import OutboxMessage

log = logging.getLogger(__name__)
QUEUE = "registrar"
EXTENSION = "registrar_notifications"
MAX_ATTEMPTS = 10


@dataclass
class Delivery:
    broker: dramatiq.Broker
    actor: dramatiq.Actor
    queue: str = QUEUE


def make_broker(url: str) -> dramatiq.Broker:
    if url == "stub":
        return StubBroker()
    if url.startswith("redis://") or url.startswith("rediss://"):
        return RedisBroker(url=url)
    if url.startswith("amqp://") or url.startswith("amqps://"):
        return RabbitmqBroker(url=url)
    raise ValueError(f"REGISTRAR_BROKER_URL must be 'stub', redis://... or amqp://..., not {url!r}")


def init_app(app: Flask) -> None:
    broker = make_broker(app.config["BROKER_URL"])

    def deliver_outbox_message(outbox_id: int) -> None:
        with app.app_context():
            deliver(outbox_id)

    queue = app.config.get("BROKER_QUEUE") or QUEUE  # tests give each run its own queue on a shared broker
    actor = dramatiq.actor(
        deliver_outbox_message,
        broker=broker,
        actor_name="deliver_outbox_message",
        queue_name=queue,
        max_retries=MAX_ATTEMPTS,
        min_backoff=1_000,
        max_backoff=600_000,
    )
    broker.declare_queue(queue)
    app.extensions[EXTENSION] = Delivery(broker, actor, queue)


def delivery() -> Delivery:
    return current_app.extensions[EXTENSION]


def dispatch(outbox_ids: list[int]) -> None:
    """Hand committed outbox rows to the broker. A failure here loses nothing: the sweep resends later."""
    try:
        actor = delivery().actor
        for outbox_id in outbox_ids:
            actor.send(outbox_id)
    except Exception:  # broker down: rows stay pending for `sweep`
        log.exception("could not hand outbox rows %s to the broker; the sweep will retry", outbox_ids)


def sweep(older_than_seconds: float = 60) -> int:
    """Resend outbox rows still pending after `older_than_seconds`; returns how many were handed over."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    ids = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.created_at <= cutoff)
            .order_by(OutboxMessage.id)
        )
    )
    db.session.rollback()
    if ids:
        dispatch(ids)
    return len(ids)


def compose(row: OutboxMessage) -> EmailMessage:
    # Straight from the Jinja environment, not `render_template`: the app's context processors are for pages and
    # expect a request and a signed-in user, which a worker has not.
    environment = current_app.jinja_env
    try:
        template = environment.get_template(f"emails/{row.template}.{row.language}.txt")
    except TemplateNotFound:
        template = environment.get_template(f"emails/{row.template}.ru.txt")
    text = template.render(**row.context)
    first, _, body = text.partition("\n")
    message = EmailMessage()
    message["Subject"] = first.removeprefix("Subject:").strip()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = row.recipient
    # The same row always gets the same Message-ID, so a resend after a crash can be recognised downstream.
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "registrar"
    message["Message-ID"] = f"<outbox-{row.id}.{row.created_at:%Y%m%d%H%M%S%f}@{domain}>"
    message.set_content(body.lstrip("\n"))
    # Rendered here, at send time, from the row's frozen data; a renderer that fails fails this attempt only.
    for spec in attachments.specs(row.context):
        attachment = attachments.render(spec, row.context)
        message.add_attachment(
            attachment.content, maintype=attachment.maintype, subtype=attachment.subtype, filename=attachment.filename
        )
    return message


_in_flight: set[tuple[str, int]] = set()
_in_flight_lock = threading.Lock()


@contextmanager
def _claim(outbox_id: int) -> Iterator[bool]:
    """Whether this thread may deliver the row now. On PostgreSQL the row lock taken in `deliver` (SKIP LOCKED)
    keeps any other process off it; SQLite has no row locks, so there a row is claimed within this process, which
    is where the embedded mode runs all of its worker threads."""
    if is_postgres():
        yield True
        return
    key = (str(db.engine.url), outbox_id)
    with _in_flight_lock:
        if key in _in_flight:
            claimed = False
        else:
            _in_flight.add(key)
            claimed = True
    try:
        yield claimed
    finally:
        if claimed:
            with _in_flight_lock:
                _in_flight.discard(key)


def deliver(outbox_id: int) -> None:
    """Send one outbox row unless it was sent already; record the failure and re-raise so dramatiq retries.

    A row being delivered by another thread or process at this moment is left to it."""
    with _claim(outbox_id) as claimed:
        if claimed:
            _deliver(outbox_id)


def _deliver(outbox_id: int) -> None:
    postgres = is_postgres()
    query = select(OutboxMessage).where(OutboxMessage.id == outbox_id)
    if postgres:  # held until the commit below: no other process sends this row meanwhile
        query = query.with_for_update(skip_locked=True)
    row = db.session.scalar(query)
    if row is None or row.status != "pending":
        db.session.rollback()
        return
    this_row = OutboxMessage.id == outbox_id
    try:
        message = compose(row)
        if not postgres:
            # SQLite: end the read before the slow send, so that the write below opens a fresh transaction that
            # waits its turn for the lock, instead of failing on a snapshot another worker thread has outdated.
            db.session.rollback()
        transport.send(message, outbox_id)
    except Exception as error:
        db.session.execute(
            update(OutboxMessage)
            .where(this_row)
            .values(
                attempts=OutboxMessage.attempts + 1,
                last_error=f"{type(error).__name__}: {error}"[:2000],
                status=case((OutboxMessage.attempts + 1 >= MAX_ATTEMPTS, "failed"), else_=OutboxMessage.status),
            )
        )
        db.session.commit()
        raise
    db.session.execute(
        update(OutboxMessage)
        .where(this_row)
        .values(status="sent", sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
    )
    db.session.commit()


class EmbeddedWorker(dramatiq.Worker):
    """dramatiq worker threads plus a thread that sweeps the outbox every RELAY_INTERVAL seconds.

    `stop()` ends both, so nothing keeps running after it returns."""

    def __init__(self, app: Flask, broker: dramatiq.Broker, *, worker_threads: int = 2, worker_timeout: int = 1000):
        super().__init__(broker, worker_threads=worker_threads, worker_timeout=worker_timeout)
        self.app = app
        self.interval = float(app.config["RELAY_INTERVAL"])
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None

    def start(self) -> None:
        super().start()
        self._stopping.clear()
        self._sweeper = threading.Thread(target=self._sweep_forever, name="outbox-sweep", daemon=True)
        self._sweeper.start()

    def _sweep_forever(self) -> None:
        while not self._stopping.wait(self.interval):
            with self.app.app_context():
                try:
                    sweep(older_than_seconds=self.interval)
                except Exception:
                    log.exception("outbox sweep failed")

    def stop(self, timeout: int = 600_000) -> None:
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout / 1000)
            self._sweeper = None
        super().stop(timeout)


def start_embedded_worker(app: Flask, *, worker_threads: int = 2, worker_timeout: int = 1000) -> EmbeddedWorker:
    """Worker threads inside this process, plus a sweep thread; used by `registrar run` and `registrar worker`.
    Call `stop()` on the result to end them."""
    worker = EmbeddedWorker(
        app, app.extensions[EXTENSION].broker, worker_threads=worker_threads, worker_timeout=worker_timeout
    )
    worker.start()
    return worker
