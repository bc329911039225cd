"""An expulsion effective next week, in headless Chromium: signed today, the student stays active with the change
shown as scheduled; on the effective day the scheduler applies it, and the record as of the day before still says
active."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from core.clock import today
from registrar.cli import run_scheduler_once
from tests.e2e.test_browser import (
    ECO_GROUP,
    Session,
    _add_student,
    _approve_and_sign,
    _css_class,
    _draft_expulsion,
    _next_order_label,
    _student_in,
)

pytestmark = pytest.mark.e2e


def test_an_expulsion_signed_today_takes_effect_next_week(live_server, browser, artifacts):
    app = live_server.app
    signing = datetime.now(UTC).replace(microsecond=0)
    app.config["CLOCK_NOW"] = signing
    try:
        with app.app_context():
            student = _student_in(ECO_GROUP)
            effective = today() + timedelta(days=7)
        number = _next_order_label(app)
        sessions: list[Session] = []

        clerk = Session(browser, live_server.url, "clerk")
        sessions.append(clerk)
        order_id = _draft_expulsion(clerk, effective, "Личное заявление обучающегося")
        page = clerk.page
        _add_student(page, student["iin"], student)
        expect(page.locator("main tr:has(a[href*='/students/']) .ok")).to_have_count(1)
        page.click("button[data-trigger=submit]")

        page = _approve_and_sign(browser, live_server.url, sessions, order_id)
        expect(page.get_by_test_id("effect")).to_contain_text(f"{effective:%d.%m.%Y}")

        # signed today: the student is still active, and the page says what is coming and from when
        page = clerk.page
        page.goto(f"/students/{student['id']}")
        expect(page.get_by_test_id("student-status")).to_have_class(_css_class("active"))
        scheduled = page.get_by_test_id("scheduled")
        expect(scheduled).to_contain_text(f"{effective:%d.%m.%Y}")
        expect(scheduled).to_contain_text(number)
        page.screenshot(path=str(artifacts / "student-scheduled.png"), full_page=True)

        # the effective day comes and the scheduler runs
        app.config["CLOCK_NOW"] = signing + timedelta(days=7)
        result = run_scheduler_once(app)
        assert result is not None and result["effects"] == {"movements": 1, "orders": 1}
        page.reload()
        expect(page.get_by_test_id("student-status")).to_have_class(_css_class("expelled"))
        expect(page.get_by_test_id("scheduled")).to_have_count(0)

        # the record as of the day before still says active
        page.fill("#as-of-date", (effective - timedelta(days=1)).isoformat())
        page.click("section.as-of form button")
        expect(page.get_by_test_id("as-of-status")).to_have_class(_css_class("active"))
        page.fill("#as-of-date", effective.isoformat())
        page.click("section.as-of form button")
        expect(page.get_by_test_id("as-of-status")).to_have_class(_css_class("expelled"))
        page.goto(f"/orders/{order_id}")
        expect(page.get_by_test_id("effect")).to_contain_text(f"{effective:%d.%m.%Y}")

        for session in sessions:
            session.close()
    finally:
        app.config.pop("CLOCK_NOW", None)
