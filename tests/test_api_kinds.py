"""`GET /api/v1/orders/kinds`: every kind with what its drafts and lines take, so a client can build the bodies."""

from core.db import db
from core.models import issue_token
from orders.registry import KINDS


def get(client, user, url="/api/v1/orders/kinds"):
    token = issue_token(user)
    db.session.commit()
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def by_name(fields: list[dict]) -> dict[str, dict]:
    return {field["name"]: field for field in fields}


def test_every_kind_is_listed_with_its_route_and_parameters(client, uni):
    response = get(client, uni.clerk)
    assert response.status_code == 200
    kinds = {kind["name"]: kind for kind in response.get_json()}
    assert set(kinds) == set(KINDS)
    expulsion = kinds["expulsion"]
    assert expulsion["route"] == "legal"
    params = by_name(expulsion["params"])
    assert set(params) == {"reason", "effective_date"}  # title and basis are top-level fields of the body
    assert params["reason"]["type"] == "choice" and params["reason"]["required"]
    assert {"own_request", "academic_failure", "non_return", "transfer"} <= set(params["reason"]["choices"])
    assert params["effective_date"] == {**params["effective_date"], "type": "date", "required": True}
    assert expulsion["line_params"] == []


def test_per_line_details_are_listed_for_kinds_that_have_them(client, uni):
    kinds = {kind["name"]: kind for kind in get(client, uni.dean_a).get_json()}
    leave = by_name(kinds["academic_leave"]["line_params"])
    assert {"ground", "leave_start", "leave_end", "document_no", "document_date", "child_birth_date"} <= set(leave)
    assert by_name(kinds["academic_leave"]["params"])["leave_start"]["type"] == "date"
    assert kinds["funding_change"]["route"] == "money"
    assert by_name(kinds["personal_data"]["line_params"])["surname"]["type"] == "string"


def test_the_list_needs_a_token_and_a_reader_role(client, uni):
    assert client.get("/api/v1/orders/kinds").status_code == 401
    assert get(client, uni.admin).status_code == 403
