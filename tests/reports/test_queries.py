"""The list pages issue a fixed number of queries, however many rows a page holds."""

from sqlalchemy import event

from core.db import db
from tests.conftest import login, sign


def queries(client, url: str) -> int:
    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
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
    client.get(urls[0])  # warm: the first page after signing in reads and clears the sign-in's stored message
    few = [queries(client, url) for url in urls]
    add_orders(uni, make, 8)
    many = [queries(client, url) for url in urls]
    assert many == few
