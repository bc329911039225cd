"""The reports as people use them: the pages and their links, the exports read back, the API, who may see what, and
bad options answered with a message."""

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.db import db
from core.models import issue_token
from students.models import StudentMovement
from tests.conftest import login


def period() -> dict:
    days = sorted(set(db.session.scalars(select(StudentMovement.effective_date))))
    return {"first": days[0].isoformat(), "last": (days[-1] + timedelta(days=1)).isoformat()}


def grid_of(html: str) -> list[list[str]]:
    """The report table of a page as text, cell by cell."""
    table = re.search(r'<table class="report" data-testid="report-grid">(.*?)</table>', html, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells])
    return rows


def as_text(values) -> list[list[str]]:
    return [["" if v is None else str(v) for v in row] for row in values]


def xlsx_values(data: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(data)).active
    return as_text(sheet.iter_rows(values_only=True))


def csv_values(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def token_headers(user) -> dict:
    token = issue_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_contingent_page_exports_and_api_agree_and_each_number_opens_its_students(client, university, uni):
    login(client, uni.registrar)
    day = period()["last"]
    query = f"day={day}&rows=faculty&columns=course,funding"
    page = client.get(f"/reports/contingent?{query}")
    assert page.status_code == 200
    shown = grid_of(page.get_data(as_text=True))
    assert shown[-1][0] == "Total"
    xlsx = client.get(f"/reports/contingent?{query}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert xlsx_values(xlsx.data) == shown
    assert csv_values(client.get(f"/reports/contingent?{query}&format=csv").data) == shown
    api = client.get(f"/api/v1/reports/contingent?{query}", headers=token_headers(uni.registrar)).get_json()
    assert as_text(api["grid"]) == shown
    grand_total = int(shown[-1][-1])
    assert grand_total == api["total"] == sum(cell["count"] for cell in api["cells"])
    # every number is a link to its students, and the list has that many
    links = re.findall(r'<td class="num"><a href="([^"]+)">(\d+)</a>', page.get_data(as_text=True))
    assert links
    for href, n in links[:6] + links[-1:]:
        listed = client.get(unescape(href))
        assert listed.status_code == 200
        assert f"Rows: {n}" in listed.get_data(as_text=True)
        exported = client.get(unescape(href) + "&format=xlsx")
        assert len(xlsx_values(exported.data)) == int(n) + 1  # the heading and one row per student


def test_movement_page_links_to_the_students_and_orders_behind_a_number(client, university, uni):
    orders, _revoked_on = university
    login(client, uni.clerk)
    p = period()
    query = f"first={p['first']}&last={p['last']}&rows=faculty"
    page = client.get(f"/reports/movement?{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = grid_of(html)
    heading = shown[0]
    assert "in: restoration" in heading and "out: expulsion: academic failure" in heading
    assert xlsx_values(client.get(f"/reports/movement?{query}&format=xlsx").data) == shown
    assert csv_values(client.get(f"/reports/movement?{query}&format=csv").data) == shown
    # each body row reconciles as the page shows it
    ins = heading.index("Total in")
    outs = heading.index("Total out")
    for row in shown[1:]:
        assert int(row[1]) + int(row[ins]) - int(row[outs]) == int(row[-1]), row
    # the transfer out figure opens the two students and their order
    href = next(
        unescape(h) for h in re.findall(r'<a href="([^"]+)">\d+</a>', html) if "transfer_out" in h and "f_faculty" in h
    )
    steps = client.get(href).get_data(as_text=True)
    assert orders["transfer_out"].number_label in steps
    assert f"/orders/{orders['transfer_out'].id}" in steps
    api = client.get(f"/api/v1/reports/movement?{query}", headers=token_headers(uni.clerk)).get_json()
    assert as_text(api["grid"]) == shown
    for cell in api["cells"]:
        flows = sum(n if key.startswith("in.") else -n for key, n in cell["flows"].items())
        assert cell["at_start"] + flows == cell["at_end"]


def test_a_dean_sees_only_own_faculty(client, university, uni):
    dean = uni.dean_a
    login(client, dean)
    page = client.get(f"/reports/contingent?day={period()['last']}&rows=faculty&columns=")
    shown = grid_of(page.get_data(as_text=True))
    assert [row[0] for row in shown[1:-1]] == [uni.fa.name("en")]
    api = client.get(
        f"/api/v1/reports/movement?first={period()['first']}&last={period()['last']}&rows=faculty",
        headers=token_headers(dean),
    ).get_json()
    assert {cell["values"][0] for cell in api["cells"]} == {str(dean.faculty_id)}
    # asking for another faculty's students by hand gives nobody
    other = client.get(f"/reports/contingent/students?day={period()['last']}&f_faculty={uni.fb.id}")
    assert "Rows: 0" in other.get_data(as_text=True)


@pytest.mark.parametrize("who", ["lawyer", "finance", "admin"])
def test_others_may_not_read_the_reports(client, uni, who):
    login(client, getattr(uni, who))
    for path in ("/reports/", "/reports/contingent", "/reports/movement", "/reports/movement/steps"):
        assert client.get(path).status_code == 403, path
    assert 'href="/reports/"' not in client.get("/").get_data(as_text=True)


def test_the_reports_are_in_the_navigation_of_those_who_read_them(client, uni):
    for user in (uni.clerk, uni.registrar, uni.rector, uni.dean_a):
        login(client, user)
        assert client.get("/reports/").status_code == 200
        assert 'href="/reports/"' in client.get("/reports/").get_data(as_text=True)


@pytest.mark.parametrize(
    "path, field_message",
    [
        ("/reports/contingent?day=2026-13-01", "Give the date as YYYY-MM-DD"),
        ("/reports/contingent?rows=faculty,colour", "Unknown breakdown colour"),
        ("/reports/contingent?rows=faculty&columns=faculty", "both a row and a column"),
        ("/reports/contingent?population=everyone", "Unknown population"),
        ("/reports/contingent?known_on=2999-01-01", "cannot be later than today"),
        ("/reports/movement?first=2026-12-01&last=2026-11-01", "ends before it starts"),
        ("/reports/movement?first=yesterday", "Give the date as YYYY-MM-DD"),
    ],
)
def test_bad_options_get_a_message_and_no_error(client, uni, path, field_message):
    login(client, uni.clerk)
    page = client.get(path)
    assert page.status_code == 400
    assert field_message in unescape(page.get_data(as_text=True))
    exported = client.get(path + "&format=xlsx")
    assert exported.status_code == 422 and field_message in unescape(exported.get_data(as_text=True))
    api = client.get("/api/v1" + path, headers=token_headers(uni.clerk))
    assert api.status_code == 422 and field_message in api.get_json()["message"]


def test_bad_list_arguments_get_a_message(client, uni):
    login(client, uni.clerk)
    assert client.get("/reports/contingent?format=pdf").status_code == 400
    assert client.get("/reports/movement/steps?bucket=sideways").status_code == 422
    assert client.get("/reports/contingent/students?f_colour=red").status_code == 422
