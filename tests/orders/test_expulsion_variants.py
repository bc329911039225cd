"""Expulsion variants: non-return from academic leave, not signing the repeat-year contract, and the expulsion of a
student on leave, which ends the leave (and its reversal brings it back)."""

import io
from datetime import date

import docx
import pytest
from sqlalchemy import select

from core.db import db
from orders.registry import get_kind
from students.history import record_on
from students.models import StudentMovement
from tests.builders import messages, on_leave
from tests.conftest import login, sign

pytestmark = pytest.mark.usefixtures("english")


def test_non_return_expels_a_student_whose_leave_ended_and_ends_the_leave(uni, make):
    student = on_leave(make, uni.ga, funding="paid")
    order = make.order(uni.clerk, [student], reason="non_return", effective_date="2026-09-15")
    assert order.lines[0].eligibility == []
    sign(order, uni)
    db.session.expire_all()
    assert (student.status, student.expulsion_reason, student.status_since) == (
        "expelled",
        "non_return",
        date(2026, 9, 15),
    )
    assert (student.leave_ground, student.leave_start, student.leave_end) == (None, None, None)
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert movement.reason == "non_return"
    assert movement.changes == {
        "status": ["academic_leave", "expelled"],
        "leave_ground": ["medical", None],
        "leave_start": ["2025-09-01", None],
        "leave_end": ["2026-08-31", None],
    }
    assert record_on(student, date(2026, 9, 14))["status"] == "academic_leave"
    assert (
        record_on(student, date(2026, 9, 15))["status"],
        record_on(student, date(2026, 9, 15))["expulsion_reason"],
    ) == ("expelled", "non_return")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(order.document.content)).paragraphs)
    assert "в связи с невыходом из академического отпуска с 15.09.2026" in text
    assert "академиялық демалыстан шықпауына байланысты оқудан шығарылсын" in text


def test_reversal_of_an_expulsion_from_leave_restores_the_leave(uni, make):
    student = on_leave(make, uni.ga)
    order = make.order(uni.clerk, [student], reason="own_request", effective_date="2026-03-01")
    sign(order, uni)
    db.session.expire_all()
    assert student.leave_end is None
    assert get_kind("expulsion").reverse(order.lines[0]) == {
        "status": "academic_leave",
        "expulsion_reason": None,
        "status_since": date(2025, 9, 1),
        "funding": "grant",
        "leave_ground": "medical",
        "leave_start": date(2025, 9, 1),
        "leave_end": date(2026, 8, 31),
    }


def test_expelling_an_active_student_changes_no_leave_field(uni, make):
    student = make.student(uni.ga, funding="paid")
    order = make.order(uni.clerk, [student])
    sign(order, uni)
    db.session.expire_all()
    assert order.lines[0].applied_changes == {"status": ["active", "expelled"]}


def test_non_return_refused_for_a_student_not_on_leave(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga, surname="Ким", name="Виктор")], reason="non_return")
    assert order.lines[0].eligibility == [
        {
            "rule": "expulsion.non_return",
            "message": "Ким Виктор Серикович is not on academic leave: expulsion for non-return from academic leave "
            "applies only to students on academic leave.",
            "data": {"status": "active"},
            "absolute": True,
        }
    ]


def test_non_return_refused_while_the_leave_runs(uni, make):
    student = on_leave(make, uni.ga, end=date(2026, 12, 1), surname="Ким", name="Виктор")
    order = make.order(uni.clerk, [student], reason="non_return", effective_date="2026-12-01")
    assert order.lines[0].eligibility == [
        {
            "rule": "expulsion.non_return",
            "message": "The academic leave of Ким Виктор Серикович runs to 01.12.2026: expulsion for non-return can "
            "take effect only after that day, not on 01.12.2026.",
            "data": {"leave_end": "2026-12-01", "effective_date": "2026-12-01"},
        }
    ]


def test_non_return_refused_when_the_leave_s_end_is_not_on_record(uni, make):
    student = make.student(uni.ga, status="academic_leave", surname="Ким", name="Виктор")
    order = make.order(uni.clerk, [student], reason="non_return")
    assert messages(order.lines[0]) == {
        "expulsion.non_return": (
            "The end of the academic leave of Ким Виктор Серикович is not on record: expulsion for non-return needs a "
            "leave that ended before 01.12.2026."
        )
    }


def test_repeat_contract_only_for_active_students(uni, make):
    active = make.student(uni.ga)
    away = on_leave(make, uni.ga, surname="Ким", name="Виктор")
    order = make.order(uni.clerk, [active, away], reason="repeat_contract")
    first, second = order.lines
    assert first.eligibility == []
    assert second.eligibility == [
        {
            "rule": "expulsion.repeat_contract",
            "message": "Ким Виктор Серикович is on academic leave: expulsion for not signing the repeat-year contract "
            "applies only to active students.",
            "data": {"status": "academic_leave"},
            "absolute": True,
        }
    ]


def test_the_expulsion_form_offers_non_return(client, uni):
    db.session.commit()
    login(client, uni.clerk)
    html = client.get("/orders/new/expulsion").get_data(as_text=True)
    assert '<option value="non_return">did not return from academic leave</option>' in html
