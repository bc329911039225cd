"""One input rule everywhere: text holding a control character (a NUL byte above all, which PostgreSQL cannot store)
is refused before any view runs, naming the field, and changes nothing; tabs and line breaks stay allowed."""

from sqlalchemy import func, select

from core.db import db
from orders.models import Order
from tests.conftest import login
from tests.test_api import BODY, as_, assert_error, order_count

__all__ = ["as_"]  # the fixture, used below


def test_a_nul_byte_in_a_search_is_a_message_not_a_500(client, uni):
    login(client, uni.clerk)
    for url in ("/students/?q=Ахм%00етов", "/orders/?state=draft%00", "/inbox?q=%00"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "Remove the control characters" in response.text


def test_a_form_field_with_a_control_character_is_refused_and_nothing_is_written(client, uni, make):
    login(client, uni.clerk)
    before = order_count()
    response = client.post(
        "/orders/new/expulsion",
        data={"reason": "own_request", "effective_date": "2026-12-20", "basis": "Заявление\x1b[31m", "title": ""},
    )
    assert response.status_code == 400
    assert "Remove the control characters (such as a NUL byte) from: basis." in response.text
    assert order_count() == before


def test_an_api_body_names_every_field_with_a_control_character(as_, uni):
    clerk = as_(uni.clerk)
    before = order_count()
    body = {**BODY, "title": "Об отчислении\x00", "params": {**BODY.get("params", {}), "reason\x07": "x"}}
    error = assert_error(clerk.post("/api/v1/orders", body), 422, "title")
    assert "params.reason?" in error["errors"]
    assert order_count() == before


def test_tabs_and_line_breaks_are_ordinary_text(client, uni):
    login(client, uni.clerk)
    response = client.post(
        "/orders/new/expulsion",
        data={"reason": "own_request", "effective_date": "2026-12-20", "basis": "Заявление\r\n\tот 01.12.2026"},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.max(Order.id))) is not None
