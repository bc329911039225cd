"""A stranger checks a signed order in headless Chromium: the rector signs, the DOCX is downloaded, and a visitor who
is not signed in follows the QR code printed in it to the public verification page, uploads the file and is told it
is genuine; the same file with one byte changed is not."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import ECO_GROUP, Session, _add_student, _approve_and_sign, _draft_expulsion, _student_in
from tests.qr import decode_png, footer_images

pytestmark = pytest.mark.e2e


def test_a_visitor_follows_the_qr_code_and_is_told_the_downloaded_order_is_genuine(
    live_server, browser, artifacts, tmp_path
):
    with live_server.app.app_context():
        student = _student_in(ECO_GROUP)
    sessions: list[Session] = []
    clerk = Session(browser, live_server.url, "clerk")
    sessions.append(clerk)
    order_id = _draft_expulsion(clerk, date.today(), "Личное заявление обучающегося")
    _add_student(clerk.page, student["iin"], student)
    clerk.page.click("button[data-trigger=submit]")
    page = _approve_and_sign(browser, live_server.url, sessions, order_id)
    number = page.get_by_test_id("order-number").inner_text()
    with page.expect_download() as info:
        page.get_by_test_id("download-docx").click()
    docx = tmp_path / "order.docx"
    info.value.save_as(docx)
    content = docx.read_bytes()

    [image] = footer_images(content)
    url = decode_png(image)
    assert url.startswith(f"{live_server.url}/verify/")

    visitor = browser.new_context(accept_downloads=True, viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = visitor.new_page()
        page.goto(url)
        expect(page.locator("h1")).to_contain_text(number)
        expect(page.get_by_test_id("verify-status")).not_to_have_class(re.compile("superseded"))
        expect(page.locator("main")).not_to_contain_text(student["iin"])
        expect(page.locator("main")).not_to_contain_text(student["name"])
        page.set_input_files("input[type=file]", str(docx))
        page.get_by_test_id("verify-upload").click()
        expect(page.get_by_test_id("verdict")).to_have_attribute("data-genuine", "yes")
        page.screenshot(path=str(artifacts / "verify-genuine-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "wider than the phone"

        forged = tmp_path / "forged.docx"
        changed = bytearray(content)
        changed[len(changed) // 2] ^= 1
        forged.write_bytes(bytes(changed))
        page.set_input_files("input[type=file]", str(forged))
        page.get_by_test_id("verify-upload").click()
        expect(page.get_by_test_id("verdict")).to_have_attribute("data-genuine", "no")
    finally:
        visitor.close()
    for session in sessions:
        session.close()
