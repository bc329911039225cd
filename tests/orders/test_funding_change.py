"""Change of funding: paid to a vacant grant, grant to paid; who may, what signing changes, the wording."""

from datetime import date

import pytest
from sqlalchemy import select

from core.db import db
from orders import operations
from orders.operations import InvalidInput
from students.academic import Grade
from students.history import record_on
from students.models import StudentMovement
from tests.builders import STATUS_WORDS, clerk_draft, document_text, rules, signed

GROUND = "решение Ученого совета № 7 от 20.07.2026 о присуждении вакантного гранта"


pytestmark = pytest.mark.usefixtures("english")


def draft(uni, students, direction="to_grant", effective_date="2026-12-01", ground=GROUND):
    return clerk_draft(
        uni,
        "funding_change",
        {"direction": direction, "effective_date": effective_date, "ground": ground, "basis": "Заявления обучающихся"},
        students,
    )


def debt(student, code="MAT101", letter="FX", points=40):
    db.session.add(
        Grade(
            student_id=student.id,
            discipline_code=code,
            discipline_name="Математика",
            semester=1,
            academic_year="2025-2026",
            points=points,
            letter=letter,
            grade_point=0.5 if letter == "FX" else 0.0,
            credits=5,
        )
    )
    db.session.flush()


def test_paid_student_without_debt_moves_to_the_vacant_grant_from_the_effective_date(uni, make):
    student = make.student(uni.ga, funding="paid", surname="Омарова", name="Жанна")
    order = signed(draft(uni, [student]), uni)
    assert order.state == "signed" and order.route_name == "money"
    assert student.funding == "grant"
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert (movement.kind, movement.changes, str(movement.effective_date)) == (
        "funding_change",
        {"funding": ["paid", "grant"]},
        "2026-12-01",
    )
    assert record_on(student, date(2026, 11, 30))["funding"] == "paid"
    assert record_on(student, date(2026, 12, 1))["funding"] == "grant"


def test_grant_student_moves_to_paid(uni, make):
    student = make.student(uni.ga, funding="grant")
    order = signed(draft(uni, [student], direction="to_paid", ground="отказ от гранта по заявлению"), uni)
    assert student.funding == "paid"
    assert order.lines[0].applied_changes == {"funding": ["grant", "paid"]}


def test_a_student_with_academic_debt_gets_no_vacant_grant(uni, make):
    student = make.student(uni.ga, funding="paid", surname="Ли", name="Анна")
    debt(student, "MAT101")
    (line,) = draft(uni, [student]).lines
    assert line.eligibility == [
        {
            "rule": "funding.academic_debt",
            "message": "Ли Анна Серикович has academic debt (MAT101): a vacant grant goes only to students without "
            "debts.",
            "data": {"debts": ["MAT101"]},
        }
    ]


def test_a_grant_student_cannot_move_to_a_grant_nor_a_paid_one_to_paid(uni, make):
    grant, paid = make.student(uni.ga, funding="grant", surname="Ким"), make.student(uni.ga, funding="paid")
    (line,) = draft(uni, [grant]).lines
    assert rules(line) == ["funding.not_paid"]
    assert line.eligibility[0]["message"] == (
        "Ким Нурлан Серикович does not study on a paid basis (funding: state grant): only paid students can be moved "
        "to a vacant grant."
    )
    (line,) = draft(uni, [paid], direction="to_paid", ground="основание").lines
    assert rules(line) == ["funding.not_grant"]
    assert "holds no state grant (funding: paid)" in line.eligibility[0]["message"]


@pytest.mark.parametrize("status", ["academic_leave", "expelled"])
def test_only_active_students_change_funding(status, uni, make):
    student = make.student(uni.ga, funding="paid", status=status)
    (line,) = draft(uni, [student]).lines
    assert rules(line) == ["funding.status"]
    assert line.eligibility[0]["message"].endswith(
        f"is {STATUS_WORDS[status]}: only active students can change funding."
    )


def test_direction_and_ground_are_required(uni):
    with pytest.raises(InvalidInput) as error:
        operations.create_order(
            "funding_change",
            uni.clerk,
            {"direction": "free", "effective_date": "2026-12-01", "ground": " ", "basis": "Заявления"},
        )
    assert set(error.value.errors) == {"direction", "ground"}
    assert "council decision" in error.value.errors["ground"]


def test_two_open_orders_for_the_same_student_conflict(uni, make):
    student = make.student(uni.ga, funding="paid")
    first = draft(uni, [student])
    (line,) = draft(uni, [student]).lines
    assert rules(line) == ["line.open_order"]
    assert line.eligibility[0]["data"]["order_id"] == first.id


def test_document_wording_in_russian_and_kazakh(uni, make):
    to_grant = signed(draft(uni, [make.student(uni.ga, funding="paid", surname="Омарова", name="Жанна")]), uni)
    text = document_text(to_grant)
    assert "Перевести обучающуюся" in text and "Омарову Жанну Сериковну (ИИН" in text
    assert "на обучение по государственному образовательному гранту с 01.12.2026" in text
    assert GROUND in text
    assert "01.12.2026 бастап мемлекеттік білім беру гранты бойынша оқуға ауыстырылсын" in text
    to_paid = signed(draft(uni, [make.student(uni.ga)], direction="to_paid", ground="заявление"), uni)
    text = document_text(to_paid)
    assert "на обучение на платной основе с 01.12.2026" in text
    assert "ақылы негізде оқуға ауыстырылсын" in text
