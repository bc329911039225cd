"""Each kind's parameters are declared once, as a schema: the web form and the API load them the same way (the same
message for the same bad value, in the user's language), and the OpenAPI document shows them typed."""

import html
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import issue_token
from orders import operations
from orders.api import component_name
from orders.models import Order
from orders.registry import KINDS
from students.academic import AcademicCalendar
from tests.conftest import login

FIELD_ERROR = re.compile(r'<p class="field-error" role="alert">(.*?)</p>', re.S)
FLASH_ERROR = re.compile(r'<p class="flash error" role="status">(.*?)</p>', re.S)


def field_errors(response) -> list[str]:
    return [html.unescape(text) for text in FIELD_ERROR.findall(response.get_data(as_text=True))]


def flashed_errors(response) -> list[str]:
    return [html.unescape(text) for text in FLASH_ERROR.findall(response.get_data(as_text=True))]


def order_count() -> int:
    return db.session.scalar(select(func.count(Order.id)))


@pytest.fixture
def clerk(client, uni):
    """The clerk, reading Russian: signed in on the web and holding an API token."""
    uni.clerk.language = "ru"
    token = issue_token(uni.clerk)
    db.session.commit()
    login(client, uni.clerk)

    class Clerk:
        headers = {"Authorization": f"Bearer {token}"}

        def post_form(self, url, data, **kwargs):
            return client.post(url, data=data, **kwargs)

        def api(self, method, url, body):
            return client.open(url, method=method, json=body, headers=self.headers)

    return Clerk()


def api_errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.get_json()
    return response.get_json()["errors"]


# The same message from the web form and the API --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("effective_date", "2026-13-45", "Укажите дату вступления в силу в формате ГГГГ-ММ-ДД."),
        ("effective_date", "", "Укажите дату вступления в силу в формате ГГГГ-ММ-ДД."),
        ("reason", "pay_me", None),
    ],
)
def test_expulsion_web_form_and_api_give_the_same_message(clerk, field, value, message):
    params = {"reason": "own_request", "effective_date": "2026-12-01", field: value}
    before = order_count()
    web = clerk.post_form("/orders/new/expulsion", {**params, "title": "", "basis": "Заявления"})
    assert web.status_code == 400
    api = api_errors(clerk.api("POST", "/api/v1/orders", {"kind": "expulsion", "basis": "Заявления", "params": params}))
    assert field_errors(web) == [api[f"params.{field}"]]
    if message:
        assert api[f"params.{field}"] == message
    else:
        assert "own_request" in api[f"params.{field}"]
    assert order_count() == before


def test_academic_leave_order_and_line_give_the_same_message_on_the_web_and_in_the_api(clerk, uni, make):
    params = {"ground": "medical", "leave_start": "2026-09-01", "leave_end": "2026-08-01"}
    web = clerk.post_form("/orders/new/academic_leave", {**params, "title": "", "basis": "Заявления"})
    api = api_errors(
        clerk.api("POST", "/api/v1/orders", {"kind": "academic_leave", "basis": "Заявления", "params": params})
    )
    assert (
        field_errors(web)
        == [api["params.leave_end"]]
        == ["Отпуск заканчивается (01.08.2026) раньше, чем начинается (01.09.2026)."]
    )

    order = operations.create_order("academic_leave", uni.clerk, {**params, "leave_end": "2027-02-28", "basis": "З"})
    operations.add_students(order, [make.student(uni.ga).id], uni.clerk)
    (line,) = order.lines
    db.session.commit()
    posted = {**params, "leave_start": "01.09.2026", "leave_end": "2027-02-28", "document_no": "", "document_date": ""}
    web = clerk.post_form(
        f"/orders/{order.id}/lines/{line.id}",
        {f"line{line.id}-{name}": value for name, value in posted.items()},
        follow_redirects=True,
    )
    api = api_errors(
        clerk.api("PATCH", f"/api/v1/orders/{order.id}/lines/{line.id}", {"params": {"leave_start": "01.09.2026"}})
    )
    assert api == {"params.leave_start": "Укажите дату в формате ГГГГ-ММ-ДД, например 2026-09-01."}
    assert flashed_errors(web) == [f"Начало отпуска: {api['params.leave_start']}"]
    db.session.expire_all()
    assert line.params["leave_start"] == "2026-09-01"


@pytest.mark.parametrize(
    ("field", "value"),
    [("academic_year", "2026"), ("semester", "3"), ("courses", "9"), ("effective_date", "1.2.2027")],
)
def test_state_scholarship_bulk_draft_gives_the_same_message_on_the_page_and_in_the_api(clerk, field, value):
    db.session.add(
        AcademicCalendar(
            year="2026-2027",
            **{
                name: date(2026 if name == "first_semester_start" else 2027, month, day)
                for name, month, day in (
                    ("first_semester_start", 9, 1),
                    ("first_session_start", 1, 5),
                    ("first_session_end", 1, 20),
                    ("first_semester_end", 1, 24),
                    ("winter_holidays_start", 1, 25),
                    ("winter_holidays_end", 2, 5),
                    ("second_semester_start", 2, 6),
                    ("second_session_start", 6, 1),
                    ("second_session_end", 6, 20),
                    ("second_semester_end", 6, 30),
                    ("summer_holidays_start", 7, 1),
                    ("summer_holidays_end", 8, 31),
                )
            },
        )
    )
    db.session.commit()
    body = {"academic_year": "2026-2027", "semester": "2", "effective_date": "2027-02-01", "basis": "Итоги сессии"}
    before = order_count()
    web = clerk.post_form("/orders/scholarship/new", {**body, field: value})
    assert web.status_code == 400
    api = api_errors(clerk.api("POST", "/api/v1/scholarship/drafts", {**body, field: value}))
    assert field_errors(web) == [api[field]]
    assert order_count() == before


# The OpenAPI document ----------------------------------------------------------------------------------------------


def test_openapi_shows_every_kind_s_parameters_typed(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    create = schemas["OrderCreateArgs"]["properties"]["params"]
    line = schemas["LineParamsArgs"]["properties"]["params"]
    for name, kind in KINDS.items():
        component = schemas[component_name(name)]
        assert set(component["properties"]) == set(kind.params_schema().fields), name
        assert {"$ref": f"#/components/schemas/{component_name(name)}"} in create["oneOf"]
        if kind.line_schema:
            component = schemas[component_name(name, line=True)]
            assert set(component["properties"]) == set(kind.line_schema().fields), name
            assert {"$ref": f"#/components/schemas/{component_name(name, line=True)}"} in line["oneOf"]
    expulsion = schemas["ExpulsionParams"]
    assert set(expulsion["required"]) == {"reason", "effective_date"}
    assert expulsion["properties"]["effective_date"] == {
        **expulsion["properties"]["effective_date"],
        "type": "string",
        "format": "date",
        "title": "Effective date",
    }
    assert {"own_request", "non_return", "transfer"} <= set(expulsion["properties"]["reason"]["enum"])
    leave = schemas["AcademicLeaveLineParams"]["properties"]
    assert set(leave) == {"ground", "leave_start", "leave_end", "document_no", "document_date", "child_birth_date"}
    assert leave["document_no"]["maxLength"] == 64
    assert schemas["StateScholarshipParams"]["properties"]["courses"]["items"] == {"type": "integer"}
    assert schemas["TravelCompensationParams"]["properties"]["year"]["type"] == "integer"
    assert set(schemas["PersonalScholarshipParams"]["properties"]) >= {"scholarship_ru", "scholarship_kk", "quota"}


def test_the_api_takes_an_object_where_the_schema_says_so(clerk, uni):
    code = uni.ga.programme.code
    body = {
        "kind": "vacant_grant",
        "basis": "Решение",
        "params": {"ground": "Решение совета № 1", "effective_date": "2027-09-01"},
    }
    created = clerk.api("POST", "/api/v1/orders", {**body, "params": {**body["params"], "vacancies": {f"{code}:1": 2}}})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["params"]["vacancies"] == {f"{code}:1": 2}
    refused = clerk.api("POST", "/api/v1/orders", {**body, "params": {**body["params"], "vacancies": ["x"]}})
    assert set(api_errors(refused)) == {"params.vacancies"}
