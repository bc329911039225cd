"""Change of personal data: per-line new names and document; refusals; history keeps the old names; wording."""

import pytest
from sqlalchemy import select

from core.db import db
from orders import operations
from orders.operations import InvalidInput
from students.models import StudentMovement
from tests.builders import clerk_draft, document_text, rules, signed
from tests.conftest import login

MARRIAGE = {"document_type": "marriage", "document_number": "123456", "document_date": "2026-06-01"}


pytestmark = pytest.mark.usefixtures("english")


def draft(uni, students, effective_date="2026-12-01"):
    return clerk_draft(
        uni, "personal_data", {"effective_date": effective_date, "basis": "Заявления обучающихся"}, students
    )


def set_line(order, line, uni, **values):
    return operations.update_line(order, line.id, {**MARRIAGE, **values}, uni.clerk)


def test_surname_after_marriage_is_changed_and_the_old_one_kept_in_history(uni, make):
    student = make.student(uni.ga, surname="Иванова", name="Анна")
    order = draft(uni, [student])
    (line,) = order.lines
    set_line(order, line, uni, surname="Петрова")
    assert line.eligible
    assert operations.effects_preview(order)[line.id] == {"surname": ["Иванова", "Петрова"]}
    signed(order, uni)
    assert (student.surname, student.name, student.patronymic) == ("Петрова", "Анна", "Сериковна")
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert movement.kind == "personal_data"
    assert movement.changes == {"surname": ["Иванова", "Петрова"]}
    assert line.record_before == {"surname": "Иванова", "name": "Анна", "patronymic": "Сериковна"}


def test_several_names_and_removing_the_patronymic(uni, make):
    student = make.student(uni.ga, surname="Smith", name="John")
    order = draft(uni, [student])
    set_line(order, order.lines[0], uni, surname="Қасымова", name="Әсем", patronymic="-")
    signed(order, uni)
    assert (student.surname, student.name, student.patronymic) == ("Қасымова", "Әсем", None)
    assert order.lines[0].applied_changes == {
        "surname": ["Smith", "Қасымова"],
        "name": ["John", "Әсем"],
        "patronymic": ["Серикович", None],
    }


def test_a_student_on_academic_leave_may_change_names_an_expelled_one_not(uni, make):
    on_leave = make.student(uni.ga, status="academic_leave")
    expelled = make.student(uni.ga, status="expelled", surname="Ким", name="Ли")
    order = draft(uni, [on_leave, expelled])
    for line in order.lines:
        set_line(order, line, uni, surname="Новая")
    assert rules(order.lines[0]) == []
    assert rules(order.lines[1]) == ["personal_data.status"]
    assert order.lines[1].eligibility[0]["message"] == (
        "Ким Ли Серикович is expelled: personal data are changed by order only for active students or students "
        "on academic leave."
    )


def test_a_new_line_without_names_or_document_is_refused(uni, make):
    student = make.student(uni.ga, surname="Ахметова", name="Дана")
    (line,) = draft(uni, [student]).lines
    assert rules(line) == ["personal_data.no_change", "personal_data.document"]
    assert line.eligibility[0]["message"] == (
        "Nothing changes for Ахметова Дана Сериковна: enter the new surname, name or patronymic on the line."
    )
    assert line.eligibility[1]["message"] == (
        "Name the document for Ахметова Дана Сериковна (marriage certificate or other, its number and date)."
    )


def test_the_same_names_change_nothing(uni, make):
    student = make.student(uni.ga, surname="Иванова")
    order = draft(uni, [student])
    set_line(order, order.lines[0], uni, surname="Иванова")
    assert rules(order.lines[0]) == ["personal_data.no_change"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"surname": "Петрова2"},
            "surname",
            "The surname «Петрова2» may hold only letters, spaces, hyphens and apostrophes.",
        ),
        ({"name": "-"}, "name", "The name cannot be empty."),
        ({"surname": "-"}, "surname", "The surname cannot be empty."),
        ({"surname": "Петрова", "document_number": ""}, "document_number", "Give the number of the document."),
        ({"surname": "Петрова", "document_date": "2099-01-01"}, "document_date", "The document date is in the future."),
    ],
)
def test_invalid_or_empty_names_and_missing_document_are_refused(values, field, message, uni, make):
    student = make.student(uni.ga, surname="Иванова")
    order = draft(uni, [student])
    with pytest.raises(InvalidInput) as error:
        set_line(order, order.lines[0], uni, **values)
    assert error.value.errors[field] == message
    assert student.surname == "Иванова"
    assert order.lines[0].params == {}


def test_names_set_through_the_api_are_checked_again(uni, make):
    student = make.student(uni.ga)
    order = draft(uni, [student])
    order.lines[0].params = {**MARRIAGE, "surname": "<b>"}
    operations.check_lines(order)
    assert rules(order.lines[0]) == ["personal_data.invalid_name"]


def test_two_open_orders_for_the_same_student_conflict(uni, make):
    student = make.student(uni.ga)
    first = draft(uni, [student])
    second = draft(uni, [student])
    set_line(second, second.lines[0], uni, surname="Петрова")
    assert rules(second.lines[0]) == ["line.open_order"]
    assert second.lines[0].eligibility[0]["data"]["order_id"] == first.id


def test_document_wording_in_russian_and_kazakh(uni, make):
    student = make.student(uni.ga, surname="Иванова", name="Анна")
    order = draft(uni, [student])
    set_line(order, order.lines[0], uni, surname="Петрова")
    text = document_text(signed(order, uni))
    assert "Изменить обучающейся" in text
    assert "Ивановой Анне Сериковне (ИИН" in text, "the document names the student as the order found her"
    assert (
        ", фамилию с «Иванова» на «Петрова» с 01.12.2026 на основании свидетельства о заключении "
        "брака № 123456 от 01.06.2026."
    ) in text
    assert "Иванова Анна Сериковнаның (ЖСН" in text
    assert (
        "тегі «Иванова» «Петрова» болып 01.12.2026 бастап өзгертілсін (01.06.2026 ж. № 123456 неке қию "
        "туралы куәлік негізінде)."
    ) in text


def test_clerk_enters_the_new_names_on_the_line_form(client, uni, make):
    student = make.student(uni.ga, surname="Иванова", name="Анна")
    order = draft(uni, [student])
    line = order.lines[0]
    db.session.flush()
    login(client, uni.clerk)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f'data-testid="line-form-{line.id}"' in page
    assert "Nothing changes for Иванова Анна Сериковна" in page
    response = client.post(
        f"/orders/{order.id}/lines/{line.id}",
        data={
            f"line{line.id}-surname": "Петрова",
            f"line{line.id}-name": "",
            f"line{line.id}-patronymic": "",
            f"line{line.id}-document_type": "marriage",
            f"line{line.id}-document_number": "77",
            f"line{line.id}-document_date": "2026-06-01",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert line.params["surname"] == "Петрова"
    assert line.eligible
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Иванова" in page and "Петрова" in page
