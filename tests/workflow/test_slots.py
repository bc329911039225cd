"""Approval slots: the visas an order still waits for, kept by fire() in the transaction of each state change
(rows appear when the order enters a step, go when the visa is given or the order leaves the step), and the inbox
that reads them. Migration 0006's backfill gives the same rows as fire()."""

import importlib.util
from pathlib import Path

from sqlalchemy import delete, select

from approvals.inbox import waiting_for
from core.db import db
from tests.builders import stands_in
from tests.conftest import visa_until_signature
from workflow.engine import fire, open_slots
from workflow.models import ApprovalSlot
from workflow.routes import save_route_version


def slots(order) -> set[tuple]:
    """(round, step, role, faculty id, seat) of the order's rows."""
    db.session.flush()
    return {
        (s.round, s.step, s.role, s.faculty_id, s.seat)
        for s in db.session.scalars(select(ApprovalSlot).where(ApprovalSlot.order_id == order.id))
    }


def inbox_ids(user) -> set[int]:
    return {order.id for order in db.session.scalars(waiting_for(user))}


def two_faculty_order(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)])
    fire(order, "submit", uni.clerk)
    return order


def test_rows_follow_fire_through_the_route(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)])
    assert slots(order) == set()  # a draft waits for nobody
    fire(order, "submit", uni.clerk)
    assert slots(order) == {(1, "dean", "dean", uni.fa.id, 1), (1, "dean", "dean", uni.fb.id, 1)}
    fire(order, "approve", uni.dean_a)
    assert slots(order) == {(1, "dean", "dean", uni.fb.id, 1)}  # dean A's row went with the visa
    fire(order, "approve", uni.dean_b)
    assert slots(order) == {(1, "registrar", "registrar", None, 1)}
    fire(order, "approve", uni.registrar)
    assert slots(order) == {(1, "lawyer", "lawyer", None, 1)}
    fire(order, "approve", uni.lawyer)
    assert slots(order) == {(1, "signature", "rector", None, 1)}
    assert slots(order) == open_slots(order)
    fire(order, "sign", uni.rector)
    assert order.state == "signed" and slots(order) == set()


def test_return_reject_and_withdraw_clear_the_rows(uni, make):
    returned = two_faculty_order(uni, make)
    fire(returned, "approve", uni.dean_a)
    fire(returned, "return", uni.dean_b, comment="Нет заявления")
    assert returned.state == "draft" and slots(returned) == set()
    fire(returned, "submit", uni.clerk)  # round 2: every dean again
    assert slots(returned) == {(2, "dean", "dean", uni.fa.id, 1), (2, "dean", "dean", uni.fb.id, 1)}

    rejected = two_faculty_order(uni, make)
    visa_until_signature(rejected, uni)
    fire(rejected, "reject", uni.rector, comment="Нет оснований")
    assert slots(rejected) == set()

    withdrawn = two_faculty_order(uni, make)
    fire(withdrawn, "withdraw", uni.clerk)
    assert slots(withdrawn) == set()
    assert returned.id in inbox_ids(uni.dean_a) and not {rejected.id, withdrawn.id} & inbox_ids(uni.dean_a)


def test_inbox_reads_the_rows_for_role_and_faculty(uni, make):
    order = two_faculty_order(uni, make)
    assert order.id in inbox_ids(uni.dean_a) and order.id in inbox_ids(uni.dean_b)
    assert order.id not in inbox_ids(uni.registrar) and order.id not in inbox_ids(uni.rector)
    fire(order, "approve", uni.dean_a)
    assert order.id not in inbox_ids(uni.dean_a) and order.id in inbox_ids(uni.dean_b)
    only_a = make.order(uni.clerk, [make.student(uni.ga)])
    fire(only_a, "submit", uni.clerk)
    assert only_a.id in inbox_ids(uni.dean_a) and only_a.id not in inbox_ids(uni.dean_b)


def test_substitute_sees_the_rows_of_the_person_on_leave(uni, make):
    vice = make.user("clerk", username="vice_for_a")  # no approver role of their own
    stands_in(uni.dean_a, vice, 3)
    order = two_faculty_order(uni, make)
    assert order.id in inbox_ids(vice)
    fire(order, "approve", vice, acting_for=uni.dean_a)
    assert slots(order) == {(1, "dean", "dean", uni.fb.id, 1)}
    assert order.id not in inbox_ids(vice) and order.id not in inbox_ids(uni.dean_a)


def test_n_of_m_and_multi_role_steps_and_route_versions(uni, make):
    old = make.order(uni.clerk, [make.student(uni.ga)])
    fire(old, "submit", uni.clerk)  # on version 1: the dean first
    save_route_version(
        {"name": "legal", "steps": [{"name": "pair", "roles": ["lawyer", "finance"], "mode": "n_of_m", "n": 2}]},
        uni.admin.id,
    )
    new = make.order(uni.clerk, [make.student(uni.ga)])
    fire(new, "submit", uni.clerk)
    assert new.route_version == 2 and new.state == "review_pair"
    assert slots(new) == {(1, "pair", role, None, seat) for role in ("lawyer", "finance") for seat in (1, 2)}
    assert slots(old) == {(1, "dean", "dean", uni.fa.id, 1)}  # the order in flight keeps its version's rows
    assert new.id in inbox_ids(uni.lawyer) and new.id in inbox_ids(uni.finance)
    fire(new, "approve", uni.lawyer)
    assert slots(new) == {(1, "pair", "lawyer", None, 1), (1, "pair", "finance", None, 1)}
    assert new.id not in inbox_ids(uni.lawyer) and new.id in inbox_ids(uni.finance)  # one visa per person
    fire(new, "approve", uni.finance)
    assert new.state == "awaiting_signature" and slots(new) == {(1, "signature", "rector", None, 1)}
    visa_until_signature(old, uni)
    assert slots(old) == {(1, "signature", "rector", None, 1)}


def test_migration_backfill_gives_the_rows_fire_keeps(uni, make):
    orders = []
    for kind in ("at_deans", "at_registrar", "at_rector", "draft"):  # on version 1
        order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)])
        orders.append(order)
        if kind != "draft":
            fire(order, "submit", uni.clerk)
        if kind in ("at_registrar", "at_rector"):
            fire(order, "approve", uni.dean_a)
            fire(order, "approve", uni.dean_b)
        if kind == "at_rector":
            visa_until_signature(order, uni)
    fire(orders[0], "approve", uni.dean_b)
    save_route_version(
        {"name": "legal", "steps": [{"name": "pair", "roles": ["lawyer", "finance"], "mode": "n_of_m", "n": 2}]},
        uni.admin.id,
    )
    on_v2 = make.order(uni.clerk, [make.student(uni.ga)])
    fire(on_v2, "submit", uni.clerk)
    fire(on_v2, "approve", uni.lawyer)
    orders.append(on_v2)
    kept = {order.id: slots(order) for order in orders}
    assert any(kept.values())

    db.session.execute(delete(ApprovalSlot))
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0006_approval_slots.py"
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration._backfill(db.session.connection())
    db.session.expire_all()
    assert {order.id: slots(order) for order in orders} == kept
