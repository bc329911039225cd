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
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import dramatiq
import pytest
from aiosmtpd.controller import Controller
from docx import Document
from dramatiq.common import dq_name, xq_name
from markupsafe import escape
from sqlalchemy import func, select

from core.db import db
from notifications import attachments, relay
from notifications.models import OutboxMessage
from notifications.outbox import enqueue_email
from orders.models import Order, OrderSequence
from registrar.app import create_app
from students.models import Student
from tests.conftest import Factory, login, wipe_tables
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
    assert f"Уважаемый(ая) {ru.full_name}!" in text
    assert f"Отчислить {ru.full_name} (ИИН {ru.iin})" in text
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
            assert queued(mail_app) == 2  # the commit handed both ids to the broker
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
            # and through the broker: the same ids again, plus a sweep (which finds nothing pending)
            actor = mail_app.extensions[relay.EXTENSION].actor
            for outbox_id in ids:
                actor.send(outbox_id)
            assert relay.sweep(older_than_seconds=0) == 0
            worker = relay.start_embedded_worker(mail_app, worker_timeout=100)
            try:
                broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
            finally:
                worker.stop(timeout=10_000)
            assert len(inbox.messages) == 2
            assert [(r.status, r.attempts) for r in outbox()] == [("sent", 1), ("sent", 1)]
            message_ids = {m["Message-ID"] for m in inbox.messages}
            assert len(message_ids) == 2 and all("outbox-" in m for m in message_ids)


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
                assert relay.sweep(older_than_seconds=0) == 0
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
                assert relay.sweep(older_than_seconds=0) == 2
                wait_for(lambda: len(inbox.messages) == 2, "the swept e-mails")
                broker_of(mail_app).join(relay.QUEUE, timeout=WAIT * 1000)
            finally:
                worker.stop(timeout=10_000)
            assert_emails(inbox, signed)
            assert [r.status for r in outbox()] == ["sent", "sent"]


def test_the_embedded_sweep_thread_resends_rows_left_pending(build_app):
    with smtp_server() as (inbox, port):
        down = build_app(BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", SMTP_PORT=port)
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


def test_an_smtp_server_down_keeps_the_rows_pending_and_dramatiq_retries(build_app):
    port = free_port()  # nothing listens here yet
    mail_app = build_app(SMTP_PORT=port)
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
            with smtp_server(port) as (inbox, _port):  # the server comes back: dramatiq's retry delivers
                wait_for(lambda: all(r.status == "sent" for r in outbox()), "dramatiq to retry both rows")
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
    assert f"Отчислить {student.full_name} (ИИН {student.iin})" in text  # the item in Russian
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
            with pytest.raises(attachments.UnknownRenderer):
                relay.deliver(row.id)  # the actor re-raises: dramatiq retries with backoff
            (row,) = outbox()
            assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
            assert "late_note" in row.last_error
            assert inbox.messages == []
            client = mail_app.test_client()
            login(client, admin)
            page = client.get("/admin/mailbox/").get_data(as_text=True)
            assert "later@students.test" in page and "note.txt" in page and "late_note" in page

            attachments.register_renderer("late_note", lambda context: context["text"].encode())
            relay.deliver(row.id)  # the next attempt, once the renderer is known
            (row,) = outbox()
            assert (row.status, row.attempts) == ("sent", 2)
            (message,) = inbox.to("later@students.test")
            (part,) = list(message.iter_attachments())
            assert part.get_filename() == "note.txt" and part.get_payload(decode=True) == "Справка".encode()
