"""Signing takes the order number last, on PostgreSQL: a small order signed while a big one is still at work gets
its number and commits without waiting for it, numbers follow the commits with no gap, and a signing rolled back
gives its number back.

The big signing runs in a thread of its own and is held, by its progress listener, at the moment all its heavy work
is done and it is about to take the number (`operations.NUMBERING_AT`): whatever the small signing waited for would
still be held then. On SQLite the suite skips this: SQLite serialises writers, so there is no such race there.
"""

import io
import os
import threading
import zipfile

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import User
from core.progress import listening
from notifications.models import OutboxMessage
from notifications.relay import compose
from orders import operations
from orders.models import Order, OrderExtract, OrderSequence
from students.models import StudentMovement
from tests.conftest import Factory, visa_until_signature
from workflow.engine import fire

DATABASE_URL = os.environ.get("DATABASE_URL", "")
WAIT = 60

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not DATABASE_URL.startswith("postgresql"),
        reason="the numbering race is proved on PostgreSQL only: set DATABASE_URL=postgresql+psycopg://...",
    ),
]


def awaiting_signature(make: Factory, clerk: User, approvers: list[User], students: list) -> int:
    order = make.order(clerk, students)
    fire(order, "submit", clerk)
    visa_until_signature(order, approvers)
    db.session.commit()
    assert order.state == "awaiting_signature"
    return order.id


class Signer(threading.Thread):
    """Signs one order in its own app context, session and connection, as a web request would; with `hold`, it stops
    when the signing is about to take the number, says so (`at_number`), and goes on once `go_on` is set."""

    def __init__(self, app, order_id: int, rector_id: int, *, hold: bool = False, commit: bool = True):
        super().__init__(name=f"sign-{order_id}")
        self.app, self.order_id, self.rector_id, self.hold, self.commit = app, order_id, rector_id, hold, commit
        self.at_number, self.go_on = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.number: int | None = None

    def _progress(self, fraction: float) -> None:
        if self.hold and fraction == operations.NUMBERING_AT:
            self.at_number.set()
            assert self.go_on.wait(WAIT), "never released"

    def run(self) -> None:
        with self.app.app_context():
            try:
                order = db.session.get(Order, self.order_id)
                with listening(self._progress):
                    fire(order, "sign", db.session.get(User, self.rector_id))
                self.number = order.number
                if self.commit:
                    db.session.commit()
                else:
                    db.session.rollback()
            except BaseException as error:  # reported by the test
                db.session.rollback()
                self.error = error
            finally:
                db.session.remove()


def finished(thread: Signer) -> None:
    thread.join(WAIT)
    assert not thread.is_alive(), f"{thread.name} is still blocked"
    assert thread.error is None, repr(thread.error)


def test_a_small_signing_does_not_wait_for_a_big_one_and_numbers_follow_the_commits(app, committed):
    make = Factory()
    faculty = make.faculty()
    groups = [make.group(faculty), make.group(faculty, language="kk")]
    clerk = make.user("clerk")
    approvers = [make.user("dean", faculty), make.user("registrar"), make.user("lawyer")]
    rector = make.user("rector")
    big_students = [make.student(groups[n % 2], surname=f"Большой{n}") for n in range(40)]
    big = awaiting_signature(make, clerk, approvers, big_students)
    small = awaiting_signature(make, clerk, approvers, [make.student(groups[0], surname="Малый")])
    undone = awaiting_signature(make, clerk, approvers, [make.student(groups[1], surname="Отменённый")])
    rector_id, big_student_ids = rector.id, [s.id for s in big_students]
    db.session.close()

    big_signer = Signer(app, big, rector_id, hold=True)
    big_signer.start()
    try:
        assert big_signer.at_number.wait(WAIT), "the big signing never reached its number"
        # The big signing has done all its heavy work and holds its transaction open: the small one and one rolled
        # back finish meanwhile.
        small_signer = Signer(app, small, rector_id)
        small_signer.start()
        finished(small_signer)
        rolled_back = Signer(app, undone, rector_id, commit=False)
        rolled_back.start()
        finished(rolled_back)
        assert big_signer.is_alive() and not big_signer.go_on.is_set()
        assert (small_signer.number, rolled_back.number) == (1, 2)
    finally:
        big_signer.go_on.set()
    finished(big_signer)

    db.session.rollback()
    numbers = {order.id: (order.state, order.number) for order in db.session.scalars(select(Order))}
    assert numbers == {small: ("signed", 1), big: ("signed", 2), undone: ("awaiting_signature", None)}
    assert db.session.scalar(select(OrderSequence.last_number)) == 2  # the rolled-back number was given back

    # Everything the big order wrote before its number carries the number now, and nothing carries the placeholder.
    order = db.session.get(Order, big)
    label = order.number_label
    with zipfile.ZipFile(io.BytesIO(order.document.content)) as package:
        xml = "".join(package.read(name).decode() for name in package.namelist() if name.endswith(".xml"))
    assert f"№ {label}" in xml and "\ue001" not in xml
    assert order.document.filename == f"order-{label}.docx"
    assert order.document.extract_common["number"] == label
    movements = db.session.scalars(
        select(StudentMovement.order_label).where(StudentMovement.student_id.in_(big_student_ids))
    )
    assert set(movements) == {label}
    names = db.session.scalars(select(OrderExtract.filename).where(OrderExtract.order_id == big))
    assert all(name.startswith(f"extract-{label}-") for name in names)
    sent = [compose(row) for row in db.session.scalars(select(OutboxMessage))]  # as the worker would send them
    assert sum(label in message["Subject"] for message in sent) == len(big_students)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == len(big_students) + 1
