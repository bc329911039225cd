"""The state scholarship for the autumn semester in headless Chromium: the clerk drafts it for one faculty's course;
the student with only A/A- in the summer session is appointed the excellent amount, the one with a C is not and is
listed in the appendix with the reason; the order travels dean -> registrar -> finance -> rector; then the finance
officer, on a phone, finds the paid months in the scholarship register with the amount and the order number, and
the XLSX export holds the same rows."""

import re

import pytest
from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import delete, select

from core.clock import today
from core.db import db
from orders.models import Order
from orders.register.payments import month_range
from students.academic import AcademicCalendar, Grade, academic_year_of
from students.grades import grade_values
from students.models import Faculty, Group, Programme, Student
from tests.e2e.test_browser import PHONE, Session, _css_class, _sign_from_inbox

pytestmark = pytest.mark.e2e

FACULTY = "ECO"  # dean2
COURSE = 2  # autumn of course 2 is paid by the summer session of course 1: semester 2 of last academic year
EXCELLENT = 54205  # rule("scholarship_amounts"): bachelor_excellent
SESSION = (("E2E-S1", "Макроэкономика", 95, 90), ("E2E-S2", "Статистика", 92, 65))  # code, name, excellent, out


def _prepare(app) -> dict:
    """Exactly two active state-grant students in the faculty's course, with known grades of the summer session."""
    with app.app_context():
        faculty = db.session.scalar(select(Faculty).where(Faculty.code == FACULTY))
        in_course = (
            select(Student)
            .join(Student.group)
            .join(Group.programme)
            .where(
                Programme.faculty_id == faculty.id,
                Programme.level == "bachelor",
                Group.course == COURSE,
                Student.status == "active",
            )
            .order_by(Student.id)
        )
        students = list(db.session.scalars(in_course))
        assert len(students) >= 2, f"the demo university has fewer than two students in {FACULTY}, course {COURSE}"
        excellent, weak = students[:2]
        for other in students[2:]:
            other.funding = "paid"  # out of the scope, so the counts and the register are exact
        for student in (excellent, weak):
            student.funding = "grant"
        # this test's own grades instead of the demo's (no FX from another semester, no other session grade)
        db.session.execute(delete(Grade).where(Grade.student_id.in_([excellent.id, weak.id])))
        year = academic_year_of(today())
        last_year = f"{int(year[:4]) - 1}-{year[:4]}"
        session = 2 * COURSE - 2
        for code, name, *points_of in SESSION:
            for student, points in zip((excellent, weak), points_of, strict=True):
                db.session.add(Grade(student_id=student.id, **grade_values(code, name, session, last_year, points)))
        calendar = db.session.scalar(select(AcademicCalendar).where(AcademicCalendar.year == year))
        months = month_range(calendar.first_semester_start, calendar.first_session_end)  # e.g. 2026-09 .. 2027-01
        db.session.commit()
        facts = {
            "faculty_id": faculty.id,
            "year": year,
            "months": months,
            "effective": today().isoformat(),
            "excellent": {
                "id": excellent.id,
                "name": excellent.full_name,
                "iin": excellent.iin,
                "group": excellent.group.name,
            },
            "weak": {"id": weak.id, "name": weak.full_name, "iin": weak.iin},
        }
        db.session.remove()
    return facts


def test_state_scholarship_from_draft_to_the_register(live_server, browser, artifacts, tmp_path):
    app = live_server.app
    facts = _prepare(app)
    best, weak, months = facts["excellent"], facts["weak"], facts["months"]
    sessions = {who: Session(browser, live_server.url, who) for who in ("clerk", "dean2", "registrar", "rector")}
    sessions["finance"] = Session(browser, live_server.url, "finance", **PHONE)

    # the clerk drafts the autumn scholarship of the faculty's course and sees who is in and who is out, and why
    page = sessions["clerk"].page
    page.goto("/orders/scholarship/new")
    expect(page.locator("#academic_year")).to_have_value(facts["year"])
    page.select_option("#semester", "1")
    page.select_option("#faculties", value=[str(facts["faculty_id"])])
    page.select_option("#courses", value=[str(COURSE)])
    page.fill("#effective_date", facts["effective"])
    page.fill("#basis", "Итоги летней экзаменационной сессии, протокол стипендиальной комиссии")
    page.get_by_test_id("scholarship-draft-form").locator("button.primary").click()
    expect(page).to_have_url(re.compile(r"/orders/scholarship/\d+$"))
    order_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".chip[data-outcome=in]")).to_contain_text("1")
    expect(page.locator(".chip[data-outcome=out]")).to_contain_text("1")
    appointed = page.locator("tr[data-outcome=in]")
    expect(appointed).to_have_count(1)
    expect(appointed).to_have_attribute("data-why", "scholarship.excellent")
    expect(appointed).to_contain_text(best["name"])
    expect(appointed).to_contain_text(f"{EXCELLENT:,}".replace(",", "\u00a0"))
    expect(appointed).to_contain_text(f"{months[0]} … {months[-1]} ({len(months)})")
    refused = page.locator("tr[data-outcome=out]")
    expect(refused).to_have_count(1)
    expect(refused).to_have_attribute("data-why", "scholarship.grade_c")
    expect(refused).to_contain_text(weak["name"])
    expect(refused).to_contain_text("C (65)")  # the lowest grade, the reason
    expect(page.locator("h2[data-outcome=out]")).to_be_visible()  # "not appointed (appendix of the order)"

    # submitted; the dean, the registrar office and finance visa from their inboxes; the rector signs
    page.click(f"main a[href$='/orders/{order_id}']")
    page.click("button[data-trigger=submit]")
    expect(page.get_by_test_id("order-state")).to_have_class(_css_class("review_dean"))
    for who in ("dean2", "registrar", "finance"):
        page = sessions[who].page
        page.goto("/inbox")
        page.click(f"main a[href$='/orders/{order_id}']")
        page.click("button[data-trigger=approve]")
        expect(page).to_have_url(re.compile(r"/inbox(\?.*)?$"))
    page = _sign_from_inbox(sessions["rector"], order_id)
    number = page.get_by_test_id("order-number").inner_text().strip()
    assert number
    with app.app_context():
        assert db.session.get(Order, order_id).number_label == number
        db.session.remove()

    # the signed document: the excellent student in the items, the weak one in the appendix with the reason
    with page.expect_download() as info:
        page.get_by_test_id("download-docx").click()
    paragraphs = [p.text for p in Document(info.value.path()).paragraphs]
    appointing = [text for text in paragraphs if "Назначить государственную стипендию" in text]
    assert len(appointing) == 1, appointing
    assert best["iin"] in appointing[0] and "54\u00a0205 тенге ежемесячно" in appointing[0], appointing
    heading = paragraphs.index("Приложение: обучающиеся, которым стипендия не назначена, с причиной")
    listed = [text for text in paragraphs[heading:] if weak["iin"] in text]
    assert len(listed) == 1 and "оценка ниже C+: C (65)" in listed[0], listed

    # finance, on a phone, filters the register for the paid months of the faculty's state scholarship
    finance = sessions["finance"]
    page = finance.page
    page.goto("/register")
    filters = page.get_by_test_id("register-filters")
    filters.locator("input[name=month_from]").fill(months[0])
    filters.locator("input[name=month_to]").fill(months[-1])
    filters.locator("select[name=faculty_id]").select_option(str(facts["faculty_id"]))
    filters.locator("select[name=kind]").select_option("state_scholarship")
    filters.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"month_from=" + months[0]))
    rows = page.locator("[data-testid=register-rows] tbody tr")
    expect(rows).to_have_count(len(months))
    expect(page.get_by_test_id("register-rows")).not_to_contain_text(weak["name"])
    total = f"{EXCELLENT * len(months):,}".replace(",", "\u00a0")
    expect(page.get_by_test_id("register-totals")).to_contain_text(total)
    seen = []
    for index in range(len(months)):
        cells = [c.strip() for c in rows.nth(index).locator("td").all_inner_texts()]
        assert cells[1:3] == [best["name"], best["iin"]]
        assert cells[6].split()[0] == number
        assert cells[7] == cells[8] == f"{EXCELLENT:,}".replace(",", "\u00a0")
        expect(rows.nth(index)).to_have_class(_css_class("paid"))
        seen.append((cells[0], cells[1], cells[2], cells[6].split()[0], EXCELLENT, EXCELLENT))
    assert [row[0] for row in seen] == months
    page.screenshot(path=str(artifacts / "register-finance-phone.png"), full_page=True)
    assert finance.fits_the_screen(), "the register is wider than the phone screen"

    # the XLSX export with the same filters holds the same rows
    with page.expect_download() as info:
        page.get_by_test_id("register-export").click()
    download = info.value
    assert download.suggested_filename == f"register-{months[0]}-{months[-1]}.xlsx"
    assert f"faculty_id={facts['faculty_id']}" in download.url and "kind=state_scholarship" in download.url
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    sheet = load_workbook(saved).active
    values = [row for row in sheet.iter_rows(min_row=3, values_only=True)]
    body, total = values[:-1], values[-1]
    assert [(r[0], r[1], r[2], r[6], r[8], r[9]) for r in body] == seen
    assert total[8] == total[9] == EXCELLENT * len(months)

    for session in sessions.values():
        session.close()
