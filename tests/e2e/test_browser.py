"""An expulsion order travels the whole legal route in headless Chromium: the clerk drafts it, both deans visa it
(one of them on a phone), then the registrar office and the lawyer, the rector signs, and the results show up where
people look for them."""

import re
import time
from datetime import date

import pytest
from docx import Document
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from core.clock import today
from core.db import db
from notifications.models import OutboxMessage
from orders.models import Order
from orders.numbering import format_number
from students.models import Group, Student

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
IT_GROUPS = ("6B06101-24Р", "6B06102-23К")  # faculty IT: dean1
ECO_GROUP = "6B04101-25Р"  # faculty ECO: dean2


def _css_class(name: str) -> re.Pattern:
    return re.compile(rf"(^|\s){name}(\s|$)")


def _student_in(group_name: str) -> dict:
    student = db.session.scalar(
        select(Student).join(Student.group).where(Group.name == group_name).order_by(Student.id)
    )
    assert student is not None, f"the demo university has no student in {group_name}"
    return {
        "id": student.id,
        "iin": student.iin,
        "name": student.full_name,
        "email": student.email,
        "group": group_name,
    }


def _next_order_label(app) -> str:
    """The number the next signed order of this year gets (the demo's history has signed some this year)."""
    with app.app_context():
        series, year = app.config["ORDER_SERIES"], today().year
        taken = db.session.scalar(select(func.max(Order.number)).where(Order.year == year, Order.series == series))
        label = format_number((taken or 0) + 1, series, year)
        db.session.remove()
    return label


def _outbox(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.last_error)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


class Session:
    """One person in their own browser context; records every server error the pages hit."""

    def __init__(self, browser: Browser, base: str, username: str, **options):
        options.setdefault("viewport", DESKTOP)
        self.context: BrowserContext = browser.new_context(base_url=base, accept_downloads=True, **options)
        self.context.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.context.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        self.page: Page = self.context.new_page()
        self.page.goto("/login")
        self.page.fill("#username", username)
        self.page.fill("#password", "demo")
        self.page.click("main form button.primary")
        expect(self.page).not_to_have_url(re.compile(r"/login"))

    def close(self) -> None:
        self.context.close()
        assert not self.errors, f"server errors: {self.errors}"

    def fits_the_screen(self) -> bool:
        return self.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _sign_from_inbox(rector: Session, order_id: int):
    """The rector opens the one order in the inbox and signs it; returns the page showing the signed order."""
    page = rector.page
    page.goto("/inbox")
    expect(page.get_by_test_id("inbox-count")).to_have_text("1")
    page.click(f"main a[href$='/orders/{order_id}']")
    page.click("button[data-trigger=sign]")
    page.goto(f"/orders/{order_id}")
    expect(page.get_by_test_id("order-state")).to_have_class(_css_class("signed"))
    return page


def _draft_expulsion(clerk: Session, effective: date, basis: str) -> int:
    """The clerk drafts an expulsion on the student's own request; returns the new order's id."""
    page = clerk.page
    page.goto("/orders/new/expulsion")
    page.select_option("#reason", "own_request")
    page.fill("#effective_date", effective.isoformat())
    page.fill("#basis", basis)
    page.click("main form button.primary")
    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def _add_student(page: Page, query: str, student: dict) -> None:
    """On a draft's page: search `query` (a group, an IIN), tick `student` among the found and add them."""
    page.fill("main form.search input[name=q]", query)
    page.press("main form.search input[name=q]", "Enter")
    page.check(f"#s{student['id']}")
    page.click("main form:has(input[name=student_id]) button.primary")


def _approve_and_sign(browser: Browser, base: str, sessions: list, order_id: int) -> Page:
    """A one-line economics order submitted: dean2, the registrar office and the lawyer approve, the rector signs;
    returns the rector's page showing the signed order."""
    for username in ("dean2", "registrar", "lawyer"):
        approver = Session(browser, base, username)
        sessions.append(approver)
        _approve_from_inbox(approver, order_id, lines=1)
    rector = Session(browser, base, "rector")
    sessions.append(rector)
    return _sign_from_inbox(rector, order_id)


def _approve_from_inbox(session: Session, order_id: int, lines: int, artifacts=None) -> None:
    page = session.page
    page.goto("/inbox")
    expect(page.get_by_test_id("inbox-count")).to_have_text("1")
    if artifacts is not None:
        page.screenshot(path=str(artifacts / "inbox-dean2-phone.png"), full_page=True)
        assert session.fits_the_screen(), "the inbox is wider than the phone screen"
    page.click(f"main a[href$='/orders/{order_id}']")
    expect(page.locator("main a[href*='/students/']")).to_have_count(lines)  # only the own faculty's lines
    if artifacts is not None:
        page.screenshot(path=str(artifacts / "order-dean2-phone.png"), full_page=True)
        assert session.fits_the_screen(), "the order page is wider than the phone screen"
    page.click("button[data-trigger=approve]")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_test_id("inbox-count")).to_have_text("0")


def test_expulsion_from_draft_to_signed_in_the_browser(live_server, browser, artifacts):
    with live_server.app.app_context():
        it = [_student_in(g) for g in IT_GROUPS]
        eco = _student_in(ECO_GROUP)
        db.session.remove()
    number = _next_order_label(live_server.app)
    students = [*it, eco]
    sessions: list[Session] = []

    # the clerk drafts the order, finds the students by group and by IIN, and submits it
    clerk = Session(browser, live_server.url, "clerk")
    sessions.append(clerk)
    order_id = _draft_expulsion(clerk, date.today(), "Личные заявления обучающихся")
    page = clerk.page
    expect(page.get_by_test_id("order-state")).to_have_class(_css_class("draft"))

    for query, student in [(s["group"], s) for s in it] + [(eco["iin"], eco)]:
        _add_student(page, query, student)
        expect(page.locator(f"main a[href$='/students/{student['id']}']")).to_have_count(1)
    expect(page.locator("main tr:has(a[href*='/students/']) .ok")).to_have_count(3)  # every line eligible
    expect(page.locator("main tr.ineligible")).to_have_count(0)
    page.click("button[data-trigger=submit]")
    expect(page.get_by_test_id("order-state")).to_have_class(_css_class("review_dean"))

    # each dean visas only the own faculty's lines; dean2 works on a phone
    dean1 = Session(browser, live_server.url, "dean1")
    sessions.append(dean1)
    _approve_from_inbox(dean1, order_id, lines=2)
    dean2 = Session(browser, live_server.url, "dean2", **PHONE)
    sessions.append(dean2)
    _approve_from_inbox(dean2, order_id, lines=1, artifacts=artifacts)

    # then the registrar office and the lawyer, who see every line
    for username, state in (("registrar", "review_registrar"), ("lawyer", "review_lawyer")):
        approver = Session(browser, live_server.url, username)
        sessions.append(approver)
        approver.page.goto(f"/orders/{order_id}")
        expect(approver.page.get_by_test_id("order-state")).to_have_class(_css_class(state))
        _approve_from_inbox(approver, order_id, lines=3)

    # the rector signs: the order gets its number and its document
    rector = Session(browser, live_server.url, "rector")
    sessions.append(rector)
    page = _sign_from_inbox(rector, order_id)
    expect(page.get_by_test_id("order-number")).to_have_text(number)
    expect(page.locator("main a[href*='/students/']")).to_have_count(3)
    page.screenshot(path=str(artifacts / "order-signed.png"), full_page=True)

    # the clerk sees the student expelled, with the order in the history, and downloads the DOCX
    page = clerk.page
    page.goto(f"/orders/{order_id}")
    expect(page.get_by_test_id("order-number")).to_have_text(number)
    page.click(f"main a[href$='/students/{eco['id']}']")
    expect(page.get_by_test_id("student-status")).to_have_class(_css_class("expelled"))
    expect(page.get_by_test_id("movements")).to_contain_text(number)
    expect(page.get_by_test_id("personal-file")).to_contain_text(number)  # the student's extract of the order
    page.go_back()
    with page.expect_download() as info:
        page.get_by_test_id("download-docx").click()
    download = info.value
    assert download.suggested_filename.endswith(".docx")
    document = Document(download.path())
    text = "\n".join(
        [p.text for p in document.paragraphs]
        + [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    )
    assert number in text
    for student in students:
        assert student["iin"] in text, f"the DOCX lacks {student['name']} ({student['iin']})"
    for visa in ("Декан", "Руководитель Офиса Регистратора", "Юрист"):
        assert visa in text, f"the approval sheet lacks the visa of {visa}"

    # the worker e-mails each student; the admin reads them in the mailbox
    admin = Session(browser, live_server.url, "admin")
    sessions.append(admin)
    page = admin.page
    rows = page.locator("main table tbody tr")
    deadline = time.monotonic() + 20
    while True:
        page.goto("/admin/mailbox/")
        if rows.count() >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert rows.count() == 3, f"mailbox has {rows.count()} e-mails; outbox: {_outbox(live_server.app)}"
    recipients = sorted(rows.nth(i).locator("td").first.inner_text().strip() for i in range(3))
    assert recipients == sorted(s["email"] for s in students)

    for session in sessions:
        session.close()
