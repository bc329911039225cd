"""The JSON API under /api/v1: the whole expulsion flow, tokens, scoping, and JSON errors for bad input."""

import json

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session as OrmSession

from core.db import db
from core.models import issue_token
from orders.models import Order, OrderLine
from tests.conftest import login
from workflow.models import Visa

BODY = {
    "kind": "expulsion",
    "basis": "Заявления обучающихся",
    "params": {"reason": "own_request", "effective_date": "2026-12-01"},
}


class Caller:
    """The test client speaking as one user, with that user's bearer token."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str, **kwargs):
        return self.client.get(url, headers=self.headers, **kwargs)

    def post(self, url: str, body=None, **kwargs):
        return self.client.post(url, headers=self.headers, json=body, **kwargs)

    def delete(self, url: str):
        return self.client.delete(url, headers=self.headers)

    def fire(self, order_id: int, trigger: str, **body):
        return self.post(f"/api/v1/orders/{order_id}/fire", {"trigger": trigger, **body})


@pytest.fixture
def as_(client, uni):
    """`as_(user)` gives a Caller for that user. Call it before the requests: it commits the test's rows."""

    def caller(user) -> Caller:
        token = issue_token(user)
        # Committing releases the test's SAVEPOINT only (the fixture rolls the outer transaction back): the
        # rows survive the rollback an API error does.
        db.session.commit()
        return Caller(client, token)

    return caller


def order_count() -> int:
    return db.session.scalar(select(func.count(Order.id)))


def line_count() -> int:
    return db.session.scalar(select(func.count(OrderLine.id)))


def assert_error(response, code: int, *fields: str) -> dict:
    body = response.get_json()
    assert response.status_code == code, body
    assert response.mimetype == "application/json"
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code and body["message"]
    for field in fields:
        assert field in body["errors"], body
    return body


def create(caller: Caller, **overrides) -> dict:
    response = caller.post("/api/v1/orders", {**BODY, **overrides})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# The whole flow -------------------------------------------------------------------------------------------------


def test_whole_expulsion_flow_through_the_api(uni, make, as_):
    a, b = make.student(uni.ga, funding="grant"), make.student(uni.gb, funding="paid", surname="Иванова")
    clerk, dean_a, dean_b, rector = as_(uni.clerk), as_(uni.dean_a), as_(uni.dean_b), as_(uni.rector)
    registrar, lawyer = as_(uni.registrar), as_(uni.lawyer)

    order = create(clerk, student_ids=[a.id], iins=[b.iin])
    assert order["state"] == "draft" and order["number"] is None and order["document"] is None
    assert [line["student"]["id"] for line in order["lines"]] == [a.id, b.id]
    assert all(line["eligible"] and line["eligibility"] == [] for line in order["lines"])
    assert order["lines"][0]["preview"] == {"status": ["active", "expelled"], "funding": ["grant", "none"]}
    assert "submit" in order["legal_triggers"]

    response = clerk.fire(order["id"], "submit", version=order["version"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "review_dean"
    assert {(p["role"], p["faculty_id"]) for p in response.get_json()["pending_approvals"]} == {
        ("dean", uni.fa.id),
        ("dean", uni.fb.id),
    }

    for dean in (dean_a, dean_b):
        inbox = dean.get("/api/v1/inbox").get_json()
        assert inbox["count"] == 1 and [o["id"] for o in inbox["items"]] == [order["id"]]
        assert "approve" in dean.get(f"/api/v1/orders/{order['id']}").get_json()["legal_triggers"]
        assert dean.fire(order["id"], "approve").status_code == 200
        assert dean.get("/api/v1/inbox").get_json()["count"] == 0

    # The legal route goes on to the registrar office, then the lawyer; each sees it only on their own step.
    for approver, state, after in (
        (registrar, "review_registrar", "review_lawyer"),
        (lawyer, "review_lawyer", "awaiting_signature"),
    ):
        assert rector.get("/api/v1/inbox").get_json()["count"] == 0
        read = approver.get(f"/api/v1/orders/{order['id']}").get_json()
        assert read["state"] == state and "approve" in read["legal_triggers"]
        assert approver.get("/api/v1/inbox").get_json()["count"] == 1
        approved = approver.fire(order["id"], "approve")
        assert approved.status_code == 200 and approved.get_json()["state"] == after
        assert approver.get("/api/v1/inbox").get_json()["count"] == 0

    assert rector.get("/api/v1/inbox").get_json()["count"] == 1
    signed = rector.fire(order["id"], "sign").get_json()
    assert signed["state"] == "signed"

    read = clerk.get(f"/api/v1/orders/{order['id']}").get_json()
    assert read["state"] == "signed" and read["number"] >= 1 and read["number_label"]
    assert read["signed_at"].endswith("+00:00")
    assert [v["decision"] for v in read["visas"]] == ["approved"] * 4 + ["signed"]
    assert [(v["step"], v["role"], v["decided_by"]["id"]) for v in read["visas"]] == [
        ("dean", "dean", uni.dean_a.id),
        ("dean", "dean", uni.dean_b.id),
        ("registrar", "registrar", uni.registrar.id),
        ("lawyer", "lawyer", uni.lawyer.id),
        ("signature", "rector", uni.rector.id),
    ]
    assert [e["trigger"] for e in read["events"]] == ["submit", "approve", "approve", "approve", "approve", "sign"]
    assert read["legal_triggers"] == [] and read["pending_approvals"] == []
    assert read["document"]["url"] == f"/api/v1/orders/{order['id']}/document"

    student = clerk.get(f"/api/v1/students/{a.id}").get_json()
    assert student["status"] == "expelled" and student["funding"] == "none"
    assert len(student["movements"]) == 1
    movement = student["movements"][0]
    assert movement["order_label"] == read["number_label"] and movement["reason"] == "own_request"
    assert movement["changes"]["status"] == ["active", "expelled"]

    document = clerk.get(read["document"]["url"])
    assert document.status_code == 200
    assert document.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert document.data.startswith(b"PK")
    assert document.headers["X-Content-SHA256"] == read["document"]["sha256"]


@pytest.fixture
def commits():
    """Every commit of any session (each request has its own), counted."""
    counted = []

    def count(session):
        counted.append(1)

    event.listen(OrmSession, "after_commit", count)
    yield counted
    event.remove(OrmSession, "after_commit", count)


def test_each_successful_write_commits_exactly_once(uni, make, as_, commits):
    a, b = make.student(uni.ga), make.student(uni.ga)
    clerk = as_(uni.clerk)
    commits.clear()  # setting up the token committed
    order = create(clerk, student_ids=[a.id])
    assert len(commits) == 1
    assert clerk.post(f"/api/v1/orders/{order['id']}/lines", {"student_ids": [b.id]}).status_code == 201
    assert len(commits) == 2
    assert clerk.fire(order["id"], "submit").status_code == 200
    assert len(commits) == 3
    assert_error(clerk.fire(order["id"], "submit"), 409)
    assert len(commits) == 3


def test_lines_can_be_added_by_iin_and_removed_in_a_draft(uni, make, as_):
    a, b = make.student(uni.ga), make.student(uni.gb)
    clerk = as_(uni.clerk)
    order = create(clerk, student_ids=[a.id])
    added = clerk.post(f"/api/v1/orders/{order['id']}/lines", {"iins": [b.iin], "student_ids": [a.id]})
    assert added.status_code == 201
    lines = added.get_json()["lines"]
    assert [line["student"]["id"] for line in lines] == [a.id, b.id]

    removed = clerk.delete(f"/api/v1/orders/{order['id']}/lines/{lines[0]['id']}")
    assert removed.status_code == 200
    assert [line["student"]["id"] for line in removed.get_json()["lines"]] == [b.id]
    assert_error(clerk.delete(f"/api/v1/orders/{order['id']}/lines/{lines[0]['id']}"), 404, "line_id")
    assert_error(clerk.post(f"/api/v1/orders/{order['id']}/lines", {}), 422, "student_ids")

    assert clerk.fire(order["id"], "submit").status_code == 200
    before = line_count()
    assert_error(clerk.post(f"/api/v1/orders/{order['id']}/lines", {"student_ids": [a.id]}), 409, "order")
    assert_error(clerk.delete(f"/api/v1/orders/{order['id']}/lines/{lines[1]['id']}"), 409, "order")
    assert line_count() == before


def test_order_list_filters_by_state_and_pages(uni, make, as_):
    clerk = as_(uni.clerk)
    ids = [create(clerk, student_ids=[make.student(uni.ga).id])["id"] for _ in range(3)]
    assert clerk.fire(ids[0], "submit").status_code == 200

    drafts = clerk.get("/api/v1/orders?state=draft&page_size=1").get_json()
    assert drafts["total"] == 2 and drafts["page_size"] == 1 and [o["id"] for o in drafts["items"]] == [ids[2]]
    assert drafts["items"][0]["line_count"] == 1
    second = clerk.get("/api/v1/orders?state=draft&page_size=1&page=2").get_json()
    assert [o["id"] for o in second["items"]] == [ids[1]]
    assert [o["id"] for o in clerk.get("/api/v1/orders?state=review_dean").get_json()["items"]] == [ids[0]]
    assert_error(clerk.get("/api/v1/orders?state=nonsense"), 422, "state")
    assert_error(clerk.get("/api/v1/orders?page=0"), 422, "page")
    assert_error(clerk.get("/api/v1/orders?page=x"), 422, "page")


def test_student_search_is_scoped_to_the_deans_faculty(uni, make, as_):
    a = make.student(uni.ga, surname="Saparova")
    b = make.student(uni.gb, surname="Saparova")
    clerk, dean_a = as_(uni.clerk), as_(uni.dean_a)
    found = clerk.get("/api/v1/students?q=saparova").get_json()
    assert {s["id"] for s in found} == {a.id, b.id}
    assert {"iin", "surname", "name", "patronymic", "group", "course", "status", "funding", "faculty_id"} <= set(
        found[0]
    )
    assert [s["id"] for s in dean_a.get("/api/v1/students?q=Saparova").get_json()] == [a.id]
    assert [s["id"] for s in dean_a.get(f"/api/v1/students?q={uni.ga.name}").get_json()] == [a.id]
    assert [s["id"] for s in clerk.get(f"/api/v1/students?q={b.iin}").get_json()] == [b.id]
    assert_error(clerk.get("/api/v1/students"), 422, "q")
    assert_error(clerk.get("/api/v1/students?q=x&limit=abc"), 422, "limit")
    assert_error(dean_a.get(f"/api/v1/students/{b.id}"), 403)
    assert dean_a.get(f"/api/v1/students/{a.id}").status_code == 200
    assert_error(clerk.get("/api/v1/students/987654"), 404, "student_id")


# Authentication and scope ---------------------------------------------------------------------------------------

PROTECTED = [
    ("get", "/api/v1/students?q=a"),
    ("get", "/api/v1/students/1"),
    ("get", "/api/v1/orders"),
    ("post", "/api/v1/orders"),
    ("get", "/api/v1/orders/1"),
    ("post", "/api/v1/orders/1/lines"),
    ("delete", "/api/v1/orders/1/lines/1"),
    ("post", "/api/v1/orders/1/fire"),
    ("get", "/api/v1/orders/1/document"),
    ("get", "/api/v1/inbox"),
]


@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_every_endpoint_needs_a_bearer_token(client, session, method, url):
    response = getattr(client, method)(url, json={} if method == "post" else None)
    assert_error(response, 401, "authorization")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = getattr(client, method)(url, headers={"Authorization": "Bearer not-a-token"})
    assert_error(wrong, 401, "authorization")


def test_a_session_cookie_is_not_enough_for_the_api(client, app, uni, make, monkeypatch):
    a = make.student(uni.ga)
    db.session.commit()
    login(client, uni.clerk)
    assert client.get("/orders/").status_code == 200  # the browser session works for the pages
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    before = order_count()
    assert_error(client.get("/api/v1/orders"), 401)
    assert_error(client.post("/api/v1/orders", json={**BODY, "student_ids": [a.id]}), 401)
    assert order_count() == before


def test_bearer_token_writes_need_no_csrf_token_and_override_a_session(client, app, uni, make, as_, monkeypatch):
    a = make.student(uni.ga)
    dean = as_(uni.dean_a)
    clerk = as_(uni.clerk)
    login(client, uni.dean_a)  # a dean's session cookie is there too; the clerk's token decides
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    order = create(clerk, student_ids=[a.id])
    assert order["author"]["id"] == uni.clerk.id
    assert dean.get(f"/api/v1/orders/{order['id']}").status_code == 200


def test_dean_of_another_faculty_gets_403(uni, make, as_):
    a = make.student(uni.ga)
    clerk, dean_a, dean_b = as_(uni.clerk), as_(uni.dean_a), as_(uni.dean_b)
    order = create(clerk, student_ids=[a.id])
    assert clerk.fire(order["id"], "submit").status_code == 200

    assert_error(dean_b.get(f"/api/v1/orders/{order['id']}"), 403, "order_id")
    assert_error(dean_b.fire(order["id"], "approve"), 403)
    assert_error(dean_b.get(f"/api/v1/orders/{order['id']}/document"), 403)
    assert order["id"] not in [o["id"] for o in dean_b.get("/api/v1/orders").get_json()["items"]]
    assert dean_b.get("/api/v1/inbox").get_json()["count"] == 0
    assert db.session.scalar(select(func.count(Visa.id)).where(Visa.order_id == order["id"])) == 0
    assert dean_a.fire(order["id"], "approve").get_json()["state"] == "review_registrar"


def test_dean_sees_only_own_faculty_lines(uni, make, as_):
    a, b = make.student(uni.ga), make.student(uni.gb)
    clerk, dean_a = as_(uni.clerk), as_(uni.dean_a)
    order = create(clerk, student_ids=[a.id, b.id])
    read = dean_a.get(f"/api/v1/orders/{order['id']}").get_json()
    assert [line["student"]["id"] for line in read["lines"]] == [a.id]
    assert read["hidden_lines"] == 1 and read["line_count"] == 2


def test_roles_outside_the_api_audience_get_403(uni, make, as_):
    admin, dean_a = as_(uni.admin), as_(uni.dean_a)
    assert_error(admin.get("/api/v1/orders"), 403)
    assert_error(admin.get("/api/v1/students?q=a"), 403)
    assert_error(admin.get("/api/v1/inbox"), 403)
    before = order_count()
    assert_error(dean_a.post("/api/v1/orders", {**BODY, "student_ids": [make.student(uni.ga).id]}), 403)
    assert order_count() == before


# Bad input ------------------------------------------------------------------------------------------------------


def _bad_iin(iin: str) -> str:
    return iin[:11] + str((int(iin[11]) + 1) % 10)


BAD_BODIES = {
    "wrong IIN check digit": (lambda s: {**BODY, "iins": [s.iin, _bad_iin(s.iin)]}, 422, "iins.1", "check digit"),
    "IIN too short": (lambda s: {**BODY, "iins": ["12345"]}, 422, "iins.0", "12 digits"),
    "IIN of nobody": (lambda s: {**BODY, "iins": ["040315512343"]}, 422, "iins", "040315512343"),
    "unknown student id": (lambda s: {**BODY, "student_ids": [s.id, 987654]}, 422, "student_ids", "987654"),
    "student id not an integer": (lambda s: {**BODY, "student_ids": ["x"]}, 422, "student_ids.0", "integer"),
    "student id too large": (lambda s: {**BODY, "student_ids": [10**30]}, 422, "student_ids.0", ""),
    "student ids not a list": (lambda s: {**BODY, "student_ids": 5}, 422, "student_ids", "list"),
    "missing basis": (lambda s: {k: v for k, v in BODY.items() if k != "basis"}, 422, "basis", "Missing"),
    "blank basis": (lambda s: {**BODY, "basis": "  "}, 422, "basis", ""),
    "basis not a string": (lambda s: {**BODY, "basis": 12}, 422, "basis", "string"),
    "unknown reason": (
        lambda s: {**BODY, "params": {**BODY["params"], "reason": "boredom"}},
        422,
        "params.reason",
        "own_request",
    ),
    "reason a list": (lambda s: {**BODY, "params": {**BODY["params"], "reason": ["x"]}}, 422, "params.reason", ""),
    "bad date": (
        lambda s: {**BODY, "params": {**BODY["params"], "effective_date": "2026-02-30"}},
        422,
        "params.effective_date",
        "",
    ),
    "date a number": (
        lambda s: {**BODY, "params": {**BODY["params"], "effective_date": 20261201}},
        422,
        "params.effective_date",
        "",
    ),
    "params missing": (lambda s: {k: v for k, v in BODY.items() if k != "params"}, 422, "params", ""),
    "unknown kind": (lambda s: {**BODY, "kind": "coronation"}, 422, "kind", "expulsion"),
    "unknown field": (lambda s: {**BODY, "colour": "red"}, 422, "colour", "Unknown"),
    "body is a list": (lambda s: [BODY], 422, "body", ""),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_order_bodies_get_a_json_error_and_change_nothing(uni, make, as_, case):
    student = make.student(uni.ga)
    clerk = as_(uni.clerk)
    body, code, field, words = BAD_BODIES[case]
    before = (order_count(), line_count())
    error = assert_error(clerk.post("/api/v1/orders", body(student)), code, field)
    assert words in json.dumps(error["errors"][field], ensure_ascii=False)
    assert (order_count(), line_count()) == before


def test_several_mistakes_are_reported_together(uni, make, as_):
    student = make.student(uni.ga)
    clerk = as_(uni.clerk)
    body = {**BODY, "basis": "", "params": {"reason": "x", "effective_date": "y"}, "iins": [_bad_iin(student.iin)]}
    assert_error(clerk.post("/api/v1/orders", body), 422, "basis", "params.reason", "params.effective_date", "iins.0")


def test_malformed_json_and_wrong_content_type(uni, as_):
    clerk = as_(uni.clerk)
    before = order_count()
    malformed = clerk.client.post(
        "/api/v1/orders", data='{"kind": "expulsion",', headers={**clerk.headers, "Content-Type": "application/json"}
    )
    assert_error(malformed, 400, "body")
    empty = clerk.client.post("/api/v1/orders", data="", headers={**clerk.headers, "Content-Type": "application/json"})
    assert_error(empty, 422, "kind", "basis", "params")
    form = clerk.client.post("/api/v1/orders", data={"kind": "expulsion"}, headers=clerk.headers)
    assert_error(form, 415, "body")
    assert order_count() == before


def test_bad_ids_in_urls_are_json_404_and_wrong_methods_json_405(uni, as_):
    clerk = as_(uni.clerk)
    assert_error(clerk.get("/api/v1/orders/abc"), 404)
    assert_error(clerk.get(f"/api/v1/orders/{10**20}"), 404)
    assert_error(clerk.get("/api/v1/orders/987654"), 404, "order_id")
    assert_error(clerk.get("/api/v1/students/-1"), 404)
    assert_error(clerk.client.put("/api/v1/orders", headers=clerk.headers), 405)


def test_return_without_comment_is_refused_with_its_rule(uni, make, as_):
    a = make.student(uni.ga)
    clerk, dean_a = as_(uni.clerk), as_(uni.dean_a)
    order = create(clerk, student_ids=[a.id])
    assert clerk.fire(order["id"], "submit").status_code == 200
    error = assert_error(dean_a.fire(order["id"], "return"), 422, "comment")
    assert error["errors"]["comment"][0]["rule"] == "comment.required"
    assert set(error["errors"]["comment"][0]) == {"rule", "message", "data"}
    read = dean_a.get(f"/api/v1/orders/{order['id']}").get_json()
    assert read["state"] == "review_dean" and read["visas"] == []

    returned = dean_a.fire(order["id"], "return", comment="Приложите заявление")
    assert returned.status_code == 200 and returned.get_json()["state"] == "draft"


def test_workflow_refusals_are_403_409_422_with_rules(uni, make, as_):
    a = make.student(uni.ga)
    gone = make.student(uni.ga, status="expelled")
    clerk, dean_a, rector = as_(uni.clerk), as_(uni.dean_a), as_(uni.rector)
    order = create(clerk, student_ids=[a.id, gone.id])
    bad_line = next(line for line in order["lines"] if line["student"]["id"] == gone.id)
    assert bad_line["eligible"] is False and bad_line["eligibility"][0]["rule"] == "expulsion.status"

    error = assert_error(clerk.fire(order["id"], "submit"), 422, f"lines.{bad_line['id']}")
    assert [r["rule"] for r in error["errors"][f"lines.{bad_line['id']}"]] == ["expulsion.status"]
    assert clerk.get(f"/api/v1/orders/{order['id']}").get_json()["state"] == "draft"

    assert clerk.delete(f"/api/v1/orders/{order['id']}/lines/{bad_line['id']}").status_code == 200
    stale = order["version"]
    assert clerk.fire(order["id"], "submit").status_code == 200
    error = assert_error(dean_a.fire(order["id"], "approve", version=stale), 409, "version")
    assert error["errors"]["version"][0]["rule"] == "state.stale"
    error = assert_error(rector.fire(order["id"], "sign"), 409, "state")
    assert error["errors"]["state"][0]["rule"] == "state.invalid"
    error = assert_error(clerk.fire(order["id"], "approve"), 403, "permission")
    assert error["errors"]["permission"][0]["rule"].startswith("permission.")
    assert_error(clerk.fire(order["id"], "dance"), 422, "trigger")
    assert_error(
        clerk.post(f"/api/v1/orders/{order['id']}/fire", {"trigger": "approve", "version": "3"}), 422, "version"
    )
    assert_error(clerk.post(f"/api/v1/orders/{order['id']}/fire", {}), 422, "trigger")


def test_document_is_404_json_before_signing(uni, make, as_):
    clerk = as_(uni.clerk)
    order = create(clerk, student_ids=[make.student(uni.ga).id])
    assert_error(clerk.get(f"/api/v1/orders/{order['id']}/document"), 404, "document")


# The OpenAPI document -------------------------------------------------------------------------------------------


def test_openapi_document_lists_every_path_with_bearer_security(client, session):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.data)
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) >= {
        "/api/v1/students",
        "/api/v1/students/{student_id}",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{order_id}/lines",
        "/api/v1/orders/{order_id}/lines/{line_id}",
        "/api/v1/orders/{order_id}/fire",
        "/api/v1/orders/{order_id}/document",
        "/api/v1/inbox",
    }
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `registrar create-token USER`",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    assert {"kind", "basis", "params", "student_ids", "iins"} <= set(
        spec["components"]["schemas"]["OrderCreateArgs"]["properties"]
    )
    assert set(spec["components"]["schemas"]["ApiError"]["properties"]) == {"code", "message", "errors"}
    assert "post" in spec["paths"]["/api/v1/orders/{order_id}/fire"]
