"""The audit log view: the registrar head and the admin only; search by person, order, action and dates; pages; the
export; whether the chain verifies."""

import re

import pytest
from sqlalchemy import text

from core.clock import today
from core.db import db
from tests.conftest import login, sign
from tests.reports.helpers import sheet_rows, table_rows
from tests.workflow.test_audit_chain import _switch_off_guards
from workflow.audit import record_event, seal
from workflow.models import AuditEvent


@pytest.fixture
def history(uni, make):
    signed = make.order(uni.clerk, [make.student(uni.ga)])
    sign(signed, uni)
    draft = make.order(uni.clerk, [make.student(uni.gb)])
    record_event(uni.admin, "user.created", "user:99", {"username": "someone"})
    db.session.flush()
    return signed, draft


def events(client, **args) -> list[int]:
    response = client.get("/reports/audit/", query_string=args)
    assert response.status_code == 200, response.text[:300]
    return [int(n) for n in re.findall(r'data-event="(\d+)"', response.text)]


def ids(**where) -> list[int]:
    query = db.session.query(AuditEvent.id).filter_by(**where).order_by(AuditEvent.id.desc())
    return [row.id for row in query]


@pytest.mark.parametrize("role", ["clerk", "dean_a", "rector", "lawyer", "finance"])
def test_only_the_registrar_head_and_the_admin_open_it(client, uni, role):
    login(client, getattr(uni, role))
    assert client.get("/reports/audit/").status_code == 403
    assert client.get("/reports/audit/audit.xlsx").status_code == 403


def test_search_by_person_order_action_and_dates(client, uni, history):
    signed, _draft = history
    login(client, uni.registrar)
    every = events(client)
    assert every == ids() and len(every) > 4
    assert events(client, person=uni.rector.username) == ids(actor_id=uni.rector.id)
    assert events(client, person="Rector") == ids(actor_id=uni.rector.id)
    assert events(client, order=signed.number_label) == ids(order_id=signed.id)
    assert events(client, order=f"#{signed.id}") == ids(order_id=signed.id)
    assert events(client, action="sign") == ids(trigger="sign") and len(ids(trigger="sign")) == 1
    assert events(client, action="user.created") == ids(action="user.created")
    assert events(client, date_from=today().isoformat(), date_to=today().isoformat()) == every
    assert events(client, date_to="2020-01-01") == []
    bad = client.get("/reports/audit/", query_string={"date_from": "yesterday"})
    assert bad.status_code == 400 and "Give the date as YYYY-MM-DD" in bad.text


def test_the_export_reads_back_as_the_page(client, uni, history):
    login(client, uni.admin)
    page = table_rows(client.get("/reports/audit/?person=Rector").text, "audit")
    rows = sheet_rows(client.get("/reports/audit/audit.xlsx?person=Rector").data)
    assert len(rows) == len(page) > 0
    for shown, row in zip(page, rows, strict=True):
        assert shown[1:8] == [cell or "" for cell in row[1:8]]
        assert shown[8] == ("not linked yet" if row[8] is None else str(row[8]))


def test_pages_hold_the_rest(client, uni):
    for n in range(53):
        record_event(uni.admin, "user.updated", f"user:{n}")
    db.session.flush()
    login(client, uni.registrar)
    first, second = events(client), events(client, page="2")
    assert len(first) == 50 and len(second) == 3 and not set(first) & set(second)
    assert events(client, page="x") == first
    assert events(client, page="9") == second


def test_the_page_says_whether_the_chain_verifies(client, uni, history):
    seal()
    login(client, uni.registrar)
    assert "Verify the chain" in client.get("/reports/audit/").text
    good = client.get("/reports/audit/?verify=1").text
    assert "The chain verifies" in good and "does NOT verify" not in good
    event = db.session.query(AuditEvent).filter(AuditEvent.chain_seq == 2).one()
    _switch_off_guards("audit_events")
    db.session.execute(text("UPDATE audit_events SET comment = 'forged' WHERE id = :id"), {"id": event.id})
    db.session.expire_all()
    bad = client.get("/reports/audit/?verify=1").text
    assert "The chain does NOT verify" in bad and f"event {event.id}" in bad
