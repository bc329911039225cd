"""A big order in headless Chromium: the clerk drafts the promotion of a whole faculty (a background job: the
outcomes page shows its progress, then the lines; the final-year students are listed apart), removes every refused
line in one action, and submits (a background job: the progress bar, then the result); the visas are given; the
rector signs with a progress bar and the page shows the signed order. The job threshold is lowered to 3 lines so the
demo's small faculty is a "big" order."""

import re
import threading
import time
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from core.clock import today
from core.db import db
from core.models import User
from orders import jobs, operations
from orders.models import Order, OrderLine
from students.academic import academic_year_of
from students.models import Faculty, Group, Programme, Student
from tests.conftest import visa_until_signature
from tests.e2e.test_browser import Session, _css_class

pytestmark = pytest.mark.e2e
FACULTY = "ECO"


def _one_student_in_another_order(app) -> tuple[int, date]:
    """A student of FACULTY (not in the final year) drafted into an expulsion first: the promotion refuses that line
    (one open order at a time), so there is at least one refused line to remove."""
    with app.app_context():
        student = db.session.scalar(
            select(Student)
            .join(Group, Group.id == Student.group_id)
            .join(Programme, Programme.id == Group.programme_id)
            .join(Faculty, Faculty.id == Programme.faculty_id)
            .where(Faculty.code == FACULTY, Student.status == "active", Student.course < Programme.duration_years)
            .order_by(Student.id)
        )
        clerk = db.session.scalar(select(User).where(User.username == "clerk"))
        order = operations.create_order(
            "expulsion", clerk, {"reason": "own_request", "effective_date": "2027-01-15", "basis": "Заявление"}
        )
        operations.add_students(order, [student.id], clerk)
        db.session.commit()
        faculty_id = db.session.scalar(select(Faculty.id).where(Faculty.code == FACULTY))
        day = today()
        db.session.remove()
    return faculty_id, day


def _wait_for_job(app, order_id: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with app.app_context():
            states = set(db.session.scalars(select(jobs.Job.state).where(jobs.Job.order_id == order_id)))
            db.session.remove()
        if states and not states & {"queued", "running"}:
            return
        time.sleep(0.2)
    raise AssertionError(f"the job of order {order_id} did not end: {states}")


def _give_visas(app, order_id: int) -> None:
    with app.app_context():
        order = db.session.get(Order, order_id)
        visa_until_signature(order, list(db.session.scalars(select(User).order_by(User.id))))
        db.session.commit()
        db.session.remove()


def test_the_clerk_cleans_and_submits_a_faculty_promotion_and_the_rector_signs(
    live_server, browser, artifacts, monkeypatch
):
    app = live_server.app
    monkeypatch.setitem(app.config, "JOB_THRESHOLD_LINES", 3)
    # The drafting's, the submit's and the signing's jobs each wait until the test has seen the progress bar.
    gates = [threading.Event(), threading.Event(), threading.Event()]
    waiting = list(gates)

    def held_until_seen(action):
        def held(order, actor, params):  # the same operation, started once the bar is on the screen
            # End the worker's read transaction first: held open while waiting, its SQLite read lock would deadlock
            # with the web requests' writes (a real job does not wait between its reads and its writes).
            db.session.commit()
            assert waiting.pop(0).wait(30), "the test never saw the progress bar"
            return action(order, actor, params)

        return held

    for name in ("fire", "promotion_fill"):
        monkeypatch.setitem(jobs.ACTIONS, name, held_until_seen(jobs.ACTIONS[name]))
    faculty_id, day = _one_student_in_another_order(app)
    clerk = Session(browser, live_server.url, "clerk")
    rector = Session(browser, live_server.url, "rector")
    try:
        page = clerk.page
        page.goto("/orders/promotion/new")
        page.select_option("#faculty_id", value=str(faculty_id))
        expect(page.locator("#academic_year")).to_have_value(academic_year_of(day))
        page.fill("#effective_date", date(day.year + 1, 9, 1).isoformat())
        page.fill("#basis", "Итоги экзаменационной сессии, представления деканов")
        page.click("main form button.primary")
        expect(page).to_have_url(re.compile(r"/orders/promotion/\d+$"))  # at once: the lines come from a job
        order_id = int(page.url.rsplit("/", 1)[1])
        expect(page.get_by_test_id("job-progress")).to_be_visible()
        expect(page.locator("tr[data-outcome]")).to_have_count(0)
        page.screenshot(path=str(artifacts / "big-order-drafting.png"), full_page=True)
        page.reload()  # a second look (or click) starts nothing: still the one job
        expect(page.get_by_test_id("job-progress")).to_be_visible()
        gates[0].set()
        expect(page.get_by_test_id("job-result")).to_have_class(_css_class("success"), timeout=30_000)
        with app.app_context():
            assert db.session.scalar(select(func.count(jobs.Job.id)).where(jobs.Job.order_id == order_id)) == 1
            db.session.remove()
        final_year = page.get_by_test_id("final-year")
        expect(final_year.locator("h2")).to_contain_text("(6)")  # the demo's final-year ECO students
        expect(final_year.locator("tr[data-final-year]").first).to_be_visible()

        page.goto(f"/orders/{order_id}")
        expect(page.get_by_test_id("final-year-note")).to_be_visible()
        remove = page.get_by_test_id("remove-refused")
        expect(remove).to_be_visible()
        refused = int(re.search(r"\d+", remove.inner_text()).group())
        page.screenshot(path=str(artifacts / "big-order-before-removal.png"), full_page=True)
        remove.click()
        expect(page.locator(".flash.success[role=status]")).to_contain_text(str(refused))  # not the job's result
        expect(page.get_by_test_id("remove-refused")).to_have_count(0)
        with app.app_context():
            lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)).all()
            assert lines and all(line.eligible for line in lines)
            left = len(lines)
            db.session.remove()

        page.click("button[data-trigger=submit]")  # more lines than the threshold: a background job
        expect(page).to_have_url(re.compile(rf"/orders/{order_id}$"))
        expect(page.get_by_test_id("job-progress")).to_be_visible()
        page.goto("/inbox")  # the clerk leaves while the job runs, and comes back to its result
        gates[1].set()
        _wait_for_job(app, order_id)
        page.goto(f"/orders/{order_id}")
        expect(page.get_by_test_id("job-result")).to_have_class(_css_class("success"))
        expect(page.get_by_test_id("order-state")).not_to_have_class(_css_class("draft"))
        _give_visas(app, order_id)

        page = rector.page
        page.goto(f"/orders/{order_id}")
        page.click("button[data-trigger=sign]")
        expect(page).to_have_url(re.compile(rf"/orders/{order_id}$"))
        expect(page.get_by_test_id("job-progress")).to_be_visible()
        expect(page.get_by_test_id("job-count")).to_contain_text(str(left))
        gates[2].set()
        expect(page.get_by_test_id("order-state")).to_have_class(_css_class("signed"), timeout=30_000)
        expect(page.get_by_test_id("job-result")).to_have_class(_css_class("success"))
        expect(page.get_by_test_id("order-number")).not_to_be_empty()
        page.screenshot(path=str(artifacts / "big-order-signed.png"), full_page=True)
        with app.app_context():
            count = db.session.scalar(select(func.count(OrderLine.id)).where(OrderLine.order_id == order_id))
            assert count == left
            db.session.remove()
    finally:
        for gate in gates:
            gate.set()
        clerk.close()
        rector.close()
