"""President's and personal scholarships: 3rd-year bachelor / 2nd-year master rule, only A and A-, the quota cut
(university and faculty), ranking by GPA, the dated amount and months on each line, blocking only for real errors."""

from copy import deepcopy

import pytest
from flask import current_app

from core.db import db
from orders import operations
from orders.params import load
from orders.registry import get_kind
from students.models import Group, Programme
from tests.builders import clerk_draft
from tests.conftest import login, sign
from tests.orders.test_vacant_grant import grade

YEAR = "2025-2026"


pytestmark = pytest.mark.usefixtures("english")


def master_group(faculty, course):
    programme = Programme(
        code=f"7M{faculty.id:03d}{course}",
        name_kk="Магистратура",
        name_ru="Магистратура",
        name_en="Master",
        level="master",
        duration_years=2,
        faculty_id=faculty.id,
    )
    db.session.add(programme)
    db.session.flush()
    group = Group(
        name=f"M{faculty.id}-{course}", programme_id=programme.id, course=course, language="ru", study_form="full_time"
    )
    db.session.add(group)
    db.session.flush()
    return group


def student(make, group, surname, points, **kwargs):
    person = make.student(group, surname=surname, **kwargs)
    for n, mark in enumerate(points, 1):
        grade(person, f"D{n}", mark, semester=5)
    return person


def draft(uni, students, kind="president_scholarship", **params):
    return clerk_draft(
        uni,
        kind,
        {
            "academic_year": YEAR,
            "first_month": "2026-09",
            "last_month": "2026-12",
            "basis": "Решение ученого совета",
            **params,
        },
        students,
    )


def by_student(order):
    return {line.student_id: line for line in order.lines}


def test_course_rule_and_only_excellent(make, uni):
    third, second = make.group(uni.fa, course=3), make.group(uni.fa, course=2)
    m1, m2 = master_group(uni.fa, 1), master_group(uni.fa, 2)
    ok = student(make, third, "Третьякова", [96, 92])
    sophomore = student(make, second, "Второв", [100, 100])
    master_one = student(make, m1, "Первый", [100, 100])
    master_two = student(make, m2, "Вторая", [91, 90])
    good = student(make, third, "Хорошев", [96, 89])  # a B+
    order = draft(uni, [ok, sophomore, master_one, master_two, good], quota=10)
    lines = by_student(order)
    assert {sid for sid, line in lines.items() if line.params["outcome"] == "in"} == {ok.id, master_two.id}
    assert lines[sophomore.id].params["rule"] == "president.course"
    assert "eligible from course 3" in lines[sophomore.id].params["why"]
    assert lines[master_one.id].params["rule"] == "president.course"
    assert "eligible from course 2" in lines[master_one.id].params["why"]
    assert lines[good.id].params["rule"] == "president.grades"
    assert "B+" in lines[good.id].params["why"]
    assert all(line.eligible for line in order.lines)  # out is listed, not blocking


def test_quota_cut_by_university_and_faculty(make, uni):
    fa3, fb3 = make.group(uni.fa, course=3), make.group(uni.fb, course=3)
    first = student(make, fa3, "Яковлев", [100, 100])  # 4.00
    second = student(make, fa3, "Абенова", [96, 91])  # 3.84
    third = student(make, fa3, "Борисов", [91, 90])  # 3.67
    b_best = student(make, fb3, "Бекетов", [100, 96])  # 4.00, faculty FB
    order = draft(uni, [first, second, third, b_best], quota=2, faculty_quotas="FB=0")
    lines = by_student(order)
    assert lines[b_best.id].params["rule"] == "president.quota_faculty"
    assert [lines[s.id].params["outcome"] for s in (first, second, third)] == ["in", "in", "out"]
    assert lines[third.id].params["rule"] == "president.quota_university"
    assert "beyond the university quota of 2" in lines[third.id].params["why"]
    assert [lines[s.id].params["rank"] for s in (first, b_best, second, third)] == [2, 1, 3, 4]
    kind = get_kind("president_scholarship")
    assert "сверх квоты университета" in kind.item_text(lines[third.id], "ru")
    _params, errors = load(
        kind.params_schema(),
        {
            "academic_year": YEAR,
            "first_month": "2026-09",
            "last_month": "2026-05",
            "faculty_quotas": "ZZ=1",
            "quota": -1,
        },
    )
    assert set(errors) == {"last_month", "faculty_quotas", "quota"}


def test_payment_contract_and_dated_amount(make, uni, monkeypatch):
    group = make.group(uni.fa, course=3)
    winner = student(make, group, "Отличникова", [100, 95])
    order = draft(uni, [winner], quota=1)
    line = order.lines[0]
    assert line.params["outcome"] == "in"
    assert line.params["amount"] == 94270 and line.params["table_from"] == "2024-09-01"
    assert line.params["months"] == ["2026-09", "2026-10", "2026-11", "2026-12"]
    assert "в размере 94\u00a0270 тенге в месяц" in get_kind("president_scholarship").item_text(line, "ru")
    sign(order, uni)
    assert order.state == "signed" and order.number_label
    rules = deepcopy(current_app.config["RULES"])
    rules["president_scholarship_amounts"].append({"from": "2026-01-01", "bachelor": 100000, "master": 170000})
    monkeypatch.setitem(current_app.config, "RULES", rules)
    operations.check_lines(order)  # a later table never changes a signed order
    assert order.lines[0].params["amount"] == 94270
    other = student(make, group, "Новикова", [100, 95])
    later = draft(uni, [other], quota=1)
    assert later.lines[0].params["amount"] == 100000 and later.lines[0].params["table_from"] == "2026-01-01"


def test_personal_scholarship_and_blocking(make, uni):
    group = make.group(uni.fa, course=4)
    away = student(make, group, "Отпускова", [100, 100], status="academic_leave")
    fine = student(make, group, "Именная", [100, 100])
    order = draft(
        uni,
        [away, fine],
        kind="personal_scholarship",
        scholarship_ru="имени аль-Фараби",
        scholarship_kk="Әл-Фараби атындағы",
    )
    lines = by_student(order)
    assert [r["rule"] for r in lines[away.id].eligibility] == ["personal.status"]
    assert lines[fine.id].params["outcome"] == "in" and lines[fine.id].params["amount"] == 70703
    kind = get_kind("personal_scholarship")
    assert "стипендия имени аль-Фараби" in kind.item_text(lines[fine.id], "ru")
    assert "Әл-Фараби атындағы стипендиясы" in kind.item_text(lines[fine.id], "kk")
    _p, errors = load(kind.params_schema(), {"academic_year": YEAR, "first_month": "2026-09", "last_month": "2026-10"})
    assert "scholarship_ru" in errors


def test_candidates_in_bulk_and_dean_403(client, make, uni):
    third, second = make.group(uni.fa, course=3), make.group(uni.fa, course=2)
    best = student(make, third, "Лучшая", [100, 100])
    student(make, third, "Хорошев", [96, 85])
    student(make, second, "Второв", [100, 100])
    order = operations.create_order(
        "president_scholarship",
        uni.clerk,
        {"academic_year": YEAR, "first_month": "2026-09", "last_month": "2026-12", "basis": "Решение"},
    )
    db.session.commit()
    login(client, uni.dean_a)
    assert client.post(f"/orders/ranking/{order.id}/add", data={}).status_code == 403
    login(client, uni.clerk)
    assert client.post(f"/orders/ranking/{order.id}/add", data={"faculty_id": uni.fa.id}).status_code == 302
    assert [line.student_id for line in order.lines] == [best.id]
    page = client.get(f"/orders/ranking/{order.id}")
    assert page.status_code == 200 and "Лучшая" in page.text
