"""The counting layer on a small university with every kind of movement, signed for real: the balance reconciles in
every cell of several breakdowns, the contingent equals the records one by one, and "as known on" reproduces an
earlier answer after a revocation."""

from collections import Counter
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from core.db import db
from orders.models import Order
from reports.query import (
    AGE_BANDS,
    ENROLMENT,
    Bucket,
    contingent_counts,
    contingent_students,
    movement_counts,
    movement_steps,
)
from students.history import records_on
from students.iin import birth_date, sex
from students.models import Group, Programme, Student, StudentMovement
from tests.conftest import Factory, build_uni, rolled_back_session
from tests.reports.conftest import build_university, clock_on, one_calendar_in


@pytest.fixture(scope="module")
def session(app):
    """This module's tests only read, so they share one rolled-back transaction and the university built in it."""
    yield from rolled_back_session(app)


@pytest.fixture(scope="module")
def uni(session):
    return build_uni(Factory())


@pytest.fixture(scope="module")
def university(app, uni):
    """The reports' university, built once for this module; the clock stays at the revocation's day until its end."""
    with pytest.MonkeyPatch.context() as monkeypatch, force_locale("en"):
        one_calendar_in(monkeypatch)
        built = build_university(uni, Factory(), clock_on(app, monkeypatch))
    with pytest.MonkeyPatch.context() as monkeypatch:
        clock_on(app, monkeypatch)(built[1])
        yield built


BREAKDOWNS = [
    [],
    ["faculty"],
    ["faculty", "course"],
    ["course", "funding"],
    ["status"],
    ["programme", "study_form", "language"],
    ["programme_group", "sex", "age"],
    ["funding", "status", "faculty"],
]


def movement_dates() -> list[date]:
    return sorted(set(db.session.scalars(select(StudentMovement.effective_date))))


def periods() -> list[tuple[date, date]]:
    dates = movement_dates()
    first, last = dates[0] - timedelta(days=1), dates[-1] + timedelta(days=1)
    middle = dates[len(dates) // 2]
    return [(first, last), (first, middle), (middle, last), (middle, middle), (date(2020, 8, 1), last)]


def assert_balanced(counts) -> None:
    for cell in counts.cells():
        ins = sum(n for (c, b), n in counts.flows.items() if c == cell and b.direction == "in")
        outs = sum(n for (c, b), n in counts.flows.items() if c == cell and b.direction == "out")
        assert counts.on_start.get(cell, 0) + ins - outs == counts.on_end.get(cell, 0), (counts.dimensions, cell)


@pytest.mark.parametrize("population", ["contingent", "studying"])
def test_the_balance_reconciles_in_every_cell_and_agrees_with_the_contingent(university, population):
    kinds_seen = set()
    for start, end in periods():
        for dimensions in BREAKDOWNS:
            counts = movement_counts(start, end, dimensions, population=population)
            assert_balanced(counts)
            assert counts.on_start == contingent_counts(start, dimensions, population=population), dimensions
            age_on_end = {**counts.on_end}
            if "age" not in dimensions:  # ages are counted on the last day throughout the movement report
                assert age_on_end == contingent_counts(end, dimensions, population=population), dimensions
            kinds_seen |= {bucket.kind for _cell, bucket in counts.flows}
    expected = {
        "expulsion",
        "academic_leave" if population == "studying" else "promotion",
        "leave_return" if population == "studying" else "transfer_within",
        "promotion",
        "repeat_year",
        "restoration",
        "transfer_within",
        "transfer_in",
        "transfer_out",
        "funding_change",
    }
    assert expected <= kinds_seen


def test_each_kind_lands_in_the_bucket_a_registrar_expects(university):
    start, end = periods()[0]
    total = movement_counts(start, end, [])
    buckets = {bucket: n for (_cell, bucket), n in total.flows.items()}
    # the whole university: only ways in and out of the contingent count, moves between cells do not exist
    assert buckets[Bucket("in", False, "restoration")] == 1
    assert buckets[Bucket("in", False, "transfer_in")] == 1
    assert buckets[Bucket("out", False, "transfer_out", "transfer")] == 2
    assert buckets[Bucket("out", False, "expulsion", "academic_failure")] == 1  # the other one was revoked
    assert not any(bucket.moved for bucket in buckets)
    by_course = movement_counts(start, end, ["course"])
    moves = Counter()
    for (_cell, bucket), n in by_course.flows.items():
        if bucket.moved:
            moves[(bucket.direction, bucket.kind)] += n
    assert moves[("in", "promotion")] == moves[("out", "promotion")] == 2
    by_funding = movement_counts(start, end, ["funding"])
    assert by_funding.flows[(("grant",), Bucket("in", True, "funding_change"))] == 1
    assert by_funding.flows[(("paid",), Bucket("out", True, "funding_change"))] == 1
    studying = movement_counts(start, end, ["status"], population="studying")
    gone = {b.detail for _c, b in studying.flows if b.kind == "academic_leave" and b.direction == "out"}
    assert (
        gone
        and all(detail.startswith("academic_leave:") for detail in gone)
        and not any(b.moved for _c, b in studying.flows)
    )
    assert any(b == Bucket("in", False, "leave_return") for _c, b in studying.flows)
    by_status = movement_counts(start, end, ["status"])
    leave_cells = {c for (c, b) in by_status.flows if b.kind == "academic_leave" and b.direction == "in"}
    assert leave_cells and all(c[0].startswith("academic_leave:") for c in leave_cells)


def test_every_figure_lists_the_steps_behind_it_with_their_orders(university):
    orders, _revoked_on = university
    start, end = periods()[0]
    counts = movement_counts(start, end, ["faculty", "course"])
    for (cell, bucket), n in counts.flows.items():
        filters = dict(zip(["faculty", "course"], cell, strict=True))
        total, rows = movement_steps(start, end, filters, bucket)
        assert total == n == len(rows), (cell, bucket)
        for row in rows:
            assert row.kind == bucket.kind
            if bucket.kind != ENROLMENT:
                order = db.session.get(Order, row.order_id)
                assert order.kind == bucket.kind and row.order_label == order.number_label
    for day, figures in ((start, counts.on_start), (end, counts.on_end)):
        for cell, n in figures.items():
            total, rows = contingent_students(day, dict(zip(["faculty", "course"], cell, strict=True)))
            assert total == n == len(rows)


def python_cell(dimension, record, student, group, programme, day):
    if dimension == "faculty":
        return str(programme.faculty_id)
    if dimension == "programme":
        return str(programme.id)
    if dimension == "programme_group":
        return programme.code[:4]
    if dimension == "course":
        return str(record["course"])
    if dimension in ("study_form", "language"):
        return getattr(group, dimension)
    if dimension == "funding":
        return record["funding"]
    if dimension == "status":
        return record["status"]
    if dimension == "sex":
        return sex(student.iin)
    born = birth_date(student.iin)
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return next(code for code, low, high in AGE_BANDS if low <= age <= high)


def test_the_contingent_equals_the_records_one_by_one(university):
    students = {s.id: s for s in db.session.scalars(select(Student))}
    groups = {g.id: g for g in db.session.scalars(select(Group))}
    programmes = {p.id: p for p in db.session.scalars(select(Programme))}
    days = [*movement_dates(), date(2020, 9, 1), date(2020, 8, 31), date(2030, 1, 1)]
    for day in days:
        records = records_on(list(students), day)
        for dimensions in BREAKDOWNS:
            expected = Counter()
            for student_id, record in records.items():
                if record["status"] not in ("active", "academic_leave"):
                    continue
                group = groups[record["group"]["id"]]
                cell = tuple(
                    python_cell(d, record, students[student_id], group, programmes[group.programme_id], day)
                    for d in dimensions
                )
                expected[cell] += 1
            found = Counter()
            for cell, n in contingent_counts(day, dimensions).items():
                found[
                    tuple(v.split(":")[0] if d == "status" else v for d, v in zip(dimensions, cell, strict=True))
                ] += n
            assert found == expected, (day, dimensions)


def test_as_known_on_reproduces_the_answer_given_before_a_revocation(university):
    _orders, revoked_on = university
    start, end = periods()[0]
    before = revoked_on - timedelta(days=1)
    now_counts = movement_counts(start, end, ["faculty"])
    then_counts = movement_counts(start, end, ["faculty"], known_on=before)
    assert then_counts != now_counts
    expelled = sum(n for (_c, b), n in then_counts.flows.items() if b.kind == "expulsion")
    assert expelled == sum(n for (_c, b), n in now_counts.flows.items() if b.kind == "expulsion") + 2
    assert_balanced(then_counts)
    assert contingent_counts(end, ["faculty"], known_on=before) != contingent_counts(end, ["faculty"])
    # nothing known later changes an answer as known then
    assert movement_counts(start, end, ["faculty"], known_on=before) == then_counts


def test_a_dean_sees_only_own_faculty_and_the_balance_still_holds(university, uni):
    start, end = periods()[0]
    whole = movement_counts(start, end, ["faculty", "course"])
    faculty_ids = {int(cell[0]) for cell in whole.cells()}
    mine = next(iter(sorted(faculty_ids)))
    scoped = movement_counts(start, end, ["faculty", "course"], faculties={mine})
    assert {int(cell[0]) for cell in scoped.cells()} == {mine}
    assert_balanced(scoped)
    assert movement_counts(start, end, ["course"], faculties=set()).cells() == []
    assert set(contingent_counts(end, ["faculty"], faculties={mine})) == {(str(mine),)}
