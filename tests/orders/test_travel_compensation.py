"""Travel compensation: who is entitled (each refusal with its rule), the amount from the MRP recorded on the line,
the money route with the finance visa, no change to the student's record, the wording in the DOCX."""

import pytest
from flask import current_app
from sqlalchemy import select

from core.db import db
from orders import operations
from orders.operations import InvalidInput
from students.models import Group, Programme, StudentMovement
from tests.builders import clerk_draft, document_text, rules
from tests.conftest import sign
from workflow.models import Visa

pytestmark = pytest.mark.usefixtures("english")


def draft(uni, students, season="winter", year=2026, effective_date="2026-01-20"):
    return clerk_draft(
        uni,
        "travel_compensation",
        {"season": season, "year": year, "effective_date": effective_date, "basis": "Представление декана"},
        students,
    )


def group_of(make, faculty, level="bachelor", study_form="full_time"):
    group = make.group(faculty, study_form=study_form)
    if level != "bachelor":
        db.session.get(Programme, group.programme_id).level = level
        db.session.flush()
        db.session.expire(group)
    return db.session.get(Group, group.id)


def test_the_amount_is_4_mrp_of_the_year_and_stays_on_the_line(uni, make):
    student = make.student(uni.ga)
    order = draft(uni, [student], year=2026)
    (line,) = order.lines
    assert line.eligibility == []
    assert line.params == {
        "season": "winter",
        "year": 2026,
        "mrp": 4325,
        "mrp_count": 4,
        "amount": 17300,
        "outcome": "in",
        "months": ["2026-01"],
    }
    assert str(line.effective_date) == "2026-01-20"
    rules_config = current_app.config["RULES"]
    before = rules_config["mrp"]
    rules_config["mrp"] = {**before, 2026: 5000}
    try:
        sign(order, uni)
    finally:
        rules_config["mrp"] = before
    db.session.refresh(line)
    assert line.params["amount"] == 17300  # a later change of the MRP never changes the order


def test_the_year_needs_an_mrp(uni):
    with pytest.raises(InvalidInput) as error:
        draft(uni, [], year=2031)
    assert error.value.errors["year"] == "No MRP is set for 2031; the administrator adds it to the rules (mrp)."


def test_season_and_payment_date_are_required(uni):
    with pytest.raises(InvalidInput) as error:
        operations.create_order(
            "travel_compensation",
            uni.clerk,
            {"season": "spring", "year": 2026, "effective_date": "20.01.2026", "basis": "x"},
        )
    assert set(error.value.errors) == {"season", "effective_date"}


def test_a_paid_student_is_refused(uni, make):
    student = make.student(uni.ga, funding="paid", surname="Ким", name="Анна")
    (line,) = draft(uni, [student]).lines
    assert line.eligibility == [
        {
            "rule": "travel.not_grant",
            "message": "Ким Анна Серикович does not study on a state grant (funding: paid): travel compensation is "
            "paid "
            "only to students of the state educational order.",
            "data": {"funding": "paid"},
            "absolute": True,
        }
    ]
    with pytest.raises(InvalidInput) as error:
        operations.override_line(line.order, line.id, "Решение ученого совета", uni.registrar)
    assert error.value.errors["justification"].startswith("This rule cannot be waived: Ким Анна Серикович does not")


def test_a_doctoral_student_is_refused_a_master_is_not(uni, make):
    doctoral = make.student(group_of(make, uni.fa, level="doctoral"), surname="Ли")
    master = make.student(group_of(make, uni.fa, level="master"), surname="Ан")
    lines = {line.student_id: line for line in draft(uni, [doctoral, master]).lines}
    assert rules(lines[doctoral.id]) == ["travel.level"]
    assert lines[doctoral.id].eligibility[0]["message"] == (
        "Ли Нурлан Серикович is a doctoral student: travel compensation is paid only to bachelor and master students."
    )
    assert lines[master.id].eligibility == []


def test_a_part_time_student_is_refused(uni, make):
    student = make.student(group_of(make, uni.fa, study_form="part_time"))
    (line,) = draft(uni, [student]).lines
    assert rules(line) == ["travel.study_form"]
    assert line.eligibility[0]["message"].endswith(
        "studies part-time: travel compensation is paid only to full-time students."
    )


@pytest.mark.parametrize("status", ["academic_leave", "expelled"])
def test_only_active_students_are_compensated(status, uni, make):
    student = make.student(uni.ga, status=status)
    (line,) = draft(uni, [student]).lines
    assert rules(line) == ["travel.status"]
    assert line.eligibility[0]["data"] == {"status": status}


def test_one_compensation_per_season_and_year(uni, make):
    student = make.student(uni.ga, surname="Омарова", name="Жанна")
    first = draft(uni, [student])
    sign(first, uni)
    (line,) = draft(uni, [student]).lines
    assert rules(line) == ["travel.already_compensated"]
    assert line.eligibility[0]["message"] == (
        f"Омарова Жанна Сериковна was already compensated for the winter holidays of 2026 by order "
        f"{first.number_label} of {first.order_date:%d.%m.%Y}."
    )
    # the summer holidays, or the winter of another year, are another compensation
    assert draft(uni, [student], season="summer", effective_date="2026-07-10").lines[0].eligibility == []
    assert draft(uni, [student], year=2025, effective_date="2025-01-20").lines[0].eligibility == []


def test_an_open_order_for_the_same_season_blocks_a_second_one(uni, make):
    student = make.student(uni.ga)
    first = draft(uni, [student])
    (line,) = draft(uni, [student]).lines
    assert rules(line) == ["travel.open_order"]
    assert line.eligibility[0]["data"] == {"order_id": first.id, "state": "draft"}


def test_a_revoked_compensation_does_not_count(uni, make):
    student = make.student(uni.ga)
    first = draft(uni, [student])
    sign(first, uni)
    db.session.expire_all()
    revocation = operations.create_order(
        "revocation", uni.clerk, {"target": first.number_label, "basis": "Представление юриста"}
    )
    sign(revocation, uni)
    db.session.expire_all()
    assert first.superseded_as == "revoked"
    assert draft(uni, [student]).lines[0].eligibility == []


def test_money_route_with_the_finance_visa_and_no_change_to_the_record(uni, make):
    student = make.student(uni.ga)
    before = (student.status, student.funding, student.course, student.group_id)
    order = draft(uni, [student])
    assert order.route_name == "money"
    sign(order, uni)
    db.session.expire_all()
    assert order.state == "signed" and order.number_label
    steps = [visa.step for visa in db.session.scalars(select(Visa).where(Visa.order_id == order.id))]
    assert "finance" in steps
    assert (student.status, student.funding, student.course, student.group_id) == before
    (movement,) = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert (movement.kind, movement.changes) == ("travel_compensation", {"travel_compensation": [None, 17300]})


def test_wording_in_the_document(uni, make):
    student = make.student(uni.ga, surname="Сапарова", name="Дана")
    order = draft(uni, [student])
    sign(order, uni)
    db.session.expire_all()
    text = document_text(order)
    assert "О выплате компенсации за проезд" in text
    assert ("компенсацию за проезд в период зимних каникул 2026 года в размере 4 МРП (17\u00a0300 тенге).") in text
    assert "Выплатить обучающейся" in text and "Сапаровой Дане Сериковне (ИИН" in text
    assert (
        "2026 жылғы қысқы демалыс кезеңіндегі жол жүру өтемақысы 4 АЕК (17\u00a0300 теңге) мөлшерінде төленсін." in text
    )
