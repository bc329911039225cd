"""Academic leave: grounds and their durations, the supporting document, the effect on the record, the wording,
per-line details through the operation, the web page and the API."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from core.db import db
from core.models import issue_token
from orders import operations
from orders.operations import InvalidInput
from orders.registry import get_kind
from students.history import record_on
from students.models import StudentMovement
from tests.builders import clerk_draft, docx_text, messages, rules
from tests.conftest import login, sign

pytestmark = pytest.mark.usefixtures("english")


GROUNDS_MESSAGE = (
    "Choose one of the grounds: medical (medical), tuberculosis (tuberculosis), military service (military), "
    "child care (child_care)."
)


def leave_order(uni, students, ground="medical", start="2026-09-01", end="2027-02-28"):
    return clerk_draft(
        uni,
        "academic_leave",
        {"ground": ground, "leave_start": start, "leave_end": end, "basis": "Заявления обучающихся"},
        students,
    )


def with_document(order, uni, line=None, **details):
    line = line or order.lines[0]
    details = {"document_no": "127", "document_date": "2026-08-20", **details}
    return operations.update_line(order, line.id, details, uni.clerk)


# Effect ----------------------------------------------------------------------------------------------------


def test_medical_leave_puts_the_student_on_leave_with_ground_and_dates(uni, make):
    student = make.student(uni.ga)
    student.status_since = date(2025, 9, 1)
    order = leave_order(uni, [student])
    with_document(order, uni)
    assert order.lines[0].eligibility == []
    sign(order, uni)
    db.session.expire_all()

    assert (student.status, student.status_since) == ("academic_leave", date(2026, 9, 1))
    assert (student.leave_ground, student.leave_start, student.leave_end) == (
        "medical",
        date(2026, 9, 1),
        date(2027, 2, 28),
    )
    assert (student.course, student.group_id, student.funding) == (2, uni.ga.id, "grant")
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert (movement.kind, movement.effective_date, movement.order_label) == (
        "academic_leave",
        date(2026, 9, 1),
        order.number_label,
    )
    assert movement.changes == {
        "status": ["active", "academic_leave"],
        "leave_ground": [None, "medical"],
        "leave_start": [None, "2026-09-01"],
        "leave_end": [None, "2027-02-28"],
    }
    assert record_on(student, date(2026, 8, 31))["status"] == "active"
    assert record_on(student, date(2026, 9, 1))["status"] == "academic_leave"


def test_reversal_restores_exactly_the_record_before(uni, make):
    student = make.student(uni.ga)
    student.status_since = date(2025, 9, 1)
    order = leave_order(uni, [student], ground="military", start="2026-10-01", end="2027-09-30")
    with_document(order, uni)
    sign(order, uni)
    db.session.expire_all()
    (line,) = order.lines
    assert get_kind("academic_leave").reverse(line) == {
        "status": "active",
        "status_since": date(2025, 9, 1),
        "leave_ground": None,
        "leave_start": None,
        "leave_end": None,
    }


def test_student_page_shows_the_leave(client, uni, make):
    student = make.student(uni.ga)
    order = leave_order(uni, [student], ground="tuberculosis", start="2026-09-01", end="2028-08-31")
    with_document(order, uni)
    sign(order, uni)
    db.session.commit()
    login(client, uni.clerk)
    html = client.get(f"/students/{student.id}").get_data(as_text=True)
    assert "from 01.09.2026 to 31.08.2028 (tuberculosis)" in html


# Refusals --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ground", "start", "end", "message"),
    [
        ("medical", "2026-09-01", "2027-10-31", "A medical leave lasts 6 to 12 months; this one is 14 months."),
        ("medical", "2026-09-01", "2027-01-31", "A medical leave lasts 6 to 12 months; this one is 5 months."),
        (
            "medical",
            "2026-09-01",
            "2027-09-05",
            "A medical leave lasts 6 to 12 months; this one is 12 months and 5 days.",
        ),
        (
            "tuberculosis",
            "2026-09-01",
            "2029-12-31",
            "A tuberculosis leave lasts 1 to 36 months; this one is 40 months.",
        ),
        (
            "military",
            "2026-09-01",
            "2028-12-31",
            "A military service leave lasts 1 to 24 months; this one is 28 months.",
        ),
    ],
)
def test_duration_outside_the_ground_s_range_is_refused(ground, start, end, message, uni, make):
    order = leave_order(uni, [make.student(uni.ga)], ground=ground, start=start, end=end)
    (line,) = with_document(order, uni).order.lines
    assert rules(line) == ["academic_leave.duration"]
    assert messages(line)["academic_leave.duration"] == message


@pytest.mark.parametrize(("start", "end"), [("2026-09-01", "2027-02-28"), ("2026-09-01", "2027-08-31")])
def test_medical_leave_of_6_and_12_months_is_eligible(start, end, uni, make):
    order = leave_order(uni, [make.student(uni.ga)], start=start, end=end)
    assert with_document(order, uni).eligibility == []


def test_durations_follow_the_rules_setting(app, uni, make):
    order = leave_order(uni, [make.student(uni.ga)], start="2026-09-01", end="2027-10-31")
    line = with_document(order, uni)
    grounds = app.config["RULES"]["leave_grounds"]
    saved = grounds["medical"]
    grounds["medical"] = {"min_months": 6, "max_months": 18}
    try:
        operations.check_lines(order)
    finally:
        grounds["medical"] = saved
    assert line.eligibility == []


def test_child_care_needs_the_child_s_birth_date_and_ends_by_the_third_birthday(uni, make):
    order = leave_order(uni, [make.student(uni.ga)], ground="child_care", start="2026-09-01", end="2029-06-30")
    line = with_document(order, uni)
    assert messages(line) == {
        "academic_leave.child_birth_date": "Give the child's birth date: a child care leave lasts until the child is 3."
    }
    with_document(order, uni, child_birth_date="2026-06-15")
    assert messages(line) == {
        "academic_leave.child_age": "A child care leave ends by the child's birthday at 3, 15.06.2029; "
        "this one ends on 30.06.2029."
    }
    assert line.eligibility[0]["data"]["limit"] == "2029-06-15"
    with_document(order, uni, child_birth_date="2026-06-15", leave_end="2029-06-15")
    assert line.eligibility == []


def test_only_an_active_student_gets_a_leave(uni, make):
    order = leave_order(uni, [make.student(uni.ga, status="expelled", surname="Сапарова", name="Айгерим")])
    line = with_document(order, uni)
    assert line.eligibility == [
        {
            "rule": "academic_leave.status",
            "message": "Сапарова Айгерим Сериковна is expelled: academic leave is granted only to active students.",
            "data": {"status": "expelled"},
            "absolute": True,
        }
    ]


@pytest.mark.parametrize(
    ("ground", "document"),
    [
        ("medical", "medical commission conclusion"),
        ("military", "call-up notice"),
        ("child_care", "child's birth certificate"),
    ],
)
def test_the_supporting_document_must_be_named(ground, document, uni, make):
    order = leave_order(
        uni, [make.student(uni.ga, surname="Ким", name="Виктор")], ground=ground, start="2026-09-01", end="2027-08-31"
    )
    assert messages(order.lines[0])["academic_leave.document"] == (
        f"Name the document the leave of Ким Виктор Серикович rests on: the number and date of the {document}."
    )


def test_a_student_in_another_open_order_is_refused(uni, make):
    student = make.student(uni.ga)
    make.order(uni.clerk, [student])
    line = with_document(leave_order(uni, [student]), uni)
    assert rules(line) == ["line.open_order"]


# Document --------------------------------------------------------------------------------------------------


def test_document_states_ground_document_and_dates_in_both_languages(uni, make):
    student = make.student(uni.ga, surname="Омарова", name="Дана")
    order = leave_order(uni, [student], ground="medical", start="2026-09-01", end="2027-02-28")
    with_document(order, uni, document_no="ВКК-45", document_date="2026-08-20")
    sign(order, uni)
    text = docx_text(order.document.content)
    assert "О предоставлении академического отпуска" in text
    assert (
        "академический отпуск по болезни на основании заключения врачебно-консультационной комиссии (ВКК) "
        "№ ВКК-45 от 20.08.2026 с 01.09.2026 по 28.02.2027."
    ) in text
    assert "Предоставить обучающейся" in text and "Омаровой Дане Сериковне (ИИН" in text
    assert (
        "20.08.2026 ж. № ВКК-45 дәрігерлік-консультациялық комиссияның (ДКК) қорытындысы негізінде "
        "01.09.2026 бастап 28.02.2027 дейін ауруына байланысты академиялық демалыс берілсін."
    ) in text


def test_child_care_wording_names_the_birth_certificate_and_birth_date(uni, make):
    order = leave_order(uni, [make.student(uni.ga)], ground="child_care", start="2026-09-01", end="2027-08-31")
    line = with_document(order, uni, document_no="I-АБ 123", document_date="2026-07-01", child_birth_date="2026-06-15")
    kind = get_kind("academic_leave")
    assert (
        "по уходу за ребенком до достижения им возраста трех лет (дата рождения ребенка 15.06.2026) на "
        "основании свидетельства о рождении ребенка № I-АБ 123 от 01.07.2026"
    ) in kind.item_text(line, "ru")
    assert "баланың туу туралы куәлігі" in kind.item_text(line, "kk")


# Order and line details --------------------------------------------------------------------------------------


def test_order_parameters_are_checked(uni):
    with pytest.raises(InvalidInput) as error:
        operations.create_order(
            "academic_leave",
            uni.clerk,
            {"ground": "holiday", "leave_start": "2026-09-01", "leave_end": "2026-08-01", "basis": "Заявление"},
        )
    assert error.value.errors == {
        "ground": GROUNDS_MESSAGE,
        "leave_end": "The leave ends (01.08.2026) before it starts (01.09.2026).",
    }


def test_lines_start_with_the_order_s_ground_and_dates(uni, make):
    order = leave_order(uni, [make.student(uni.ga)], ground="military", start="2026-10-01", end="2027-09-30")
    (line,) = order.lines
    assert line.params == {"ground": "military", "leave_start": "2026-10-01", "leave_end": "2027-09-30"}
    assert line.effective_date == date(2026, 10, 1)


def test_update_line_sets_its_own_dates_and_the_effective_date(uni, make):
    order = leave_order(uni, [make.student(uni.ga), make.student(uni.ga)])
    first, second = order.lines
    operations.update_line(
        order,
        second.id,
        {"leave_start": "2026-11-01", "leave_end": "2027-10-31", "document_no": "88", "document_date": "2026-10-20"},
        uni.clerk,
    )
    assert second.params == {
        "ground": "medical",
        "leave_start": "2026-11-01",
        "leave_end": "2027-10-31",
        "document_no": "88",
        "document_date": "2026-10-20",
    }
    assert second.effective_date == date(2026, 11, 1)
    assert second.eligibility == []
    assert first.params["leave_start"] == "2026-09-01"


@pytest.mark.parametrize(
    ("details", "errors"),
    [
        ({"leave_end": "2026-08-01"}, {"leave_end": "The leave ends (01.08.2026) before it starts (01.09.2026)."}),
        ({"leave_start": "01.09.2026"}, {"leave_start": "Give the date as YYYY-MM-DD, e.g. 2026-09-01."}),
        (
            {"ground": "holiday"},
            {"ground": GROUNDS_MESSAGE},
        ),
        ({"document_no": "9" * 65}, {"document_no": "The document number is longer than 64 characters."}),
        (
            {"colour": "red"},
            {
                "line": "Unknown detail colour; a leave line has: ground, leave_start, leave_end, "
                "document_no, document_date, child_birth_date."
            },
        ),
    ],
)
def test_update_line_refuses_bad_details_and_changes_nothing(details, errors, uni, make):
    order = leave_order(uni, [make.student(uni.ga)])
    (line,) = order.lines
    before = dict(line.params)
    with pytest.raises(InvalidInput) as error:
        operations.update_line(order, line.id, details, uni.clerk)
    assert error.value.errors == errors
    assert line.params == before


def test_web_line_form_saves_details_and_refuses_a_bad_one(client, uni, make):
    order = leave_order(uni, [make.student(uni.ga)])
    (line,) = order.lines
    db.session.commit()
    login(client, uni.clerk)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f'name="line{line.id}-document_no"' in html and 'value="2026-09-01"' in html
    form = {
        f"line{line.id}-{k}": v
        for k, v in {
            "ground": "medical",
            "leave_start": "2026-09-01",
            "leave_end": "2027-02-28",
            "document_no": "127",
            "document_date": "2026-08-20",
            "child_birth_date": "",
        }.items()
    }
    response = client.post(f"/orders/{order.id}/lines/{line.id}", data=form, follow_redirects=True)
    assert "Line saved." in response.get_data(as_text=True)
    db.session.expire_all()
    assert line.params["document_no"] == "127" and line.eligibility == []

    bad = {**form, f"line{line.id}-leave_end": "2026-05-01", f"line{line.id}-document_no": "999"}
    response = client.post(f"/orders/{order.id}/lines/{line.id}", data=bad, follow_redirects=True)
    assert "The leave ends (01.05.2026) before it starts (01.09.2026)." in response.get_data(as_text=True)
    db.session.expire_all()
    assert (line.params["leave_end"], line.params["document_no"]) == ("2027-02-28", "127")


def test_a_dean_may_not_edit_a_line(client, uni, make):
    order = leave_order(uni, [make.student(uni.ga)])
    (line,) = order.lines
    db.session.commit()
    login(client, uni.dean_b)
    response = client.post(f"/orders/{order.id}/lines/{line.id}", data={f"line{line.id}-document_no": "1"})
    assert response.status_code == 403
    token = issue_token(uni.dean_b)
    db.session.commit()
    response = client.patch(
        f"/api/v1/orders/{order.id}/lines/{line.id}",
        json={"params": {"document_no": "1"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert "document_no" not in line.params


def test_api_patch_sets_details_and_refuses_a_bad_date(client, uni, make):
    order = leave_order(uni, [make.student(uni.ga)])
    (line,) = order.lines
    token = issue_token(uni.clerk)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/orders/{order.id}/lines/{line.id}"
    response = client.patch(url, json={"params": {"leave_end": "2027-13-01"}}, headers=headers)
    assert response.status_code == 422
    assert response.json["errors"] == {"params.leave_end": "Give the date as YYYY-MM-DD, e.g. 2026-09-01."}
    db.session.expire_all()
    assert line.params["leave_end"] == "2027-02-28"

    response = client.patch(
        url, json={"params": {"document_no": "127", "document_date": "2026-08-20"}}, headers=headers
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert line.params["document_no"] == "127"
    assert line.eligibility == []


def test_web_new_order_form_creates_a_draft(client, uni):
    db.session.commit()
    login(client, uni.clerk)
    assert client.get("/orders/new/academic_leave").status_code == 200
    response = client.post(
        "/orders/new/academic_leave",
        data={"ground": "military", "leave_start": "2026-10-01", "leave_end": "2027-09-30", "basis": "Повестки"},
    )
    assert response.status_code == 302
    order = db.session.scalars(select(operations.Order).order_by(operations.Order.id.desc())).first()
    assert (order.kind, order.params) == (
        "academic_leave",
        {"ground": "military", "leave_start": "2026-10-01", "leave_end": "2027-09-30"},
    )


def test_a_certificate_dated_in_the_future_is_refused(app, uni, make, monkeypatch):
    monkeypatch.setitem(app.config, "CLOCK_NOW", datetime(2026, 12, 7, 6, tzinfo=UTC))
    order = leave_order(uni, [make.student(uni.ga)])
    with pytest.raises(InvalidInput) as error:
        with_document(order, uni, document_date="2027-03-01")  # a medical certificate of next March
    assert error.value.errors == {
        "document_date": "A document, certificate or application cannot be dated after today."
    }
    assert with_document(order, uni, document_date="2026-12-07").params["document_date"] == "2026-12-07"
