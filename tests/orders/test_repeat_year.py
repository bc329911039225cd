"""Repeat year: who may be left for a repeat year, the target group per line, the grant rule, the document, reversal."""

import io
from datetime import date

import pytest
from docx import Document
from sqlalchemy import select

from core.db import db
from orders import operations
from orders.registry import get_kind
from students.models import Group, StudentMovement
from tests.builders import clerk_draft, signed
from tests.conftest import login
from tests.orders.test_promotion import BASIS, YEAR, Cohort

pytestmark = pytest.mark.usefixtures("english")


def draft(uni, students, ground="promotion_refused"):
    return clerk_draft(
        uni,
        "repeat_year",
        {"ground": ground, "academic_year": YEAR, "effective_date": "2026-09-01", "basis": BASIS},
        students,
    )


def test_refused_grant_student_stays_on_the_course_and_pays(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=62)
    order = draft(uni, [student])
    assert order.lines[0].eligibility == []
    signed(order, uni)
    assert (student.course, student.group_id, student.funding, student.status) == (
        1,
        cohort.groups[1].id,
        "paid",
        "active",
    )
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert (movement.kind, movement.changes) == ("repeat_year", {"course": [1, 1], "funding": ["grant", "paid"]})


def test_grant_is_kept_when_the_rule_says_so(app, uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=62)
    app.config["RULES"]["repeat_year_loses_grant"] = False
    try:
        signed(draft(uni, [student]), uni)
    finally:
        app.config["RULES"]["repeat_year_loses_grant"] = True
    assert student.funding == "grant"


def test_target_group_per_line_and_its_checks(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=62, funding="paid")
    other = Group(name="RY-1b", programme_id=cohort.programme.id, course=1, language="kk", study_form="full_time")
    db.session.add(other)
    db.session.flush()
    order = draft(uni, [student])
    (line,) = order.lines
    with pytest.raises(operations.InvalidInput) as refused:
        operations.update_line(
            order, line.id, {"group": cohort.groups[2].name, "effective_date": "2026-09-01"}, uni.clerk
        )
    assert refused.value.errors == {
        "group": f"Group {cohort.groups[2].name} is not a course 1 group of the "
        f"student's programme {cohort.programme.code}."
    }
    with pytest.raises(operations.InvalidInput) as unknown:
        operations.update_line(order, line.id, {"group": "NOPE", "effective_date": "2026-09-01"}, uni.clerk)
    assert unknown.value.errors == {"group": "There is no group NOPE."}
    operations.update_line(order, line.id, {"group": "RY-1b", "effective_date": "2026-09-01"}, uni.clerk)
    assert line.eligibility == []
    assert operations.effects_preview(order)[line.id] == {"course": [1, 1], "group": [cohort.groups[1].name, "RY-1b"]}
    signed(order, uni)
    assert (student.group_id, student.course, student.funding) == (other.id, 1, "paid")


def test_promotable_student_needs_an_application(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=90, surname="Тоқаев", name="Әлия")
    (line,) = draft(uni, [student]).lines
    assert line.eligibility == [
        {
            "rule": "repeat_year.promotable",
            "message": "Тоқаев Әлия Серикович meets every promotion requirement for 2025-2026; a repeat year then "
            "needs "
            "the student's application as its ground.",
            "data": {"gpa": 3.67},
        }
    ]
    assert draft(uni, [cohort.student(points=90)], ground="application").lines[0].eligibility == []


def test_inactive_student_and_a_second_repeat_are_refused(uni, make):
    cohort = Cohort(make, uni.fa)
    on_leave = cohort.student(points=62, status="academic_leave", surname="Исаев", name="Олжас")
    (line,) = draft(uni, [on_leave]).lines
    assert [(r["rule"], r["message"]) for r in line.eligibility] == [
        (
            "repeat_year.status",
            "Исаев Олжас Серикович is on academic leave: only active students can be left for a repeat year.",
        )
    ]

    student = cohort.student(points=62, surname="Рахимов", name="Асет")
    signed(draft(uni, [student]), uni)
    (again,) = draft(uni, [student]).lines
    assert [(r["rule"], r["message"]) for r in again.eligibility] == [
        (
            "repeat_year.repeated",
            "Рахимов Асет Серикович has already repeated course 1; the rules allow 1 repeat year per course.",
        )
    ]


def test_document_has_the_repeat_year_wording(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=62, surname="Ахмедова", name="Сая")
    order = signed(draft(uni, [student]), uni)
    text = "\n".join(p.text for p in Document(io.BytesIO(order.document.content)).paragraphs)
    group = cohort.groups[1].name
    assert "Об оставлении обучающихся на повторный курс обучения" in text
    assert "Білім алушыларды қайта оқуға қалдыру туралы" in text
    assert (
        f"в связи с невыполнением требований для перевода на следующий курс на повторный курс обучения на "
        f"1 курсе в группе {group} с 01.09.2026 с переводом на платную основу обучения."
    ) in text
    assert (
        f"келесі курсқа көшу талаптарын орындамауына байланысты 01.09.2026 бастап 1-курста {group} тобында "
        f"қайта оқуға қалдырылсын, ақылы негізде оқуға ауыстырылсын."
    ) in text


def test_reverse_restores_group_and_funding(uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=62)
    order = signed(draft(uni, [student]), uni)
    assert get_kind("repeat_year").reverse(order.lines[0]) == {"group_id": cohort.groups[1].id, "funding": "grant"}


def test_line_form_on_the_order_page_changes_the_group(client, uni, make):
    cohort = Cohort(make, uni.fa)
    student = cohort.student(points=62)
    other = Group(name="RY-1c", programme_id=cohort.programme.id, course=1, language="ru", study_form="full_time")
    db.session.add(other)
    order = draft(uni, [student])
    line = order.lines[0]
    login(client, uni.clerk)
    assert "line-form-" in client.get(f"/orders/{order.id}").get_data(as_text=True)
    response = client.post(
        f"/orders/{order.id}/lines/{line.id}",
        data={f"line{line.id}-group": "RY-1c", f"line{line.id}-effective_date": "2026-09-01"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert line.params == {"group": "RY-1c"}
    assert str(line.effective_date) == str(date(2026, 9, 1))
