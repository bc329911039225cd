"""The reports in headless Chromium, as the registrar head reads them: the dashboard's charts, then last academic
year's movement, a number in it opened to the students and the orders behind it."""

import re

import pytest
from playwright.sync_api import expect

from core.clock import today
from tests.e2e.test_browser import Session

pytestmark = pytest.mark.e2e


def _last_academic_year() -> tuple[str, str]:
    start = today().year - (1 if today().month >= 9 else 2)
    return f"{start}-09-01", f"{start + 1}-08-31"


def test_the_registrar_head_follows_a_movement_figure_to_its_students_and_orders(live_server, browser, artifacts):
    registrar = Session(browser, live_server.url, "registrar")
    try:
        page = registrar.page
        expect(page).to_have_url(re.compile(r"/dashboard$"))
        expect(page.locator("svg#chart-trend circle")).to_have_count(5)

        with live_server.app.app_context():
            first, last = _last_academic_year()
        page.goto(f"/reports/movement?first={first}&last={last}&rows=faculty")
        grid = page.get_by_test_id("report-grid")
        expect(grid).to_be_visible()
        expect(page.get_by_test_id("report-error")).to_have_count(0)
        # a figure of people who went out during the year (expelled, graduated, ...), not a count at a day's end
        figures = grid.locator("a[href*='/movement/steps'][href*='bucket=']")
        assert figures.count() > 0, "last year's movement has no figure to open"
        figure = figures.first
        count = int(figure.text_content().strip())
        assert count > 0
        figure.click()

        expect(page).to_have_url(re.compile(r"/reports/movement/steps"))
        expect(page.get_by_test_id("list-total")).to_contain_text(str(count))
        students = page.get_by_test_id("report-grid").locator("a[href*='/students/']")
        orders = page.get_by_test_id("report-grid").locator("a[href*='/orders/']")
        assert students.count() > 0
        assert orders.count() > 0, "the list names no order behind the movement"
        page.screenshot(path=str(artifacts / "movement-steps.png"), full_page=True)

        number = orders.first.text_content().strip()
        orders.first.click()
        expect(page.get_by_test_id("order-number")).to_have_text(number)
    finally:
        registrar.close()
