"""The state forms as data: 3-NK cells checked by hand on a small university, the unknown cells left empty and
listed, the XLSX read back equal to the page, every figure opening the list behind it, broken definitions refused
naming the file and the cell, and "as known on" giving a form sent once unchanged after a retroactive order."""

import io
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.db import db
from reports import state_forms
from reports.query import contingent_counts, movement_counts
from students.iin import make_iin
from students.models import Student
from students.timeline import enrol
from tests.conftest import login, sign

_serial = itertools.count(7000)
YEAR = 2026  # the form's day: 1 October 2026; its movement: 2 October 2025 to 1 October 2026


def student(group, *, female: bool, funding: str, enrolled: date = date(2024, 9, 1)) -> Student:
    iin = None
    while iin is None:
        iin = make_iin(date(2006, 4, 20), not female, next(_serial))
    found = Student(
        iin=iin,
        surname="Сапарова" if female else "Сапаров",
        name="Айгерим" if female else "Ерлан",
        patronymic="",
        email=f"s{iin}@students.test",
        group_id=group.id,
        course=group.course,
        status="active",
        funding=funding,
    )
    db.session.add(found)
    db.session.flush()
    enrol([found.id], on=enrolled)
    return found


@pytest.fixture
def small(uni, make, clock):
    """Programme group 6B01: course 1, Kazakh, full-time; 3 on a grant (2 women) and 1 paid man, all enrolled on
    1 September 2026. Programme group 6B02: course 2, Russian, part-time; 2 paid women enrolled in 2024."""
    clock(datetime(2026, 9, 1, 5, 0, tzinfo=UTC))
    first = make.group(uni.fa, course=1, language="kk", study_form="full_time")
    second = make.group(uni.fb, course=2, language="ru", study_form="part_time")
    first.programme.code, second.programme.code = "6B01101", "6B02101"
    new = date(2026, 9, 1)
    people = {
        "grant_women": [student(first, female=True, funding="grant", enrolled=new) for _n in range(2)],
        "grant_man": student(first, female=False, funding="grant", enrolled=new),
        "paid_man": student(first, female=False, funding="paid", enrolled=new),
        "paid_women": [student(second, female=True, funding="paid") for _n in range(2)],
    }
    clock(datetime(2026, 12, 8, 6, 0, tzinfo=UTC))
    return people


def form(name: str = "3nk") -> state_forms.FormDefinition:
    return state_forms.version_for(state_forms.load_all(), name, YEAR, None)


def table(filled: state_forms.FilledForm, code: str) -> dict[str, dict[str, int | None]]:
    """{row label: {column code: figure}} of one filled table."""
    found = next(t for t in filled.tables if t.table.code == code)
    codes = [column.code for column in found.table.columns]
    return {row.label: {c: cell.value for c, cell in zip(codes, row.cells, strict=True)} for row in found.rows}


def test_every_definition_in_the_folder_loads(app):
    definitions = state_forms.load_all()
    assert {(d.form, d.version) for d in definitions} >= {("3nk", "2026"), ("movement", "2026")}
    assert len(definitions) == len(list(state_forms.FORMS_DIR.glob("*.yaml")))


def test_3nk_cells_checked_by_hand(small, uni):
    filled = state_forms.fill(form(), YEAR, None, "en")
    assert filled.day == date(2026, 10, 1)
    one = table(filled, "1")
    assert list(one) == ["Total", "Programme group: 6B01", "Programme group: 6B02"]
    total, g1, g2 = one["Total"], one["Programme group: 6B01"], one["Programme group: 6B02"]
    assert total["1"] == 6
    # 6B01: four on the first course, full-time, in Kazakh; three on a grant, one paid; two women
    assert (g1["1"], g1["2"], g1["3"], g1["7"], g1["8"], g1["9"], g1["10"], g1["11"], g1["14"]) == (
        4, 4, 0, 4, 0, 3, 1, 4, 2,
    )  # fmt: skip
    # 6B02: two paid women on the second course, part-time, in Russian
    assert (g2["1"], g2["2"], g2["3"], g2["8"], g2["10"], g2["12"], g2["14"]) == (2, 0, 2, 2, 2, 2, 2)
    assert total["14"] == 4 and total["9"] == 3 and total["15"] == 6
    # admitted during the year: the four enrolled on 1 September 2026 on the first course
    two = table(filled, "2")
    assert (two["Total"]["1"], two["on a state grant"]["1"], two["paid"]["1"]) == (4, 3, 1)
    ages = table(filled, "3")
    assert ages["Total"] == {"1": 6, "2": 2, "3": 4}


def test_an_expulsion_during_the_year_is_counted_by_its_reason_and_leaves_the_count(small, uni, make):
    expelled = small["grant_women"][0]
    sign(make.order(uni.clerk, [expelled], reason="academic_failure", effective_date="2026-09-20"), uni)
    filled = state_forms.fill(form(), YEAR, None, "en")
    one, two = table(filled, "1"), table(filled, "2")
    assert one["Total"]["1"] == 5 and one["Programme group: 6B01"]["14"] == 1
    assert two["Total"]["5"] == 1 and two["on a state grant"]["5"] == 1 and two["paid"]["5"] == 0
    assert two["Programme group: 6B01"]["5"] == 1 and two["Total"]["4"] == 0


def test_the_unknown_cells_are_empty_and_listed(small):
    filled = state_forms.fill(form(), YEAR, None, "en")
    one = next(t for t in filled.tables if t.table.code == "1")
    codes = [column.code for column in one.table.columns]
    for row in one.rows:
        assert row.cells[codes.index("16")].value is None and row.cells[codes.index("17")].value is None
        assert all(cell.value is not None for n, cell in enumerate(row.cells) if codes[n] not in ("16", "17"))
    assert one.unknown == [
        "column 16 (with disabilities): the records hold no disability",
        "column 17 (citizens of other countries): the records hold no citizenship",
    ]


def page_tables(html: str) -> dict[str, list[list[str]]]:
    found = {}
    for code, body in re.findall(r'data-testid="form-table-(\w+)">(.*?)</table>', html, re.S):
        rows = []
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            rows.append([unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells])
        found[code] = rows
    return found


def test_the_page_and_its_xlsx_agree_and_each_figure_opens_its_list(client, small, uni):
    login(client, uni.registrar)
    page = client.get(f"/reports/forms/3nk?year={YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = page_tables(html)
    assert "Not filled:" in html and "column 17 (citizens of other countries)" in html
    export = client.get(f"/reports/forms/3nk?year={YEAR}&format=xlsx")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data))
    assert book.sheetnames == ["3nk 1", "3nk 2", "3nk 3"]
    for code, rows in shown.items():
        sheet = book[f"3nk {code}"]
        values = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(min_row=5, values_only=True)]
        body = [row for row in values[3 : 3 + len(rows) - 3]]
        assert body == rows[3:], code
        assert values[2][2:] == rows[2][2:]  # the column codes
        merged = {str(r) for r in sheet.merged_cells.ranges}
        assert "A5:A6" in merged and "B5:B6" in merged  # the row code and label span the two heading rows
    assert book["3nk 1"]["C5"].value == "Total" and book["3nk 1"]["D5"].value == "By course"
    assert "D5:H5" in {str(r) for r in book["3nk 1"].merged_cells.ranges}  # "By course" over courses 1-5
    # the figure for women in 6B01 opens the two women
    link = re.search(r'<a href="([^"]+f_sex=female[^"]+)">2</a>', html)
    listed = client.get(unescape(link.group(1)))
    assert listed.status_code == 200 and "Rows: 2" in listed.get_data(as_text=True)


def test_a_movement_figure_opens_the_movements_behind_it(client, small, uni, make):
    sign(make.order(uni.clerk, [small["paid_man"]], reason="non_payment", effective_date="2026-09-25"), uni)
    login(client, uni.registrar)
    html = client.get(f"/reports/forms/3nk?year={YEAR}").get_data(as_text=True)
    link = re.search(r'<a href="(/reports/movement/steps[^"]+expulsion.non_payment[^"]*)">1</a>', html)
    listed = client.get(unescape(link.group(1)))
    assert listed.status_code == 200
    assert "Rows: 1" in listed.get_data(as_text=True) and "Сапаров" in listed.get_data(as_text=True)


def test_the_forms_are_for_the_registrar_office_and_the_rector(client, small, uni):
    for user, status in ((uni.dean_a, 403), (uni.rector, 200), (uni.clerk, 200)):
        login(client, user)
        assert client.get("/reports/forms").status_code == status
        assert client.get(f"/reports/forms/3nk?year={YEAR}").status_code == status
    login(client, uni.clerk)
    assert client.get("/reports/forms/none").status_code == 404
    bad = client.get("/reports/forms/3nk?year=20x6&known_on=yesterday")
    assert bad.status_code == 400 and "four digits" in bad.get_data(as_text=True)
    assert "Give the date as YYYY-MM-DD" in bad.get_data(as_text=True)
    unknown_version = client.get(f"/reports/forms/3nk?year={YEAR}&version=1999")
    assert unknown_version.status_code == 400 and "no such version" in unknown_version.get_data(as_text=True)
    assert client.get(f"/reports/forms/3nk?year={YEAR}&format=csv").status_code == 400
    assert client.get("/reports/forms/3nk?year=20x6&format=xlsx").status_code == 422


def test_as_known_on_a_retroactive_order_after_that_day_does_not_change_the_form(small, uni, clock, make):
    sent_on = date(2026, 12, 8)
    before = state_forms.fill(form(), YEAR, sent_on, "en")
    clock(datetime(2026, 12, 15, 6, 0, tzinfo=UTC))
    sign(make.order(uni.clerk, [small["paid_women"][0]], reason="own_request", effective_date="2026-09-10"), uni)
    again = state_forms.fill(form(), YEAR, sent_on, "en")
    now = state_forms.fill(form(), YEAR, None, "en")
    assert [table(again, t.table.code) for t in again.tables] == [table(before, t.table.code) for t in before.tables]
    assert table(before, "1")["Total"]["1"] == 6 and table(now, "1")["Total"]["1"] == 5
    assert table(before, "2")["Total"]["4"] == 0 and table(now, "2")["Total"]["4"] == 1


def write(tmp_path: Path, text: str) -> Path:
    source = (state_forms.FORMS_DIR / "3nk-2026.yaml").read_text(encoding="utf-8")
    path = tmp_path / "broken.yaml"
    path.write_text(text(source) if callable(text) else text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s.replace("filters: {course: 2}", "filters: {cours: 2}"),
            "table 1, column 3 (code 3): unknown dimension 'cours'",
        ),
        (
            lambda s: s.replace("filters: {funding: paid}}", "filters: {funding: free}}"),
            "table 1, column 10 (code 10): unknown value 'free' of 'funding'",
        ),
        (
            lambda s: s.replace("kind: restoration}", "kind: reinstatement}"),
            "table 2, column 3 (code 3): unknown order kind 'reinstatement'",
        ),
        (
            lambda s: s.replace("detail: discipline}", "detail: misconduct}"),
            "table 2, column 7 (code 7): unknown detail 'misconduct'",
        ),
        (lambda s: s.replace("each: age", "each: height"), "table 3, row 2 (code 02): unknown dimension 'height'"),
        (
            lambda s: s.replace("        filters: {funding: grant}\n", "        filters: {course: 2}\n"),
            "table 2, cell 02:1",
        ),
        (
            lambda s: s.replace("count: studying}", "}"),
            "table 1, column 15 (code 15): a column needs exactly one of count",
        ),
        (lambda s: s + "  - [", "not readable YAML"),
    ],
)
def test_a_broken_definition_is_refused_naming_the_file_and_the_cell(app, tmp_path, change, message):
    with pytest.raises(state_forms.FormDefinitionError) as refused:
        state_forms.load(write(tmp_path, change))
    assert "reports/forms/broken.yaml" in str(refused.value)
    assert message in str(refused.value)


def test_a_new_version_is_a_new_file_chosen_by_its_day(app, tmp_path):
    source = (state_forms.FORMS_DIR / "3nk-2026.yaml").read_text(encoding="utf-8")
    (tmp_path / "3nk-2026.yaml").write_text(source, encoding="utf-8")
    newer = source.replace('version: "2026"', 'version: "2027"').replace(
        "valid_from: 2026-01-01", "valid_from: 2027-06-01"
    )
    (tmp_path / "3nk-2027.yaml").write_text(newer, encoding="utf-8")
    definitions = state_forms.load_all(tmp_path)
    assert state_forms.version_for(definitions, "3nk", 2026, None).version == "2026"
    assert state_forms.version_for(definitions, "3nk", 2027, None).version == "2027"
    assert state_forms.version_for(definitions, "3nk", 2027, "2026").version == "2026"
    (tmp_path / "again.yaml").write_text(source, encoding="utf-8")
    with pytest.raises(state_forms.FormDefinitionError, match="version 2026 twice"):
        state_forms.load_all(tmp_path)


def test_the_movement_form_balances_by_faculty(client, small, uni, make):
    sign(make.order(uni.clerk, [small["grant_man"]], reason="academic_failure", effective_date="2026-09-20"), uni)
    filled = state_forms.fill(form("movement"), 2026, None, "en")
    assert (filled.first, filled.last) == (date(2026, 9, 1), date(2027, 8, 31))
    rows = table(filled, "1")
    assert list(rows) == ["Total", f"Faculty: {uni.fa.name('en')}", f"Faculty: {uni.fb.name('en')}"]
    total, fa, fb = rows.values()
    # at the start: the two of 2024; in: the four enrolled on 1 September; out: one expelled; at the end: five
    assert (total["1"], total["2"], total["7"], total["12"], total["13"]) == (2, 4, 1, None, 5)
    assert (fa["1"], fa["2"], fa["7"], fa["13"]) == (0, 4, 1, 3)
    assert (fb["1"], fb["2"], fb["7"], fb["13"]) == (2, 0, 0, 2)
    login(client, uni.registrar)
    page = client.get("/reports/forms/movement?year=2026")
    assert page.status_code == 200 and "column 12 (called up)" in page.get_data(as_text=True)


def test_every_cell_equals_the_counting_layer_asked_for_that_cell_alone(university):
    """The forms ask a few wide queries and add up; each figure must equal the counting layer's answer for exactly
    that cell's filters, on a university with every kind of movement (moves between faculties included)."""
    asked: dict[tuple, dict] = {}
    nonzero, moved = 0, 0
    for name, year in (("3nk", 2027), ("movement", 2026)):
        definition = state_forms.version_for(state_forms.load_all(), name, year, None)
        filled = state_forms.fill(definition, year, None, "en")
        before = filled.first - timedelta(days=1)
        for filled_table in filled.tables:
            for row in filled_table.rows:
                for cell in row.cells:
                    if cell.value is None:
                        continue
                    measure, dimensions = cell.measure, sorted(cell.filters)
                    wanted = tuple(cell.filters[d] for d in dimensions)
                    key = (name, measure.population, measure.bucket is None, measure.at_start, tuple(dimensions))
                    if key not in asked:
                        common = {"population": measure.population}
                        if measure.bucket is None:
                            day = before if measure.at_start else filled.day
                            asked[key] = contingent_counts(day, dimensions, **common)
                        else:
                            asked[key] = movement_counts(before, filled.last, dimensions, **common).flows
                    found = asked[key]
                    expected = found.get(wanted if measure.bucket is None else (wanted, measure.bucket), 0)
                    assert cell.value == expected, (name, filled_table.table.code, row.code, cell.filters, measure)
                    nonzero += bool(expected)
                    moved += bool(expected and measure.bucket and measure.bucket.moved)
    assert nonzero > 20 and moved >= 2
