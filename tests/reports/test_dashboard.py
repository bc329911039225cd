"""The dashboard of the registrar head and the rector: its numbers equal the data, who may open it, where sign-in
lands, and the SVG charts are well-formed, named pictures."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from core.clock import today
from core.db import db
from reports import charts
from reports.dashboard import census_day
from tests.conftest import login, sign
from workflow.engine import fire

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(page: str, chart_id: str) -> ET.Element:
    match = re.search(rf'<svg [^>]*id="{chart_id}".*?</svg>', page, re.S)
    assert match, f"no chart {chart_id}"
    return ET.fromstring(match.group(0))


def bars(svg: ET.Element, kind: str = "bar") -> dict[str, str]:
    return {g.get("data-label"): g.get("data-value") for g in svg.iter(f"{SVG}g") if g.get("class") == kind}


def test_the_dashboard_shows_the_contingent_movements_and_waiting_orders(client, uni, make, app, monkeypatch):
    students_a = [make.student(uni.ga) for _ in range(3)]
    students_b = [make.student(uni.gb) for _ in range(2)]
    day = today()
    expelled = make.order(uni.clerk, [students_a[0]], effective_date=day.replace(day=1).isoformat())
    sign(expelled, uni)  # effective this month: one expulsion, and one student fewer now
    waiting = make.order(uni.clerk, [students_b[0]])
    fire(waiting, "submit", uni.clerk)
    late = make.order(uni.clerk, [students_b[1]])
    fire(late, "submit", uni.clerk)
    late.due_at = datetime.now(UTC) - timedelta(days=1)
    db.session.flush()

    login(client, uni.registrar)
    page = client.get("/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "4 students" in text  # 5 enrolled, 1 expelled this month

    faculties = bars(svg_of(text, "chart-faculties"))
    assert faculties == {f"FA · {uni.fa.name_en}": "2", f"FB · {uni.fb.name_en}": "2"}

    trend = bars(svg_of(text, "chart-trend"), "point")
    latest = census_day(day)
    assert len(trend) == 5
    # every student is on the timeline since 1 September 2020; the expulsion is after the last 1 October
    assert set(trend.values()) == {"5"}
    assert latest.strftime("%d.%m.%Y") in trend

    assert bars(svg_of(text, "chart-movements")) == {"Expulsion": "1"}

    waiting_svg = svg_of(text, "chart-waiting")
    assert bars(waiting_svg) == {"Dean's visa": "2"}
    [group] = [g for g in waiting_svg.iter(f"{SVG}g") if g.get("class") == "bar"]
    assert group.get("data-part") == "1"  # one of the two is overdue

    payments = svg_of(text, "chart-payments")
    assert "No payment in these months." in ET.tostring(payments, encoding="unicode")


def test_every_chart_is_a_named_accessible_picture(client, uni, make):
    make.student(uni.ga)
    login(client, uni.rector)
    text = client.get("/dashboard").get_data(as_text=True)
    for chart_id in ("chart-faculties", "chart-trend", "chart-movements", "chart-waiting", "chart-payments"):
        svg = svg_of(text, chart_id)
        assert svg.get("role") == "img"
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert text.count('class="chart-data"') >= 3  # the same figures as tables


def test_a_chart_escapes_its_labels_and_draws_one_bar_per_value():
    items = [charts.Bar('<b>"A&B"</b>', 3), charts.Bar("Ақжол's", 7, part=2)]
    svg = ET.fromstring(str(charts.bar_rows("c1", "Title <x>", "Desc & more", items, empty="-", part_name="late")))
    assert svg.find(f"{SVG}title").text == "Title <x>"
    assert [g.get("data-label") for g in svg.iter(f"{SVG}g")] == ['<b>"A&B"</b>', "Ақжол's"]
    assert len([r for r in svg.iter(f"{SVG}rect") if r.get("class") == "part"]) == 1
    columns = ET.fromstring(
        str(charts.columns("c2", "T", "D", [charts.Bar("01.26", 10), charts.Bar("02.26", 0)], empty="-"))
    )
    assert len(list(columns.iter(f"{SVG}rect"))) == 2
    empty = ET.fromstring(str(charts.line("c3", "T", "D", [], empty="Nothing")))
    assert empty.find(f"{SVG}text").text == "Nothing"


@pytest.mark.parametrize("role", ["clerk", "dean", "lawyer", "finance", "admin"])
def test_other_roles_may_not_open_the_dashboard(client, uni, role):
    person = {"clerk": uni.clerk, "dean": uni.dean_a, "lawyer": uni.lawyer, "finance": uni.finance, "admin": uni.admin}
    login(client, person[role])
    assert client.get("/dashboard").status_code == 403


def test_signing_in_lands_the_registrar_head_and_the_rector_on_the_dashboard(client, uni):
    assert client.get("/dashboard").status_code == 302  # anonymous: to the sign-in page
    for person, home in (
        (uni.registrar, "/dashboard"),
        (uni.rector, "/dashboard"),
        (uni.clerk, "/orders/"),
        (uni.dean_a, "/inbox"),
    ):
        login(client, person)
        response = client.get("/")
        assert response.status_code == 302 and response.headers["Location"].endswith(home), person.username
