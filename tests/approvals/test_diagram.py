"""The route diagram (SVG and Mermaid, from the live route definition) and the order page around it: own faculty's
lines with the others summarised, the round and what changed since the last one, "acting for"."""

import re
from datetime import timedelta

from approvals import diagram
from core.clock import today
from core.db import db
from core.models import Substitution, issue_token
from orders import operations
from tests.conftest import login
from workflow.engine import fire, route_of
from workflow.routes import DEFAULT_ROUTES, save_route_version


def node(svg: str, state: str) -> str:
    return re.search(rf'<g class="node (\w+)" data-state="{state}"', svg).group(1)


def test_svg_names_every_step_and_marks_the_current_one(app):
    route = DEFAULT_ROUTES["legal"]
    with app.test_request_context():
        svg = diagram.svg(route, "review_registrar")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for text in ("Draft", "Dean (one per faculty)", "Registrar", "Lawyer", "Awaiting signature", "Signed"):
        assert text in svg
    assert [
        node(svg, s)
        for s in ("draft", "review_dean", "review_registrar", "review_lawyer", "awaiting_signature", "signed")
    ] == ["done", "done", "current", "todo", "todo", "todo"]
    assert svg.count('aria-current="step"') == 1


def test_svg_of_signed_and_rejected_orders(app):
    route = DEFAULT_ROUTES["movement"]
    with app.test_request_context():
        signed = diagram.svg(route, "signed")
        rejected = diagram.svg(route, "rejected")
    assert node(signed, "signed") == "done" and node(signed, "review_dean") == "done"
    assert node(rejected, "rejected") == "ended" and "Rejected" in rejected


def test_mermaid_text_has_every_state_and_the_current_one_highlighted(app):
    route = DEFAULT_ROUTES["legal"]
    with app.test_request_context():
        text = diagram.mermaid(route, "review_lawyer")
    assert "stateDiagram-v2" in text
    for state in route.states:
        assert f" as {state}" in text
    assert "Class review_lawyer s_active" in text and "Class review_dean s_previous" in text
    assert "review_lawyer --> awaiting_signature: approve" in text and "awaiting_signature --> signed: sign" in text


def test_diagram_follows_the_orders_route_version(session, app, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)  # on version 1 of its route
    save_route_version(
        {"name": order.route_name, "steps": [{"name": "registrar", "roles": ["registrar"]}]}, uni.admin.id
    )
    with app.test_request_context():
        assert "Lawyer" in diagram.svg(route_of(order), order.state)
        newer = make.order(uni.clerk, [make.student(uni.ga)])
        fire(newer, "submit", uni.clerk)
        svg = diagram.svg(route_of(newer), newer.state)
    assert "Lawyer" not in svg and node(svg, "review_registrar") == "current"


def test_order_page_shows_the_route_and_its_mermaid_source(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    login(client, uni.dean_a)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="route-diagram"' in html
    assert '<g class="node current" data-state="review_dean"' in html
    assert "<details>" in html and "stateDiagram-v2" in html


def test_api_route_of_an_order(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    fire(order, "approve", uni.dean_a)
    token = issue_token(uni.registrar)
    db.session.commit()
    body = client.get(f"/api/v1/orders/{order.id}/route", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["name"] == order.route_name and body["version"] == order.route_version
    assert body["current_state"] == "review_registrar"
    assert [(s["name"], s["status"]) for s in body["steps"]] == [
        ("dean", "done"),
        ("registrar", "current"),
        ("lawyer", "todo"),
    ]
    assert "stateDiagram-v2" in body["mermaid"] and body["svg"].startswith("<svg")
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/orders/{order_id}/route", "/api/v1/inbox", "/api/v1/inbox/bulk"} <= set(spec["paths"])


def test_dean_sees_own_lines_and_a_count_per_other_faculty(client, uni, make):
    fc = make.faculty("FC")
    gc = make.group(fc)
    own = make.student(uni.ga, surname="Своя")
    order = make.order(
        uni.clerk,
        [
            own,
            make.student(uni.gb, surname="Чужая"),
            make.student(gc, surname="Третья"),
            make.student(gc, surname="Четвёртая"),
        ],
    )
    fire(order, "submit", uni.clerk)
    login(client, uni.dean_a)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert own.iin in html and "Чужая" not in html and "Третья" not in html
    summary = re.search(r'data-testid="other-faculties">(.*?)</p>', html, re.S).group(1)
    assert re.search(r"FB[^<]*: 1<", summary) and re.search(r"FC[^<]*: 2<", summary)
    assert 'data-trigger="approve"' in html


def test_round_and_changes_since_the_last_round(client, uni, make):
    first, second = make.student(uni.ga, surname="Первый"), make.student(uni.ga, surname="Второй")
    order = make.order(uni.clerk, [first])
    fire(order, "submit", uni.clerk)
    fire(order, "return", uni.dean_a, comment="Добавьте второго")
    operations.add_students(order, [second.id], uni.clerk)
    fire(order, "submit", uni.clerk)
    login(client, uni.dean_a)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert re.search(r'data-testid="order-round">[^<]* 2<', html)
    changes = re.search(r'data-testid="round-changes">(.*?)</section>', html, re.S).group(1)
    assert "Второй" in changes and "Первый" not in changes


def test_substitute_sees_whom_they_act_for(client, uni, make):
    fc = make.faculty("FC")
    vice = make.user("dean", fc, username="vice_page")
    db.session.add(
        Substitution(
            principal_id=uni.dean_a.id, substitute_id=vice.id, starts_on=today(), ends_on=today() + timedelta(days=3)
        )
    )
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    db.session.flush()
    login(client, vice)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="you-act-for"' in html and uni.dean_a.full_name in html
    assert client.post(f"/orders/{order.id}/fire/approve", data={"version": order.version}).status_code == 302
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert re.search(rf"<td>{vice.full_name}</td><td>[^<]*{uni.dean_a.full_name}</td>", html)
