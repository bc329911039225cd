"""Restoration: an expelled student back in the chosen group, in the holidays, with the academic difference."""

from datetime import date

import pytest
from sqlalchemy import select

from core.db import db
from orders import operations
from orders.registry import get_kind
from students.academic import StudentDebt
from students.history import record_on
from students.models import StudentMovement
from tests.builders import STATUS_WORDS
from tests.conftest import enrol_again, login, sign, take_effect_by
from tests.orders.test_transfer import NO_CALENDAR_DAY, TERM_DAY, calendar, document_text, draft, rules
from tests.students.test_difference import grade, item
from workflow.engine import fire

pytestmark = pytest.mark.usefixtures("english")


def expelled(make, group, reason="academic_failure", **kwargs):
    student = make.student(group, status="expelled", funding="none", **kwargs)
    student.expulsion_reason = reason
    student.status_since = date(2019, 2, 1)  # years ago: no limit on years
    enrol_again(student)
    return student


@pytest.fixture
def setup(uni, make):
    """An expelled student who passed semester 1 of programme A, and programme A's curriculum up to course 2."""
    calendar()
    programme = uni.ga.programme
    item(programme, 1, "MAT101", "Математика")
    item(programme, 2, "PHY102", "Физика", credits=4)
    item(programme, 3, "PRG201", "Программирование", credits=6)
    student = expelled(make, uni.ga, surname="Серикова", name="Асель")
    grade(student, "MAT101", "Математика", 77, year="2018-2019")
    return student


def test_restoration_into_the_old_group_makes_the_student_active_on_a_paid_basis(setup, uni):
    student = setup
    order = draft(uni, "restoration", [student])
    (line,) = order.lines
    assert line.eligible
    assert (line.params["group"], [d["code"] for d in line.params["difference"]]) == (uni.ga.name, ["PHY102", "PRG201"])
    sign(order, uni)
    take_effect_by("2027-01-10")
    assert (
        student.status,
        student.group_id,
        student.course,
        student.funding,
        student.expulsion_reason,
        student.status_since,
    ) == ("active", uni.ga.id, 2, "paid", None, date(2027, 1, 10))
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert movement.kind == "restoration"
    assert movement.changes == {
        "status": ["expelled", "active"],
        "funding": ["none", "paid"],
        "expulsion_reason": ["academic_failure", None],
    }
    assert record_on(student, date(2027, 1, 9))["status"] == "expelled"
    assert record_on(student, date(2027, 1, 9))["expulsion_reason"] == "academic_failure"
    assert record_on(student, date(2027, 1, 10))["status"] == "active"
    assert [
        (d.code, d.credits)
        for d in db.session.scalars(
            select(StudentDebt).where(StudentDebt.student_id == student.id).order_by(StudentDebt.code)
        )
    ] == [("PHY102", 4), ("PRG201", 6)]


def test_restoration_into_another_group_and_course(setup, uni, make):
    student = setup
    first = make.group(uni.fa, course=1)
    first.programme_id = uni.ga.programme_id
    db.session.flush()
    order = draft(uni, "restoration", [student])
    operations.update_line(order, order.lines[0].id, {"group": first.name}, uni.clerk)
    # Restored into course 1 in the winter holidays: semester 2 (PHY102) is still to be studied, so no difference.
    assert order.lines[0].eligible and order.lines[0].params["difference"] == []
    sign(order, uni)
    take_effect_by("2027-01-10")
    assert (student.group_id, student.course) == (first.id, 1)
    assert order.lines[0].applied_changes["group"] == [uni.ga.name, first.name]
    assert order.lines[0].applied_changes["course"] == [2, 1]


def test_document_wording_and_difference(setup, uni):
    student = setup
    order = draft(uni, "restoration", [student])
    sign(order, uni)
    text = document_text(order)
    assert "Восстановить обучающуюся" in text and f"Серикову Асель Сериковну (ИИН {student.iin})" in text
    assert f"в число обучающихся на 2 курс, образовательная программа {uni.ga.programme.code}" in text
    assert "платная основа, с 10.01.2027." in text
    assert "1) PHY102 Физика — 4 кредит(ов) (2 семестр); 2) PRG201 Программирование — 6 кредит(ов) (3 семестр)" in text
    assert "білім алушылар қатарына қайта қабылдансын" in text and "1) PHY102 Физика (kk) — 4 кредит" in text


@pytest.mark.parametrize("status", ["active", "academic_leave", "graduated"])
def test_only_expelled_students_are_restored(status, setup, uni, make):
    student = make.student(uni.ga, status=status, surname="Ким", name="Олег")
    grade(student, "MAT101", "Математика", 90)
    order = draft(uni, "restoration", [student])
    assert order.lines[0].eligibility == [
        {
            "rule": "restoration.status",
            "data": {"status": status},
            "message": f"Ким Олег Серикович is {STATUS_WORDS[status]}: only expelled students can be restored.",
            "absolute": True,
        }
    ]


def test_a_student_expelled_on_death_is_not_restored(setup, uni, make):
    student = expelled(make, uni.ga, reason="death", surname="Ахметов", name="Болат")
    grade(student, "MAT101", "Математика", 90)
    order = draft(uni, "restoration", [student])
    assert order.lines[0].eligibility == [
        {
            "rule": "restoration.death",
            "data": {"expulsion_reason": "death"},
            "message": "Ахметов Болат Серикович was expelled on death: no order other than a revocation or amendment "
            "may name them.",
            "absolute": True,
        }
    ]


@pytest.mark.parametrize("reason", ["own_request", "non_payment", "transfer", "discipline"])
def test_any_other_reason_may_be_restored(reason, setup, uni, make):
    student = expelled(make, uni.ga, reason=reason)
    grade(student, "MAT101", "Математика", 50)
    assert draft(uni, "restoration", [student]).lines[0].eligible


def test_first_period_not_completed_is_refused(setup, uni, make):
    student = expelled(make, uni.ga, surname="Омаров", name="Тимур")
    grade(student, "MAT101", "Математика", 45)  # FX
    order = draft(uni, "restoration", [student])
    assert rules(order.lines[0]) == ["restoration.first_period"]
    assert (
        order.lines[0]
        .eligibility[0]["message"]
        .startswith("Омаров Тимур Серикович has not completed the first academic period")
    )


def test_outside_the_holidays_and_without_a_calendar(setup, uni):
    student = setup
    term = draft(uni, "restoration", [student], effective_date=TERM_DAY)
    assert rules(term.lines[0]) == ["restoration.holidays"]
    assert "winter holidays (05.01.2027–20.01.2027)" in term.lines[0].eligibility[0]["message"]
    fire(term, "withdraw", uni.clerk)
    unknown = draft(uni, "restoration", [student], effective_date=NO_CALENDAR_DAY)
    assert rules(unknown.lines[0]) == ["restoration.no_calendar"]
    assert "enter the academic calendar of 2028-2029" in unknown.lines[0].eligibility[0]["message"]


def test_reverse_gives_back_the_expelled_record_and_after_reverse_removes_the_debts(setup, uni):
    student = setup
    order = draft(uni, "restoration", [student])
    sign(order, uni)
    db.session.expire_all()
    kind, line = get_kind("restoration"), order.lines[0]
    assert kind.reverse(line) == {
        "status": "expelled",
        "group_id": uni.ga.id,
        "course": 2,
        "funding": "none",
        "expulsion_reason": "academic_failure",
        "status_since": date(2019, 2, 1),
    }
    assert len(db.session.scalars(select(StudentDebt).where(StudentDebt.student_id == student.id)).all()) == 2
    kind.after_reverse(order, [line])
    assert db.session.scalars(select(StudentDebt).where(StudentDebt.student_id == student.id)).all() == []


def test_student_page_lists_the_academic_difference(setup, uni, client):
    student = setup
    sign(draft(uni, "restoration", [student]), uni)
    db.session.commit()
    login(client, uni.clerk)
    page = client.get(f"/students/{student.id}")
    assert page.status_code == 200
    assert "Academic difference to clear" in page.text
    assert "PRG201" in page.text and "Программирование" in page.text
