"""Course promotion: who moves to the next course, where, the refusals, bulk drafting and its outcomes, turning
the refused into repeat-year and expulsion drafts, the document, reversal, query count, the pages and the API."""

import io
from datetime import date

import pytest
from docx import Document
from sqlalchemy import event, select

from core.db import db
from core.models import issue_token
from orders import operations
from orders.kinds.promotion import drafting as bulk
from orders.models import Order
from orders.registry import get_kind
from students.academic import CurriculumItem
from students.history import record_on
from students.models import Group, Programme, StudentMovement
from tests.builders import add_grade, clerk_draft, rules, signed
from tests.conftest import login

YEAR = "2025-2026"
BASIS = "Итоги летней экзаменационной сессии"


pytestmark = pytest.mark.usefixtures("english")


class Cohort:
    """A bachelor programme of faculty `faculty` with a four-discipline curriculum per course and a group per
    course (course 1 and 2 by default), and helpers to grade students."""

    def __init__(self, make, faculty, courses=(1, 2), language="ru"):
        first = make.group(faculty, course=courses[0], language=language)
        self.programme = db.session.get(Programme, first.programme_id)
        self.groups = {courses[0]: first}
        for course in courses[1:]:
            group = Group(
                name=f"{self.programme.code}-{course}x",
                programme_id=self.programme.id,
                course=course,
                language=language,
                study_form="full_time",
            )
            db.session.add(group)
            self.groups[course] = group
        for semester in range(1, 2 * self.programme.duration_years + 1):
            for n in (1, 2):
                db.session.add(
                    CurriculumItem(
                        programme_id=self.programme.id,
                        semester=semester,
                        code=f"D{semester}{n}",
                        name_kk=f"Пән {semester}{n}",
                        name_ru=f"Дисциплина {semester}{n}",
                        name_en=f"Course {semester}{n}",
                        credits=5,
                    )
                )
        db.session.flush()
        self.make = make

    def student(self, course=1, points=80, year=YEAR, **kwargs):
        """A student of `course` graded `points` in every discipline of that course's two semesters."""
        student = self.make.student(self.groups[course], **kwargs)
        for semester in (2 * course - 1, 2 * course):
            for n in (1, 2):
                grade(student, f"D{semester}{n}", semester, points, year)
        return student


def grade(student, code, semester, points, year=YEAR, **kwargs):
    add_grade(student, code, points, name=f"Дисциплина {code[1:]}", semester=semester, year=year, **kwargs)


def draft(uni, students, effective="2026-09-01"):
    return clerk_draft(uni, "promotion", {"academic_year": YEAR, "effective_date": effective, "basis": BASIS}, students)


# Eligibility and effect ------------------------------------------------------------------------------------------


def test_eligible_student_moves_to_next_course_and_group_with_history(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=80)
    order = draft(uni, [student])
    assert order.lines[0].eligibility == []
    assert operations.effects_preview(order)[order.lines[0].id] == {
        "course": [1, 2],
        "group": [cohort.groups[1].name, cohort.groups[2].name],
    }
    signed(order, uni)
    assert (student.course, student.group_id, student.status, student.funding) == (
        2,
        cohort.groups[2].id,
        "active",
        "grant",
    )
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert movement.kind == "promotion"
    assert movement.changes == {"course": [1, 2], "group": [cohort.groups[1].name, cohort.groups[2].name]}
    assert movement.effective_date == date(2026, 9, 1)
    before = record_on(student, date(2026, 8, 31))
    assert (before["course"], before["group"]["id"]) == (1, cohort.groups[1].id)


def test_missing_next_year_group_is_created_with_a_derived_name(uni, make):
    cohort = Cohort(make, uni.fa, courses=(1,), language="kk")
    student = cohort.student()
    order = draft(uni, [student])
    derived = f"{cohort.programme.code}-2К"
    assert operations.effects_preview(order)[order.lines[0].id]["group"] == [cohort.groups[1].name, derived]
    signed(order, uni)
    group = db.session.scalar(select(Group).where(Group.name == derived))
    assert (group.programme_id, group.course, group.language, group.study_form) == (
        cohort.programme.id,
        2,
        "kk",
        "full_time",
    )
    assert (student.course, student.group_id) == (2, group.id)


def test_derived_name_taken_gets_a_number(uni, make):
    cohort = Cohort(make, uni.fa, courses=(1,))
    other = make.group(uni.fb)
    other.name = f"{cohort.programme.code}-2Р"
    db.session.flush()
    student = cohort.student()
    signed(draft(uni, [student]), uni)
    assert student.group.name == f"{cohort.programme.code}-2Р-2"


def test_gpa_below_the_transfer_gpa_is_refused_with_both_figures(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=62, surname="Омаров", name="Ерлан")  # C- = 1.67 < 1.80
    (line,) = draft(uni, [student]).lines
    assert line.eligibility == [
        {
            "rule": "promotion.gpa",
            "message": "Омаров Ерлан Серикович's GPA for 2025-2026 is 1.67, below the transfer GPA 1.80 for course 1.",
            "data": {
                "gpa": 1.67,
                "threshold": 1.8,
                "academic_year": YEAR,
                "next_step": "repeat_year",
                "debt_credits": 0,
                "repeated": 0,
            },
        }
    ]


def test_debts_are_listed_and_a_retake_clears_them(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=90, surname="Ли", name="Анна")
    grade(student, "D21", 2, 40, retake=True)  # the retake failed too: FX
    (line,) = draft(uni, [student]).lines
    assert rules(line) == ["promotion.debts"]
    assert line.eligibility[0]["message"] == (
        "Ли Анна Серикович has academic debts (FX/F not retaken): D21 Дисциплина 21; 5 credits in all."
    )
    assert line.eligibility[0]["data"]["debts"] == ["D21"]

    other = cohort.student(points=90)
    grade(other, "D21", 2, 30, year="2024-2025")  # failed in an earlier attempt, passed in 2025-2026
    assert draft(uni, [other]).lines[0].eligibility == []


def test_missing_grades_of_the_curriculum_are_refused(uni, make):
    cohort = Cohort(make, uni.fa)
    student = make.student(cohort.groups[1], surname="Нурова", name="Дана")
    grade(student, "D11", 1, 85)
    grade(student, "D12", 1, 85)
    (line,) = draft(uni, [student]).lines
    assert rules(line) == ["promotion.curriculum"]
    assert line.eligibility[0]["message"] == (
        "Нурова Дана Сериковна has no grade in 2 disciplines of the course 1 curriculum: "
        "D21 Дисциплина 21; D22 Дисциплина 22."
    )


def test_inactive_and_final_year_students_are_refused(uni, make):
    cohort = Cohort(make, uni.fa, courses=(1, 4))
    on_leave = cohort.student(status="academic_leave", surname="Сеитов", name="Арман")
    final = cohort.student(course=4, surname="Жанов", name="Серик")
    first, second = draft(uni, [on_leave, final]).lines
    assert first.eligibility[0]["rule"] == "promotion.status"
    assert first.eligibility[0]["message"] == (
        "Сеитов Арман Серикович is on academic leave: only active students are promoted."
    )
    assert second.eligibility == [
        {
            "rule": "promotion.final_course",
            "message": "Жанов Серик Серикович is in the final course (4 of 4): final-year students are not promoted.",
            "data": {"course": 4, "duration_years": 4},
        }
    ]


def test_transfer_gpa_is_a_setting(app, uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=62)
    app.config["RULES"]["transfer_gpa"]["bachelor"][1] = 1.5
    try:
        assert draft(uni, [student]).lines[0].eligibility == []
    finally:
        app.config["RULES"]["transfer_gpa"]["bachelor"][1] = 1.80


# Document and reversal --------------------------------------------------------------------------------------------


def test_document_has_the_promotion_wording_in_russian_and_kazakh(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(surname="Абаев", name="Марат")
    order = signed(draft(uni, [student]), uni)
    text = "\n".join(p.text for p in Document(io.BytesIO(order.document.content)).paragraphs)
    assert "О переводе обучающихся на следующий курс" in text
    assert "Білім алушыларды келесі курсқа көшіру туралы" in text
    new, old = cohort.groups[2].name, cohort.groups[1].name
    assert "Перевести обучающегося 1 курса образовательной программы" in text
    assert f"Абаева Марата Сериковича (ИИН {student.iin}), группа {old}" in text
    assert f"на 2 курс в группу {new} с 01.09.2026." in text
    assert f"группа {old}" in text
    assert f"01.09.2026 бастап {new} тобына, 2-курсқа көшірілсін." in text


def test_reverse_of_a_signed_line_gives_exactly_the_previous_values(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student()
    order = signed(draft(uni, [student]), uni)
    (line,) = order.lines
    assert get_kind("promotion").reverse(line) == {"course": 1, "group_id": cohort.groups[1].id}


# Bulk drafting -----------------------------------------------------------------------------------------------------


@pytest.fixture
def year_end(uni, make):
    """Course 1 of one programme of faculty A: every outcome; a course 2 student and a faculty B student."""
    cohort = Cohort(make, uni.fa, courses=(1, 2, 4))
    people = {
        "good": cohort.student(points=85, surname="Алиев"),
        "low_gpa": cohort.student(points=62, surname="Бекова"),
        "some_debts": cohort.student(points=85, surname="Веров"),
        "many_debts": cohort.student(points=30, surname="Гаев"),  # F in 20 credits... see below
        "final": cohort.student(course=4, surname="Далиев"),
        "second": cohort.student(course=2, surname="Ерлин"),
    }
    grade(people["some_debts"], "D11", 1, 40, retake=True)
    for n in range(1, 4):  # 15 more credits of F: 35 in all, over the 30 allowed for a repeat year
        grade(people["many_debts"], f"X{n}", 2, 10, credits=5)
    people["expelled"] = cohort.student(status="expelled", surname="Жаров")
    other = Cohort(make, uni.fb)
    people["faculty_b"] = other.student(surname="Зеров")
    return cohort, people


def bulk_draft(uni, **scope):
    return bulk.draft_promotion(
        uni.clerk, {"academic_year": YEAR, "effective_date": "2026-09-01", "basis": BASIS, **scope}
    )


def outcome_by_surname(order):
    return {line.student.surname: bulk.outcome_of(line) for line in order.lines}


def test_bulk_draft_for_a_faculty_sorts_every_active_student_into_an_outcome(uni, year_end):
    cohort, people = year_end
    order = bulk_draft(uni, faculty_id=uni.fa.id)
    assert outcome_by_surname(order) == {
        "Алиев": "promote",
        "Бекова": "repeat_year",
        "Веров": "repeat_year",
        "Гаев": "expulsion",
        "Ерлин": "promote",
    }  # the final-year Далиев is no line: listed apart (graduation is a different order)
    assert order.params["final_year"] == [people["final"].id]
    assert bulk.summary(order) == {"promote": 2, "repeat_year": 2, "expulsion": 1, "blocked": 0}
    line = next(line for line in order.lines if line.student.surname == "Гаев")
    assert bulk.outcome_reason(line).endswith("Academic debts of 35 credits exceed the 30 allowed for a repeat year.")


def test_bulk_draft_scopes_by_course_and_by_university(uni, year_end):
    _cohort, people = year_end
    assert set(outcome_by_surname(bulk_draft(uni, faculty_id=uni.fa.id, course=2))) == {"Ерлин"}


def test_bulk_draft_of_the_whole_university_includes_every_faculty(uni, year_end):
    order = bulk_draft(uni)
    assert {"Зеров", "Алиев"} <= set(outcome_by_surname(order))
    assert "Жаров" not in outcome_by_surname(order)  # expelled: not in scope


@pytest.mark.parametrize(
    ("scope", "field", "message"),
    [
        ({"course": 9}, "course", "Give a whole number from 1 to 7, or leave it empty."),
        ({"faculty_id": 999999}, "faculty_id", "There is no faculty 999999."),
        (
            {"academic_year": "2025-2027"},
            "academic_year",
            "Give the academic year as two consecutive years, e.g. 2025-2026.",
        ),
        ({"course": 6}, "scope", "No active student is in this scope; nothing was drafted."),
    ],
)
def test_bulk_draft_refuses_bad_input(uni, year_end, scope, field, message):
    with pytest.raises(operations.InvalidInput) as refused:
        bulk_draft(uni, **scope)
    assert refused.value.errors[field] == message


def test_a_student_who_already_repeated_the_course_needs_expulsion(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=62, surname="Каримов")
    repeat = operations.create_order(
        "repeat_year",
        uni.clerk,
        {"ground": "application", "academic_year": "2024-2025", "effective_date": "2025-09-01", "basis": BASIS},
    )
    operations.add_students(repeat, [student.id], uni.clerk)
    signed(repeat, uni)
    order = bulk_draft(uni, programme_id=cohort.programme.id)
    (line,) = order.lines
    assert bulk.outcome_of(line) == "expulsion"
    assert line.eligibility[0]["data"]["repeated"] == 1
    assert bulk.outcome_reason(line).endswith("The course was already repeated.")


def test_turning_the_refused_into_repeat_year_and_expulsion_drafts(uni, year_end):
    _cohort, people = year_end
    order = bulk_draft(uni, faculty_id=uni.fa.id)
    repeat, expulsion = bulk.split_refused(order, uni.clerk)
    assert sorted(line.student.surname for line in order.lines) == ["Алиев", "Ерлин"]
    assert (repeat.kind, repeat.state, repeat.params["ground"], repeat.basis) == (
        "repeat_year",
        "draft",
        "promotion_refused",
        BASIS,
    )
    assert sorted(line.student.surname for line in repeat.lines) == ["Бекова", "Веров"]
    assert all(line.eligible for line in repeat.lines)
    assert (expulsion.kind, expulsion.params["reason"]) == ("expulsion", "academic_failure")
    assert [line.student.surname for line in expulsion.lines] == ["Гаев"]
    assert expulsion.lines[0].eligible
    with pytest.raises(operations.InvalidInput) as again:
        bulk.split_refused(order, uni.clerk)
    assert again.value.status == 409


def test_drafting_issues_the_same_number_of_queries_for_any_number_of_students(uni, make):
    def count_for(n: int) -> int:
        faculty = make.faculty()
        cohort = Cohort(make, faculty)
        for i in range(n):
            cohort.student(points=60 + i % 30)
        statements = []

        def count(*_args):
            statements.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            order = bulk_draft(uni, faculty_id=faculty.id)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(order.lines) == n
        return len(statements)

    small, large = count_for(3), count_for(25)
    assert small == large < 25


# Pages and API -----------------------------------------------------------------------------------------------------


def test_clerk_drafts_on_the_page_sees_outcomes_and_splits(client, uni, year_end):
    login(client, uni.clerk)
    response = client.post(
        "/orders/promotion/new",
        data={
            "academic_year": YEAR,
            "faculty_id": str(uni.fa.id),
            "programme_id": "",
            "course": "1",
            "effective_date": "2026-09-01",
            "basis": BASIS,
        },
    )
    assert response.status_code == 302
    order_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = client.get(f"/orders/promotion/{order_id}").get_data(as_text=True)
    assert "Needs a repeat year: 2" in page and "Needs expulsion for academic failure: 1" in page
    assert "below the transfer GPA 1.80" in page
    order_page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert f"/orders/promotion/{order_id}" in order_page  # the order page links to the outcomes
    assert client.post(f"/orders/promotion/{order_id}/split").status_code == 302
    kinds = sorted(db.session.scalars(select(Order.kind).where(Order.id > order_id)))
    assert kinds == ["expulsion", "repeat_year"]


def test_bad_input_on_the_page_is_shown_and_nothing_is_written(client, uni, year_end):
    login(client, uni.clerk)
    before = db.session.scalar(select(db.func.count(Order.id)))
    response = client.post(
        "/orders/promotion/new",
        data={"academic_year": "2025", "course": "6", "effective_date": "2026-09-01", "basis": BASIS},
    )
    assert response.status_code == 400
    assert "Give the academic year as two consecutive years" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Order.id))) == before


@pytest.mark.parametrize("who", ["dean_a", "rector"])
def test_deans_and_rector_may_not_draft_or_split(client, uni, year_end, who):
    order = bulk_draft(uni, faculty_id=uni.fa.id)
    headers = {"Authorization": f"Bearer {issue_token(getattr(uni, who))}"}
    db.session.commit()
    login(client, getattr(uni, who))
    assert client.post("/orders/promotion/new", data={"basis": BASIS}).status_code == 403
    assert client.post(f"/orders/promotion/{order.id}/split").status_code == 403
    assert (
        client.post(
            "/api/v1/promotion/drafts", headers=headers, json={"effective_date": "2026-09-01", "basis": BASIS}
        ).status_code
        == 403
    )
    assert client.post(f"/api/v1/promotion/{order.id}/split", headers=headers, json={}).status_code == 403


def test_api_drafts_reads_outcomes_and_splits(client, uni, year_end):
    token = issue_token(uni.clerk)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(
        "/api/v1/promotion/drafts",
        headers=headers,
        json={"academic_year": YEAR, "faculty_id": uni.fa.id, "effective_date": "2026-09-01", "basis": BASIS},
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["counts"] == {"promote": 2, "repeat_year": 2, "expulsion": 1, "blocked": 0}
    assert [student["surname"] for student in body["final_year"]] == ["Далиев"]
    assert {line["student"]["surname"]: line["outcome"] for line in body["lines"]}["Гаев"] == "expulsion"
    outcomes = client.get(f"/api/v1/promotion/{body['order_id']}/outcomes", headers=headers).json
    assert outcomes["counts"] == body["counts"]
    split = client.post(f"/api/v1/promotion/{body['order_id']}/split", headers=headers, json={})
    assert split.status_code == 201, split.json
    assert split.json["promotion"]["counts"] == {"promote": 2, "repeat_year": 0, "expulsion": 0, "blocked": 0}
    assert db.session.get(Order, split.json["repeat_year_order_id"]).kind == "repeat_year"
    assert db.session.get(Order, split.json["expulsion_order_id"]).kind == "expulsion"


def test_api_bad_input_is_422_and_writes_nothing(client, uni, year_end):
    token = issue_token(uni.clerk)
    db.session.commit()
    before = db.session.scalar(select(db.func.count(Order.id)))
    response = client.post(
        "/api/v1/promotion/drafts",
        headers={"Authorization": f"Bearer {token}"},
        json={"academic_year": YEAR, "course": 6, "effective_date": "2026-09-01", "basis": BASIS},
    )
    assert response.status_code == 422
    assert response.json["errors"] == {"scope": "No active student is in this scope; nothing was drafted."}
    assert db.session.scalar(select(db.func.count(Order.id))) == before
