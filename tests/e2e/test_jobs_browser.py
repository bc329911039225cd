"""The rector signs a big order in headless Chromium: the click returns at once to the order page, which shows the
progress bar of the background job (polled by static/jobs.js), then reloads itself on the signed order with the
result. The threshold is lowered to 3 lines to keep the order small; the job is held until the bar was seen."""

import re
import threading
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.db import db
from core.models import User
from orders import jobs, operations
from students.models import Faculty, Group, Programme, Student
from tests.conftest import visa_until_signature
from tests.e2e.test_browser import Session, _css_class
from workflow.engine import fire

pytestmark = pytest.mark.e2e
LINES = 6


def _order_awaiting_signature() -> int:
    students = list(
        db.session.scalars(
            select(Student.id)
            .join(Student.group)
            .join(Group.programme)
            .join(Programme.faculty)
            .where(Faculty.code == "IT", Student.status == "active", Group.course < 4)
            .order_by(Student.id)
            .limit(LINES)
        )
    )
    assert len(students) == LINES, "the demo university has too few IT students"
    users = {u.username: u for u in db.session.scalars(select(User))}
    order = operations.create_order(
        "expulsion",
        users["clerk"],
        {"reason": "own_request", "effective_date": date.today().isoformat(), "basis": "Личные заявления"},
    )
    operations.add_students(order, students, users["clerk"])
    fire(order, "submit", users["clerk"])
    visa_until_signature(order, [users[name] for name in ("dean1", "registrar", "lawyer")])
    db.session.commit()
    return order.id


def test_the_rector_signs_a_big_order_with_a_progress_bar(live_server, browser, artifacts, monkeypatch):
    app = live_server.app
    monkeypatch.setitem(app.config, "JOB_THRESHOLD_LINES", 3)
    seen = threading.Event()
    sign = jobs.ACTIONS["fire"]

    def held_until_seen(order, actor, params):  # the same operation, started once the bar is on the screen
        assert seen.wait(30), "the test never saw the progress bar"
        return sign(order, actor, params)

    monkeypatch.setitem(jobs.ACTIONS, "fire", held_until_seen)
    with app.app_context():
        order_id = _order_awaiting_signature()
        db.session.remove()

    rector = Session(browser, live_server.url, "rector")
    try:
        page = rector.page
        page.goto(f"/orders/{order_id}")
        page.click("button[data-trigger=sign]")
        expect(page).to_have_url(re.compile(rf"/orders/{order_id}$"))
        expect(page.get_by_test_id("job-progress")).to_be_visible()
        expect(page.get_by_test_id("job-count")).to_contain_text(str(LINES))
        expect(page.get_by_test_id("order-state")).to_have_class(_css_class("awaiting_signature"))
        expect(page.locator("button[data-trigger=sign]")).to_have_count(0)
        page.screenshot(path=str(artifacts / "order-signing-in-background.png"), full_page=True)
        seen.set()
        # jobs.js polls and reloads the page once the job has ended
        expect(page.get_by_test_id("order-state")).to_have_class(_css_class("signed"), timeout=30_000)
        expect(page.get_by_test_id("job-result")).to_have_class(_css_class("success"))
        expect(page.get_by_test_id("order-number")).not_to_be_empty()
        expect(page.get_by_test_id("job-progress")).to_have_count(0)
    finally:
        seen.set()
        rector.close()
