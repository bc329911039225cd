"""Return from academic leave: who may return and when, the group returned to, the notice before classes, the
effect on the record and its reversal, the wording, per-line details through the operation, the web page and API."""

import io
from datetime import date

import docx
import pytest
from sqlalchemy import select

from core.db import db
from core.models import issue_token
from orders import operations
from orders.operations import InvalidInput
from orders.registry import get_kind
from students.history import record_on
from students.models import Group, StudentMovement
from tests.builders import clerk_draft, messages, on_leave
from tests.conftest import login, sign

pytestmark = pytest.mark.usefixtures("english")


def sibling_group(group, name, course=None):
    """Another group of the same programme (of `course`, by default the same)."""
    sibling = Group(
        name=name,
        programme_id=group.programme_id,
        course=course or group.course,
        language=group.language,
        study_form=group.study_form,
    )
    db.session.add(sibling)
    db.session.flush()
    return sibling


def return_order(uni, students, effective_date="2026-09-01"):
    return clerk_draft(
        uni, "leave_return", {"effective_date": effective_date, "basis": "Заявления обучающихся"}, students
    )


def docx_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    return "\n".join(p.text for p in document.paragraphs)


# Effect ----------------------------------------------------------------------------------------------------


def test_return_after_the_leave_makes_the_student_active_in_the_same_group(uni, make):
    student = on_leave(make, uni.ga)
    order = return_order(uni, [student])
    assert order.lines[0].eligibility == []
    sign(order, uni)
    db.session.expire_all()
    assert (student.status, student.status_since, student.course, student.group_id) == (
        "active",
        date(2026, 9, 1),
        2,
        uni.ga.id,
    )
    assert (student.leave_ground, student.leave_start, student.leave_end) == (None, None, None)
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert (movement.kind, movement.effective_date) == ("leave_return", date(2026, 9, 1))
    assert movement.changes == {
        "status": ["academic_leave", "active"],
        "leave_ground": ["medical", None],
        "leave_start": ["2025-09-01", None],
        "leave_end": ["2026-08-31", None],
    }
    assert record_on(student, date(2026, 8, 31))["status"] == "academic_leave"
    assert record_on(student, date(2026, 9, 1))["status"] == "active"


def test_return_into_another_group_of_the_course_left_from(uni, make):
    student = on_leave(make, uni.ga)
    other = sibling_group(uni.ga, "ПР-25-2")
    order = return_order(uni, [student])
    (line,) = order.lines
    operations.update_line(order, line.id, {"group": "ПР-25-2"}, uni.clerk)
    assert line.eligibility == []
    assert operations.effects_preview(order)[line.id]["group"] == [uni.ga.name, "ПР-25-2"]
    sign(order, uni)
    db.session.expire_all()
    assert (student.group_id, student.course, student.status) == (other.id, 2, "active")
    before = record_on(student, date(2026, 8, 31))
    after = record_on(student, date(2026, 9, 1))
    assert (before["status"], before["group"]["id"]) == ("academic_leave", uni.ga.id)
    assert (after["status"], after["group"]["id"]) == ("active", other.id)


def test_reversal_restores_the_leave_and_the_group(uni, make):
    student = on_leave(make, uni.ga)
    sibling_group(uni.ga, "ПР-25-3")
    order = return_order(uni, [student])
    operations.update_line(order, order.lines[0].id, {"group": "ПР-25-3"}, uni.clerk)
    sign(order, uni)
    db.session.expire_all()
    assert get_kind("leave_return").reverse(order.lines[0]) == {
        "status": "academic_leave",
        "status_since": date(2025, 9, 1),
        "group_id": uni.ga.id,
        "course": 2,
        "leave_ground": "medical",
        "leave_start": date(2025, 9, 1),
        "leave_end": date(2026, 8, 31),
    }


def test_a_leave_then_a_return_through_orders(uni, make):
    student = make.student(uni.ga)
    leave = operations.create_order(
        "academic_leave",
        uni.clerk,
        {"ground": "medical", "leave_start": "2026-01-10", "leave_end": "2026-08-31", "basis": "Заявление"},
    )
    operations.add_students(leave, [student.id], uni.clerk)
    operations.update_line(leave, leave.lines[0].id, {"document_no": "5", "document_date": "2026-01-05"}, uni.clerk)
    sign(leave, uni)
    sign(return_order(uni, [student]), uni)
    db.session.expire_all()
    assert [record_on(student, date(*day))["status"] for day in ((2026, 1, 9), (2026, 5, 1), (2026, 9, 1))] == [
        "active",
        "academic_leave",
        "active",
    ]


# Refusals --------------------------------------------------------------------------------------------------


def test_only_a_student_on_leave_returns(uni, make):
    order = return_order(uni, [make.student(uni.ga, surname="Ким", name="Виктор")])
    assert order.lines[0].eligibility == [
        {
            "rule": "leave_return.status",
            "message": "Ким Виктор Серикович is active: only a student on academic leave can return from it.",
            "data": {"status": "active"},
            "absolute": True,
        }
    ]


def test_an_early_return_needs_its_ground(uni, make):
    student = on_leave(make, uni.ga, end=date(2027, 1, 31), surname="Ким", name="Виктор")
    order = return_order(uni, [student])
    (line,) = order.lines
    assert messages(line) == {
        "leave_return.early": (
            "The academic leave of Ким Виктор Серикович runs to 31.01.2027: a return on 01.09.2026 is early; name the "
            "ground for an early return."
        )
    }
    operations.update_line(
        order, line.id, {"early_ground": "заключение ВКК № 77 от 20.08.2026 о выздоровлении"}, uni.clerk
    )
    assert line.eligibility == []
    text = get_kind("leave_return").item_text(line, "ru")
    assert "вышедшим из академического отпуска досрочно с 01.09.2026" in text
    assert "основание досрочного выхода: заключение ВКК № 77 от 20.08.2026 о выздоровлении" in text
    assert "мерзімінен бұрын" in get_kind("leave_return").item_text(line, "kk")


@pytest.mark.parametrize(
    ("applied", "message"),
    [
        (
            "2026-08-25",
            "The application of 25.08.2026 came 7 days before classes resume on 01.09.2026; it must come "
            "at least 14 days before.",
        ),
        (
            "2026-09-03",
            "The application of 03.09.2026 came after classes resumed on 01.09.2026; it must come at least "
            "14 days before.",
        ),
    ],
)
def test_an_application_too_late_is_refused(applied, message, uni, make):
    order = return_order(uni, [on_leave(make, uni.ga)])
    (line,) = order.lines
    operations.update_line(order, line.id, {"application_date": applied}, uni.clerk)
    assert messages(line) == {"leave_return.notice": message}


def test_an_application_14_days_ahead_is_in_time_and_the_setting_decides(app, uni, make):
    order = return_order(uni, [on_leave(make, uni.ga)])
    (line,) = order.lines
    operations.update_line(order, line.id, {"application_date": "2026-08-18"}, uni.clerk)
    assert line.eligibility == []
    rules = app.config["RULES"]
    saved, rules["return_notice_days"] = rules["return_notice_days"], 20
    try:
        operations.check_lines(order)
    finally:
        rules["return_notice_days"] = saved
    assert [r["rule"] for r in line.eligibility] == ["leave_return.notice"]


def test_a_group_of_another_course_or_programme_is_refused(uni, make):
    student = on_leave(make, uni.ga, surname="Ким", name="Виктор")
    sibling_group(uni.ga, "ПР-24-1", course=3)
    order = return_order(uni, [student])
    (line,) = order.lines
    operations.update_line(order, line.id, {"group": "ПР-24-1"}, uni.clerk)
    assert messages(line) == {
        "leave_return.group": (
            "Group ПР-24-1 is of course 3; Ким Виктор Серикович returns to course 2, the course left from: choose a "
            "group of that course."
        )
    }
    operations.update_line(order, line.id, {"group": uni.gb.name}, uni.clerk)
    assert messages(line) == {
        "leave_return.group": (
            f"Group {uni.gb.name} is of programme {uni.gb.programme.code}; Ким Виктор Серикович returns to programme "
            f"{uni.ga.programme.code}."
        )
    }


def test_the_current_group_of_another_course_is_refused_until_a_group_is_chosen(uni, make):
    student = on_leave(make, uni.ga)
    student.course = 3  # the group moved on while the student was away
    sibling_group(uni.ga, "ПР-24-2", course=3)
    order = return_order(uni, [student])
    (line,) = order.lines
    assert [r["rule"] for r in line.eligibility] == ["leave_return.group"]
    operations.update_line(order, line.id, {"group": "ПР-24-2"}, uni.clerk)
    assert line.eligibility == []


def test_a_student_in_another_open_order_is_refused(uni, make):
    student = on_leave(make, uni.ga)
    make.order(uni.clerk, [student])
    order = return_order(uni, [student])
    assert [r["rule"] for r in order.lines[0].eligibility] == ["line.open_order"]


# Document --------------------------------------------------------------------------------------------------


def test_document_states_the_return_date_and_group_in_both_languages(uni, make):
    student = on_leave(make, uni.ga, surname="Омарова", name="Дана")
    order = return_order(uni, [student])
    operations.update_line(order, order.lines[0].id, {"application_date": "2026-08-10"}, uni.clerk)
    sign(order, uni)
    text = docx_text(order.document.content)
    assert "О выходе из академического отпуска" in text
    assert "Считать обучающуюся" in text and "Омарову Дану Сериковну (ИИН" in text
    assert (
        f"вышедшей из академического отпуска с 01.09.2026 и допустить к занятиям на 2 курсе в группе "
        f"{uni.ga.name} (заявление от 10.08.2026)."
    ) in text
    assert (
        f"01.09.2026 бастап академиялық демалыстан шыққан деп есептелсін және 2-курстың {uni.ga.name} "
        f"тобындағы сабақтарға жіберілсін (өтініші 10.08.2026 ж.)."
    ) in text


# Line details ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("details", "errors"),
    [
        ({"group": "НЕТ-1"}, {"group": "There is no group НЕТ-1."}),
        ({"effective_date": "2026-02-30"}, {"effective_date": "Give the date as YYYY-MM-DD, e.g. 2026-09-01."}),
        ({"application_date": "вчера"}, {"application_date": "Give the date as YYYY-MM-DD, e.g. 2026-09-01."}),
        (
            {"colour": "red"},
            {
                "line": "Unknown detail colour; a return line has: effective_date, group, "
                "application_date, early_ground."
            },
        ),
    ],
)
def test_update_line_refuses_bad_details_and_changes_nothing(details, errors, uni, make):
    order = return_order(uni, [on_leave(make, uni.ga)])
    (line,) = order.lines
    with pytest.raises(InvalidInput) as error:
        operations.update_line(order, line.id, details, uni.clerk)
    assert error.value.errors == errors
    assert (line.params, line.effective_date) == ({}, date(2026, 9, 1))


def test_update_line_sets_the_line_s_return_date(uni, make):
    order = return_order(uni, [on_leave(make, uni.ga), on_leave(make, uni.ga)])
    first, second = order.lines
    operations.update_line(
        order, second.id, {"effective_date": "2026-09-15", "application_date": "2026-08-20"}, uni.clerk
    )
    assert (second.effective_date, second.params) == (date(2026, 9, 15), {"application_date": "2026-08-20"})
    assert first.effective_date == date(2026, 9, 1)


def test_web_line_form_saves_a_group_and_refuses_an_unknown_one(client, uni, make):
    sibling_group(uni.ga, "ПР-25-4")
    order = return_order(uni, [on_leave(make, uni.ga)])
    (line,) = order.lines
    db.session.commit()
    login(client, uni.clerk)
    prefix = f"line{line.id}-"
    form = {
        prefix + "effective_date": "2026-09-01",
        prefix + "group": "ПР-25-4",
        prefix + "application_date": "",
        prefix + "early_ground": "",
    }
    response = client.post(f"/orders/{order.id}/lines/{line.id}", data=form, follow_redirects=True)
    assert "Line saved." in response.get_data(as_text=True)
    db.session.expire_all()
    assert line.params["group"] == "ПР-25-4"

    response = client.post(
        f"/orders/{order.id}/lines/{line.id}", data={**form, prefix + "group": "НЕТ-1"}, follow_redirects=True
    )
    assert "There is no group НЕТ-1." in response.get_data(as_text=True)
    db.session.expire_all()
    assert line.params["group"] == "ПР-25-4"

    login(client, uni.dean_b)
    assert client.post(f"/orders/{order.id}/lines/{line.id}", data=form).status_code == 403


def test_api_patch_refuses_a_bad_date_and_changes_nothing(client, uni, make):
    order = return_order(uni, [on_leave(make, uni.ga)])
    (line,) = order.lines
    token = issue_token(uni.clerk)
    db.session.commit()
    response = client.patch(
        f"/api/v1/orders/{order.id}/lines/{line.id}",
        json={"params": {"effective_date": "first of September"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"params.effective_date": "Give the date as YYYY-MM-DD, e.g. 2026-09-01."}
    db.session.expire_all()
    assert line.effective_date == date(2026, 9, 1)
