"""The order journal (the orders list): search by each criterion, a dean's own faculty only, pages, the export."""

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from core.clock import today
from core.db import db
from core.formatting import format_day
from core.labels import label
from orders import registry
from tests.conftest import login, sign
from tests.reports.helpers import sheet_rows, table_rows
from workflow.engine import fire


@pytest.fixture
def journal(uni, make):
    """o1 signed (FA's student), o2 a draft (FB's), o3 a draft with both faculties' students."""
    a = make.student(uni.ga, surname="Серікбаев", name="Ерлан")
    b = make.student(uni.gb, surname="Жақсыбеков", name="Дамир")
    o1 = make.order(uni.clerk, [a])
    sign(o1, uni)
    o1.order_date = date(2025, 1, 10)
    o2 = make.order(uni.clerk, [b], effective_date="2026-12-05")
    o3 = make.order(uni.clerk, [a, b], effective_date="2026-12-07")
    db.session.flush()

    class J:
        pass

    J.a, J.b, J.o1, J.o2, J.o3 = a, b, o1, o2, o3
    return J


def found(client, **args) -> list[int]:
    response = client.get("/orders/", query_string=args)
    assert response.status_code == 200, response.text[:300]
    return [int(n) for n in re.findall(r'data-order="(\d+)"', response.text)]


def test_each_criterion_finds_the_right_orders(client, uni, journal):
    j = journal
    login(client, uni.clerk)
    assert found(client) == [j.o3.id, j.o2.id, j.o1.id]
    assert found(client, number=j.o1.number_label) == [j.o1.id]
    assert found(client, number=str(j.o1.number)) == [j.o1.id]
    assert found(client, number=f"#{j.o2.id}") == [j.o2.id]
    assert found(client, number="99999") == []
    assert found(client, kind="expulsion") == [j.o3.id, j.o2.id, j.o1.id]
    assert found(client, kind="academic_leave") == []
    assert found(client, state="signed") == [j.o1.id]
    assert found(client, state="draft") == [j.o3.id, j.o2.id]
    fire(j.o2, "submit", uni.clerk)
    db.session.flush()
    assert j.o2.state.startswith("review_") and found(client, state=j.o2.state) == [j.o2.id]
    assert f'<option value="{j.o2.state}"' in client.get("/orders/").text
    assert found(client, date_from="2025-01-01", date_to="2025-01-31") == [j.o1.id]
    assert found(client, date_from=today().isoformat()) == [j.o3.id, j.o2.id]
    assert found(client, faculty=uni.fb.id) == [j.o3.id, j.o2.id]
    assert found(client, faculty=uni.fa.id) == [j.o3.id, j.o1.id]
    assert found(client, student="серікбаев") == [j.o3.id, j.o1.id]
    assert found(client, student="Серікбаев Ерлан") == [j.o3.id, j.o1.id]
    assert found(client, student=j.b.iin) == [j.o3.id, j.o2.id]
    assert found(client, student=j.b.iin, faculty=uni.fa.id) == [j.o3.id]


def test_the_row_shows_number_date_kind_state_author_faculties_students_and_effective_dates(client, uni, journal):
    login(client, uni.clerk)
    rows = table_rows(client.get("/orders/").text, "journal")
    o3, o1 = rows[0], rows[2]
    assert o1[0] == journal.o1.number_label and o1[1] == format_day(date(2025, 1, 10))
    assert (o1[2], o1[3], o1[4]) == (label("expulsion"), journal.o1.title, label("signed"))
    assert o3[5] == uni.clerk.full_name and o3[6] == "FA, FB" and o3[7] == "2"
    assert o3[8] == format_day(date(2026, 12, 7))


def test_a_dean_sees_and_exports_only_orders_of_own_faculty(client, uni, journal):
    j = journal
    login(client, uni.dean_b)
    assert found(client) == [j.o3.id, j.o2.id]
    assert found(client, student="серікбаев") == []  # o3 holds him, but his line is another faculty's
    assert found(client, faculty=uni.fa.id) == []
    rows = sheet_rows(client.get("/orders/journal.xlsx").data)
    assert [row[0] for row in rows] == [j.o3.label, j.o2.label]
    page = client.get("/orders/").text
    assert f'value="{uni.fa.id}"' not in page  # the faculty list offers own faculty only
    login(client, uni.admin)
    assert client.get("/orders/journal.xlsx").status_code == 403


def test_the_export_reads_back_as_the_page(client, uni, journal):
    login(client, uni.clerk)
    page = table_rows(client.get("/orders/", query_string={"kind": "expulsion"}).text, "journal")
    response = client.get("/orders/journal.xlsx", query_string={"kind": "expulsion"})
    assert response.mimetype.endswith("spreadsheetml.sheet")
    rows = sheet_rows(response.data)
    assert len(rows) == len(page) == 3
    for shown, row in zip(page, rows, strict=True):
        number, day, kind, title, state, author, faculties, students, first, last = row
        effective = format_day(first) if first == last else f"{format_day(first)} – {format_day(last)}"
        assert shown == [
            number,
            format_day(day.date()),
            kind,
            title,
            state,
            author,
            faculties,
            str(students),
            effective,
        ]


def test_pages_hold_the_rest_and_bad_page_numbers_show_page_one_or_the_last(client, uni, make):
    orders = [make.order(uni.clerk, []) for _ in range(53)]
    login(client, uni.clerk)
    first = found(client)
    second = found(client, page="2")
    assert len(first) == 50 and len(second) == 3
    assert set(first) | set(second) == {order.id for order in orders}
    assert "Page 1 of 2" in client.get("/orders/").text
    assert found(client, page="abc") == first
    assert found(client, page="-1") == first
    assert found(client, page="0") == first
    assert found(client, page="99999999999999999999") == second
    far = client.get("/orders/?page=7")
    assert far.status_code == 200 and "There is no page 7; showing page 2 of 2." in far.text


@pytest.mark.parametrize(
    "args, message",
    [
        ({"date_from": "2026-13-01"}, "Give the date as YYYY-MM-DD"),
        ({"date_from": "2026-05-01", "date_to": "2026-04-01"}, "The end of the period is before its start."),
        ({"faculty": "x"}, "Choose a faculty from the list."),
    ],
)
def test_bad_search_input_says_why(client, uni, args, message):
    login(client, uni.clerk)
    response = client.get("/orders/", query_string=args)
    assert response.status_code == 400 and message in response.text
    export = client.get("/orders/journal.xlsx", query_string=args, follow_redirects=True)
    assert export.status_code == 400 and message in export.text


def test_the_journal_is_also_under_reports(client, uni, journal):
    login(client, uni.registrar)
    response = client.get("/reports/journal")
    assert response.status_code == 200 and journal.o1.number_label in response.text


def test_every_bulk_draft_form_is_linked_from_the_new_order_menu(app, client, uni):
    """A kind's own page at `<prefix>/new` is a form drafting a whole order at once: the menu must offer it."""
    kinds_pages = {blueprint.name for blueprint in registry.blueprints()}
    bulk = {
        rule.build({}, append_unknown=False)[1]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in kinds_pages and rule.endpoint.endswith(".new") and not rule.arguments
    }
    assert {"/orders/scholarship/new", "/orders/promotion/new"} <= bulk
    login(client, uni.clerk)
    menu = client.get("/orders/").text
    assert [url for url in bulk if f'href="{url}"' not in menu] == []
    login(client, uni.dean_a)
    assert "/orders/scholarship/new" not in client.get("/orders/").text


def test_exports_write_formula_like_titles_and_names_as_text(client, uni, make):
    formula = '=HYPERLINK("http://evil.example/","x")'
    student = make.student(uni.ga, surname=formula)
    order = make.order(uni.clerk, [student])
    order.title = formula
    db.session.flush()
    login(client, uni.clerk)
    for url in ("/orders/journal.xlsx", "/students/students.xlsx"):
        sheet = load_workbook(io.BytesIO(client.get(url).data)).active
        cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if str(cell.value).startswith("=")]
        assert cells and all(cell.data_type == "s" for cell in cells), url
