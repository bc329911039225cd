"""Transfer to another university: expelled with the reason "transfer", the grant kept, the university named."""

from datetime import date

import pytest
from sqlalchemy import select

from core.db import db
from orders import operations
from orders.registry import get_kind
from students.history import record_on
from students.models import StudentMovement
from tests.builders import STATUS_WORDS, clerk_draft
from tests.conftest import sign
from tests.orders.test_transfer import document_text

UNIVERSITY = "Евразийский национальный университет имени Л.Н. Гумилева"


pytestmark = pytest.mark.usefixtures("english")


def draft(uni, students, university=UNIVERSITY, effective_date="2026-10-15"):
    return clerk_draft(
        uni,
        "transfer_out",
        {"university": university, "effective_date": effective_date, "basis": "Заявление и запрос ЕНУ"},
        students,
    )


@pytest.mark.parametrize("funding", ["grant", "paid"])
def test_signing_expels_with_reason_transfer_and_keeps_the_funding(funding, uni, make):
    student = make.student(uni.ga, funding=funding)
    order = draft(uni, [student])
    assert order.route_name == "legal"
    sign(order, uni)
    db.session.expire_all()
    assert (student.status, student.expulsion_reason, student.funding, student.status_since) == (
        "expelled",
        "transfer",
        funding,
        date(2026, 10, 15),
    )
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert (movement.kind, movement.reason) == ("transfer_out", "transfer")
    assert movement.changes == {"status": ["active", "expelled"], "expulsion_reason": [None, "transfer"]}
    assert record_on(student, date(2026, 10, 14))["status"] == "active"
    assert record_on(student, date(2026, 10, 15))["expulsion_reason"] == "transfer"


def test_document_says_transferred_to_the_named_university(uni, make):
    student = make.student(uni.ga)
    order = draft(uni, [student])
    sign(order, uni)
    text = document_text(order)
    assert "Отчислить обучающегося " in text and f"Ахметова Нурлана Сериковича (ИИН {student.iin})" in text
    assert f"в связи с переводом в {UNIVERSITY} с 15.10.2026." in text
    assert f"{UNIVERSITY} ауысуына байланысты оқудан шығарылсын." in text


def test_a_line_may_name_another_university(uni, make):
    student = make.student(uni.ga)
    order = draft(uni, [student])
    operations.update_line(order, order.lines[0].id, {"university": "  КазНУ   им. аль-Фараби "}, uni.clerk)
    assert order.lines[0].params == {"university": "КазНУ им. аль-Фараби", "reason": "transfer"}
    with pytest.raises(operations.InvalidInput) as error:
        operations.update_line(order, order.lines[0].id, {"university": " "}, uni.clerk)
    assert error.value.errors == {"university": "Name the receiving university."}


def test_the_university_is_required(uni):
    with pytest.raises(operations.InvalidInput) as error:
        operations.create_order(
            "transfer_out", uni.clerk, {"university": "", "effective_date": "2026-10-15", "basis": "Заявление"}
        )
    assert error.value.errors == {"university": "Name the receiving university."}


@pytest.mark.parametrize("status", ["expelled", "academic_leave", "incoming"])
def test_only_active_students_transfer_out(status, uni, make):
    student = make.student(uni.ga, status=status, surname="Ким", name="Юлия")
    order = draft(uni, [student])
    assert order.lines[0].eligibility == [
        {
            "rule": "transfer_out.status",
            "data": {"status": status},
            "message": f"Ким Юлия Серикович is {STATUS_WORDS[status]}: only active students can transfer to "
            "another university.",
            "absolute": True,
        }
    ]


def test_reverse_returns_the_active_record(uni, make):
    student = make.student(uni.ga)
    order = draft(uni, [student])
    sign(order, uni)
    db.session.expire_all()
    assert get_kind("transfer_out").reverse(order.lines[0]) == {
        "status": "active",
        "expulsion_reason": None,
        "status_since": None,
        "funding": "grant",
    }
