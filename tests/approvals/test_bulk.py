"""Bulk decisions from the inbox: each order tried on its own in a SAVEPOINT, the refused ones reported, the others
moved on; return and reject need a comment or nothing happens."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.clock import today
from core.db import db
from core.models import Substitution, issue_token
from tests.conftest import login, visa_until_signature
from workflow.engine import fire
from workflow.models import Visa


def visas() -> int:
    return db.session.scalar(select(func.count()).select_from(Visa))


@pytest.fixture
def three(uni, make):
    """Three orders at the deans' step; dean A has already visaed the third (it still waits for dean B)."""
    orders = [
        make.order(uni.clerk, [make.student(uni.ga)]),
        make.order(uni.clerk, [make.student(uni.ga)]),
        make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)]),
    ]
    for order in orders:
        fire(order, "submit", uni.clerk)
    fire(orders[2], "approve", uni.dean_a)
    db.session.flush()
    return orders


def states(orders) -> list[str]:
    for order in orders:
        db.session.refresh(order)
    return [order.state for order in orders]


def test_bulk_approve_in_the_web_reports_each_order(client, uni, three):
    login(client, uni.dean_a)
    response = client.post(
        "/inbox/bulk", data={"order_id": [str(o.id) for o in three], "trigger": "approve", "comment": "Согласовано"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    outcome = dict(re.findall(r'data-order="(\d+)" data-ok="(\w+)"', html))
    assert outcome == {str(three[0].id): "yes", str(three[1].id): "yes", str(three[2].id): "no"}
    assert f'data-order="{three[2].id}" data-ok="no"' in html and 'data-rule="permission.second_visa"' in html
    assert html.count('data-ok="yes"') == 2
    assert states(three) == ["review_registrar", "review_registrar", "review_dean"]
    comments = set(db.session.scalars(select(Visa.comment).where(Visa.order_id.in_([three[0].id, three[1].id]))))
    assert comments == {"Согласовано"}


def test_bulk_approve_through_the_api(client, uni, three):
    token = issue_token(uni.dean_a)
    db.session.commit()
    response = client.post(
        "/api/v1/inbox/bulk",
        headers={"Authorization": f"Bearer {token}"},
        json={"order_ids": [o.id for o in three], "trigger": "approve"},
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert (body["done"], body["refused"]) == (2, 1)
    by_id = {r["order_id"]: r for r in body["results"]}
    assert by_id[three[0].id]["ok"] and by_id[three[0].id]["state"] == "review_registrar"
    assert not by_id[three[2].id]["ok"]
    assert [r["rule"] for r in by_id[three[2].id]["refusals"]] == ["permission.second_visa"]
    assert states(three) == ["review_registrar", "review_registrar", "review_dean"]


def test_a_failing_guard_spoils_only_its_own_order(client, uni, make, three):
    """The rector signs three orders; one line became ineligible after submission (the student was expelled
    meanwhile), so the signing guard refuses that order alone."""
    ready = three
    for order in ready:
        visa_until_signature(order, uni)
    bad = ready[1].lines[0].student
    bad.status = "expelled"
    db.session.flush()
    login(client, uni.rector)
    response = client.post("/inbox/bulk", data={"order_id": [str(o.id) for o in ready], "trigger": "sign"})
    assert response.status_code == 200
    assert states(ready) == ["signed", "awaiting_signature", "signed"]
    html = response.get_data(as_text=True)
    assert f'data-order="{ready[1].id}" data-ok="no"' in html


@pytest.mark.parametrize("trigger", ["return", "reject"])
def test_bulk_return_or_reject_without_comment_changes_nothing(client, uni, three, trigger):
    before = visas()
    login(client, uni.dean_a)
    response = client.post(
        "/inbox/bulk", data={"order_id": [str(o.id) for o in three[:2]], "trigger": trigger, "comment": "   "}
    )
    assert response.status_code == 302
    assert "A comment is required" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert states(three) == ["review_dean"] * 3 and visas() == before

    token = issue_token(uni.dean_a)
    db.session.commit()
    response = client.post(
        "/api/v1/inbox/bulk",
        headers={"Authorization": f"Bearer {token}"},
        json={"order_ids": [three[0].id], "trigger": trigger},
    )
    assert response.status_code == 422 and "comment" in response.get_json()["errors"]
    assert states(three) == ["review_dean"] * 3 and visas() == before


def test_bulk_return_with_comment_sends_each_back(client, uni, three):
    login(client, uni.dean_a)
    response = client.post(
        "/inbox/bulk",
        data={"order_id": [str(o.id) for o in three[:2]], "trigger": "return", "comment": "Нет заявлений"},
    )
    assert response.status_code == 200
    assert states(three) == ["draft", "draft", "review_dean"]
    login(client, uni.clerk)
    html = client.get("/inbox?view=returned").get_data(as_text=True)
    assert html.count("Нет заявлений") == 2


def test_bulk_acts_for_the_substituted_dean(client, uni, make, three):
    fc = make.faculty("FC")
    vice = make.user("dean", fc, username="vice_bulk")
    db.session.add(
        Substitution(
            principal_id=uni.dean_a.id, substitute_id=vice.id, starts_on=today(), ends_on=today() + timedelta(days=3)
        )
    )
    db.session.flush()
    login(client, vice)
    html = client.post("/inbox/bulk", data={"order_id": [str(three[0].id)], "trigger": "approve"}).get_data(
        as_text=True
    )
    assert f"acting for {uni.dean_a.full_name}" in html
    visa = db.session.scalar(select(Visa).where(Visa.order_id == three[0].id))
    assert visa.decided_by_id == vice.id and visa.acting_for_id == uni.dean_a.id
