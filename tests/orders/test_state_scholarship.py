"""State scholarship: who is in and out and why (each edge case with its exact rule), the amounts from dated tables,
the months, the appendix of the document, the money route with the finance visa, query counts of bulk drafting, the
pages, the API, and the social categories on the student page."""

import io
from datetime import date
from functools import partial

import pytest
from docx import Document
from sqlalchemy import event, select

from core.db import db
from core.models import issue_token
from notifications import attachments
from notifications.models import OutboxMessage
from notifications.references import full_context
from orders import operations
from orders.kinds.state_scholarship import drafting as bulk
from orders.models import Order
from orders.operations import InvalidInput
from students.academic import AcademicCalendar
from students.categories import StudentCategory, add_category
from students.models import Student
from tests.builders import add_grade, document_text
from tests.conftest import login, sign
from tests.orders.test_documents import assert_libreoffice_opens
from workflow.engine import fire, legal_triggers

YEAR = "2026-2027"
BASIS = "Итоги зимней экзаменационной сессии, протокол стипендиальной комиссии"
SPRING = ["2027-02", "2027-03", "2027-04", "2027-05", "2027-06", "2027-07", "2027-08"]


pytestmark = pytest.mark.usefixtures("english")


def calendar(start: int) -> AcademicCalendar:
    """Year start-start+1: winter session ends 20.01, the second semester 30.06."""
    y, n = start, start + 1
    row = AcademicCalendar(
        year=f"{y}-{n}",
        first_semester_start=date(y, 9, 1),
        first_session_start=date(n, 1, 5),
        first_session_end=date(n, 1, 20),
        first_semester_end=date(n, 1, 24),
        winter_holidays_start=date(n, 1, 25),
        winter_holidays_end=date(n, 2, 5),
        second_semester_start=date(n, 2, 6),
        second_session_start=date(n, 6, 1),
        second_session_end=date(n, 6, 20),
        second_semester_end=date(n, 6, 30),
        summer_holidays_start=date(n, 7, 1),
        summer_holidays_end=date(n, 8, 31),
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def year(session):
    return calendar(2026)


# grades of the third semester of 2026-2027 unless said
grade = partial(add_grade, semester=3, year=YEAR)


def graded(make, group, *points, **kwargs):
    """A course-2 student graded `points` in the winter session (semester 3) of 2026-2027."""
    student = make.student(group, **kwargs)
    for n, value in enumerate(points, 1):
        grade(student, f"D{n}", value)
    return student


def draft(uni, semester=2, faculties=None, courses=None, year=YEAR, effective="2027-02-01"):
    return bulk.draft_scholarship(
        uni.clerk,
        {
            "academic_year": year,
            "semester": semester,
            "faculties": faculties or [],
            "courses": courses or [],
            "effective_date": effective,
            "basis": BASIS,
        },
    )


def line_of(order, student):
    return next(line for line in order.lines if line.student_id == student.id)


# Who is in, who is out -------------------------------------------------------------------------------------------


def test_a_c_65_excludes_and_a_c_plus_70_does_not(uni, make, year):
    with_c = graded(make, uni.ga, 85, 65, 90, surname="Сейтова")
    with_c_plus = graded(make, uni.ga, 85, 70, 90, surname="Омаров")
    order = draft(uni, faculties=[uni.fa.id])
    out, in_ = line_of(order, with_c), line_of(order, with_c_plus)
    assert out.params["outcome"] == "out" and out.params["why"] == "scholarship.grade_c"
    assert out.params["amount"] == 0 and out.params["months"] == []
    assert out.eligibility == []  # out is not a refusal: it does not block
    assert "C (65)" in bulk.reason(out) and "D2" in bulk.reason(out)
    assert in_.params == {
        "amount": 47135,
        "months": SPRING,
        "table_from": "2024-09-01",
        "outcome": "in",
        "why": "scholarship.good",
        "facts": {},
    }


def test_only_a_and_a_minus_gives_the_excellent_amount(uni, make, year):
    excellent = graded(make, uni.ga, 95, 90, 100)
    with_b_plus = graded(make, uni.ga, 95, 89)
    order = draft(uni)
    assert line_of(order, excellent).params["amount"] == 54205 == round(47135 * 1.15)
    assert line_of(order, excellent).params["why"] == "scholarship.excellent"
    assert line_of(order, with_b_plus).params["amount"] == 47135


def test_an_orphan_with_satisfactory_grades_qualifies_but_not_with_a_debt(uni, make, year):
    orphan = graded(make, uni.ga, 65, 60, 70)
    orphan_in_debt = graded(make, uni.ga, 65, 40)
    for student in (orphan, orphan_in_debt):
        add_category(student, "orphan", "Свидетельство № 123 от 01.02.2015", date(2015, 2, 1), None, uni.clerk)
    ended = graded(make, uni.ga, 65)
    add_category(ended, "hearing_disability", "Справка МСЭ № 7", date(2020, 1, 1), date(2026, 12, 31), uni.clerk)
    order = draft(uni)
    line = line_of(order, orphan)
    assert (line.params["outcome"], line.params["amount"], line.params["why"]) == ("in", 47135, "scholarship.category")
    assert line_of(order, orphan_in_debt).params["why"] == "scholarship.debt"
    assert line_of(order, ended).params["why"] == "scholarship.grade_c"  # the category ended before 01.02.2027


def test_an_fx_not_retaken_excludes_and_a_passed_retake_counts(uni, make, year):
    debtor = graded(make, uni.ga, 90, 40)
    retaken = graded(make, uni.ga, 90, 40)
    grade(retaken, "D2", 75, retake=True)
    order = draft(uni)
    assert line_of(order, debtor).params["why"] == "scholarship.debt"
    assert "FX (40)" in bulk.reason(line_of(order, debtor))
    assert line_of(order, retaken).params["outcome"] == "in"


def test_a_paid_student_is_never_in_the_order(uni, make, year):
    graded(make, uni.ga, 90)
    paid = graded(make, uni.ga, 95, funding="paid")
    on_leave = graded(make, uni.ga, 95, status="academic_leave")
    order = draft(uni)
    assert {line.student_id for line in order.lines}.isdisjoint({paid.id, on_leave.id})
    operations.add_students(order, [paid.id], uni.clerk)  # by hand: refused, and it blocks
    assert [r["rule"] for r in line_of(order, paid).eligibility] == ["scholarship.funding"]
    assert operations.check_lines(order)


def test_no_override_appoints_a_state_scholarship_to_a_paid_student(uni, make, year):
    graded(make, uni.ga, 90)
    paid = graded(make, uni.ga, 95, funding="paid")
    order = draft(uni)
    operations.add_students(order, [paid.id], uni.clerk)
    with pytest.raises(InvalidInput) as error:
        operations.override_line(order, line_of(order, paid).id, "Решение ученого совета", uni.registrar)
    assert error.value.errors["justification"].startswith("This rule cannot be waived:")
    assert "state-grant students only" in error.value.errors["justification"]
    assert not line_of(order, paid).overridden


def test_a_first_year_gets_it_in_the_first_period(uni, make, session):
    calendar(2026)
    first = make.group(uni.fa, course=1)
    freshman = make.student(first)
    senior = make.student(uni.ga)  # course 2: by the summer session of 2025-2026, semester 2
    grade(senior, "D1", 80, semester=2, year="2025-2026")
    order = draft(uni, semester=1, effective="2026-09-01")
    months = ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]
    assert line_of(order, freshman).params == {
        "amount": 47135,
        "months": months,
        "table_from": "2024-09-01",
        "outcome": "in",
        "why": "scholarship.first_period",
        "facts": {},
    }
    assert line_of(order, senior).params["months"] == months
    assert line_of(order, senior).params["why"] == "scholarship.good"


def test_months_end_with_the_semester_for_the_final_course(uni, make, year):
    final = make.group(uni.fa, course=4)
    graduate = make.student(final)
    grade(graduate, "D1", 90, semester=7)
    student = graded(make, uni.ga, 90)
    order = draft(uni)
    assert line_of(order, student).params["months"] == SPRING
    assert line_of(order, graduate).params["months"] == SPRING[:5]  # to June: no summer after graduation


def test_no_grades_is_out_with_the_reason(uni, make, year):
    nothing = make.student(uni.ga)
    order = draft(uni)
    assert line_of(order, nothing).params["why"] == "scholarship.no_grades"


# Amounts from dated tables ---------------------------------------------------------------------------------------


def test_a_new_table_applies_to_later_months_and_a_signed_order_keeps_its_amount(app, uni, make, monkeypatch):
    calendar(2025)
    calendar(2026)
    monkeypatch.setitem(
        app.config["RULES"],
        "scholarship_amounts",
        [
            {
                "from": "2024-09-01",
                "bachelor": 47135,
                "bachelor_excellent": 54205,
                "master": 107061,
                "master_excellent": 123120,
            },
            {
                "from": "2027-01-01",
                "bachelor": 50000,
                "bachelor_excellent": 57500,
                "master": 110000,
                "master_excellent": 126500,
            },
        ],
    )
    student = make.student(uni.ga)
    grade(student, "D1", 80, year="2025-2026")
    older = draft(uni, year="2025-2026", effective="2026-02-01")
    assert line_of(older, student).params["amount"] == 47135
    sign(older, uni)
    grade(student, "D9", 80)
    newer = draft(uni)
    assert (line_of(newer, student).params["amount"], line_of(newer, student).params["table_from"]) == (
        50000,
        "2027-01-01",
    )
    operations.check_lines(older)
    db.session.expire_all()
    older = db.session.get(Order, older.id)
    assert line_of(older, student).params["amount"] == 47135
    assert line_of(older, student).params["table_from"] == "2024-09-01"
    assert "47\u00a0135 тенге" in document_text(older)


# The document, the route, the record ------------------------------------------------------------------------------


def test_signed_order_lists_the_out_in_an_appendix_and_changes_no_student(uni, make, year, tmp_path):
    in_ = graded(make, uni.ga, 90, 85, surname="Жаксылыков")
    out = graded(make, uni.ga, 90, 65, surname="Нурланова")
    order = draft(uni)
    before = {s.id: (s.status, s.funding, s.course, s.group_id) for s in (in_, out)}
    fire(order, "submit", uni.clerk)
    sign(order, uni)
    assert order.state == "signed"
    text = document_text(order)
    assert (
        "Назначить государственную стипендию обучающемуся" in text
        and "Жаксылыкову Нурлану Сериковичу (ИИН" in text
        and "в размере 47\u00a0135 тенге ежемесячно с 01.02.2027 по 31.08.2027" in text
    )
    assert "мемлекеттік стипендия тағайындалсын" in text
    assert "Приложение: обучающиеся, которым стипендия не назначена, с причиной" in text
    assert "Қосымша: стипендия тағайындалмаған білім алушылар" in text
    appendix = text.split("Приложение: обучающиеся")[1]
    assert "Нурланова Нурлан Сериковна" in appendix and "оценка ниже C+: C (65)" in appendix
    assert "Нурланова" not in text.split("ПРИКАЗЫВАЮ")[1].split("Основание")[0]  # not a numbered item
    assert_libreoffice_opens(order.document.content, "scholarship.docx", tmp_path)  # the appendix block opens too
    db.session.expire_all()
    assert {
        s.id: (s.status, s.funding, s.course, s.group_id)
        for s in db.session.scalars(select(Student).where(Student.id.in_(before)))
    } == before


def extract_of(student) -> str:
    """The extract the worker attaches to the student's e-mail, rendered from the row's frozen context."""
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == student.email))
    [spec] = attachments.specs(full_context(row.context))
    content = attachments.render(spec, full_context(row.context)).content
    return "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


def test_extract_quotes_the_orders_item_number_and_the_left_out_get_the_appendix_notice(uni, make, year):
    out = graded(make, uni.ga, 90, 65, surname="Нурланова")
    first = graded(make, uni.ga, 90, 85, surname="Жаксылыков")
    second = graded(make, uni.ga, 95, 92, surname="Сейтова")
    order = draft(uni)
    fire(order, "submit", uni.clerk)
    sign(order, uni)
    items = text_between(document_text(order), "ПРИКАЗЫВАЮ", "Основание")
    for student in (first, second):
        [number] = [p.split(".")[0] for p in items.split("\n") if student.iin in p]
        extract = extract_of(student)
        assert f"\n{number}. Назначить государственную стипендию обучающ" in extract and student.iin in extract
    notice = extract_of(out)
    assert "Приложение: обучающиеся, которым стипендия не назначена, с причиной" in notice
    assert "Қосымша: стипендия тағайындалмаған білім алушылар" in notice
    assert f"{out.full_name} (ИИН {out.iin})" in notice and "оценка ниже C+: C (65)" in notice
    assert ",:" not in notice and "не назначается" not in notice
    assert not any(p[:1].isdigit() and ". " in p[:4] for p in notice.split("\n"))  # no numbered item


def text_between(text: str, start: str, end: str) -> str:
    return text.split(start)[1].split(end)[0]


def test_the_order_travels_the_money_route_with_the_finance_visa(uni, make, year):
    graded(make, uni.ga, 90)
    graded(make, uni.gb, 90)
    order = draft(uni)
    assert order.route_name == "money"
    fire(order, "submit", uni.clerk)
    assert order.state == "review_dean"
    fire(order, "approve", uni.dean_a)
    fire(order, "approve", uni.dean_b)
    fire(order, "approve", uni.registrar)
    assert order.state == "review_finance"
    assert "approve" not in legal_triggers(order, uni.rector)
    fire(order, "approve", uni.finance)
    assert order.state == "awaiting_signature"
    fire(order, "sign", uni.rector)
    assert "finance" in {visa.role for visa in order.visas}
    assert "Қаржы қызметі / Финансовая служба" in "\n".join(
        cell.text for table in Document(io.BytesIO(order.document.content)).tables for cell in table._cells
    )


def test_two_orders_for_the_same_semester_conflict_other_kinds_do_not(uni, make, year):
    student = graded(make, uni.ga, 90)
    first = draft(uni)
    sign(first, uni)
    second = draft(uni)
    assert [r["rule"] for r in line_of(second, student).eligibility] == ["scholarship.duplicate"]
    other = graded(make, uni.gb, 90)
    third = draft(uni, faculties=[uni.fb.id])
    expulsion = make.order(uni.clerk, [other])  # an open scholarship line does not block a movement order
    assert line_of(expulsion, other).eligibility == []
    assert line_of(third, other).eligibility == []


def test_drafting_issues_the_same_number_of_queries_for_any_number_of_students(uni, make, year):
    def count_for(n: int) -> int:
        faculty = make.faculty()
        group = make.group(faculty)
        for i in range(n):
            graded(make, group, 60 + i % 40, 80)
        statements = []

        def count(*_args):
            statements.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            order = draft(uni, faculties=[faculty.id])
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(order.lines) == n
        return len(statements)

    small, large = count_for(3), count_for(30)
    assert small == large < 30


# Pages and API --------------------------------------------------------------------------------------------------------


def test_clerk_drafts_on_the_page_and_sees_who_is_out_and_why(client, uni, make, year):
    graded(make, uni.ga, 90)
    graded(make, uni.ga, 65, surname="Бекова")
    login(client, uni.clerk)
    assert client.get("/orders/scholarship/new").status_code == 200
    response = client.post(
        "/orders/scholarship/new",
        data={
            "academic_year": YEAR,
            "semester": "2",
            "faculties": [str(uni.fa.id)],
            "effective_date": "2027-02-01",
            "basis": BASIS,
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-why="scholarship.grade_c"' in page and "C (65)" in page and "Бекова" in page
    login(client, uni.dean_b)
    assert client.get(response.headers["Location"]).status_code == 403


def test_api_drafts_and_reads_outcomes(client, uni, make, year):
    graded(make, uni.ga, 95)
    headers = {"Authorization": f"Bearer {issue_token(uni.clerk)}"}
    db.session.commit()
    response = client.post(
        "/api/v1/scholarship/drafts",
        headers=headers,
        json={"academic_year": YEAR, "semester": 2, "courses": [2], "effective_date": "2027-02-01", "basis": BASIS},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["counts"]["in"] == 1 and body["lines"][0]["amount"] == 54205
    assert body["lines"][0]["months"] == SPRING
    bad = client.post(
        "/api/v1/scholarship/drafts",
        headers=headers,
        json={"academic_year": "2030-2031", "semester": 2, "effective_date": "2031-02-01", "basis": BASIS},
    )
    assert bad.status_code == 422 and "academic_year" in bad.get_json()["errors"]


# Social categories on the student page -------------------------------------------------------------------------


def test_clerk_adds_and_ends_a_category_with_the_document(client, uni, make):
    student = make.student(uni.ga)
    login(client, uni.clerk)
    response = client.post(
        f"/students/{student.id}/categories",
        data={
            "category": "visual_disability",
            "document": "Справка МСЭ № 45 от 10.01.2026",
            "valid_from": "2026-01-10",
            "valid_to": "",
        },
    )
    assert response.status_code == 303
    row = db.session.scalar(select(StudentCategory).where(StudentCategory.student_id == student.id))
    assert (row.category, row.document, row.valid_to) == ("visual_disability", "Справка МСЭ № 45 от 10.01.2026", None)
    page = client.get(f"/students/{student.id}").get_data(as_text=True)
    assert "Справка МСЭ № 45 от 10.01.2026" in page and 'data-category="visual_disability"' in page
    assert (
        client.post(f"/students/{student.id}/categories/{row.id}/end", data={"valid_to": "2026-12-31"}).status_code
        == 303
    )
    db.session.refresh(row)
    assert row.valid_to == date(2026, 12, 31)


def test_a_dean_of_another_faculty_gets_403(client, uni, make):
    student = make.student(uni.ga)
    login(client, uni.dean_b)
    response = client.post(
        f"/students/{student.id}/categories",
        data={"category": "orphan", "document": "Свидетельство", "valid_from": "2026-01-10"},
    )
    assert response.status_code == 403
    assert db.session.scalar(select(StudentCategory).where(StudentCategory.student_id == student.id)) is None
    login(client, uni.dean_a)
    assert (
        client.post(
            f"/students/{student.id}/categories",
            data={"category": "orphan", "document": "Свидетельство", "valid_from": "2026-01-10"},
        ).status_code
        == 303
    )
