"""The broker, the delivery actor, and the relay that hands committed outbox rows to it.

Embedded mode uses dramatiq's in-process StubBroker with a worker thread; production uses Redis or RabbitMQ
and separate `registrar worker` processes.

The database schedules every attempt; dramatiq never retries. A row is handed to the broker once at commit, then by
the sweep whenever it is due (`next_attempt_at`): after a failed attempt, when its backoff has passed; after a
hand-over, when it is still pending `redeliver_after()` later (a broker that lost the message, a worker that died).
Each message carries the row's attempt count when it was handed over, so a message made stale by a later attempt, or
a second copy of one, does nothing; so does any message for a row already sent. SMTP cannot be exactly-once: a row
is marked sent in its own commit the moment the server accepts it, and a process dying between the two is the one
case that sends an e-mail twice (with the same Message-ID, which lets a receiver drop it).
"""

import copy
import logging
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import dramatiq
import pika
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Flask, current_app
from jinja2 import TemplateNotFound
from sqlalchemy import or_, select, update

from core.db import db, is_postgres, utcnow
from core.logs import REQUEST_ID
from notifications import attachments, references, transport
from notifications.models import OutboxMessage
from notifications.worker_metrics import WorkerMetrics

log = logging.getLogger(__name__)
QUEUE = "registrar"
EXTENSION = "registrar_notifications"
# The retry schedule of a failing row: FIRST_RETRY_DELAY doubled after each failure up to MAX_RETRY_DELAY, each delay
# drawn at random between half of it and all of it (so rows that failed together do not retry together), for
# RETRY_FOR after the first failure; a row still failing then is marked failed.
FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=1)
RETRY_FOR = timedelta(days=3)
# A hand-over is left to the broker for this many sweep intervals before the sweep hands the row over again.
REDELIVER_AFTER_INTERVALS = 10
SWEEP_BATCH = 500
# Rows handed to the broker per message: a 20,000-line order is 40 messages, not 20,000 round trips to the broker.
DISPATCH_BATCH = 500
# A batch sends its rows one after another: more time than dramatiq's default 10 minutes for a slow SMTP server. A
# batch cut short loses nothing: its rows not sent yet stay pending for the sweep.
BATCH_TIME_LIMIT_MS = 3_600_000


@dataclass
class Delivery:
    broker: dramatiq.Broker
    actor: dramatiq.Actor  # one row: (outbox id, attempts)
    batch_actor: dramatiq.Actor | None = None  # many rows in one message: [[outbox id, attempts], ...]
    queue: str = QUEUE


def make_broker(url: str) -> dramatiq.Broker:
    """The broker `url` names, counting its messages for `/metrics` (`worker_metrics`)."""
    if url == "stub":
        broker = StubBroker()
    elif url.startswith("redis://") or url.startswith("rediss://"):
        broker = RedisBroker(url=url)
    elif url.startswith("amqp://") or url.startswith("amqps://"):
        broker = RabbitmqBroker(url=url)
    else:
        raise ValueError(f"REGISTRAR_BROKER_URL must be 'stub', redis://... or amqp://..., not {url!r}")
    broker.add_middleware(WorkerMetrics())
    return broker


def broker_problem(broker: dramatiq.Broker, timeout: float = 2.0) -> str | None:
    """None when `broker` answers now; otherwise what went wrong, for the readiness check. The in-process broker of
    the embedded mode always answers."""
    try:
        if isinstance(broker, RedisBroker):
            broker.client.ping()
        elif isinstance(broker, RabbitmqBroker):  # open and close one connection, quickly
            parameters = copy.copy(broker.parameters)
            parameters.socket_timeout = timeout
            parameters.connection_attempts = 1
            pika.BlockingConnection(parameters).close()
        return None
    except Exception as error:  # each client raises its own kinds; any of them means "not reachable now"
        return f"{type(error).__name__}: {error}"


def init_app(app: Flask) -> None:
    broker = make_broker(app.config["BROKER_URL"])

    def deliver_outbox_message(outbox_id: int, attempt: int | None = None) -> None:
        with app.app_context():
            deliver(outbox_id, attempt)

    def deliver_outbox_messages(rows: list[list[int]]) -> None:
        """Each row of the batch on its own, as `deliver_outbox_message` would: one failing row is recorded and
        retried on the outbox's schedule without holding up the others."""
        with app.app_context():
            deliver_batch(rows)

    queue = app.config.get("BROKER_QUEUE") or QUEUE  # tests give each run its own queue on a shared broker
    # the sweep retries on the outbox's schedule; dramatiq retrying too would multiply attempts
    actor = dramatiq.actor(
        deliver_outbox_message, broker=broker, actor_name="deliver_outbox_message", queue_name=queue, max_retries=0
    )
    batch_actor = dramatiq.actor(
        deliver_outbox_messages,
        broker=broker,
        actor_name="deliver_outbox_messages",
        queue_name=queue,
        max_retries=0,
        time_limit=BATCH_TIME_LIMIT_MS,
    )
    broker.declare_queue(queue)
    app.extensions[EXTENSION] = Delivery(broker, actor, batch_actor, queue)


def delivery() -> Delivery:
    return current_app.extensions[EXTENSION]


def redeliver_after() -> timedelta:
    """How long a row handed to the broker is left to it before the sweep hands it over again if still pending."""
    return timedelta(seconds=REDELIVER_AFTER_INTERVALS * float(current_app.config["RELAY_INTERVAL"]))


def retry_delay(failures: int) -> timedelta:
    """The wait before the next attempt of a row that has failed `failures` times: exponential, capped, jittered."""
    ceiling = min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * 2 ** min(failures - 1, 32))
    # Jitter only spreads retries out; nothing secret depends on it.
    return ceiling * random.uniform(0.5, 1.0)  # nosec B311


def dispatch(rows: list[tuple[int, int]]) -> None:
    """Hand committed outbox rows, as (id, attempts so far), to the broker: one message per row when there are few,
    else messages of up to `DISPATCH_BATCH` rows each. A failure here loses nothing: the sweep hands them over again
    once `redeliver_after()` has passed."""
    try:
        handed = delivery()
        if len(rows) == 1 or handed.batch_actor is None:
            for outbox_id, attempts in rows:
                handed.actor.send(outbox_id, attempts)
            return
        for start in range(0, len(rows), DISPATCH_BATCH):
            batch = rows[start : start + DISPATCH_BATCH]
            handed.batch_actor.send([[outbox_id, attempts] for outbox_id, attempts in batch])
    except Exception:  # broker down: rows stay pending for `sweep`
        log.exception("could not hand outbox rows %s to the broker; the sweep will retry", [i for i, _a in rows])


def deliver_batch(rows: list[list[int]]) -> dict[str, int]:
    """Attempt each (outbox id, attempts) of a batch message in turn, exactly as `deliver` does for one (a row sent,
    attempted since, or being delivered elsewhere is skipped); how many ended each way. A row whose delivery raises
    (the server accepted it, then the commit failed) is logged and left to the sweep; the others go on."""
    outcomes: dict[str, int] = {}
    for outbox_id, attempts in rows:
        try:
            outcome = deliver(outbox_id, attempts)
        except Exception:
            log.exception("outbox row %s: delivery raised; the sweep will look at it again", outbox_id)
            db.session.rollback()
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def sweep(now: datetime | None = None) -> int:
    """Hand over the pending rows due at `now` (by default this moment) and lease each for `redeliver_after()`;
    returns how many were handed over. Sweeps running in several processes never hand the same row over twice."""
    now = now or utcnow()
    lease_end = now + redeliver_after()
    handed, after_id = 0, 0
    while True:
        due = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == "pending",
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                OutboxMessage.id > after_id,
            )
            .order_by(OutboxMessage.id)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)  # PostgreSQL: rows another sweep or a delivery holds are not due
        )
        ids = list(db.session.scalars(due))
        if not ids:
            db.session.rollback()
            return handed
        rows = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
            .values(next_attempt_at=lease_end)
            .returning(OutboxMessage.id, OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
        dispatch(sorted((outbox_id, attempts) for outbox_id, attempts in rows))
        handed += len(rows)
        after_id = ids[-1]


def compose(row: OutboxMessage) -> EmailMessage:
    # Straight from the Jinja environment, not `render_template`: the app's context processors are for pages and
    # expect a request and a signed-in user, which a worker has not.
    environment = current_app.jinja_env
    try:
        template = environment.get_template(f"emails/{row.template}.{row.language}.txt")
    except TemplateNotFound:
        template = environment.get_template(f"emails/{row.template}.ru.txt")
    context = references.full_context(row.context)
    text = template.render(**context)
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
    for spec in attachments.specs(context):
        attachment = attachments.render(spec, context)
        message.add_attachment(
            attachment.content, maintype=attachment.maintype, subtype=attachment.subtype, filename=attachment.filename
        )
    return message


_in_flight: set[tuple[str, int]] = set()
_in_flight_changed = threading.Condition()


@contextmanager
def _one_at_a_time(outbox_id: int) -> Iterator[None]:
    """Deliver a row in one thread at a time. On PostgreSQL the row lock taken in `_deliver` does it across
    processes; SQLite has no row locks, so there the row is claimed within this process, which is where the embedded
    mode runs all of its worker threads. A second thread waits for the first and then finds the row sent (or
    attempted): giving up instead could drop a valid message when its twin is only checking a stale one."""
    if is_postgres():
        yield
        return
    key = (str(db.engine.url), outbox_id)
    with _in_flight_changed:
        _in_flight_changed.wait_for(lambda: key not in _in_flight)
        _in_flight.add(key)
    try:
        yield
    finally:
        with _in_flight_changed:
            _in_flight.discard(key)
            _in_flight_changed.notify_all()


def deliver(outbox_id: int, attempt: int | None = None) -> str:
    """Attempt one outbox row now, unless it is sent, failed, or already attempted since the message naming
    `attempt` was handed over (None: whatever its count). A failure is recorded with the next attempt's time, never
    raised, so that only the outbox schedules retries. Returns "sent", "retry", "failed" or "skipped".

    A row being delivered by another thread or process at this moment is waited for, and then found sent."""
    with _one_at_a_time(outbox_id):
        return _deliver(outbox_id, attempt)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands stored UTC moments back naive."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _deliver(outbox_id: int, attempt: int | None) -> str:
    postgres = is_postgres()
    query = select(OutboxMessage).where(OutboxMessage.id == outbox_id)
    if postgres:  # held until the commit below: no other process sends this row meanwhile
        query = query.with_for_update()
    row = db.session.scalar(query)
    if row is None or row.status != "pending" or attempt not in (None, row.attempts):
        db.session.rollback()
        return "skipped"
    attempts, retry_until = row.attempts, _aware(row.retry_until)
    REQUEST_ID.set(row.context.get("request_id"))
    this_row = OutboxMessage.id == outbox_id
    accepted = False

    def mark_sent() -> None:
        nonlocal accepted
        accepted = True
        db.session.execute(
            update(OutboxMessage)
            .where(this_row)
            .values(status="sent", sent_at=utcnow(), attempts=attempts + 1, next_attempt_at=None)
        )
        db.session.commit()
        log.info("outbox row %s sent", outbox_id)

    try:
        message = compose(row)
        if not postgres:
            # SQLite: end the read before the slow send, so that the write below opens a fresh transaction that
            # waits its turn for the lock, instead of failing on a snapshot another worker thread has outdated. A
            # commit, not a rollback: a renderer may have frozen what it rendered (a stored extract), which is kept.
            db.session.commit()
        transport.send(message, outbox_id, on_accepted=mark_sent)
    except Exception as error:
        if accepted:  # the server has the message: never count it as a failure (nor send it again)
            raise
        return _record_failure(outbox_id, attempts, retry_until, error)
    return "sent"


def _record_failure(outbox_id: int, attempts: int, retry_until: datetime | None, error: Exception) -> str:
    now = utcnow()
    retry_until = retry_until or now + RETRY_FOR
    give_up = now >= retry_until
    next_attempt_at = None if give_up else now + retry_delay(attempts + 1)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "pending", OutboxMessage.attempts == attempts)
        .values(
            attempts=attempts + 1,
            last_error=f"{type(error).__name__}: {error}"[:2000],
            retry_until=retry_until,
            status="failed" if give_up else "pending",
            next_attempt_at=next_attempt_at,
        )
    )
    db.session.commit()
    if give_up:
        log.error("outbox row %s failed for good after %s attempts: %s", outbox_id, attempts + 1, error)
        return "failed"
    log.warning("outbox row %s failed (attempt %s), next at %s: %s", outbox_id, attempts + 1, next_attempt_at, error)
    return "retry"


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
                    sweep()
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
