"""Signing under concurrency, on PostgreSQL: two rectors press "sign" at the same moment.

Each signer runs in its own thread with its own app context, session and connection, as two web requests would;
a barrier releases both right before `fire`. The data is committed first (the `committed` fixture), because the
threads see only what is committed. On SQLite the suite skips these tests: SQLite serialises writers and has no
row locks, so the race they prove does not exist there.
"""

import os
import threading

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import User
from notifications.models import OutboxMessage
from orders.models import Order, OrderDocument, OrderSequence
from students.models import Student, StudentMovement
from tests.conftest import Factory
from workflow.engine import Refused, fire
from workflow.models import AuditEvent, Visa

DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not DATABASE_URL.startswith("postgresql"),
        reason="concurrency is proved on PostgreSQL only: set DATABASE_URL=postgresql+psycopg://...",
    ),
]

JOIN_TIMEOUT = 60


@pytest.fixture
def pg(committed):
    assert db.engine.dialect.name == "postgresql"
    return committed


def _awaiting_signature(make: Factory, tag: str) -> tuple[Order, list[Student]]:
    """An expulsion order of two students of two faculties, submitted and visaed by both deans, the registrar
    office and the lawyer, committed."""
    fa, fb = make.faculty(), make.faculty()
    students = [
        make.student(make.group(fa, language="ru"), surname=f"Сейтов{tag}", name="Арман"),
        make.student(make.group(fb, language="kk"), surname=f"Жумабаева{tag}", name="Айгерим"),
    ]
    clerk = make.user("clerk")
    approvers = [make.user("dean", fa), make.user("dean", fb), make.user("registrar"), make.user("lawyer")]
    order = make.order(clerk, students)
    db.session.commit()
    fire(order, "submit", clerk)
    db.session.commit()
    for approver in approvers:
        fire(order, "approve", approver)
        db.session.commit()
    assert order.state == "awaiting_signature"
    return order, students


def _fire_at_once(app, trigger: str, pairs: list[tuple[int, int]]) -> list[object]:
    """Fire `trigger` for each (order id, user id) in its own thread, all released by one barrier.

    Returns, per pair, the new state, the `Refused` raised, or any other exception (which the test reports)."""
    barrier = threading.Barrier(len(pairs), timeout=30)
    results: list[object] = [None] * len(pairs)

    def run(index: int, order_id: int, user_id: int) -> None:
        with app.app_context():
            try:
                order = db.session.get(Order, order_id)
                user = db.session.get(User, user_id)
                _ = order.state, order.version, order.lines  # both threads saw the order before either acted
                barrier.wait()
                state = fire(order, trigger, user)
                db.session.commit()
                results[index] = state
            except Exception as error:  # the loser's outcome is what the test is about
                db.session.rollback()
                results[index] = error

    threads = [threading.Thread(target=run, args=(i, o, u), name=f"{trigger}-{i}") for i, (o, u) in enumerate(pairs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), f"a {trigger} thread is still blocked: lock never released"
    return results


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_two_rectors_signing_the_same_order_at_once_sign_it_once(app, pg):
    make = Factory()
    order, students = _awaiting_signature(make, "A")
    rectors = [make.user("rector"), make.user("rector")]
    db.session.commit()
    order_id, student_ids, rector_ids = order.id, [s.id for s in students], [r.id for r in rectors]
    db.session.close()  # the main thread holds no transaction while the signers race

    results = _fire_at_once(app, "sign", [(order_id, r) for r in rector_ids])

    winners = [r for r in results if r == "signed"]
    losers = [r for r in results if r != "signed"]
    assert len(winners) == 1, f"expected exactly one signature, got {results!r}"
    (loser,) = losers
    assert isinstance(loser, Refused), f"the second signer got an unhandled {type(loser).__name__}: {loser!r}"
    assert loser.status == 409
    assert loser.refusals[0].rule in ("state.invalid", "state.stale")

    order = db.session.get(Order, order_id)
    assert order.state == "signed"
    assert order.number == 1
    assert (
        db.session.scalar(
            select(OrderSequence.last_number).where(
                OrderSequence.year == order.year, OrderSequence.series == order.series
            )
        )
        == 1
    )  # one number consumed
    assert _count(Visa, Visa.order_id == order_id, Visa.decision == "signed") == 1
    assert _count(AuditEvent, AuditEvent.order_id == order_id, AuditEvent.trigger == "sign") == 1
    assert _count(OrderDocument, OrderDocument.order_id == order_id) == 1
    for student_id in student_ids:
        assert db.session.get(Student, student_id).status == "expelled"
        assert _count(StudentMovement, StudentMovement.student_id == student_id) == 1
    recipients = db.session.scalars(select(OutboxMessage.recipient)).all()
    assert sorted(recipients) == sorted(db.session.get(Student, s).email for s in student_ids)
    assert order.signed_by_id in rector_ids


def test_two_orders_signed_at_once_get_consecutive_numbers(app, pg):
    make = Factory()
    first, _ = _awaiting_signature(make, "B")
    second, _ = _awaiting_signature(make, "C")
    rectors = [make.user("rector"), make.user("rector")]
    db.session.commit()
    order_ids, rector_ids = [first.id, second.id], [r.id for r in rectors]
    db.session.close()

    results = _fire_at_once(app, "sign", list(zip(order_ids, rector_ids, strict=True)))

    assert results == ["signed", "signed"], results
    orders = [db.session.get(Order, i) for i in order_ids]
    assert sorted(o.number for o in orders) == [1, 2]  # gapless, no duplicate
    assert len({o.number_label for o in orders}) == 2
    assert {o.year for o in orders} == {orders[0].year}
    assert (
        db.session.scalar(
            select(OrderSequence.last_number).where(
                OrderSequence.year == orders[0].year, OrderSequence.series == orders[0].series
            )
        )
        == 2
    )
    assert _count(StudentMovement) == 4
    assert _count(OrderDocument) == 2
    assert _count(OutboxMessage) == 4


def test_two_deans_visaing_at_once_both_count_and_the_order_moves_on_once(app, pg):
    """The second dean waits for the first one's row lock and then sees the order as it is now (one visa given),
    so both visas count and the order reaches the registrar office; neither dean gets a stale-data error."""
    make = Factory()
    fa, fb = make.faculty(), make.faculty()
    students = [make.student(make.group(fa), surname="Омаров"), make.student(make.group(fb), surname="Ким")]
    clerk = make.user("clerk")
    dean_ids = [make.user("dean", fa).id, make.user("dean", fb).id]
    order = make.order(clerk, students)
    db.session.commit()
    fire(order, "submit", clerk)
    db.session.commit()
    order_id = order.id
    db.session.close()

    results = _fire_at_once(app, "approve", [(order_id, d) for d in dean_ids])

    assert sorted(map(str, results)) == ["review_dean", "review_registrar"], results
    order = db.session.get(Order, order_id)
    assert order.state == "review_registrar"
    assert _count(Visa, Visa.order_id == order_id, Visa.decision == "approved") == 2
    assert _count(AuditEvent, AuditEvent.order_id == order_id, AuditEvent.to_state == "review_registrar") == 1
