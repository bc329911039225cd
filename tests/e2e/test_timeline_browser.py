"""An expulsion effective next week, in headless Chromium: signed today, the student stays active with the change
shown as scheduled; on the effective day the scheduler applies it, and the record as of the day before still says
active."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from core.clock import today
from registrar.cli import run_scheduler_once
from tests.e2e.test_browser import (
    ECO_GROUP,
    Session,
    _approve_from_inbox,
    _css_class,
    _next_order_label,
    _sign_from_inbox,
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
        page = clerk.page
        page.goto("/orders/new/expulsion")
        page.select_option("#reason", "own_request")
        page.fill("#effective_date", effective.isoformat())
        page.fill("#basis", "Личное заявление обучающегося")
        page.click("main form button.primary")
        expect(page).to_have_url(re.compile(r"/orders/\d+$"))
        order_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
        page.fill("main form.search input[name=q]", student["iin"])
        page.press("main form.search input[name=q]", "Enter")
        page.check(f"#s{student['id']}")
        page.click("main form:has(input[name=student_id]) button.primary")
        expect(page.locator("main tr:has(a[href*='/students/']) .ok")).to_have_count(1)
        page.click("button[data-trigger=submit]")

        for username in ("dean2", "registrar", "lawyer"):
            approver = Session(browser, live_server.url, username)
            sessions.append(approver)
            _approve_from_inbox(approver, order_id, lines=1)
        rector = Session(browser, live_server.url, "rector")
        sessions.append(rector)
        page = _sign_from_inbox(rector, order_id)
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
