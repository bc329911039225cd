"""A web process killed with SIGKILL in the middle of signing a 2,000-line order, on PostgreSQL: all or nothing.

The signing runs in a process of its own, as a gunicorn worker would. The test holds a lock on the outbox, which
signing writes at the end of its heavy work (after the students, the movements and the document's render, just
before it takes the number), so the process is certainly in the middle of its transaction when it is killed.
Afterwards the order is still awaiting signature, no student changed, nothing was written, and no order number was
consumed: the next signing takes the number this one would have had.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, text

from core.db import db
from orders.models import Order, OrderDocument, OrderSequence
from students.models import Student, StudentMovement
from tests.conftest import Factory
from workflow.engine import fire

DATABASE_URL = os.environ.get("DATABASE_URL", "")
LINES = 2000

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not DATABASE_URL.startswith("postgresql"),
        reason="a killed signing is proved on PostgreSQL only: set DATABASE_URL=postgresql+psycopg://...",
    ),
]

SIGNER = """
import sys
from core.db import db
from core.models import User
from orders.models import Order
from registrar.app import create_app
from workflow.engine import fire

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "BROKER_URL": "stub", "MAILBOX_DIR": sys.argv[4]})
with app.app_context():
    order, rector = db.session.get(Order, int(sys.argv[2])), db.session.get(User, int(sys.argv[3]))
    print("signing", flush=True)
    fire(order, "sign", rector)
    db.session.commit()
    print("signed", flush=True)
"""


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def written() -> tuple[int, int, int]:
    """Movements, documents and active students: what a signing changes."""
    return count(StudentMovement), count(OrderDocument), count(Student, Student.status == "active")


def outbox_writers() -> int:
    """Server processes writing the outbox now (waiting for its lock, or running)."""
    return server_processes("INSERT INTO outbox_messages%")


def server_processes(query_like: str, *, running: bool = True) -> int:
    """Server processes waiting for a lock in a statement like `query_like` (or, with `running`, running it now).
    Asked on a connection of its own: within one transaction PostgreSQL keeps showing the activity it saw first."""
    busy = "(wait_event_type = 'Lock' OR state = 'active')" if running else "wait_event_type = 'Lock'"
    with db.engine.connect() as connection:
        return connection.execute(
            text(
                f"SELECT count(*) FROM pg_stat_activity WHERE query ILIKE :query AND pid <> pg_backend_pid() AND {busy}"
            ),
            {"query": query_like},
        ).scalar()


def kill_when_waiting(script: list[str], table: str, waiting) -> None:
    """Run `python -c *script` while `table` is locked, SIGKILL it once `waiting()` sees it blocked on that lock in
    the middle of its transaction, and wait until the server has rolled that transaction back."""
    blocker = db.engine.connect()
    blocker.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
    process = subprocess.Popen(
        [sys.executable, "-c", *script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not waiting():
            assert process.poll() is None, process.stdout.read()
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"it never waited for {table}: {process.stdout.read()}")
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        blocker.rollback()
        blocker.close()
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while waiting():  # the orphaned server process goes on, finds its client gone and rolls back
        assert time.monotonic() < deadline, "the killed transaction did not end"
        time.sleep(0.1)


def awaiting_signature(make: Factory) -> Order:
    faculty = make.faculty()
    groups = [make.group(faculty) for _ in range(4)]
    students = [make.student(groups[n % 4], surname=f"Убитов{n}") for n in range(LINES)]
    clerk = make.user("clerk")
    order = make.order(clerk, students)
    db.session.commit()
    fire(order, "submit", clerk)
    db.session.commit()
    for approver in (make.user("dean", faculty), make.user("registrar"), make.user("lawyer")):
        fire(order, "approve", approver)
        db.session.commit()
    assert order.state == "awaiting_signature"
    return order


def test_a_signing_killed_midway_leaves_the_order_untouched_and_no_number_used(committed, tmp_path):
    make = Factory()  # not the `make` fixture: these rows are committed, for the signing process to see
    order = awaiting_signature(make)
    rector = make.user("rector")
    db.session.commit()
    numbers = db.session.scalar(select(func.coalesce(func.max(OrderSequence.last_number), 0)))
    before = written()

    # the signing process waits for the outbox: everything before it is written, nothing committed
    kill_when_waiting(
        [SIGNER, DATABASE_URL, str(order.id), str(rector.id), str(tmp_path)], "outbox_messages", outbox_writers
    )
    db.session.expire_all()
    assert db.session.get(Order, order.id).state == "awaiting_signature"
    assert db.session.get(Order, order.id).number is None
    assert written() == before
    assert db.session.scalar(select(func.coalesce(func.max(OrderSequence.last_number), 0))) == numbers

    fire(db.session.get(Order, order.id), "sign", rector)  # signing again works and takes the next number in turn
    db.session.commit()
    signed = db.session.get(Order, order.id)
    assert signed.state == "signed" and signed.number == numbers + 1
    assert count(StudentMovement) == before[0] + LINES
