"""Effects on their effective dates, the scheduler that applies them once, the refusal of colliding orders, and the
record (one student or the whole contingent) on any date as known on any day."""

import os
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from core.clock import today
from core.db import db
from core.models import issue_token
from orders import operations
from orders.operations import apply_due_effects
from students.history import contingent_on, record_on, records_on
from students.imports import run_import
from students.models import Student
from tests.builders import statements_run, two_schedulers
from tests.conftest import ENROLLED_ON, Factory, login, sign
from tests.orders import test_revocation as revocation_tests
from tests.orders import test_travel_compensation as tests_travel
from workflow.models import AuditEvent

SIGNED = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)  # 08.12.2026, 11:00 in Almaty
EFFECTIVE = "2026-12-15"


@pytest.fixture(autouse=True)
def english(app):
    """English messages, without the rolled-back `session`: the schedulers' race needs real commits (`committed`)."""
    with app.app_context(), force_locale("en"):
        yield


@pytest.fixture
def clock(app, monkeypatch):
    """Move the application's clock: clock(datetime) or clock(date) (10:00 in Almaty that day)."""

    def move(moment):
        if isinstance(moment, date) and not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day, 5, 0, tzinfo=UTC)
        monkeypatch.setitem(app.config, "CLOCK_NOW", moment)
        return moment

    move(SIGNED)
    return move


def current(student: Student) -> dict:
    db.session.refresh(student)
    return {
        "status": student.status,
        "course": student.course,
        "funding": student.funding,
        "expulsion_reason": student.expulsion_reason,
        "group_id": student.group_id,
    }


def as_of(record: dict | None) -> dict | None:
    if record is None:
        return None
    return {
        "status": record["status"],
        "course": record["course"],
        "funding": record["funding"],
        "expulsion_reason": record["expulsion_reason"],
        "group_id": record["group"]["id"],
    }


def assert_current_is_the_record_as_of_today(students) -> None:
    """The invariant: the current record always equals the record as of today computed from the movements."""
    db.session.expire_all()
    records = records_on([s.id for s in students], today())
    for student in students:
        assert as_of(records.get(student.id)) == current(student), student.full_name


def expel(uni, make, effective=EFFECTIVE, student=None):
    student = student or make.student(uni.ga, funding="grant")
    order = make.order(uni.clerk, [student], effective_date=effective)
    sign(order, uni)
    db.session.expire_all()
    return order, student


# Signing a later effect changes nothing now; the scheduler applies it on the day, once -----------------------


def test_an_expulsion_effective_next_week_waits_for_its_day(uni, make, clock):
    order, student = expel(uni, make)
    assert order.state == "signed" and order.number_label and order.document is not None
    assert (student.status, student.funding) == ("active", "grant")
    (movement,) = student.movements
    assert movement.scheduled and movement.known_since is not None
    assert movement.changes["status"] == ["active", "expelled"]
    assert operations.effect_state(order) == {"scheduled": date(2026, 12, 15), "since": None}
    assert record_on(student, date(2026, 12, 15))["status"] == "expelled"  # the timeline knows what is coming
    assert record_on(student, date(2026, 12, 14))["status"] == "active"

    clock(date(2026, 12, 14))
    assert apply_due_effects() == {"movements": 0, "orders": 0}
    clock(date(2026, 12, 15))
    assert apply_due_effects() == {"movements": 1, "orders": 1}
    db.session.expire_all()
    assert (student.status, student.funding, student.expulsion_reason) == ("expelled", "none", "own_request")
    assert student.status_since == date(2026, 12, 15)
    assert operations.effect_state(order) == {"scheduled": None, "since": date(2026, 12, 15)}
    (audit,) = [e for e in order.events if e.trigger == "take_effect"]
    assert (audit.from_state, audit.to_state, audit.data["students"]) == ("signed", "signed", 1)

    assert apply_due_effects() == {"movements": 0, "orders": 0}  # a second pass changes nothing
    assert db.session.scalar(select(func.count()).where(AuditEvent.trigger == "take_effect")) == 1
    assert_current_is_the_record_as_of_today([student])


def test_an_effect_dated_today_or_earlier_applies_at_signing(uni, make, clock):
    for effective in ("2026-12-01", "2026-12-08"):
        _order, student = expel(uni, make, effective)
        assert student.status == "expelled"
        assert not student.movements[0].scheduled
    assert apply_due_effects() == {"movements": 0, "orders": 0}


def test_the_scheduler_applies_many_effects_in_a_fixed_number_of_statements(uni, make, clock):
    students = [make.student(uni.ga if n % 2 else uni.gb) for n in range(12)]
    order = make.order(uni.clerk, students, effective_date=EFFECTIVE)
    sign(order, uni)
    clock(date(2026, 12, 16))
    db.session.flush()
    with statements_run() as statements:
        assert apply_due_effects() == {"movements": 12, "orders": 1}
        db.session.flush()
    assert len(statements) <= 6, statements
    db.session.expire_all()
    assert {s.status for s in students} == {"expelled"}


def test_the_scheduler_command_runs_both_passes(app, uni, make, clock):
    from registrar.cli import run_scheduler_once

    _order, student = expel(uni, make)
    clock(date(2026, 12, 15))
    db.session.commit()  # the scheduler works in its own session: it sees only committed rows
    try:
        result = run_scheduler_once(app)
        assert result is not None and result["effects"] == {"movements": 1, "orders": 1}
        assert "checked" in result["deadlines"]
        db.session.expire_all()
        assert db.session.get(Student, student.id).status == "expelled"
        assert run_scheduler_once(app)["effects"] == {"movements": 0, "orders": 0}
    finally:
        db.session.rollback()


# Collisions ------------------------------------------------------------------------------------------------------


def test_another_record_changing_order_is_refused_and_names_the_scheduled_order(uni, make, clock):
    order, student = expel(uni, make)
    other = make.order(uni.clerk, [student], effective_date="2026-12-10")
    (line,) = other.lines
    rules = [refusal["rule"] for refusal in line.eligibility]
    assert "line.scheduled_effect" in rules
    refusal = next(r for r in line.eligibility if r["rule"] == "line.scheduled_effect")
    assert order.number_label in refusal["message"] and "15.12.2026" in refusal["message"]
    assert refusal["data"] == {"order_id": order.id, "effective_date": "2026-12-15"}

    revocation = revocation_tests.revoke(order, uni)  # the correction of that very order is not refused
    assert "line.scheduled_effect" not in [refusal["rule"] for refusal in revocation.lines[0].eligibility]
    travel = tests_travel.draft(uni, [student])  # nor is an order that changes no record
    assert "line.scheduled_effect" not in [refusal["rule"] for refusal in travel.lines[0].eligibility]


def test_revoking_an_order_whose_effects_have_not_started_cancels_them(uni, make, clock):
    order, student = expel(uni, make)
    revocation = revocation_tests.revoke(order, uni)
    assert operations.effects_preview(revocation)[revocation.lines[0].id] == {}
    clock(datetime(2026, 12, 9, 6, tzinfo=UTC))
    sign(revocation, uni)
    db.session.expire_all()
    assert (student.status, student.funding) == ("active", "grant")
    assert order.superseded_as == "revoked"
    assert [m.kind for m in student.movements] == ["expulsion", "revocation"]
    assert student.movements[0].voided_at is not None and not student.movements[0].scheduled
    clock(date(2026, 12, 20))
    assert apply_due_effects() == {"movements": 0, "orders": 0}
    db.session.expire_all()
    assert student.status == "active"
    assert record_on(student, date(2026, 12, 20))["status"] == "active"
    # As known on 08.12 (before the revocation), the expulsion was coming on the 15th.
    assert record_on(student, date(2026, 12, 20), known_on=date(2026, 12, 8))["status"] == "expelled"
    assert_current_is_the_record_as_of_today([student])
    # The student is free for other orders again.
    assert make.order(uni.clerk, [student]).lines[0].eligible


def test_revoking_after_the_effect_started_restores_the_record_and_voids_it_from_its_date(uni, make, clock):
    order, student = expel(uni, make)
    clock(date(2026, 12, 15))
    apply_due_effects()
    clock(date(2026, 12, 20))
    revocation = revocation_tests.revoke(order, uni)
    assert operations.effects_preview(revocation)[revocation.lines[0].id]["status"] == ["expelled", "active"]
    sign(revocation, uni)
    db.session.expire_all()
    assert (student.status, student.funding, student.expulsion_reason) == ("active", "grant", None)
    for known_on, status in ((date(2026, 12, 19), "expelled"), (date(2026, 12, 20), "active"), (None, "active")):
        assert record_on(student, date(2026, 12, 17), known_on=known_on)["status"] == status, known_on
    assert_current_is_the_record_as_of_today([student])


# Known as of -----------------------------------------------------------------------------------------------------


def test_a_retroactive_order_changes_the_past_only_as_known_after_its_signing(uni, make, clock):
    student = make.student(uni.ga, funding="grant")
    clock(date(2026, 12, 10))
    order = make.order(uni.clerk, [student], effective_date="2026-12-01")
    sign(order, uni)
    db.session.expire_all()
    assert student.status == "expelled"
    on_the_fifth = date(2026, 12, 5)
    assert record_on(student, on_the_fifth)["status"] == "expelled"
    assert record_on(student, on_the_fifth, known_on=date(2026, 12, 9))["status"] == "active"
    assert record_on(student, on_the_fifth, known_on=date(2026, 12, 10))["status"] == "expelled"
    assert record_on(student, on_the_fifth, known_on=datetime(2026, 12, 10, 4, 59, tzinfo=UTC))["status"] == "active"


def test_a_student_enrolled_after_the_date_has_no_record_on_it(uni, make, clock):
    data = f"iin;surname;name;patronymic;email;group;funding\n{_iin()};Новикова;Дана;;;{uni.ga.name};paid\n".encode()
    plan = run_import("students", "students.csv", data)
    assert plan.ok, plan.errors
    student = db.session.scalar(select(Student).where(Student.surname == "Новикова"))
    assert record_on(student, date(2026, 12, 7)) is None
    assert record_on(student, date(2026, 12, 8))["status"] == "active"
    assert student.id not in {row.student_id for row in contingent_on(date(2026, 12, 7))}
    assert student.id in {row.student_id for row in contingent_on(date(2026, 12, 8))}


def _iin() -> str:
    from students.iin import make_iin

    return make_iin(date(2005, 5, 5), False, 4242)


def test_the_contingent_on_a_date_agrees_with_each_record_and_is_one_statement(uni, make, clock):
    students = [make.student(uni.ga), make.student(uni.gb, funding="paid"), make.student(uni.ga)]
    order = make.order(uni.clerk, students[:2], effective_date=EFFECTIVE)
    sign(order, uni)
    db.session.flush()
    with statements_run() as statements:
        rows = {row.student_id: row for row in contingent_on(date(2026, 12, 15))}
    assert len(statements) == 1
    records = records_on([s.id for s in students], date(2026, 12, 15))
    for student in students:
        row, record = rows[student.id], records[student.id]
        assert (row.status, row.course, row.funding, row.group_id) == (
            record["status"],
            record["course"],
            record["funding"],
            record["group"]["id"],
        )
        assert row.faculty_id == student.group.programme.faculty_id
    assert [rows[s.id].status for s in students] == ["expelled", "expelled", "active"]
    assert {rows[s.id].status for s in students} == {"expelled", "active"}
    before = {row.student_id: row.status for row in contingent_on(date(2026, 12, 14))}
    assert [before[s.id] for s in students] == ["active"] * 3
    assert date(2026, 12, 14) >= ENROLLED_ON


# Pages and API ---------------------------------------------------------------------------------------------------


def test_the_student_and_order_pages_show_what_is_scheduled(client, uni, make, clock):
    order, student = expel(uni, make)
    login(client, uni.clerk)
    page = client.get(f"/students/{student.id}").get_data(as_text=True)
    assert 'data-testid="scheduled"' in page
    assert f"expelled, no funding from 15.12.2026 by order {order.number_label}" in page
    assert 'data-testid="student-status">active<' in page
    order_page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Takes effect on 15.12.2026." in order_page
    clock(date(2026, 12, 15))
    apply_due_effects()
    order_page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "In effect since 15.12.2026." in order_page
    page = client.get(f"/students/{student.id}?date=2026-12-14").get_data(as_text=True)
    assert 'data-testid="as-of-status">active<' in page and 'data-testid="scheduled"' not in page


def test_the_api_answers_as_known_on_a_day(client, uni, make, clock):
    student = make.student(uni.ga)
    clock(date(2026, 12, 10))
    sign(make.order(uni.clerk, [student], effective_date="2026-12-01"), uni)
    token = issue_token(uni.clerk)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/students/{student.id}/as-of?date=2026-12-05"
    assert client.get(url, headers=headers).get_json()["status"] == "expelled"
    assert client.get(f"{url}&known_on=2026-12-09", headers=headers).get_json()["status"] == "active"
    missing = client.get(f"/api/v1/students/{student.id}/as-of?date=2019-01-01", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["errors"] == {"date": "not enrolled on this date"}
    bad = client.get(f"{url}&known_on=soon", headers=headers)
    assert bad.status_code == 422


# The invariant, for every record-changing kind ------------------------------------------------------------------

TIMINGS = ("past", "today", "future")


def _line_dates(order) -> list[date]:
    return sorted({line.effective_date for line in order.lines})


@pytest.mark.parametrize("timing", TIMINGS)
@pytest.mark.parametrize("build", revocation_tests.BUILDERS, ids=lambda build: build.__name__)
def test_the_current_record_is_always_the_record_as_of_today(build, timing, uni, make, clock):
    """Sign an order of every kind with its effective dates in the past, today or in the future; run the scheduler
    through the dates; revoke it (in the future case before the effects start, else after), checking the invariant
    at every step."""
    order = build(uni, make)
    students = [line.student for line in order.lines]
    dates = _line_dates(order)
    signing_day = {"past": dates[-1] + timedelta(days=3), "today": dates[0], "future": dates[0] - timedelta(days=3)}
    clock(signing_day[timing])
    operations.check_lines(order)
    assert all(line.accepted for line in order.lines), [line.eligibility for line in order.lines]
    sign(order, uni)
    db.session.expire_all()
    assert_current_is_the_record_as_of_today(students)
    if timing == "future":
        revocation = revocation_tests.revoke(order, uni)
        sign(revocation, uni)
        assert_current_is_the_record_as_of_today(students)
        clock(dates[-1] + timedelta(days=1))
        apply_due_effects()
        assert_current_is_the_record_as_of_today(students)
        return
    for day in dates:
        clock(day)
        apply_due_effects()
        assert_current_is_the_record_as_of_today(students)
    clock(dates[-1] + timedelta(days=5))
    revocation = revocation_tests.revoke(order, uni)
    sign(revocation, uni)
    assert_current_is_the_record_as_of_today(students)


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="the race of two schedulers is proved on PostgreSQL only",
)
def test_two_schedulers_at_once_apply_each_effect_once(app, committed, monkeypatch):
    """Scheduler A claims the due effects and holds its transaction open; B's guarded UPDATE waits on the row locks,
    then finds them applied and claims nothing."""
    monkeypatch.setitem(app.config, "CLOCK_NOW", SIGNED)
    make = Factory()
    fa = make.faculty()
    people = [make.user(role, fa if role == "dean" else None) for role in ("clerk", "dean", "registrar", "lawyer")]
    rector = make.user("rector")
    students = [make.student(make.group(fa)) for _ in range(3)]
    order = make.order(people[0], students, effective_date=EFFECTIVE)
    sign(order, [*people, rector])
    db.session.commit()
    order_id, student_ids = order.id, [s.id for s in students]
    db.session.close()
    day = date(2026, 12, 15)
    # B is blocked on the rows A updated
    results = two_schedulers(app, lambda: apply_due_effects(day))
    assert results == {"a": {"movements": 3, "orders": 1}, "b": {"movements": 0, "orders": 0}}
    assert (
        db.session.scalar(
            select(func.count()).where(AuditEvent.order_id == order_id, AuditEvent.trigger == "take_effect")
        )
        == 1
    )
    assert {db.session.get(Student, i).status for i in student_ids} == {"expelled"}
