"""The kind interface's reading hooks never write: `gather` and `check_line` leave every line's params as they
found them; the computed details (ranks and outcomes, the academic difference, the default target group) are written
by `fill_params`, which the order core calls when the lines are checked."""

import copy

import pytest

from core.db import db
from orders import operations
from orders.registry import get_kind
from tests.orders import test_restoration, test_state_scholarship, test_transfer
from tests.students.test_difference import grade, item

pytestmark = pytest.mark.usefixtures("english")


def read_only(order) -> list[dict]:
    """Run the reading hooks as the core does (gather once, check_line per line) and return the params after."""
    kind = get_kind(order.kind)
    facts = kind.gather(order, order.lines)
    context = operations.gather_context(order, [line.student_id for line in order.lines], facts=facts)
    for line in order.lines:
        kind.check_line(line, context)
    db.session.flush()
    return [line.params for line in order.lines]


def stale(order, **params) -> list[dict]:
    """Give every line out-of-date params (as if the facts changed since the last check); a deep copy of them."""
    for line in order.lines:
        line.params = dict(params)
    db.session.flush()
    return copy.deepcopy([line.params for line in order.lines])


def test_restoration_reads_and_the_core_fills_the_target_and_the_difference(uni, make):
    test_transfer.calendar()
    programme = uni.ga.programme
    item(programme, 1, "MAT101", "Математика")
    item(programme, 2, "PHY102", "Физика", credits=4)
    student = test_restoration.expelled(make, uni.ga, surname="Серикова", name="Асель")
    grade(student, "MAT101", "Математика", 77, year="2018-2019")
    order = test_transfer.draft(uni, "restoration", [student])
    before = stale(order)
    assert read_only(order) == before == [{}]
    operations.check_lines(order)
    (line,) = order.lines
    assert (line.params["group"], [d["code"] for d in line.params["difference"]]) == (uni.ga.name, ["PHY102"])


def test_transfer_within_reads_and_the_core_fills_the_difference(uni, make):
    test_transfer.calendar()
    student = make.student(uni.ga, surname="Жумабаев", name="Ерлан")
    target = make.group(uni.fb, course=2, language="kk")
    item(target.programme, 2, "ECO102", "Экономика", credits=4)
    order = test_transfer.draft(uni, "transfer_within", [student])
    (line,) = order.lines
    test_transfer.set_target(order, line, target)
    before = stale(order, group_id=target.id, group=target.name)
    assert read_only(order) == before
    assert "difference" not in line.params
    operations.check_lines(order)
    assert [d["code"] for d in line.params["difference"]] == ["ECO102"]


def test_state_scholarship_reads_and_the_core_fills_the_outcomes(uni, make):
    test_state_scholarship.calendar(2026)
    student = test_state_scholarship.graded(make, uni.ga, 95, 96, 97)
    order = test_state_scholarship.draft(uni, faculties=[uni.fa.id])
    line = test_state_scholarship.line_of(order, student)
    assert line.params["outcome"] == "in"
    before = stale(order, outcome=None)
    assert read_only(order) == before
    operations.check_lines(order)
    assert (line.params["outcome"], line.params["months"]) == ("in", test_state_scholarship.SPRING)
