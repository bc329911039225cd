"""A dean on leave, in headless Chromium: dean1 names dean3 as substitute on the /substitutes page; the clerk drafts
an expulsion of an IT student (dean1's faculty); dean3 finds it in the inbox marked "acting for" dean1 and visas it;
registrar, lawyer and rector finish the route; the order page and the DOCX approval sheet say whom dean3 acted for."""

import re
from datetime import timedelta

import pytest
from docx import Document
from playwright.sync_api import expect
from sqlalchemy import select

from core.clock import today
from core.db import db
from core.models import Substitution, User
from tests.e2e.test_browser import Session, _add_student, _css_class, _draft_expulsion, _sign_from_inbox, _student_in
from workflow.models import Visa

pytestmark = pytest.mark.e2e

IT_GROUP = "6B06101-24Р"  # faculty IT: dean1


def _full_name(app, username: str) -> str:
    with app.app_context():
        name = db.session.scalar(select(User.full_name).where(User.username == username))
        db.session.remove()
    assert name, f"the demo university has no user {username}"
    return name


def _docx_text(path) -> str:
    document = Document(path)
    return "\n".join(
        [p.text for p in document.paragraphs]
        + [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    )


def _approve_from_inbox(session: Session, order_id: int, acting_for: str | None = None) -> None:
    page = session.page
    page.goto("/inbox")
    expect(page.get_by_test_id("inbox-count")).to_have_text("1")
    row = page.locator("main tr", has=page.locator(f"a[href$='/orders/{order_id}']"))
    if acting_for is not None:
        expect(row.get_by_test_id("acting-for")).to_contain_text(acting_for)
    page.click(f"main a[href$='/orders/{order_id}']")
    if acting_for is not None:
        expect(page.get_by_test_id("you-act-for")).to_contain_text(acting_for)
    page.click("button[data-trigger=approve]")
    expect(page).to_have_url(re.compile(r"/inbox(\?.*)?$"))
    expect(page.get_by_test_id("inbox-count")).to_have_text("0")


def test_substitute_visas_for_a_dean_on_leave(live_server, browser, artifacts):
    app = live_server.app
    with app.app_context():
        student = _student_in(IT_GROUP)
        first_day = today()
        last_day = first_day + timedelta(days=7)
        db.session.remove()
    dean1, dean3 = _full_name(app, "dean1"), _full_name(app, "dean3")
    sessions: list[Session] = []

    # dean1, before the leave, names dean3 as substitute from today (the form's default) for a week
    principal = Session(browser, live_server.url, "dean1")
    sessions.append(principal)
    page = principal.page
    page.goto("/substitutes")
    page.select_option("#substitute_id", label=f"{dean3} (dean3)")
    page.fill("#ends_on", last_day.isoformat())
    page.fill("#reason", "Ежегодный отпуск")
    page.click("main form.card button.primary")
    expect(page).to_have_url(re.compile(r"/substitutes$"))
    rows = page.get_by_test_id("substitutions").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(dean1)
    expect(rows.first).to_contain_text(dean3)
    expect(rows.first).to_contain_text(last_day.strftime("%d.%m.%Y"))
    with app.app_context():
        saved = db.session.scalars(select(Substitution)).all()
        assert [(s.principal.username, s.substitute.username, s.starts_on, s.ends_on) for s in saved] == [
            ("dean1", "dean3", first_day, last_day)
        ]
        db.session.remove()

    # the clerk drafts and submits an expulsion of an IT student
    clerk = Session(browser, live_server.url, "clerk")
    sessions.append(clerk)
    order_id = _draft_expulsion(clerk, first_day, "Личное заявление обучающегося")
    page = clerk.page
    _add_student(page, IT_GROUP, student)
    expect(page.locator(f"main a[href$='/students/{student['id']}']")).to_have_count(1)
    page.click("button[data-trigger=submit]")
    expect(page.get_by_test_id("order-state")).to_have_class(_css_class("review_dean"))

    # dean3 (dean of another faculty) sees the IT order only as dean1's substitute, and visas it
    substitute = Session(browser, live_server.url, "dean3")
    sessions.append(substitute)
    _approve_from_inbox(substitute, order_id, acting_for=dean1)
    substitute.page.screenshot(path=str(artifacts / "inbox-substitute-after-visa.png"), full_page=True)

    # registrar and lawyer visa; the rector signs
    for username in ("registrar", "lawyer"):
        session = Session(browser, live_server.url, username)
        sessions.append(session)
        _approve_from_inbox(session, order_id)
    rector = Session(browser, live_server.url, "rector")
    sessions.append(rector)
    page = _sign_from_inbox(rector, order_id)

    # the order page's visa table: dean3's visa, acting for dean1
    visa_row = page.locator("main table tr", has=page.locator("td", has_text=dean3))
    expect(visa_row).to_have_count(1)
    expect(visa_row.locator("td").nth(3)).to_contain_text(dean1)
    page.screenshot(path=str(artifacts / "order-signed-by-substitute-route.png"), full_page=True)

    # the DOCX approval sheet names dean3 with "за <dean1>" (Kazakh "<dean1>-тың орнына")
    with page.expect_download() as info:
        page.get_by_test_id("download-docx").click()
    text = _docx_text(info.value.path())
    assert student["iin"] in text
    assert dean1 == "Оспанов Ерлан Маратович"
    # Kazakh: the genitive before "орнына"; Russian: "за" + accusative
    assert f"{dean3} (Оспанов Ерлан Маратовичтың орнына / за Оспанова Ерлана Маратовича)" in text, (
        f"the approval sheet lacks dean3 acting for dean1: {[line for line in text.splitlines() if dean3 in line]}"
    )

    with app.app_context():
        visas = db.session.execute(
            select(Visa.step, Visa.decided_by_id, Visa.acting_for_id).where(Visa.order_id == order_id).order_by(Visa.id)
        ).all()
        users = {u.id: u.username for u in db.session.scalars(select(User))}
        db.session.remove()
    assert [(step, users[by], users.get(acting)) for step, by, acting in visas] == [
        ("dean", "dean3", "dean1"),
        ("registrar", "registrar", None),
        ("lawyer", "lawyer", None),
        ("signature", "rector", None),
    ]

    for session in sessions:
        session.close()
