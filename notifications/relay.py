"""The broker, the delivery actor, and the relay that hands committed outbox rows to it.

Embedded mode uses dramatiq's in-process StubBroker with a worker thread; production uses Redis or RabbitMQ
and separate `registrar worker` processes. Delivery is idempotent: the actor takes an outbox id and does nothing
for a row already sent, so a resend by the sweep or a broker redelivery never e-mails twice.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import dramatiq
from dramatiq.brokers.stub import StubBroker
from flask import Flask, current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import select

from core.db import db, is_postgres, utcnow
from notifications import transport
from notifications.models import OutboxMessage

log = logging.getLogger(__name__)
QUEUE = "registrar"
EXTENSION = "registrar_notifications"
MAX_ATTEMPTS = 10


@dataclass
class Delivery:
    broker: dramatiq.Broker
    actor: dramatiq.Actor


def make_broker(url: str) -> dramatiq.Broker:
    if url == "stub":
        return StubBroker()
    if url.startswith("redis://") or url.startswith("rediss://"):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url)
    if url.startswith("amqp://") or url.startswith("amqps://"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    raise ValueError(f"REGISTRAR_BROKER_URL must be 'stub', redis://... or amqp://..., not {url!r}")


def init_app(app: Flask) -> None:
    broker = make_broker(app.config["BROKER_URL"])

    def deliver_outbox_message(outbox_id: int) -> None:
        with app.app_context():
            deliver(outbox_id)

    actor = dramatiq.actor(deliver_outbox_message, broker=broker, actor_name="deliver_outbox_message",
                           queue_name=QUEUE, max_retries=MAX_ATTEMPTS, min_backoff=1_000, max_backoff=600_000)
    broker.declare_queue(QUEUE)
    app.extensions[EXTENSION] = Delivery(broker, actor)


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
    ids = list(db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.status == "pending", OutboxMessage.created_at <= cutoff).order_by(OutboxMessage.id)))
    db.session.rollback()
    if ids:
        dispatch(ids)
    return len(ids)


def compose(row: OutboxMessage) -> EmailMessage:
    try:
        text = render_template(f"emails/{row.template}.{row.language}.txt", **row.context)
    except TemplateNotFound:
        text = render_template(f"emails/{row.template}.ru.txt", **row.context)
    first, _, body = text.partition("\n")
    message = EmailMessage()
    message["Subject"] = first.removeprefix("Subject:").strip()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = row.recipient
    message["Message-ID"] = make_msgid(idstring=f"outbox-{row.id}", domain="registrar")
    message.set_content(body.lstrip("\n"))
    return message


def deliver(outbox_id: int) -> None:
    """Send one outbox row unless it was sent already; record the failure and re-raise so dramatiq retries."""
    query = select(OutboxMessage).where(OutboxMessage.id == outbox_id)
    if is_postgres():
        query = query.with_for_update(skip_locked=True)
    row = db.session.scalar(query)
    if row is None or row.status != "pending":
        db.session.rollback()
        return
    try:
        transport.send(compose(row), row.id)
    except Exception as error:
        row.attempts += 1
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        db.session.commit()
        raise
    row.status = "sent"
    row.sent_at = utcnow()
    row.attempts += 1
    db.session.commit()


def start_embedded_worker(app: Flask) -> dramatiq.Worker:
    """Worker threads inside this process, plus a sweep thread; used by `registrar run` and `registrar worker`."""
    broker = app.extensions[EXTENSION].broker
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=1000)
    worker.start()
    interval = app.config["RELAY_INTERVAL"]

    def sweep_forever() -> None:
        stop = threading.Event()
        while not stop.wait(interval):
            with app.app_context():
                try:
                    sweep(older_than_seconds=interval)
                except Exception:
                    log.exception("outbox sweep failed")

    threading.Thread(target=sweep_forever, name="outbox-sweep", daemon=True).start()
    return worker
