"""The dashboard in headless Chromium: the registrar head and the rector sign in and land on it; its SVG charts draw
one bar or point per figure, and the figures are the demo university's (five years of history), read independently
from the database; it fits a phone and prints without the navigation."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect
from sqlalchemy import func, select

from core.clock import today
from core.db import db
from core.labels import label
from core.models import User
from orders import operations
from reports.dashboard import census_day
from students.history import contingent_on
from students.models import Faculty, Group, Programme, Student, StudentMovement
from tests.e2e.test_browser import ECO_GROUP, Session, _student_in
from workflow.engine import fire

pytestmark = pytest.mark.e2e
STUDYING = ("active", "academic_leave")


def _expected(app) -> dict:
    """The figures as the data holds them, each counted its own way (current records, the timeline row by row)."""
    with app.app_context(), app.test_request_context():
        # one order waiting for the deans, overdue
        clerk = db.session.scalar(select(User).where(User.username == "clerk"))
        order = operations.create_order(
            "expulsion", clerk, {"reason": "own_request", "effective_date": today().isoformat(), "basis": "Заявление"}
        )
        operations.add_students(order, [_student_in(ECO_GROUP)["id"]], clerk)
        fire(order, "submit", clerk)
        order.due_at = datetime.now(UTC) - timedelta(days=2)
        db.session.commit()
        language = db.session.scalar(select(User.language).where(User.username == "registrar"))
        faculties = dict(
            db.session.execute(
                select(Faculty.code, func.count(Student.id))
                .join(Programme, Programme.faculty_id == Faculty.id)
                .join(Group, Group.programme_id == Programme.id)
                .join(Student, Student.group_id == Group.id)
                .where(Student.status.in_(STUDYING))
                .group_by(Faculty.code)
            ).all()
        )
        latest = census_day(today())
        trend = {}
        for offset in range(4, -1, -1):
            day = latest.replace(year=latest.year - offset)
            trend[f"{day:%d.%m.%Y}"] = str(sum(1 for row in contingent_on(day) if row.status in STUDYING))
        first = today().replace(day=1)
        kinds = {}
        for movement in db.session.scalars(
            select(StudentMovement).where(StudentMovement.effective_date >= first, StudentMovement.voided_at.is_(None))
        ):
            if movement.effective_date.month == first.month:
                kinds[movement.kind] = kinds.get(movement.kind, 0) + 1
        with force_locale(language):
            movements = {label(kind).capitalize(): str(count) for kind, count in kinds.items()}
            waiting = label("review_dean").capitalize()
        db.session.remove()
    return {
        "total": sum(faculties.values()),
        "faculties": {code: str(count) for code, count in faculties.items()},
        "trend": trend,
        "movements": movements,
        "waiting": waiting,
    }


def _bars(page, chart: str, kind: str = "bar") -> dict[str, str]:
    groups = page.locator(f"svg#{chart} g.{kind}")
    return {
        groups.nth(i).get_attribute("data-label"): groups.nth(i).get_attribute("data-value")
        for i in range(groups.count())
    }


def test_the_registrar_head_and_the_rector_land_on_the_dashboard_and_read_its_charts(live_server, browser, artifacts):
    expected = _expected(live_server.app)
    assert len(expected["trend"]) == 5 and all(int(v) > 0 for v in expected["trend"].values()), "no history"
    sessions = []
    try:
        for username in ("registrar", "rector"):
            person = Session(browser, live_server.url, username)
            sessions.append(person)
            page = person.page
            expect(page).to_have_url(re.compile(r"/dashboard$"))  # the home page after signing in
            for chart in ("chart-faculties", "chart-trend", "chart-movements", "chart-waiting", "chart-payments"):
                svg = page.locator(f"svg#{chart}")
                expect(svg).to_be_visible()
                expect(svg).to_have_attribute("role", "img")
                assert svg.locator("title").first.text_content().strip()
            expect(page.get_by_test_id("contingent-total")).to_contain_text(str(expected["total"]))
            faculties = _bars(page, "chart-faculties")
            assert {name.split(" · ")[0]: value for name, value in faculties.items()} == expected["faculties"]
            assert page.locator("svg#chart-faculties g.bar rect").count() == len(expected["faculties"])
            assert _bars(page, "chart-trend", "point") == expected["trend"]
            assert page.locator("svg#chart-trend circle").count() == 5
            assert _bars(page, "chart-movements") == expected["movements"]
            assert expected["movements"], "the demo has movements this month"
            waiting = page.locator("svg#chart-waiting g.bar")
            expect(waiting).to_have_count(1)
            expect(waiting).to_have_attribute("data-label", expected["waiting"])
            expect(waiting).to_have_attribute("data-value", "1")
            expect(waiting.locator("rect.part")).to_have_count(1)  # overdue, drawn in red
            if username == "registrar":
                page.screenshot(path=str(artifacts / "dashboard-registrar.png"), full_page=True)
                page.emulate_media(media="print")
                expect(page.locator("header.top")).to_be_hidden()
                expect(page.locator("svg#chart-trend")).to_be_visible()
                page.emulate_media(media="screen")
        phone = Session(
            browser,
            live_server.url,
            "rector",
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        sessions.append(phone)
        expect(phone.page.locator("svg#chart-trend")).to_be_visible()
        assert phone.fits_the_screen(), "the dashboard is wider than the phone screen"
        phone.page.screenshot(path=str(artifacts / "dashboard-rector-phone.png"), full_page=True)
    finally:
        for person in sessions:
            person.close()
