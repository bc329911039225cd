"""The registrar head opens the 3-NK form in headless Chromium, follows a figure to the students behind it, and
exports the form: the XLSX holds the same figure in the cell the paper form puts it."""

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.test_browser import Session

pytestmark = pytest.mark.e2e


def test_the_registrar_opens_and_exports_the_3nk_form(live_server, browser, artifacts):
    registrar = Session(browser, live_server.url, "registrar")
    page = registrar.page
    page.goto("/reports/")
    page.click("main a[href$='/reports/forms']")
    page.click("main a[href*='/reports/forms/3nk']")
    total = page.get_by_test_id("form-table-1").locator("tr").nth(3).locator("td").first
    figure = total.inner_text().strip()
    assert int(figure) > 0
    page.screenshot(path=str(artifacts / "form-3nk.png"), full_page=True)
    page.get_by_test_id("not-filled-1").wait_for()
    with page.expect_download() as download:
        page.click("[data-testid=export-xlsx]")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))  # a temporary name, no .xlsx
    assert str(book["3nk 1"]["C8"].value) == figure
    total.locator("a").click()
    expect(page).to_have_url(re.compile(r"/reports/contingent/students\?"))
    expect(page.get_by_test_id("list-total")).to_contain_text(f": {figure}")
    registrar.close()
