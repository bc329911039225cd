"""Vacant state grant award: exclusions with their reasons, ranking per programme and course with the tie-breaks,
winners only move to the grant, the vacancies parameter, the council's ranking list (XLSX, DOCX), pages and API."""

import io
from datetime import date
from functools import partial

import pytest
from docx import Document
from openpyxl import load_workbook

from core.db import db
from core.models import issue_token
from orders import operations, ranking
from orders.kinds.competitions import ranking_list
from orders.params import load
from orders.registry import get_kind
from tests.builders import add_grade, clerk_draft
from tests.conftest import login, sign, take_effect_by

YEAR = "2025-2026"


pytestmark = pytest.mark.usefixtures("english")


# grades of the third semester unless said
grade = partial(add_grade, semester=3)


def graded(make, group, surname, marks, **kwargs):
    """A paid student of `group` with grades [(points, credits), ...] in disciplines D1, D2, ..."""
    student = make.student(group, funding="paid", surname=surname, **kwargs)
    for n, (points, credits) in enumerate(marks, 1):
        grade(student, f"D{n}", points, credits=credits)
    return student


@pytest.fixture
def contest(make, uni):
    """Programme P, course 2, three vacancies. Equal GPA 3.67 for three students of different grade classes, named
    so that the alphabet would put them the other way round."""
    group = make.group(uni.fa, course=2)

    class Contest:
        top = graded(make, group, "Янов", [(97, 5), (96, 5)])  # 4.00
        mixed = graded(make, group, "Абаев", [(97, 5)] * 4 + [(72, 5)])  # A x20 credits + C+ x5: 3.67, mixed
        up_to_b = graded(make, group, "Бекова", [(97, 5), (97, 5), (82, 5)])  # A x10 + B x5: 3.67, only A..B-
        excellent = graded(make, group, "Жумабаев", [(92, 5), (91, 5)])  # A- only: 3.67
        low = graded(make, group, "Ахметова", [(82, 5), (81, 5)])  # 3.00
        debt = graded(make, group, "Дебитов", [(97, 5), (40, 5)])  # FX not retaken
        f_once = graded(make, group, "Ефимов", [(97, 5)])
        retaker = graded(make, group, "Ретейков", [(97, 5)])

    grade(Contest.f_once, "D9", 10, year="2024-2025", semester=1)  # an F, studied again later: no debt now
    grade(Contest.f_once, "D9", 96, year=YEAR, semester=3)
    grade(Contest.retaker, "D8", 60, semester=3)
    grade(Contest.retaker, "D8", 96, semester=3, retake=True)
    Contest.group = group
    Contest.code = group.programme.code
    return Contest


def draft(uni, students, vacancies, effective="2027-09-01"):
    return clerk_draft(
        uni,
        "vacant_grant",
        {
            "vacancies": vacancies,
            "ground": "Решение комиссии № 5 от 01.08.2027",
            "effective_date": effective,
            "basis": "Заявления обучающихся",
        },
        students,
    )


def by_student(order):
    return {line.student_id: line for line in order.lines}


def everyone(contest):
    return [
        contest.mixed,
        contest.low,
        contest.up_to_b,
        contest.debt,
        contest.top,
        contest.excellent,
        contest.f_once,
        contest.retaker,
    ]


def test_ranking_and_tie_breaks(uni, contest):
    order = draft(uni, everyone(contest), f"{contest.code}:2=3")
    lines = by_student(order)
    ranks = {sid: line.params["rank"] for sid, line in lines.items()}
    assert ranks[contest.top.id] == 1
    assert ranks[contest.excellent.id] == 2  # equal GPA 3.67: only A/A- first
    assert ranks[contest.up_to_b.id] == 3  # then only A..B-
    assert ranks[contest.mixed.id] == 4  # then mixed, although first in the alphabet
    assert ranks[contest.low.id] == 5
    assert [lines[s.id].params["gpa"] for s in (contest.excellent, contest.up_to_b, contest.mixed)] == [3.67] * 3
    winners = {sid for sid, line in lines.items() if line.params["outcome"] == "in"}
    assert winners == {contest.top.id, contest.excellent.id, contest.up_to_b.id}
    assert lines[contest.mixed.id].params["rules"] == ["vacant_grant.below_cut"]
    assert "Ranked 4 of 5 for 3 vacant grants" in lines[contest.mixed.id].params["why"]
    assert all(line.eligible for line in order.lines)  # out lines are listed, never blocking


def test_exclusions_each_with_its_reason(uni, contest):
    order = draft(uni, everyone(contest), f"{contest.code}:2=3")
    lines = by_student(order)
    assert lines[contest.debt.id].params["rules"] == ["vacant_grant.debt"]
    assert "Academic debt: D2" in lines[contest.debt.id].params["why"]
    assert lines[contest.f_once.id].params["rules"] == ["vacant_grant.f_grade"]
    assert "An F grade: D9" in lines[contest.f_once.id].params["why"]
    assert lines[contest.retaker.id].params["rules"] == ["vacant_grant.retake"]
    assert "A retake: D8" in lines[contest.retaker.id].params["why"]
    for excluded in (contest.debt, contest.f_once, contest.retaker):
        line = lines[excluded.id]
        assert line.params["outcome"] == "out" and line.params["rank"] is None and line.eligible
    kind = get_kind("vacant_grant")
    assert "имеется оценка F" in kind.item_text(lines[contest.f_once.id], "ru")
    assert "қайта тапсырған" in kind.item_text(lines[contest.retaker.id], "kk")


def test_a_tie_on_the_cut_line_is_flagged(uni, make, contest):
    order = draft(uni, [contest.top, contest.excellent], f"{contest.code}:2=1")
    twin = graded(make, contest.group, "Аалиев", [(92, 5), (91, 5)])  # same merit as `excellent`
    operations.add_students(order, [twin.id], uni.clerk)
    lines = by_student(order)
    assert not lines[contest.excellent.id].params["tie"]  # the winner is clear: top
    order2 = draft(uni, [contest.excellent, twin], f"{contest.code}:2=1")
    assert all(line.params["tie"] for line in order2.lines)


def test_winners_only_move_to_the_grant(uni, contest):
    order = draft(uni, everyone(contest), f"{contest.code}:2=3")
    sign(order, uni)
    assert order.state == "signed"
    take_effect_by("2027-09-01")
    for student in (contest.top, contest.excellent, contest.up_to_b):
        assert student.funding == "grant"
    for student in (contest.mixed, contest.low, contest.debt, contest.f_once, contest.retaker):
        assert student.funding == "paid"
    line = by_student(order)[contest.top.id]
    assert line.applied_changes == {"funding": ["paid", "grant"]}
    text = get_kind("vacant_grant").item_text(line, "ru")
    assert text.startswith("Присудить вакантный государственный образовательный грант обучающемуся")
    assert "Янов" in text
    assert "с 01.09.2027" in text


def test_grant_applicant_and_inactive_student_block(uni, make, contest):
    holder = make.student(contest.group, funding="grant", surname="Грантов")
    away = make.student(contest.group, funding="paid", status="academic_leave", surname="Отпускова")
    order = draft(uni, [contest.top, holder, away], f"{contest.code}:2=3")
    lines = by_student(order)
    assert [r["rule"] for r in lines[holder.id].eligibility] == ["vacant_grant.not_paid"]
    assert [r["rule"] for r in lines[away.id].eligibility] == ["vacant_grant.status"]
    assert lines[contest.top.id].params["outcome"] == "in"


def test_vacancies_parameter(uni, contest):
    kind = get_kind("vacant_grant")
    base = {"ground": "Решение", "effective_date": "2027-09-01"}
    params, errors = load(
        kind.params_schema(), {**base, "vacancies": f" {contest.code.lower()}:2 = 3; {contest.code}:3=1"}
    )
    assert errors == {} and params["vacancies"] == {f"{contest.code}:2": 3, f"{contest.code}:3": 1}
    for bad, words in (
        (f"{contest.code}=3", "is not programme code:course"),
        (f"{contest.code}:2", "code:course=number"),
        (f"{contest.code}:2=0", "whole number from 1"),
        ("6B99999:2=1", "No programme with code"),
        (f"{contest.code}:2=1, {contest.code}:2=2", "named twice"),
        ("", "Name at least one"),
    ):
        _params, errors = load(kind.params_schema(), {**base, "vacancies": bad})
        assert words in errors["vacancies"], (bad, errors)
    order = draft(uni, [contest.top], f"{contest.code}:3=1")
    line = order.lines[0]
    assert line.params["rules"] == ["vacant_grant.no_vacancy"] and line.params["outcome"] == "out"


def test_ranking_list_exports_hold_the_ranking(uni, contest):
    order = draft(uni, everyone(contest), f"{contest.code}:2=3")
    book = load_workbook(io.BytesIO(ranking_list.export_xlsx(order, order.lines)))
    rows = [row for row in book.active.iter_rows(values_only=True) if row and isinstance(row[0], int)]
    assert [row[1].split()[0] for row in rows] == ["Янов", "Жумабаев", "Бекова", "Абаев", "Ахметова"]
    assert rows[0][6].startswith("рекомендован") and rows[3][6].startswith("не рекомендован")
    excluded = [row for row in book.active.iter_rows(values_only=True) if row and row[0] == "—"]
    assert {row[7] for row in excluded} == {
        "имеется академическая задолженность",
        "имеется оценка F",
        "имеется повторное изучение дисциплины",
    }
    document = Document(io.BytesIO(ranking_list.export_docx(order, order.lines)))
    table = document.tables[0]
    names = [row.cells[1].text.split()[0] for row in table.rows[1:]]
    assert names[:5] == ["Янов", "Жумабаев", "Бекова", "Абаев", "Ахметова"]
    assert any(contest.code in p.text and "мест: 3" in p.text for p in document.paragraphs)


def test_next_ministry_deadline():
    assert ranking.next_deadline(date(2027, 7, 1)) == date(2027, 8, 5)
    assert ranking.next_deadline(date(2027, 8, 6)) == date(2028, 1, 15)
    assert ranking.next_deadline(date(2028, 1, 15)) == date(2028, 1, 15)


def test_pages_bulk_add_and_403_for_a_dean(client, uni, contest):
    order = operations.create_order(
        "vacant_grant",
        uni.clerk,
        {
            "vacancies": f"{contest.code}:2=2",
            "ground": "Решение № 5",
            "effective_date": "2027-09-01",
            "basis": "Заявления",
        },
    )
    dean_token, clerk_token = issue_token(uni.dean_a), issue_token(uni.clerk)
    db.session.commit()
    login(client, uni.dean_a)
    response = client.post(
        f"/orders/ranking/{order.id}/add", data={"programme_id": contest.group.programme_id, "course": 2}
    )
    assert response.status_code == 403
    response = client.post(
        f"/api/v1/ranking/{order.id}/add",
        json={"programme_id": contest.group.programme_id, "course": 2},
        headers={"Authorization": f"Bearer {dean_token}"},
    )
    assert response.status_code == 403
    login(client, uni.clerk)
    response = client.post(
        f"/orders/ranking/{order.id}/add", data={"programme_id": contest.group.programme_id, "course": 2}
    )
    assert response.status_code == 302
    assert len(order.lines) == 8  # every paid student of the programme and course
    page = client.get(f"/orders/ranking/{order.id}")
    assert page.status_code == 200
    assert "Next deadline for the ranking list to reach the ministry" in page.text
    assert "Академическая" not in page.text and "Academic debt: D2" in page.text
    xlsx = client.get(f"/orders/ranking/{order.id}/ranking.xlsx")
    assert xlsx.status_code == 200 and load_workbook(io.BytesIO(xlsx.data)).active["A1"].value
    login(client, uni.dean_a)
    assert client.get(f"/orders/ranking/{order.id}/ranking.docx").status_code == 200  # a reader may export
    data = client.get(f"/api/v1/ranking/{order.id}", headers={"Authorization": f"Bearer {clerk_token}"}).json
    ranked = [row["name"].split()[0] for row in data["sections"][0]["rows"] if row["rank"]]
    assert ranked == ["Янов", "Жумабаев", "Бекова", "Абаев", "Ахметова"]
    assert data["next_deadline"]
