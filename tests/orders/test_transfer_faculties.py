"""Issue 10: a transfer into a group of another faculty is seen and visaed by both deans."""

from approvals.inbox import waiting_for
from core.db import db
from orders.models import Order
from orders.operations import visible_lines
from tests.orders.test_transfer import calendar, draft, set_target
from tests.students.test_difference import grade, item
from workflow.engine import fire, legal_triggers, pending_approvals


def waiting_ids(user) -> set[int]:
    return set(db.session.scalars(waiting_for(user).with_only_columns(Order.id)))


def submitted_transfer(uni, make, target):
    """A student who passed semester 1 of group A's programme, sent to `target` (same discipline passed there)."""
    calendar()
    student = make.student(uni.ga)
    item(uni.ga.programme, 1, "MAT101", "Математика")
    grade(student, "MAT101", "Математика", 81)
    item(target.programme, 1, "MAT-1", "математика")
    order = draft(uni, "transfer_within", [student])
    set_target(order, order.lines[0], target)
    fire(order, "submit", uni.clerk)
    return order


def test_transfer_into_another_faculty_needs_both_deans(uni, make):
    order = submitted_transfer(uni, make, make.group(uni.fb))
    assert order.faculty_ids == {uni.fa.id, uni.fb.id}
    assert pending_approvals(order) == [("dean", uni.fa.id), ("dean", uni.fb.id)]
    assert order.id in waiting_ids(uni.dean_a) and order.id in waiting_ids(uni.dean_b)
    assert visible_lines(order, uni.dean_b) == list(order.lines)

    fire(order, "approve", uni.dean_a)
    assert order.state == "review_dean"
    assert "approve" not in legal_triggers(order, uni.registrar)
    assert order.id not in waiting_ids(uni.registrar)

    fire(order, "approve", uni.dean_b)
    assert order.state == "review_registrar"


def test_transfer_within_one_faculty_needs_one_dean(uni, make):
    order = submitted_transfer(uni, make, make.group(uni.fa))
    assert pending_approvals(order) == [("dean", uni.fa.id)]
    assert order.id not in waiting_ids(uni.dean_b)
    assert visible_lines(order, uni.dean_b) == []
    fire(order, "approve", uni.dean_a)
    assert order.state == "review_registrar"
