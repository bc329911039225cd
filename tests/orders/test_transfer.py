"""Transfer within the university: target group per line, holidays for a programme change, the difference."""

import io
from datetime import date

import pytest
from docx import Document
from sqlalchemy import select

from core.db import db
from orders import operations
from orders.operations import InvalidInput
from orders.registry import get_kind
from students.academic import AcademicCalendar, StudentDebt
from students.history import record_on
from students.models import StudentMovement
from tests.builders import clerk_draft, rules
from tests.conftest import login, sign, take_effect_by
from tests.students.test_difference import grade, item

WINTER_DAY = "2027-01-10"  # in the winter holidays of the calendar below
TERM_DAY = "2026-10-01"  # in the first semester
NO_CALENDAR_DAY = "2029-01-10"


pytestmark = pytest.mark.usefixtures("english")


def calendar(year: int = 2026) -> AcademicCalendar:
    """The academic year `year`-`year+1`: winter holidays 05.01-20.01, summer holidays 01.06-25.08."""
    y, n = year, year + 1
    row = AcademicCalendar(
        year=f"{y}-{n}",
        first_semester_start=date(y, 9, 1),
        first_session_start=date(y, 12, 15),
        first_session_end=date(y, 12, 30),
        first_semester_end=date(y, 12, 31),
        winter_holidays_start=date(n, 1, 5),
        winter_holidays_end=date(n, 1, 20),
        second_semester_start=date(n, 1, 21),
        second_session_start=date(n, 5, 10),
        second_session_end=date(n, 5, 30),
        second_semester_end=date(n, 5, 31),
        summer_holidays_start=date(n, 6, 1),
        summer_holidays_end=date(n, 8, 25),
    )
    db.session.add(row)
    db.session.flush()
    return row


def document_text(order) -> str:
    document = Document(io.BytesIO(order.document.content))
    return "\n".join(p.text for p in document.paragraphs)


def draft(uni, kind: str, students, effective_date: str = WINTER_DAY, **params):
    return clerk_draft(uni, kind, {"effective_date": effective_date, "basis": "Заявления", **params}, students)


def set_target(order, line, group, **extra):
    return operations.update_line(order, line.id, {"group": group.name, **extra}, uni_clerk(order))


def uni_clerk(order):
    return order.author


@pytest.fixture
def setup(uni, make):
    """A student of programme A (course 2, semester 1 done) and a course-2 group of programme B with curriculum."""
    calendar()
    student = make.student(uni.ga, surname="Жумабаев", name="Ерлан")
    item(uni.ga.programme, 1, "MAT101", "Математика")
    grade(student, "MAT101", "Математика", 81)
    target = make.group(uni.fb, course=2, language="kk")
    item(target.programme, 1, "MAT-1", "математика")  # same discipline under another code: passed
    item(target.programme, 2, "ECO102", "Экономика", credits=4)
    item(target.programme, 3, "LAW201", "Право", credits=3)
    return student, target


def test_programme_change_in_the_holidays_moves_the_student_with_the_difference(setup, uni):
    student, target = setup
    order = draft(uni, "transfer_within", [student])
    (line,) = order.lines
    assert rules(line) == ["transfer_within.target"]
    set_target(order, line, target)
    assert line.eligible
    assert [d["code"] for d in line.params["difference"]] == ["ECO102", "LAW201"]
    old_group = student.group.name
    sign(order, uni)
    take_effect_by(WINTER_DAY)
    assert (student.group_id, student.course, student.status, student.funding) == (target.id, 2, "active", "grant")
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert movement.kind == "transfer_within"
    assert movement.changes == {"group": [old_group, target.name]}
    assert record_on(student, date(2027, 1, 9))["group"]["name"] == old_group
    assert record_on(student, date(2027, 1, 10))["group"]["name"] == target.name
    assert [
        (d.code, d.credits, d.order_line_id)
        for d in db.session.scalars(
            select(StudentDebt).where(StudentDebt.student_id == student.id).order_by(StudentDebt.code)
        )
    ] == [("ECO102", 4, line.id), ("LAW201", 3, line.id)]


def test_document_names_the_target_and_the_academic_difference(setup, uni):
    student, target = setup
    order = draft(uni, "transfer_within", [student])
    set_target(order, order.lines[0], target)
    sign(order, uni)
    text = document_text(order)
    assert "Перевести обучающегося " in text and f"Жумабаева Ерлана Сериковича (ИИН {student.iin})" in text
    assert f"группа {target.name}" in text
    assert (
        "Установить академическую разницу (7 кредит(ов)): 1) ECO102 Экономика — 4 кредит(ов) (2 семестр); "
        "2) LAW201 Право — 3 кредит(ов) (3 семестр)." in text
    )
    assert f"{target.name} тобы" in text and "Академиялық айырма (7 кредит)" in text


def test_programme_change_outside_the_holidays_is_refused_naming_the_windows(setup, uni):
    student, target = setup
    order = draft(uni, "transfer_within", [student], effective_date=TERM_DAY)
    set_target(order, order.lines[0], target)
    (refusal,) = order.lines[0].eligibility
    assert refusal["rule"] == "transfer_within.holidays"
    assert refusal["message"] == (
        "01.10.2026 is not in the holidays: transfers and restorations take effect only in the winter holidays "
        "(05.01.2027–20.01.2027) or the summer holidays (01.06.2027–25.08.2027) of 2026-2027."
    )


def test_no_calendar_for_the_date_asks_to_enter_it(setup, uni):
    student, target = setup
    order = draft(uni, "transfer_within", [student], effective_date=NO_CALENDAR_DAY)
    set_target(order, order.lines[0], target)
    (refusal,) = order.lines[0].eligibility
    assert refusal["rule"] == "transfer_within.no_calendar"
    assert refusal["message"] == (
        "No academic calendar covers 10.01.2029: enter the academic calendar of 2028-2029 "
        "first; transfers and restorations take effect only in its holidays."
    )
    assert refusal["absolute"] is True
    with pytest.raises(InvalidInput) as error:
        operations.override_line(order, order.lines[0].id, "Календарь будет утвержден позже", uni.registrar)
    assert error.value.errors["justification"] == f"This rule cannot be waived: {refusal['message']}"


def test_group_change_in_the_same_programme_needs_no_holidays(uni, make):
    student = make.student(uni.ga, funding="paid")
    other = make.group(uni.fa, course=3)
    other.programme_id = uni.ga.programme_id
    db.session.flush()
    order = draft(uni, "transfer_within", [student], effective_date=TERM_DAY)
    set_target(order, order.lines[0], other)
    assert order.lines[0].eligible and order.lines[0].params["difference"] == []
    sign(order, uni)
    db.session.expire_all()
    assert (student.group_id, student.course, student.funding) == (other.id, 3, "paid")
    assert order.lines[0].applied_changes == {"group": [uni.ga.name, other.name], "course": [2, 3]}


def test_refusals_inactive_same_group_and_first_period(setup, uni, make):
    student, target = setup
    on_leave = make.student(uni.ga, status="academic_leave", surname="Ли", name="Анна")
    fresh = make.student(uni.ga, surname="Нуров", name="Арман")  # no grades: first period not completed
    order = draft(uni, "transfer_within", [on_leave, fresh, student])
    lines = {line.student_id: line for line in order.lines}
    set_target(order, lines[on_leave.id], target)
    set_target(order, lines[fresh.id], target)
    set_target(order, lines[student.id], uni.ga)
    assert lines[on_leave.id].eligibility[0] == {
        "rule": "transfer_within.status",
        "data": {"status": "academic_leave"},
        "message": "Ли Анна Серикович is on academic leave: only active students can be transferred.",
        "absolute": True,
    }
    assert rules(lines[fresh.id]) == ["transfer_within.first_period"]
    assert lines[fresh.id].eligibility[0]["message"] == (
        "Нуров Арман Серикович has not completed the first academic period: a passing grade is missing for a "
        "discipline of semester 1 of the programme."
    )
    assert rules(lines[student.id]) == ["transfer_within.same_group"]


def test_unknown_target_group_is_a_field_error(setup, uni):
    student, _target = setup
    order = draft(uni, "transfer_within", [student])
    with pytest.raises(operations.InvalidInput) as error:
        operations.update_line(order, order.lines[0].id, {"group": "NOPE-1"}, uni.clerk)
    assert error.value.errors == {"group": "There is no group NOPE-1."}


def test_grant_becomes_paid_when_the_rule_says_so(setup, uni, app):
    student, target = setup
    app.config["RULES"]["transfer_within_keeps_grant"] = False
    try:
        order = draft(uni, "transfer_within", [student])
        set_target(order, order.lines[0], target)
        sign(order, uni)
    finally:
        app.config["RULES"]["transfer_within_keeps_grant"] = True
    take_effect_by(WINTER_DAY)
    assert student.funding == "paid"


def test_reverse_restores_the_exact_record_and_removes_the_debts(setup, uni):
    student, target = setup
    before = (student.group_id, student.course, student.funding)
    order = draft(uni, "transfer_within", [student])
    set_target(order, order.lines[0], target)
    sign(order, uni)
    db.session.expire_all()
    kind, line = get_kind("transfer_within"), order.lines[0]
    assert kind.reverse(line) == {"group_id": before[0], "course": before[1], "funding": before[2]}
    kind.after_reverse(order, [line])
    assert db.session.scalars(select(StudentDebt).where(StudentDebt.student_id == student.id)).all() == []


def test_line_form_on_the_order_page_saves_the_target_group(setup, uni, client):
    student, target = setup
    order = draft(uni, "transfer_within", [student])
    line = order.lines[0]
    db.session.commit()
    login(client, uni.clerk)
    page = client.get(f"/orders/{order.id}")
    assert f'name="line{line.id}-group"' in page.text
    response = client.post(f"/orders/{order.id}/lines/{line.id}", data={f"line{line.id}-group": target.name})
    assert response.status_code == 302
    db.session.expire_all()
    assert line.params["group"] == target.name and line.eligible
    page = client.get(f"/orders/{order.id}")
    assert "Academic difference" in page.text and "ECO102 Экономика" in page.text


@pytest.mark.parametrize("kind", ["restoration", "transfer_within", "transfer_in", "transfer_out"])
def test_clerk_drafts_each_kind_from_its_form_and_a_dean_may_not(kind, uni, client):
    login(client, uni.clerk)
    assert client.get(f"/orders/new/{kind}").status_code == 200
    data = {"effective_date": WINTER_DAY, "basis": "Заявления", "university": "ЕНУ им. Л.Н. Гумилева"}
    response = client.post(f"/orders/new/{kind}", data=data)
    assert response.status_code == 302, response.text
    login(client, uni.dean_a)
    assert client.get(f"/orders/new/{kind}").status_code == 403
