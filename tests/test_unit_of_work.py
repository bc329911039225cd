"""One error path and one commit per request: a refusal is answered once (flashed on a page, JSON in the API) and
changes nothing; any failure rolls the request back; views and API handlers never commit or roll back."""

import ast
import re
from datetime import date
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import issue_token
from orders import operations
from orders.models import Order, OrderLine, OrderRound
from students.iin import make_iin
from students.models import Faculty
from tests.conftest import login
from workflow.models import AuditEvent

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "students", "workflow", "notifications", "orders", "approvals", "reports", "registrar")
# Modules that own their transactions: the CLI, the delivery worker, the request's unit of work, the background job
# runner (its claim, its work, its result), the flashed messages stored after the unit of work, the PDF actor, and
# `core.db.write_after_reads`, which on SQLite only ends a transaction that has only read before a worker or a download
# freezes what it rendered.
OWN_TRANSACTIONS = {
    "registrar/cli.py",
    "notifications/relay.py",
    "registrar/app.py",
    "core/errors.py",
    "orders/jobs.py",
    "core/flashes.py",
    "orders/pdf.py",
    "core/db.py",
}


def page(response) -> str:
    return response.get_data(as_text=True)


def audit_count(order: Order) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.order_id == order.id))


def line_count(order: Order) -> int:
    return db.session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order.id))


@pytest.fixture
def stale_draft(uni, make):
    """A draft whose only line was eligible when added and is not any more: the student has been expelled since,
    so submitting re-checks the line, writes its refusal into the line, and is refused."""
    student = make.student(uni.ga)
    order = make.order(uni.clerk, [student])
    student.status = "expelled"
    db.session.commit()
    return order


def assert_unchanged(order: Order, eligibility: list | None = None) -> None:
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.state == "draft" and order.round == 0
    # the refusal the check wrote was rolled back with the request: the line's eligibility is as it was before
    assert order.lines[0].eligibility == (eligibility or [])
    assert audit_count(order) == 0
    assert db.session.scalar(select(func.count()).select_from(OrderRound).where(OrderRound.order_id == order.id)) == 0


def test_a_refusal_on_a_page_is_flashed_and_through_the_api_is_json_naming_the_line(client, uni, stale_draft):
    order, line = stale_draft, stale_draft.lines[0]
    why = f"{line.student.full_name} is expelled: only active students or students on academic leave can be expelled."

    login(client, uni.clerk)
    response = client.post(f"/orders/{order.id}/fire/submit", data={"version": str(order.version)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orders/{order.id}")
    assert_unchanged(order)  # before the page: showing a draft re-checks its lines as submitting does
    assert why in page(client.get(response.headers["Location"]))

    token = issue_token(uni.clerk)
    db.session.commit()
    response = client.post(
        f"/api/v1/orders/{order.id}/fire", json={"trigger": "submit"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and body["message"] == why
    refusal = {"rule": "expulsion.status", "message": why, "data": {"status": "expelled"}, "absolute": True}
    assert body["errors"] == {f"lines.{line.id}": [refusal]}
    assert_unchanged(order, [refusal])  # as the page's re-check stored it


def test_invalid_input_on_a_page_is_flashed_and_through_the_api_names_the_field(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    nobody = next(iin for serial in count(1) if (iin := make_iin(date(2001, 1, 1), True, serial)))
    db.session.commit()

    login(client, uni.clerk)
    response = client.post(f"/orders/{order.id}/lines", data={"iins": nobody}, follow_redirects=True)
    assert response.status_code == 200 and f"No student with IIN {nobody}." in page(response)
    assert line_count(order) == 1

    token = issue_token(uni.clerk)
    db.session.commit()
    response = client.post(
        f"/api/v1/orders/{order.id}/lines", json={"iins": [nobody]}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"iins": f"No student with IIN {nobody}."}
    assert line_count(order) == 1


def test_a_view_failing_after_it_wrote_leaves_nothing_written(app, client, uni, make, monkeypatch):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    newcomer = make.student(uni.ga)
    db.session.commit()
    add_students = operations.add_students

    def add_then_fail(*args, **kwargs):
        add_students(*args, **kwargs)
        db.session.flush()
        raise RuntimeError("a bug after the write")

    monkeypatch.setattr(operations, "add_students", add_then_fail)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # answer as in production: the error page
    login(client, uni.clerk)
    response = client.post(f"/orders/{order.id}/lines", data={"student_id": str(newcomer.id)})
    assert response.status_code == 500
    assert "Something went wrong on our side; nothing was changed." in page(response)
    assert line_count(order) == 1


def test_a_failed_commit_is_a_conflict_not_a_success(client, uni, make, monkeypatch):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    newcomer = make.student(uni.ga)
    db.session.commit()
    add_students = operations.add_students

    def add_and_collide(order, ids, actor):
        added = add_students(order, ids, actor)
        db.session.add(Faculty(code=uni.fa.code, name_kk="x", name_ru="x", name_en="x"))  # flushed at the commit
        return added

    monkeypatch.setattr(operations, "add_students", add_and_collide)
    login(client, uni.clerk)
    response = client.post(f"/orders/{order.id}/lines", data={"student_id": str(newcomer.id)}, follow_redirects=True)
    html = page(response)
    assert "Someone changed this order at the same moment; try again." in html
    assert "student(s) added" not in html
    assert line_count(order) == 1


def _commits_and_rollbacks(path: Path) -> list[str]:
    """`x.commit()` and `x.rollback()` calls in a module, except on a SAVEPOINT it took with `begin_nested()`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    savepoints = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func).endswith("begin_nested")
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
        and not (isinstance(node.func.value, ast.Name) and node.func.value.id in savepoints)
    ]


def test_no_view_api_handler_or_operation_commits_or_rolls_back():
    modules = [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in OWN_TRANSACTIONS
    ]
    assert any(re.search(r"_(views|api)\.py$|/views\.py$|/api\.py$", p.as_posix()) for p in modules)
    found = [call for path in modules for call in _commits_and_rollbacks(path)]
    assert found == []
