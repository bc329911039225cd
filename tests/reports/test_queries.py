"""The list pages issue a fixed number of queries, however many rows a page holds."""

from core.db import db
from tests.builders import statements_run
from tests.conftest import login, sign


def queries(client, url: str) -> int:
    with statements_run() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def add_orders(uni, make, n: int) -> None:
    for _ in range(n):
        order = make.order(uni.clerk, [make.student(uni.ga), make.student(make.group(uni.fb))])
        sign(order, uni)
    db.session.flush()


def test_journal_audit_and_student_pages_do_not_query_per_row(client, uni, make):
    urls = ("/orders/", "/orders/?student=Ахметов", "/reports/audit/", "/students/")
    add_orders(uni, make, 2)
    login(client, uni.registrar)
    client.get("/orders/")  # the first page after signing in also shows (and deletes) the stored sign-in message
    few = [queries(client, url) for url in urls]
    add_orders(uni, make, 8)
    many = [queries(client, url) for url in urls]
    assert many == few
