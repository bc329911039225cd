"""E-mail delivery through dramatiq, with real parts: a real SMTP server (aiosmtpd) started by the test, real
commits, dramatiq worker threads, and — with REGISTRAR_TEST_BROKERS=1 — real Redis and RabbitMQ.

Each test builds its own app with `create_app` on the suite's database (so it has its own broker, actor and mail
settings) and wipes the tables afterwards: worker threads only see committed rows, so the rolled-back `session`
fixture cannot serve here. Every worker and SMTP server is stopped in a `finally`, and a guard fails the test if
a thread it started is still running after it.
"""

import asyncio
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import quote

import dramatiq
import pytest
import redis
from aiosmtpd.controller import Controller
from docx import Document
from dramatiq.common import dq_name, xq_name
from markupsafe import escape
from sqlalchemy import func, select, update

from core.db import db, utcnow
from notifications import attachments, relay
from notifications.models import OutboxMessage
from notifications.outbox import enqueue_email, enqueue_emails
from orders.models import Order, OrderExtract, OrderLine, OrderSequence
from registrar.app import create_app
from students.models import Student
from students.names import decline, sex_of
from tests.conftest import Factory, login, visa_until_signature, wipe_tables
from workflow.engine import fire

WAIT = 30  # seconds any wait may take before the test fails instead of hanging
REAL_BROKERS = os.environ.get("REGISTRAR_TEST_BROKERS") == "1"
REDIS_URL = os.environ.get("REGISTRAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("REGISTRAR_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


# The SMTP server ---------------------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping every message it accepts; `delay` makes each delivery take that long."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.received: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self._lock:
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [message for _rcpt, message in self.received]

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for rcpt, message in self.received if rcpt == [address]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(port: int | None = None, delay: float = 0.0) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox(delay)
    controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


# Fixtures and helpers ----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while True:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"threads still running after the test: {[t.name for t in left]}"


@pytest.fixture
def build_app(app, tmp_path) -> Iterator[Callable[..., object]]:
    """Builds an app on the suite's (already migrated) database with the given settings; wipes every table after."""
    built = []

    def build(**settings):
        config = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "test",
            "BROKER_URL": "stub",
            "MAIL_TRANSPORT": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": free_port(),
            "MAILBOX_DIR": str(tmp_path / "mailbox"),
            "RELAY_INTERVAL": 3600,  # the sweep thread stays asleep unless a test calls sweep() itself
        }
        config.update(settings)
        built.append(create_app(config))
        return built[-1]

    yield build
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            wipe_tables(connection)
    for each in built:
        with each.app_context():
            db.engine.dispose()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.05)


def outbox() -> list[OutboxMessage]:
    """The outbox as committed now (the rollback ends this thread's read snapshot)."""
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def broker_of(app) -> dramatiq.Broker:
    return app.extensions[relay.EXTENSION].broker


def queued(app) -> int:
    """Messages waiting on a stub broker's queue."""
    return broker_of(app).queues[app.extensions[relay.EXTENSION].queue].qsize()


def queued_rows(app) -> list[list[int]]:
    """The outbox rows (id, attempts) each message waiting on a stub broker's queue hands over."""
    waiting = list(broker_of(app).queues[app.extensions[relay.EXTENSION].queue].queue)
    messages = [dramatiq.Message.decode(data) for data in waiting]
    return [
        [row[0] for row in message.args[0]] if message.actor_name == "deliver_outbox_messages" else [message.args[0]]
        for message in messages
    ]


@dataclass(frozen=True)
class Recipient:
    email: str
    full_name: str
    iin: str


class Signed:
    """An expulsion order of a ru-group student and a kk-group student, taken through the whole route."""

    def __init__(self, *, sign: bool = True):
        make = Factory()
        fa, fb = make.faculty(), make.faculty()
        self.ru = make.student(make.group(fa, language="ru"), surname="Иванова", name="Мария")
        self.kk = make.student(make.group(fb, language="kk"), surname="Сәрсенбаев", name="Дәулет")
        self.clerk = make.user("clerk")
        self.approvers = [
            make.user("dean", fa),
            make.user("dean", fb),
            make.user("registrar"),
            make.user("lawyer"),
        ]  # the legal route: deans, registrar office, lawyer
        self.rector = make.user("rector")
        self.admin = make.user("admin")
        self.order = make.order(self.clerk, [self.ru, self.kk])
        db.session.commit()
        self.order_id = self.order.id
        # plain values, usable after this app context (and its session) is gone
        self.to = {s.group.language: Recipient(s.email, s.full_name, s.iin) for s in (self.ru, self.kk)}
        fire(self.order, "submit", self.clerk)
        db.session.commit()
        for approver in self.approvers:
            fire(self.order, "approve", approver)
            db.session.commit()
        if sign:
            self.sign()

    def sign(self) -> None:
        assert fire(self.order, "sign", self.rector) == "signed"
        db.session.commit()


def body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def assert_emails(inbox: Inbox, signed: Signed) -> None:
    """One e-mail per student, to the student, naming the order, the student and the IIN, in the group's language."""
    label = db.session.get(Order, signed.order_id).number_label
    assert label
    assert len(inbox.messages) == 2
    ru, kk = signed.to["ru"], signed.to["kk"]
    (to_ru,) = inbox.to(ru.email)
    assert to_ru["To"] == ru.email
    assert to_ru["Subject"].startswith(f"Приказ {label} от ")
    text = body(to_ru)
    assert f"Уважаемая {ru.full_name}!" in text
    assert "Отчислить обучающуюся " in text and f"Иванову Марию Сериковну (ИИН {ru.iin})" in text
    (to_kk,) = inbox.to(kk.email)
    assert to_kk["To"] == kk.email
    assert f"№ {label} бұйрық" in to_kk["Subject"]
    text = body(to_kk)
    assert f"Құрметті {kk.full_name}!" in text
    assert f"{kk.full_name} (ЖСН {kk.iin})" in text
    assert "оқудан шығарылсын" in text
    assert "Отчислить" not in text


# Embedded mode: stub broker, worker threads in this process --------------------------------------------------


def test_signing_emails_every_student_in_the_group_language_through_the_worker(build_app):
    with smtp_server() as (inbox, port):
        mail_app = build_app(SMTP_PORT=port)
        with mail_app.app_context():
            signed = Signed()
            rows = outbox()
            assert [r.status for r in rows] == ["pending", "pending"]
            assert queued_rows(mail_app) == [[r.id for r in rows]]  # the commit handed both ids over, in one message
            assert inbox.messages == []  # nothing is sent inside the request
            worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
            try:
                broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
                wait_for(lambda: len(inbox.messages) == 2, "two e-mails at the SMTP server")
            finally:
                worker.stop(timeout=10_000)
            assert_emails(inbox, signed)
            rows = outbox()
            assert [(r.status, r.attempts, r.last_error) for r in rows] == [("sent", 1, ""), ("sent", 1, "")]
            assert all(r.sent_at is not None for r in rows)
            assert {r.language for r in rows} == {"ru", "kk"}


def test_delivering_the_same_outbox_row_again_sends_nothing_more(build_app):
    with smtp_server() as (inbox, port):
        mail_app = build_app(SMTP_PORT=port)
        with mail_app.app_context():
            Signed()
            ids = [r.id for r in outbox()]
            for outbox_id in ids + ids:  # directly, twice
                relay.deliver(outbox_id)
            assert len(inbox.messages) == 2
            # and through the broker: the same ids again, plus a sweep an hour later (which finds nothing pending)
            actor = mail_app.extensions[relay.EXTENSION].actor
            for outbox_id in ids:
                actor.send(outbox_id)
            assert relay.sweep(now=utcnow() + timedelta(hours=1)) == 0
            worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
            try:
                broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
            finally:
                worker.stop(timeout=10_000)
            assert len(inbox.messages) == 2
            assert [(r.status, r.attempts) for r in outbox()] == [("sent", 1), ("sent", 1)]
            message_ids = {m["Message-ID"] for m in inbox.messages}
            assert len(message_ids) == 2 and all("outbox-" in m for m in message_ids)


def test_a_big_batch_goes_to_the_broker_in_messages_of_many_rows_each_delivered_once(build_app):
    with smtp_server() as (inbox, port):
        mail_app = build_app(SMTP_PORT=port, MAIL_FROM="registrar@university.test")
        with mail_app.app_context():
            count = relay.DISPATCH_BATCH + 3
            ids = enqueue_emails(
                [
                    {
                        "recipient": f"u{n}@students.test",
                        "template": "expulsion_student",
                        "context": {},
                        "language": "ru",
                    }
                    for n in range(count)
                ]
            )
            db.session.commit()
            handed = queued_rows(mail_app)
            assert [len(batch) for batch in handed] == [relay.DISPATCH_BATCH, 3]
            assert [row for batch in handed for row in batch] == ids
            # a batch handed over twice (the broker redelivers, the sweep resends) sends nothing twice
            mail_app.extensions[relay.EXTENSION].batch_actor.send([[ids[0], 0], [ids[-1], 0]])
            worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
            try:
                broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
                wait_for(lambda: len(inbox.messages) == count, f"{count} e-mails at the SMTP server")
            finally:
                worker.stop(timeout=10_000)
            assert sorted(m["To"] for m in inbox.messages) == sorted(f"u{n}@students.test" for n in range(count))
            assert {(r.status, r.attempts) for r in outbox()} == {("sent", 1)}


class InboxReadingTheRowAtQuit(Inbox):
    """Reads the outbox row's status when the client says QUIT, that is after the server accepted the message and
    before the connection closes."""

    def __init__(self, engine):
        super().__init__()
        self.engine = engine
        self.status_at_quit: list[str] = []

    async def handle_QUIT(self, server, session, envelope) -> str:
        with self.engine.connect() as connection:
            self.status_at_quit.append(connection.scalar(select(OutboxMessage.status)))
        return "221 Bye"


def test_a_row_is_marked_sent_the_moment_the_server_accepts_it_before_the_connection_closes(build_app):
    """A worker dying after the server's acceptance sends the e-mail again only if it dies before this commit."""
    mail_app = build_app()
    with mail_app.app_context():
        inbox = InboxReadingTheRowAtQuit(db.engine)
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        try:
            mail_app.config["SMTP_PORT"] = controller.port
            enqueue_email("once@students.test", "expulsion_student", {"student_name": "Ким Ирина"}, "ru")
            db.session.commit()
            (row,) = outbox()
            assert relay.deliver(row.id, attempt=0) == "sent"
        finally:
            controller.stop()
        assert inbox.status_at_quit == ["sent"]
        assert len(inbox.to("once@students.test")) == 1
        assert relay.deliver(row.id, attempt=0) == "skipped"  # the broker redelivering it: nothing more
        assert relay.deliver(row.id) == "skipped"
        assert len(inbox.messages) == 1


def test_two_workers_delivering_the_same_row_at_once_send_one_email(build_app):
    """A sweep may resend a row while its first message is still being delivered: only one e-mail goes out."""
    with smtp_server(delay=0.5) as (inbox, port):  # a slow server keeps the first delivery in flight
        mail_app = build_app(SMTP_PORT=port)
        with mail_app.app_context():
            enqueue_email("twice@students.test", "expulsion_student", {"student_name": "Ким Ирина"}, "ru")
            db.session.commit()
            (row,) = outbox()
        barrier = threading.Barrier(2, timeout=WAIT)
        errors = []

        def deliver() -> None:
            with mail_app.app_context():
                try:
                    barrier.wait()
                    relay.deliver(row.id)
                except Exception as error:
                    errors.append(error)

        threads = [threading.Thread(target=deliver, name=f"deliver-{i}") for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert len(inbox.to("twice@students.test")) == 1
        with mail_app.app_context():
            assert [(r.status, r.attempts) for r in outbox()] == [("sent", 1)]


def test_a_rolled_back_transaction_sends_nothing(build_app):
    with smtp_server() as (inbox, port):
        mail_app = build_app(SMTP_PORT=port)
        with mail_app.app_context():
            signed = Signed(sign=False)
            fire(signed.order, "sign", signed.rector)  # the outbox rows are written in this transaction...
            assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
            enqueue_email("lost@students.test", "expulsion_student", {"student_name": "Ли Анна"}, "ru")
            db.session.rollback()  # ...and vanish with it
            assert outbox() == []
            assert queued(mail_app) == 0  # nothing was handed to the broker
            assert db.session.get(Order, signed.order_id).state == "awaiting_signature"
            assert db.session.scalar(select(func.count()).select_from(OrderSequence)) == 0  # no number taken
            worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
            try:
                assert relay.sweep(now=utcnow() + timedelta(hours=1)) == 0
                broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
            finally:
                worker.stop(timeout=10_000)
            assert inbox.messages == []


def test_a_broker_down_at_commit_loses_nothing_the_sweep_delivers_later(build_app, caplog, monkeypatch):
    # Alembic's fileConfig() (run by the migrations in the `app` fixture) disables existing loggers.
    monkeypatch.setattr(relay.log, "disabled", False)
    with smtp_server() as (inbox, port):
        # This app's broker is a Redis nobody listens on: handing the ids over fails at commit.
        down = build_app(BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", SMTP_PORT=port)
        with down.app_context():
            signed = Signed()  # the signing commit succeeds all the same
            assert db.session.get(Order, signed.order_id).state == "signed"
            assert [r.status for r in outbox()] == ["pending", "pending"]
        assert "could not hand outbox rows" in caplog.text
        assert inbox.messages == []

        # Later, a process whose broker works sweeps the outbox and the e-mails go out.
        mail_app = build_app(SMTP_PORT=port)
        with mail_app.app_context():
            worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
            try:
                assert relay.sweep(now=utcnow()) == 0  # the commit's hand-over is left to the broker for a while
                assert relay.sweep(now=utcnow() + relay.redeliver_after()) == 2
                wait_for(lambda: len(inbox.messages) == 2, "the swept e-mails")
                broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
            finally:
                worker.stop(timeout=10_000)
            assert_emails(inbox, signed)
            assert [r.status for r in outbox()] == ["sent", "sent"]


def test_the_embedded_sweep_thread_resends_rows_left_pending(build_app):
    with smtp_server() as (inbox, port):
        # the rows are left to the broker for ten sweep intervals before the sweep hands them over again
        down = build_app(BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", SMTP_PORT=port, RELAY_INTERVAL=0.2)
        with down.app_context():
            Signed()
        mail_app = build_app(SMTP_PORT=port, RELAY_INTERVAL=0.2)
        worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
        try:
            wait_for(lambda: len(inbox.messages) == 2, "the sweep thread to resend both rows")
        finally:
            worker.stop(timeout=10_000)
        with mail_app.app_context():
            assert [r.status for r in outbox()] == ["sent", "sent"]


def test_an_smtp_server_down_keeps_the_rows_pending_and_the_sweep_retries(build_app, monkeypatch):
    monkeypatch.setattr(relay, "FIRST_RETRY_DELAY", timedelta(seconds=0.2))  # the schedule, shortened
    port = free_port()  # nothing listens here yet
    mail_app = build_app(SMTP_PORT=port, RELAY_INTERVAL=0.2)
    with mail_app.app_context():
        signed = Signed(sign=False)
        order_id = signed.order_id
        db.session.rollback()
        client = mail_app.test_client()
        login(client, signed.rector)
        response = client.post(f"/orders/{order_id}/fire/sign")  # the request does not touch SMTP at all
        assert response.status_code == 302
        assert db.session.get(Order, order_id).state == "signed"
        worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
        try:
            wait_for(lambda: all(r.attempts >= 1 for r in outbox()), "a failed attempt on each row")
            rows = outbox()
            assert [r.status for r in rows] == ["pending", "pending"]
            assert all("Connection refused" in r.last_error or "ConnectionRefused" in r.last_error for r in rows)
            assert all(r.sent_at is None for r in rows)
            with smtp_server(port) as (inbox, _port):  # the server comes back: the next scheduled attempt delivers
                wait_for(lambda: all(r.status == "sent" for r in outbox()), "the sweep to retry both rows")
                assert_emails(inbox, signed)
        finally:
            worker.stop(timeout=10_000)
        rows = outbox()
        assert all(r.attempts >= 2 for r in rows)


# Real brokers ------------------------------------------------------------------------------------------------


def _require_reachable(broker: dramatiq.Broker, url: str) -> None:
    try:
        if url.startswith("redis"):
            broker.client.ping()
        else:
            broker.connection  # noqa: B018 - opening the connection is the check
    except Exception as error:
        reason = f"{type(error).__name__}: {str(error).strip() or repr(error.args)}"
        pytest.fail(f"REGISTRAR_TEST_BROKERS=1 but the broker at {url} cannot be reached: {reason}")


def _drop_queue(broker: dramatiq.Broker, url: str, queue: str) -> None:
    if url.startswith("redis"):
        for key in broker.client.scan_iter(f"dramatiq:*{queue}*"):
            broker.client.delete(key)
        return
    channel = broker.channel
    for name in (queue, dq_name(queue), xq_name(queue)):
        channel.queue_delete(name)


@pytest.mark.broker
@pytest.mark.parametrize(
    "url",
    [
        pytest.param(REDIS_URL, id="redis"),
        pytest.param(AMQP_URL, id="rabbitmq"),
    ],
)
def test_delivery_through_a_real_broker(build_app, url):
    if not REAL_BROKERS:
        pytest.skip("needs a running Redis and RabbitMQ: set REGISTRAR_TEST_BROKERS=1 (CI does)")
    queue = f"registrar-test-{uuid.uuid4().hex[:12]}"  # leftovers on the shared broker cannot interfere
    with smtp_server() as (inbox, port):
        mail_app = build_app(BROKER_URL=url, BROKER_QUEUE=queue, SMTP_PORT=port)
        broker = broker_of(mail_app)
        _require_reachable(broker, url)
        try:
            with mail_app.app_context():
                signed = Signed()  # the commit hands the ids to the real broker
                worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
                worker.start()
                try:
                    wait_for(lambda: len(inbox.messages) == 2, f"two e-mails through {url.split('://')[0]}")
                    wait_for(lambda: all(r.status == "sent" for r in outbox()), "both rows marked sent")
                finally:
                    worker.stop(timeout=10_000)
                assert_emails(inbox, signed)
        finally:
            _drop_queue(broker, url, queue)
            broker.close()


# The admin mailbox of the embedded mode ----------------------------------------------------------------------


def test_the_admin_mailbox_shows_delivered_emails_and_refuses_others(build_app, tmp_path):
    mail_app = build_app(MAIL_TRANSPORT="mailbox", MAILBOX_DIR=str(tmp_path / "box"))
    with mail_app.app_context():
        signed = Signed()
        worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
        try:
            broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
            wait_for(lambda: len(list((tmp_path / "box").glob("*.eml"))) == 2, "two files in the mailbox")
        finally:
            worker.stop(timeout=10_000)
        assert [r.status for r in outbox()] == ["sent", "sent"]
        files = sorted((tmp_path / "box").glob("*.eml"))
        messages = [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]
        label = db.session.get(Order, signed.order_id).number_label
        assert all(label in m["Subject"] for m in messages)

        client = mail_app.test_client()
        login(client, signed.admin)
        page = client.get("/admin/mailbox/")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        for message in messages:
            assert str(escape(message["Subject"])) in html
            assert message["To"] in html
        shown = client.get(f"/admin/mailbox/{files[0].stem}").get_data(as_text=True)
        student = next(s for s in signed.to.values() if s.email == messages[0]["To"])
        assert student.iin in shown

        login(client, signed.clerk)
        assert client.get("/admin/mailbox/").status_code == 403
        assert client.get(f"/admin/mailbox/{files[0].stem}").status_code == 403


# Attachments: each student's extract from the order, rendered by the worker at send time -----------------------

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def extract_text(message: EmailMessage) -> str:
    """The text of the one DOCX the e-mail attaches, as python-docx reads it."""
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == DOCX
    assert part.get_filename().endswith(".docx")
    document = Document(io.BytesIO(part.get_content()))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def assert_extract(message: EmailMessage, student: Recipient, other: Recipient, label: str) -> None:
    text = extract_text(message)
    assert "ВЫПИСКА ИЗ ПРИКАЗА" in text
    assert f"№ {label}" in text
    assert "Отчислить обучающ" in text  # the item in Russian, the name in the accusative
    assert f"{decline(student.full_name, 'accusative', sex_of(student.iin))} (ИИН {student.iin})" in text
    assert f"{student.full_name} (ЖСН {student.iin})" in text and "оқудан шығарылсын" in text  # and in Kazakh
    assert other.iin not in text and other.full_name not in text


def test_every_student_gets_own_extract_as_a_docx_attachment_through_the_worker(build_app):
    with smtp_server() as (inbox, port):
        mail_app = build_app(SMTP_PORT=port)
        with mail_app.app_context():
            signed = Signed()
            label = db.session.get(Order, signed.order_id).number_label
            worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
            try:
                broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
                wait_for(lambda: len(inbox.messages) == 2, "two e-mails at the SMTP server")
            finally:
                worker.stop(timeout=10_000)
            assert_emails(inbox, signed)  # the text part is as before
            ru, kk = signed.to["ru"], signed.to["kk"]
            (to_ru,), (to_kk,) = inbox.to(ru.email), inbox.to(kk.email)
            assert_extract(to_ru, ru, kk, label)
            assert_extract(to_kk, kk, ru, label)
            assert [r.status for r in outbox()] == ["sent", "sent"]


def test_a_student_renamed_after_signing_gets_the_extract_with_the_name_the_order_found(build_app):
    with smtp_server() as (inbox, port):
        mail_app = build_app(SMTP_PORT=port)
        with mail_app.app_context():
            signed = Signed()
            label = db.session.get(Order, signed.order_id).number_label
            before = signed.to["ru"]
            db.session.get(Student, signed.ru.id).surname = "Петрова"  # a later change of the student record
            db.session.commit()
            for row in outbox():
                relay.deliver(row.id)
            (message,) = inbox.to(before.email)
            assert_extract(message, before, signed.to["kk"], label)
            assert "Петрова" not in extract_text(message)


def test_the_local_mailbox_keeps_the_attachment_and_the_admin_sees_its_name(build_app, tmp_path):
    mail_app = build_app(MAIL_TRANSPORT="mailbox", MAILBOX_DIR=str(tmp_path / "box"))
    with mail_app.app_context():
        signed = Signed()
        label = db.session.get(Order, signed.order_id).number_label
        for row in outbox():
            relay.deliver(row.id)
        files = sorted((tmp_path / "box").glob("*.eml"))
        assert len(files) == 2
        by_to = {m["To"]: m for m in (BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files)}
        ru, kk = signed.to["ru"], signed.to["kk"]
        assert_extract(by_to[ru.email], ru, kk, label)
        assert_extract(by_to[kk.email], kk, ru, label)
        filename = next(by_to[ru.email].iter_attachments()).get_filename()
        client = mail_app.test_client()
        login(client, signed.admin)
        assert filename in client.get("/admin/mailbox/").get_data(as_text=True)
        name = next(f.stem for f in files if by_to[ru.email]["Message-ID"] in f.read_text())
        assert filename in client.get(f"/admin/mailbox/{name}").get_data(as_text=True)
        # The admin downloads the attachment: the student's stored extract, the very bytes of the personal file.
        downloaded = client.get(f"/admin/mailbox/{name}/attachments/1")
        assert downloaded.status_code == 200 and quote(filename) in downloaded.headers["Content-Disposition"]
        stored = db.session.scalar(
            select(OrderExtract.content)
            .join(OrderLine, OrderLine.id == OrderExtract.order_line_id)
            .join(Student, Student.id == OrderLine.student_id)
            .where(Student.iin == ru.iin)
        )
        assert downloaded.data == stored
        assert client.get(f"/admin/mailbox/{name}/attachments/2").status_code == 404
        login(client, signed.clerk)
        assert client.get(f"/admin/mailbox/{name}/attachments/1").status_code == 403


def test_an_unknown_renderer_keeps_the_email_in_the_outbox_with_the_error_until_a_retry_can_render_it(build_app):
    spec = {"renderer": "late_note", "filename": "note.txt", "context": {"text": "Справка"}}
    with smtp_server() as (inbox, port):
        mail_app = build_app(SMTP_PORT=port)
        with mail_app.app_context():
            admin = Factory().user("admin")
            enqueue_email(
                "later@students.test", "expulsion_student", {"student_name": "Ким Ирина", "attachments": [spec]}, "ru"
            )
            db.session.commit()
            (row,) = outbox()
            assert relay.deliver(row.id) == "retry"  # recorded, with the next attempt on the outbox's schedule
            (row,) = outbox()
            assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
            assert "late_note" in row.last_error and "UnknownRenderer" in row.last_error
            assert inbox.messages == []
            client = mail_app.test_client()
            login(client, admin)
            page = client.get("/admin/mailbox/").get_data(as_text=True)
            assert "later@students.test" in page and "note.txt" in page and "late_note" in page

            attachments.register_renderer("late_note", lambda context: context["text"].encode())
            assert relay.deliver(row.id, attempt=1) == "sent"  # the next attempt, once the renderer is known
            (row,) = outbox()
            assert (row.status, row.attempts) == ("sent", 2)
            (message,) = inbox.to("later@students.test")
            (part,) = list(message.iter_attachments())
            assert part.get_filename() == "note.txt" and part.get_payload(decode=True) == "Справка".encode()


# Retries on the outbox's schedule ----------------------------------------------------------------------------


def aware(moment):
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment  # SQLite hands back naive UTC


def test_the_retry_schedule_doubles_up_to_an_hour_with_jitter():
    for failures in range(1, 200):
        ceiling = min(timedelta(hours=1), timedelta(seconds=30) * 2 ** min(failures - 1, 20))
        delays = {relay.retry_delay(failures) for _ in range(20)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1  # jittered: rows that failed together do not retry together
    assert timedelta(days=3) <= relay.RETRY_FOR


def test_a_failed_attempt_waits_its_backoff_and_the_sweep_respects_it(build_app):
    mail_app = build_app()  # nothing listens at its SMTP port
    with mail_app.app_context():
        assert mail_app.extensions[relay.EXTENSION].actor.options["max_retries"] == 0  # dramatiq never retries
        enqueue_email("later@students.test", "expulsion_student", {"student_name": "Ким Ирина"}, "ru")
        db.session.commit()
        (row,) = outbox()
        assert queued(mail_app) == 1  # handed over at commit...
        assert relay.sweep() == 0  # ...so the sweep leaves it to the broker for now
        before = utcnow()
        assert relay.deliver(row.id, attempt=0) == "retry"
        (row,) = outbox()
        assert (row.status, row.attempts) == ("pending", 1)
        assert "ConnectionRefused" in row.last_error or "Connection refused" in row.last_error
        next_attempt_at = aware(row.next_attempt_at)
        assert timedelta(seconds=14) <= next_attempt_at - before <= timedelta(seconds=31)
        assert aware(row.retry_until) - before >= timedelta(days=3)

        assert relay.deliver(row.id, attempt=0) == "skipped"  # a second copy of that hand-over is stale now
        assert relay.sweep() == 0
        assert relay.sweep(now=next_attempt_at - timedelta(seconds=1)) == 0  # not due before its backoff ends
        assert relay.sweep(now=next_attempt_at) == 1
        assert relay.sweep(now=next_attempt_at) == 0  # handed over once, not on every pass
        assert relay.sweep(now=next_attempt_at + relay.redeliver_after()) == 1  # a lost hand-over is handed again
        assert [(r.status, r.attempts) for r in outbox()] == [("pending", 1)]


def test_a_row_failing_past_its_retry_period_is_failed_until_the_admin_resends_it(build_app):
    with smtp_server() as (inbox, port):
        mail_app = build_app(SMTP_PORT=free_port())  # down
        with mail_app.app_context():
            admin = Factory().user("admin")
            clerk = Factory().user("clerk")
            enqueue_email("later@students.test", "expulsion_student", {"student_name": "Ким Ирина"}, "ru")
            db.session.commit()
            (row,) = outbox()
            assert relay.deliver(row.id) == "retry"
            db.session.get(OutboxMessage, row.id).retry_until = utcnow() - timedelta(seconds=1)  # three days later
            db.session.commit()
            assert relay.deliver(row.id) == "failed"
            (row,) = outbox()
            assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)
            assert relay.sweep(now=utcnow() + timedelta(days=30)) == 0  # nothing resends a failed row by itself

            client = mail_app.test_client()
            login(client, clerk)
            assert client.post(f"/admin/mailbox/outbox/{row.id}/resend").status_code == 403
            assert client.post("/admin/mailbox/outbox/resend-failed").status_code == 403
            login(client, admin)
            page = client.get("/admin/mailbox/").get_data(as_text=True)
            assert "later@students.test" in page and "ConnectionRefused" in page
            assert f"/admin/mailbox/outbox/{row.id}/resend" in page and "/admin/mailbox/outbox/resend-failed" in page
            waiting = queued(mail_app)
            assert client.post("/admin/mailbox/outbox/resend-failed").status_code == 302
            (row,) = outbox()
            assert (row.status, row.retry_until) == ("pending", None)
            assert queued(mail_app) == waiting + 1  # handed to the broker at once

            mail_app.config["SMTP_PORT"] = port  # the server is back
            assert client.post(f"/admin/mailbox/outbox/{row.id}/resend").status_code == 302
            worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
            try:
                broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
            finally:
                worker.stop(timeout=10_000)
            assert [(r.status, r.attempts) for r in outbox()] == [("sent", 3)]
            assert len(inbox.to("later@students.test")) == 1  # two hand-overs of one attempt: one e-mail


def test_the_admin_sees_the_extract_an_undelivered_signing_email_attaches(build_app):
    mail_app = build_app(SMTP_PORT=free_port())  # down
    with mail_app.app_context():
        signed = Signed()
        label = db.session.get(Order, signed.order_id).number_label
        for row in outbox():
            assert relay.deliver(row.id) == "retry"
        client = mail_app.test_client()
        login(client, signed.admin)
        page = client.get("/admin/mailbox/").get_data(as_text=True)
        assert page.count(f"extract-{label}-") == 2 and signed.to["ru"].email in page


def test_resend_needs_the_csrf_token(build_app):
    mail_app = build_app(WTF_CSRF_ENABLED=True)
    with mail_app.app_context():
        admin = Factory().user("admin")
        enqueue_email("later@students.test", "expulsion_student", {"student_name": "Ким Ирина"}, "ru")
        db.session.commit()
        (row,) = outbox()
        relay.deliver(row.id)
        client = mail_app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"username": admin.username, "password": "secret", "csrf_token": token})
        assert response.status_code == 302
        assert client.post(f"/admin/mailbox/outbox/{row.id}/resend").status_code == 400
        assert outbox()[0].retry_until is not None  # unchanged
        page = client.get("/admin/mailbox/").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        assert client.post(f"/admin/mailbox/outbox/{row.id}/resend", data={"csrf_token": token}).status_code == 302
        assert outbox()[0].retry_until is None


def test_the_admin_mailbox_pages_through_delivered_and_undelivered_emails(build_app, tmp_path):
    box = tmp_path / "box"
    box.mkdir()
    for n in range(1, 238):
        message = EmailMessage()
        message["To"], message["Subject"] = f"s{n}@students.test", f"Письмо {n:03d}"
        message.set_content("Текст")
        (box / f"{n:08d}.eml").write_bytes(bytes(message))
    mail_app = build_app(MAIL_TRANSPORT="mailbox", MAILBOX_DIR=str(box), BABEL_DEFAULT_LOCALE="en")
    with mail_app.app_context():
        admin = Factory().user("admin")
        ids = enqueue_emails(
            [
                {"recipient": f"u{n}@students.test", "template": "expulsion_student", "context": {}, "language": "ru"}
                for n in range(1, 61)
            ]
        )
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(attempts=2, last_error="SMTPServerDisconnected: gone", next_attempt_at=utcnow())
        )
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[-1]).values(status="failed"))
        db.session.commit()
        client = mail_app.test_client()
        login(client, admin)

        first = client.get("/admin/mailbox/").get_data(as_text=True)
        assert first.count("Письмо ") == 50 and "Письмо 237" in first and "Письмо 187" not in first
        assert "Page 1 of 5" in first and "page=2" in first
        last = client.get("/admin/mailbox/?page=5").get_data(as_text=True)
        assert last.count("Письмо ") == 37 and "Письмо 001" in last
        every = set()
        for page in range(1, 6):
            html = client.get(f"/admin/mailbox/?page={page}").get_data(as_text=True)
            every |= {n for n in range(1, 238) if f"Письмо {n:03d}<" in html}
        assert every == set(range(1, 238))

        assert first.count("SMTPServerDisconnected: gone") == 50 and "Page 1 of 2" in first
        assert "u60@students.test" in first and "u10@students.test" not in first
        second = client.get("/admin/mailbox/?outbox_page=2").get_data(as_text=True)
        assert second.count("SMTPServerDisconnected: gone") == 10 and "u10@students.test" in second
        assert "Attempts" in second and "Next attempt" in second and "<td>2</td>" in second


# Faults on the real services: a Redis killed mid-signing, a worker process killed mid-batch ---------------------


def require_brokers() -> None:
    if not REAL_BROKERS:
        pytest.skip("needs redis-server and a real broker: set REGISTRAR_TEST_BROKERS=1 (CI does)")
    if not os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("runs on PostgreSQL (CI phase 2): worker processes and the signing share the database")
    if shutil.which("redis-server") is None:
        pytest.fail("REGISTRAR_TEST_BROKERS=1 but redis-server is not installed")


def start_redis(port: int) -> subprocess.Popen:
    """A Redis of this test's own on 127.0.0.1:`port`, keeping nothing on disk (so a restart starts empty)."""
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)

    def answers() -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    wait_for(answers, f"redis-server on port {port}", timeout=10)
    client.close()
    return process


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)


class CountingInbox(Inbox):
    """Counts the messages whose DATA the server has started to take in, accepted or not."""

    started = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.started += 1
        return await super().handle_DATA(server, session, envelope)


def awaiting_signature(count: int) -> tuple[list[Order], object, list[str]]:
    """`count` expulsion orders of one student each, visaed and awaiting the rector's signature, committed."""
    make = Factory()
    faculty = make.faculty()
    group = make.group(faculty, language="ru")
    clerk = make.user("clerk")
    people = [make.user("dean", faculty), make.user("registrar"), make.user("lawyer"), make.user("rector")]
    students = [make.student(group, surname=f"Студентова{n}", name="Анна") for n in range(count)]
    orders = [make.order(clerk, [student]) for student in students]
    db.session.commit()
    for order in orders:
        fire(order, "submit", clerk)
        visa_until_signature(order, people)
        db.session.commit()
    return orders, people[-1], [student.email for student in students]


@pytest.mark.broker
def test_a_redis_killed_while_orders_are_signed_loses_no_email_and_sends_none_twice(build_app, monkeypatch):
    require_brokers()
    monkeypatch.setattr(relay.log, "disabled", False)
    port = free_port()
    broker_process = start_redis(port)
    try:
        with smtp_server() as (inbox, smtp_port):
            mail_app = build_app(BROKER_URL=f"redis://127.0.0.1:{port}/0", SMTP_PORT=smtp_port, RELAY_INTERVAL=0.3)
            with mail_app.app_context():
                orders, rector, emails = awaiting_signature(20)
                worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
                try:
                    for n, order in enumerate(orders):
                        if n == 5:
                            kill(broker_process)  # with whatever it held: queued and unacknowledged messages
                        if n == 12:
                            broker_process = start_redis(port)  # back, empty
                        assert fire(order, "sign", rector) == "signed"
                        db.session.commit()
                    wait_for(lambda: all(r.status == "sent" for r in outbox()), "every row sent")
                finally:
                    worker.stop(timeout=10_000)
                    broker_of(mail_app).close()
                assert sorted(rcpt for (rcpt,), _message in inbox.received) == sorted(emails)  # each, once
                assert len({m["Message-ID"] for m in inbox.messages}) == 20
    finally:
        kill(broker_process)


@pytest.mark.broker
def test_a_worker_killed_mid_batch_loses_no_email_and_doubles_at_most_those_in_flight(app, build_app, tmp_path):
    require_brokers()
    port = free_port()
    broker_process = start_redis(port)
    inbox = CountingInbox(delay=0.3)  # a slow server: the batch takes a few seconds
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    workers: list[subprocess.Popen] = []
    environment = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],  # the suite's database, migrated
        "REGISTRAR_SECRET_KEY": "test",
        "REGISTRAR_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "REGISTRAR_MAIL_TRANSPORT": "smtp",
        "REGISTRAR_SMTP_HOST": "127.0.0.1",
        "REGISTRAR_SMTP_PORT": str(controller.port),
        "REGISTRAR_MAILBOX_DIR": str(tmp_path / "mailbox"),
        "REGISTRAR_RELAY_INTERVAL": "0.3",
    }

    def start_worker(name: str) -> subprocess.Popen:
        log_file = (tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "registrar"), "worker"],
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        workers.append(process)
        return process

    def logs() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in tmp_path.glob("*.log"))

    try:
        mail_app = build_app(BROKER_URL=f"redis://127.0.0.1:{port}/0", SMTP_PORT=controller.port, RELAY_INTERVAL=0.3)
        with mail_app.app_context():
            emails = [f"batch{n:02d}@students.test" for n in range(20)]
            enqueue_emails(
                [
                    {"recipient": email, "template": "expulsion_student", "context": {}, "language": "ru"}
                    for email in emails
                ]
            )
            db.session.commit()  # handed to Redis

            first = start_worker("first")
            wait_for(lambda: len(inbox.messages) >= 3 or first.poll() is not None, "the first e-mails of the batch")
            assert first.poll() is None, logs()
            kill(first)
            # In flight: messages the server had begun to take in whose rows the dead worker had not marked sent.
            in_flight = inbox.started - sum(r.status == "sent" for r in outbox())
            assert len(inbox.messages) < 20, "the batch was over before the worker was killed"

            second = start_worker("second")
            try:
                wait_for(lambda: all(r.status == "sent" for r in outbox()), "every row sent by the second worker")
            except AssertionError as error:
                raise AssertionError(f"{error}\n{logs()}") from None
            second.send_signal(signal.SIGTERM)
            second.wait(WAIT)
            broker_of(mail_app).close()

        received = [rcpt for (rcpt,), _message in inbox.received]
        assert set(received) == set(emails), logs()  # every e-mail arrived
        doubled = len(received) - len(emails)
        assert doubled <= in_flight, (in_flight, sorted(received))
    finally:
        for process in workers:
            kill(process)
        controller.stop()
        kill(broker_process)
