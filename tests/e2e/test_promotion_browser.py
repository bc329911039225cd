"""Year-end promotion in headless Chromium: the clerk drafts the promotion of one programme's course in one step;
the student with good results lands in "promote", the one below the transfer GPA in "needs a repeat year"; one
button turns that student into a repeat-year draft; both orders travel dean -> registrar -> rector; afterwards the
first student is on the next course and the second repeats the course on a paid basis."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from core.clock import today
from core.db import db
from core.rules import rule
from orders.models import Order
from orders.operations import apply_due_effects
from students.academic import CurriculumItem, Grade, academic_year_of
from students.grades import grade_values
from students.models import Group, Student
from tests.e2e.test_browser import Session, _css_class, _sign_from_inbox

pytestmark = pytest.mark.e2e

GROUP = "6B06101-24Р"  # faculty IT: dean1


def _prepare(app) -> dict:
    """Exactly two active students in GROUP's programme and course, with the year's grades: one good, one weak."""
    with app.app_context():
        group = db.session.scalar(select(Group).where(Group.name == GROUP))
        mates = list(
            db.session.scalars(
                select(Student)
                .join(Student.group)
                .where(
                    Group.programme_id == group.programme_id, Group.course == group.course, Student.status == "active"
                )
                .order_by(Student.id)
            )
        )
        extra = list(
            db.session.scalars(
                select(Student)
                .where(Student.group_id != group.id, Student.status == "active")
                .order_by(Student.id)
                .limit(2)
            )
        )
        strong, weak = (mates + extra)[:2]
        for other in mates[2:]:
            other.status = "graduated"  # out of the scope, so the outcome counts are exact
        for student in (strong, weak):
            student.group_id, student.course, student.funding = group.id, group.course, "grant"
        # this test's own curriculum and grades instead of the demo's, so the GPAs are known exactly
        db.session.execute(delete(Grade).where(Grade.student_id.in_([strong.id, weak.id])))
        db.session.execute(delete(CurriculumItem).where(CurriculumItem.programme_id == group.programme_id))
        year = academic_year_of(today())
        for semester in (2 * group.course - 1, 2 * group.course):
            item = CurriculumItem(
                programme_id=group.programme_id,
                semester=semester,
                code=f"E2E{semester}",
                name_kk=f"Пән {semester}",
                name_ru=f"Дисциплина {semester}",
                name_en=f"Discipline {semester}",
                credits=5,
            )
            db.session.add(item)
            for student, points in ((strong, 95), (weak, 55)):
                values = grade_values(item.code, item.name_ru, semester, year, points)
                db.session.add(Grade(student_id=student.id, **values))
        db.session.commit()
        facts = {
            "programme_id": group.programme_id,
            "course": group.course,
            "year": year,
            "strong": (strong.id, strong.full_name),
            "weak": (weak.id, weak.full_name),
            "effective": (today() + timedelta(days=1)).isoformat(),
            "threshold": f"{rule('transfer_gpa')[group.programme.level][group.course]:.2f}",
        }
        db.session.remove()
    return facts


def _through_the_route(sessions: dict[str, Session], order_id: int) -> None:
    """Submit as clerk, visa as dean1 and registrar from their inboxes, sign as rector."""
    page = sessions["clerk"].page
    page.goto(f"/orders/{order_id}")
    page.click("button[data-trigger=submit]")
    for who in ("dean1", "registrar"):
        page = sessions[who].page
        page.goto("/inbox")
        page.click(f"main a[href$='/orders/{order_id}']")
        page.click("button[data-trigger=approve]")
        expect(page).to_have_url(re.compile(r"/inbox(\?.*)?$"))
    _sign_from_inbox(sessions["rector"], order_id)


def test_promotion_with_a_refused_student_turned_into_a_repeat_year(live_server, browser):
    app = live_server.app
    facts = _prepare(app)
    sessions = {who: Session(browser, live_server.url, who) for who in ("clerk", "dean1", "registrar", "rector")}

    # the clerk drafts the promotion of the whole course of the programme in one step
    page = sessions["clerk"].page
    page.goto("/orders/")
    page.click("a[href$='/orders/promotion/new']")
    page.select_option("#programme_id", value=str(facts["programme_id"]))
    page.fill("#course", str(facts["course"]))
    expect(page.locator("#academic_year")).to_have_value(facts["year"])
    page.fill("#effective_date", facts["effective"])
    page.fill("#basis", "Итоги экзаменационной сессии, представления деканов")
    page.click("main form button.primary")
    expect(page).to_have_url(re.compile(r"/orders/promotion/\d+$"))
    promotion_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("[data-outcome=promote].chip")).to_contain_text("1")
    expect(page.locator("[data-outcome=repeat_year].chip")).to_contain_text("1")
    weak_row = page.locator("tr[data-outcome=repeat_year]")
    expect(weak_row).to_contain_text(facts["weak"][1])
    expect(weak_row).to_contain_text("1.33")  # the weak student's GPA (D, 55 points) ...
    expect(weak_row).to_contain_text(facts["threshold"])  # ... and the course's transfer GPA

    # one button: the weak student leaves the promotion and gets a repeat-year draft
    page.click("[data-testid=split-refused]")
    expect(page.locator("[data-outcome=repeat_year].chip")).to_contain_text("0")
    with app.app_context():
        repeat = db.session.scalar(select(Order).where(Order.kind == "repeat_year"))
        assert [line.student_id for line in repeat.lines] == [facts["weak"][0]]
        repeat_id = repeat.id
        db.session.remove()

    _through_the_route(sessions, promotion_id)
    _through_the_route(sessions, repeat_id)
    page = sessions["rector"].page
    page.goto(f"/orders/{repeat_id}")
    expect(page.get_by_test_id("order-state")).to_have_class(_css_class("signed"))

    with app.app_context():  # the orders take effect tomorrow: the scheduler's pass of that day
        apply_due_effects(date.fromisoformat(facts["effective"]))
        db.session.commit()
        strong = db.session.get(Student, facts["strong"][0])
        weak = db.session.get(Student, facts["weak"][0])
        assert (strong.course, strong.group.course, strong.group.programme_id, strong.funding) == (
            facts["course"] + 1,
            facts["course"] + 1,
            facts["programme_id"],
            "grant",
        )
        assert (weak.course, weak.group.name, weak.status, weak.funding) == (facts["course"], GROUP, "active", "paid")
        db.session.remove()
    for session in sessions.values():
        session.close()
