"""Transfer from another university: the incoming student created with the draft, validated input, signing."""

from datetime import date

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import issue_token
from orders import operations
from orders.kinds.transfer_in.incoming import add_incoming
from orders.registry import get_kind
from students.academic import Grade, StudentDebt
from students.iin import make_iin
from students.models import Student, StudentMovement
from tests.conftest import login, sign, take_effect_by
from tests.orders.test_transfer import calendar, document_text, draft, rules
from tests.students.test_difference import item

IIN = make_iin(date(2005, 7, 1), False, 4321) or make_iin(date(2005, 7, 1), False, 4322)


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def target(uni):
    calendar()
    programme = uni.ga.programme
    item(programme, 1, "MAT101", "Математика")
    item(programme, 2, "PHY102", "Физика", credits=4)
    item(programme, 3, "HIS201", "История Казахстана", credits=3)
    return uni.ga


def incoming(to_group, **changes) -> dict:
    data = {
        "iin": IIN,
        "surname": "Омарова",
        "name": "Дана",
        "patronymic": "Ержановна",
        "email": "dana@mail.test",
        "previous_university": "КазНУ им. аль-Фараби",
        "group": to_group.name,
        "funding": "grant",
        "grant_tied": False,
        "transcript": [
            {
                "code": "M-1",
                "name": "математика",
                "semester": 1,
                "credits": 5,
                "points": 91,
                "academic_year": "2025-2026",
            },
            {"code": "PHY1", "name": "Физика", "semester": 2, "credits": 5, "points": 42, "academic_year": "2025-2026"},
        ],
    }
    data.update(changes)
    return data


def counts():
    return (
        db.session.scalar(select(func.count()).select_from(Student)),
        db.session.scalar(select(func.count()).select_from(Grade)),
    )


def test_incoming_student_is_created_with_the_draft_and_activated_by_signing(target, uni):
    order = draft(uni, "transfer_in", [])
    line = add_incoming(order, incoming(target), uni.clerk)
    student = line.student
    assert (student.status, student.group_id, student.funding) == ("incoming", target.id, "grant")
    grades = {
        g.discipline_code: (g.letter, g.grade_point)
        for g in db.session.scalars(select(Grade).where(Grade.student_id == student.id))
    }
    assert grades == {"M-1": ("A-", 3.67), "PHY1": ("FX", 0.5)}
    assert line.eligible
    assert [d["code"] for d in line.params["difference"]] == ["PHY102", "HIS201"]
    sign(order, uni)
    take_effect_by("2027-01-10")
    assert (student.status, student.group_id, student.course, student.funding, student.status_since) == (
        "active",
        target.id,
        2,
        "grant",
        date(2027, 1, 10),
    )
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert movement.changes == {"status": ["incoming", "active"]}
    assert [
        (d.code, d.credits)
        for d in db.session.scalars(
            select(StudentDebt).where(StudentDebt.student_id == student.id).order_by(StudentDebt.semester)
        )
    ] == [("PHY102", 4), ("HIS201", 3)]


def test_a_tied_or_quota_grant_becomes_paid(target, uni):
    order = draft(uni, "transfer_in", [])
    line = add_incoming(order, incoming(target, grant_tied=True), uni.clerk)
    assert operations.effects_preview(order)[line.id]["funding"] == ["grant", "paid"]
    sign(order, uni)
    take_effect_by("2027-01-10")
    assert line.student.funding == "paid"


def test_document_names_the_previous_university_and_the_difference(target, uni):
    order = draft(uni, "transfer_in", [])
    add_incoming(order, incoming(target), uni.clerk)
    sign(order, uni)
    text = document_text(order)
    assert (
        f"Зачислить в порядке перевода из КазНУ им. аль-Фараби Омарову Дану Ержановну (ИИН {IIN}) на 2 курс, "
        f"образовательная программа {target.programme.code}"
    ) in text
    assert "1) PHY102 Физика — 4 кредит(ов) (2 семестр); 2) HIS201 История Казахстана — 3 кредит(ов)" in text
    assert "ауысу тәртібімен Омарова Дана Ержановна" in text


def test_bad_input_names_every_field_and_creates_nothing(target, uni, make):
    existing = make.student(uni.gb)
    order = draft(uni, "transfer_in", [])
    before = counts()
    cases = {
        "iin": ("123456789012", "IIN 123456789012: IIN digit 7 (century and sex) must be 1 to 6."),
        "group": ("NO-SUCH", "There is no group NO-SUCH."),
        "surname": ("", "Surname is required."),
        "funding": ("free", "Funding is grant or paid."),
        "previous_university": ("", "Name the university the student transfers from."),
        "email": ("not-an-address", "not-an-address is not an e-mail address."),
    }
    with pytest.raises(operations.InvalidInput) as error:
        add_incoming(
            order,
            incoming(
                target,
                **{k: v for k, (v, _m) in cases.items()},
                transcript=[
                    {"code": "A1", "name": "Алгебра", "semester": 1, "credits": 5, "points": 101},
                    {"code": "A2", "name": "Геометрия", "semester": 15, "credits": 5, "points": 60},
                    {"code": "A3", "name": "Логика", "semester": 1, "credits": 0, "points": 60},
                    {"code": "A4", "name": "Химия", "semester": 1, "credits": 5, "points": 60, "academic_year": "2025"},
                    {"code": "A5", "name": "Биология", "semester": 1, "credits": 5, "points": 60},
                    {"code": "A5", "name": "Биология", "semester": 1, "credits": 5, "points": 70},
                ],
            ),
            uni.clerk,
        )
    errors = error.value.errors
    assert {k: errors[k] for k in cases} == {k: m for k, (_v, m) in cases.items()}
    assert errors["transcript.1"] == "Transcript row 1: the points must be a whole number from 0 to 100, got 101."
    assert errors["transcript.2"] == "Transcript row 2: the semester must be a whole number from 1 to 14."
    assert errors["transcript.3"] == "Transcript row 3: the credits must be a whole number from 1 to 30."
    assert errors["transcript.4"] == "Transcript row 4: the academic year must look like 2025-2026."
    assert errors["transcript.6"] == "Transcript row 6: discipline A5 appears twice for semester 1."
    assert "transcript.5" not in errors
    with pytest.raises(operations.InvalidInput) as error:
        add_incoming(order, incoming(target, iin=existing.iin), uni.clerk)
    assert error.value.errors == {"iin": f"A student with IIN {existing.iin} is already registered."}
    assert counts() == before and order.lines == []


def test_refusals_outside_the_holidays_and_without_a_first_period(target, uni):
    order = draft(uni, "transfer_in", [], effective_date="2026-10-01")
    line = add_incoming(
        order,
        incoming(target, transcript=[{"code": "M-1", "name": "Математика", "semester": 1, "credits": 5, "points": 30}]),
        uni.clerk,
    )
    assert rules(line) == ["transfer_in.holidays", "transfer_in.first_period"]
    assert line.eligibility[1]["message"] == (
        "Омарова Дана Ержановна has not completed the first academic period: the transcript has no passed "
        "discipline of semester 1."
    )


def test_an_existing_student_added_by_search_is_refused(target, uni, make):
    order = draft(uni, "transfer_in", [make.student(uni.gb, surname="Ли", name="Ким")])
    assert rules(order.lines[0])[0] == "transfer_in.status"
    assert order.lines[0].eligibility[0]["message"] == (
        "Ли Ким Серикович is active, not transferring in: add incoming students with the transfer-in form."
    )


def test_only_a_transfer_in_draft_takes_incoming_students(target, uni):
    order = draft(uni, "transfer_within", [])
    with pytest.raises(operations.InvalidInput) as error:
        add_incoming(order, incoming(target), uni.clerk)
    assert error.value.status == 409


def test_reverse_makes_the_student_incoming_again_and_removes_the_debts(target, uni):
    order = draft(uni, "transfer_in", [])
    line = add_incoming(order, incoming(target), uni.clerk)
    sign(order, uni)
    db.session.expire_all()
    kind = get_kind("transfer_in")
    assert kind.reverse(line) == {
        "status": "incoming",
        "group_id": target.id,
        "course": 2,
        "funding": "grant",
        "status_since": None,
    }
    kind.after_reverse(order, [line])
    assert (
        db.session.scalar(
            select(func.count()).select_from(StudentDebt).where(StudentDebt.student_id == line.student_id)
        )
        == 0
    )


# Web form and API ------------------------------------------------------------------------------------------------


def test_web_form_creates_the_incoming_student_from_pasted_transcript(target, uni, client):
    order = draft(uni, "transfer_in", [])
    db.session.commit()
    login(client, uni.clerk)
    assert "Add an incoming student" in client.get(f"/orders/{order.id}").text
    data = {**incoming(target), "transcript": "M-1; Математика; 1; 5; 91\nPHY1; Физика; 2; 5; 42\n"}
    data.pop("grant_tied")
    response = client.post(f"/orders/{order.id}/incoming", data=data)
    assert response.status_code == 302
    student = db.session.scalar(select(Student).where(Student.iin == IIN))
    assert student.status == "incoming"
    assert db.session.scalar(select(func.count()).select_from(Grade).where(Grade.student_id == student.id)) == 2


def test_web_form_shows_each_error_next_to_its_field(target, uni, client):
    order = draft(uni, "transfer_in", [])
    db.session.commit()
    login(client, uni.clerk)
    before = counts()
    data = {**incoming(target, iin="12345", group="NONE"), "transcript": "M-1; Математика; 1; 5; 120\n"}
    data.pop("grant_tied")
    response = client.post(f"/orders/{order.id}/incoming", data=data)
    assert response.status_code == 400
    assert 'data-field="iin"' in response.text and "IIN must be exactly 12 digits." in response.text
    assert "There is no group NONE." in response.text
    assert "Transcript row 1: the points must be a whole number from 0 to 100, got 120." in response.text
    assert counts() == before


def test_api_creates_the_incoming_student_and_reports_bad_rows(target, uni, client):
    order = draft(uni, "transfer_in", [])
    headers = {"Authorization": f"Bearer {issue_token(uni.clerk)}"}
    db.session.commit()
    bad = client.post(
        f"/api/v1/orders/{order.id}/incoming",
        headers=headers,
        json=incoming(
            target, transcript=[{"code": "M-1", "name": "Математика", "semester": 1, "credits": 5, "points": -3}]
        ),
    )
    assert bad.status_code == 422
    assert bad.json["errors"] == {
        "transcript.1": "Transcript row 1: the points must be a whole number from 0 to 100, got -3."
    }
    response = client.post(f"/api/v1/orders/{order.id}/incoming", headers=headers, json=incoming(target))
    assert response.status_code == 201, response.json
    (line,) = response.json["lines"]
    assert (line["student"]["iin"], line["student"]["status"], line["eligible"]) == (IIN, "incoming", True)


def test_a_dean_may_not_add_incoming_students(target, uni, client):
    order = draft(uni, "transfer_in", [])
    headers = {"Authorization": f"Bearer {issue_token(uni.dean_a)}"}
    db.session.commit()
    login(client, uni.dean_a)
    assert client.get(f"/orders/{order.id}/incoming").status_code == 403
    assert client.post(f"/orders/{order.id}/incoming", data=incoming(target)).status_code == 403
    assert client.post(f"/api/v1/orders/{order.id}/incoming", headers=headers, json=incoming(target)).status_code == 403
    assert db.session.scalar(select(Student.id).where(Student.iin == IIN)) is None
