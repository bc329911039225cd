"""The history is append-only (the database refuses UPDATE and DELETE) and hash-chained (`registrar audit verify`
finds the first link someone with the power to switch the triggers off has broken)."""

import pytest
from sqlalchemy import exc, select, text

from core.db import db
from orders.documents import altered_documents
from orders.models import OrderDocument
from registrar.cli import main
from students.models import StudentMovement
from tests.conftest import sign
from workflow.audit import GENESIS, record_event, seal, verify_chain
from workflow.models import AuditEvent, Visa


@pytest.fixture
def signed(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    sign(order, uni)
    db.session.flush()
    return order


def _refused(statement: str, **params) -> bool:
    try:
        with db.session.begin_nested():
            db.session.execute(text(statement), params)
    except exc.DBAPIError as error:
        return "append-only" in str(error) or "FOREIGN KEY" in str(error) or "foreign key" in str(error)
    return False


def _switch_off_guards(table: str) -> None:
    """What the database owner or a superuser can do: switch the history triggers of `table` off, here only inside
    the test's transaction (rolled back after the test, so they come back)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        db.session.execute(text(f"DROP TRIGGER {table}_no_update"))
        db.session.execute(text(f"DROP TRIGGER {table}_no_delete"))


def test_sealing_links_every_event_in_order_and_the_chain_holds(signed, uni):
    record_event(uni.admin, "user.created", "user:1", {"roles": ["clerk"]})
    db.session.flush()
    assert seal() > 0
    events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.chain_seq)))
    assert [e.chain_seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_sha256 == GENESIS
    assert all(later.prev_sha256 == earlier.sha256 for earlier, later in zip(events, events[1:], strict=False))
    assert seal() == 0  # nothing new to link
    report = verify_chain()
    assert report.broken is None and report.unsealed == 0 and report.sealed == len(events)
    assert report.head == events[-1].sha256
    assert altered_documents() == (1, [])


def test_the_application_cannot_rewrite_or_delete_history(signed):
    seal()
    order_id = signed.id
    assert _refused("UPDATE audit_events SET comment = 'forged' WHERE order_id = :id", id=order_id)
    assert _refused("DELETE FROM audit_events WHERE order_id = :id", id=order_id)
    assert _refused("UPDATE visas SET decision = 'rejected' WHERE order_id = :id", id=order_id)
    assert _refused("DELETE FROM visas WHERE order_id = :id", id=order_id)
    assert _refused("UPDATE student_movements SET reason = 'other'")
    assert _refused("DELETE FROM student_movements")
    assert _refused("UPDATE order_documents SET content = :c WHERE order_id = :id", c=b"forged", id=order_id)
    assert _refused("DELETE FROM order_documents WHERE order_id = :id", id=order_id)
    assert _refused("DELETE FROM orders WHERE id = :id", id=order_id)  # no cascade takes the history with it
    if db.engine.dialect.name == "postgresql":
        assert _refused("TRUNCATE audit_events CASCADE")
    assert db.session.scalar(select(OrderDocument.content).where(OrderDocument.order_id == order_id)) != b"forged"
    assert db.session.scalar(select(Visa.id).where(Visa.order_id == order_id)) is not None
    assert db.session.scalar(select(StudentMovement.id)) is not None


def test_only_the_seal_may_touch_an_event_and_only_its_chain_columns(uni):
    event = record_event(uni.admin, "user.created", "user:1")
    db.session.flush()
    assert _refused("UPDATE audit_events SET sha256 = 'x', comment = 'forged' WHERE id = :id", id=event.id)
    assert _refused("UPDATE audit_events SET comment = 'forged' WHERE id = :id", id=event.id)
    assert seal() == 1
    assert _refused("UPDATE audit_events SET sha256 = NULL WHERE id = :id", id=event.id)  # sealed once, for good


def test_verify_names_the_first_broken_link_and_the_altered_document(signed, uni, app):
    seal()
    db.session.commit()  # the test's savepoint: the command's reads see the rows
    first = db.session.scalar(select(AuditEvent).where(AuditEvent.chain_seq == 2))
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "signed documents: 1 checked, 0 altered" in result.output

    _switch_off_guards("audit_events")
    _switch_off_guards("order_documents")
    db.session.execute(text("UPDATE audit_events SET comment = 'forged' WHERE id = :id"), {"id": first.id})
    db.session.execute(
        text("UPDATE order_documents SET content = :c WHERE order_id = :id"), {"c": b"forged", "id": signed.id}
    )
    db.session.commit()
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN audit chain at position 2 (event {first.id}): its content does not match" in result.output
    assert f"ALTERED document {signed.document.id}" in result.output


def test_a_removed_event_leaves_a_gap_that_verify_finds(signed):
    seal()
    middle = db.session.scalar(select(AuditEvent).where(AuditEvent.chain_seq == 3))
    _switch_off_guards("audit_events")
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": middle.id})
    db.session.expire_all()
    assert verify_chain().broken.startswith("position 3 is missing")
