"""The inbox: its four views and their counts for each role, substitutes, overdue work, filters, search,
pagination, sorting, and a number of SQL queries per page that does not grow with the orders or the page size."""

import re
from datetime import timedelta

import pytest

from core.clock import now, today
from core.db import db
from core.models import issue_token
from tests.builders import stands_in, statements_run
from tests.conftest import login, visa_until_signature
from workflow.engine import fire


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def counts(html: str) -> dict[str, int]:
    return {view: int(n) for view, n in re.findall(r'data-testid="count-(\w+)">(\d+)<', html)}


def rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr class="[^"]*" data-order="(\d+)"', html)]


@pytest.fixture
def api(client):
    def caller(user):
        token = issue_token(user)
        db.session.commit()  # releases the test's SAVEPOINT only; the outer transaction is rolled back

        def get(url: str):
            response = client.get(url, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.get_json()
            return response.get_json()

        return get

    return caller


@pytest.fixture
def world(uni, make):
    """waiting: two-faculty order at the deans; at_registrar: dean A visaed; at_rector: all visas given;
    returned: sent back by dean A with a comment."""
    uni.waiting = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb, surname="Омарова")])
    uni.at_registrar = make.order(uni.clerk, [make.student(uni.ga)])
    uni.at_rector = make.order(uni.clerk, [make.student(uni.ga)])
    uni.returned = make.order(uni.clerk, [make.student(uni.ga)])
    for order in (uni.waiting, uni.at_registrar, uni.at_rector, uni.returned):
        fire(order, "submit", uni.clerk)
    fire(uni.at_registrar, "approve", uni.dean_a)
    visa_until_signature(uni.at_rector, uni)
    fire(uni.returned, "return", uni.dean_a, comment="Приложите заявление студента")
    db.session.flush()
    return uni


def test_views_and_counts_for_dean_registrar_rector_and_author(client, world):
    u = world
    expected = {
        u.dean_a: ({"waiting": 1, "overdue": 0, "returned": 0, "history": 3}, [u.waiting.id]),
        u.dean_b: ({"waiting": 1, "overdue": 0, "returned": 0, "history": 0}, [u.waiting.id]),
        u.registrar: ({"waiting": 1, "overdue": 0, "returned": 0, "history": 1}, [u.at_registrar.id]),
        u.rector: ({"waiting": 1, "overdue": 0, "returned": 0, "history": 0}, [u.at_rector.id]),
        u.clerk: ({"waiting": 0, "overdue": 0, "returned": 1, "history": 0}, []),
    }
    for user, (view_counts, waiting) in expected.items():
        login(client, user)
        html = page(client.get("/inbox"))
        assert counts(html) == view_counts, user.username
        assert sorted(rows(html)) == sorted(waiting), user.username
        assert re.search(r'data-testid="inbox-count">(\d+)<', html).group(1) == str(view_counts["waiting"])

    login(client, u.clerk)
    html = page(client.get("/inbox?view=returned"))
    assert rows(html) == [u.returned.id]
    assert "Приложите заявление студента" in html and u.dean_a.full_name in html

    login(client, u.dean_a)
    html = page(client.get("/inbox?view=history"))
    assert rows(html) == [u.returned.id, u.at_rector.id, u.at_registrar.id]  # newest decision first
    assert 'class="decision returned"' in html and 'class="decision approved"' in html


def test_api_inbox_views(client, world, api):
    get = api(world.dean_a)
    waiting = get("/api/v1/inbox")
    assert waiting["counts"] == {"waiting": 1, "overdue": 0, "returned": 0, "history": 3}
    assert [i["id"] for i in waiting["items"]] == [world.waiting.id] and waiting["count"] == 1
    item = waiting["items"][0]
    assert item["line_count"] == 2 and item["own_line_count"] == 1 and item["acting_for"] is None
    history = get("/api/v1/inbox?view=history")
    assert [(i["id"], i["decision"]) for i in history["items"]] == [
        (world.returned.id, "returned"),
        (world.at_rector.id, "approved"),
        (world.at_registrar.id, "approved"),
    ]
    returned = api(world.clerk)("/api/v1/inbox?view=returned")
    assert returned["items"][0]["return_comment"] == "Приложите заявление студента"


def test_substitute_rows_say_whom_they_act_for(client, uni, make):
    fc = make.faculty("FC")
    vice = make.user("dean", fc, username="vice_dean")
    stands_in(uni.dean_a, vice, 7)
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    db.session.flush()
    login(client, vice)
    html = page(client.get("/inbox"))
    assert rows(html) == [order.id]
    assert f"acting for {uni.dean_a.full_name}" in html
    login(client, uni.dean_a)  # the dean on leave still sees own work, not marked
    html = page(client.get("/inbox"))
    assert rows(html) == [order.id] and 'data-testid="acting-for"' not in html


def test_overdue_view_and_red_rows(client, app, world):
    login(client, world.registrar)
    html = page(client.get("/inbox"))
    assert counts(html)["overdue"] == 0 and 'class="overdue"' not in html
    app.config["CLOCK_NOW"] = now() + timedelta(days=30)
    try:
        html = page(client.get("/inbox?view=overdue"))
        assert counts(html)["overdue"] == 1 and rows(html) == [world.at_registrar.id]
        html = page(client.get("/inbox"))
        assert html.count('<tr class="overdue"') == 1 and "overdue</strong>" in html
        html = page(client.get("/inbox?view=history"))  # marked in every view: late at the rector's
        assert rows(html) == [world.at_rector.id] and html.count('<tr class="overdue"') == 1
    finally:
        app.config["CLOCK_NOW"] = None


def test_filters_and_search(client, uni, make, api):
    a = make.student(uni.ga, surname="Жумабаева", name="Айгерим")
    b = make.student(uni.gb, surname="Сергеев", name="Павел")
    order_a = make.order(uni.clerk, [a])
    order_b = make.order(uni.clerk, [b])
    for order in (order_a, order_b):
        fire(order, "submit", uni.clerk)
    for order in (order_a, order_b):
        fire(order, "approve", uni.dean_a if order is order_a else uni.dean_b)
    get = api(uni.registrar)

    def ids(query: str) -> list[int]:
        return sorted(i["id"] for i in get(f"/api/v1/inbox?{query}")["items"])

    both = sorted([order_a.id, order_b.id])
    assert ids("") == both
    assert ids("kind=expulsion") == both
    assert ids(f"faculty_id={uni.fb.id}") == [order_b.id]
    assert ids(f"q={a.iin}") == [order_a.id]
    assert ids(f"q={b.iin[:11]}") == [order_b.id]
    assert ids("q=жумабаева") == [order_a.id]
    assert ids("q=Сергеев Павел") == [order_b.id]
    assert ids("q=Нет такого") == []
    assert ids(f"q=%23{order_b.id}") == [order_b.id]
    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert ids(f"date_field=created&date_from={tomorrow}") == []
    assert ids(f"date_to={tomorrow}") == both
    login(client, uni.registrar)
    html = page(client.get(f"/inbox?q={a.iin}"))
    assert rows(html) == [order_a.id]
    html = page(client.get(f"/inbox?faculty={uni.fb.id}"))
    assert rows(html) == [order_b.id]


def test_a_dean_finds_no_order_by_a_student_of_another_faculty(client, uni, make, api):
    other = make.student(uni.gb, surname="Чужая")
    order = make.order(uni.clerk, [make.student(uni.ga), other])
    fire(order, "submit", uni.clerk)
    get = api(uni.dean_a)
    assert get("/api/v1/inbox")["count"] == 1
    assert get(f"/api/v1/inbox?q={other.iin}")["count"] == 0


def _orders_for_dean_a(uni, make, n: int) -> list:
    made = []
    for _i in range(n):
        order = make.order(uni.clerk, [make.student(uni.ga)])
        fire(order, "submit", uni.clerk)
        made.append(order)
    db.session.flush()
    return made


def test_pagination_and_sorting(client, uni, make, api):
    made = _orders_for_dean_a(uni, make, 12)
    get = api(uni.dean_a)
    first = get("/api/v1/inbox?page_size=10&sort=number&direction=asc")
    second = get("/api/v1/inbox?page_size=10&page=2&sort=number&direction=asc")
    assert first["count"] == 12 and len(first["items"]) == 10 and len(second["items"]) == 2
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(o.id for o in made)
    newest_first = [i["id"] for i in get("/api/v1/inbox?page_size=100&sort=updated&direction=desc")["items"]]
    assert newest_first == sorted((o.id for o in made), reverse=True)
    login(client, uni.dean_a)
    html = page(client.get("/inbox?page_size=10"))
    assert len(rows(html)) == 10 and "Page 1 of 2" in html
    html = page(client.get("/inbox?page_size=10&page=2"))
    assert len(rows(html)) == 2


def test_page_size_over_100_is_refused_by_the_api(client, uni, api):
    token = issue_token(uni.dean_a)
    db.session.commit()
    response = client.get("/api/v1/inbox?page_size=101", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422


def _count_queries(call, *args, **kwargs) -> int:
    with statements_run() as statements:
        response = call(*args, **kwargs)
        assert response.status_code == 200
    return len(statements)


def test_queries_per_inbox_page_do_not_grow_with_orders_or_page_size(client, uni, make, api):
    login(client, uni.dean_a)
    token = issue_token(uni.dean_a)
    headers = {"Authorization": f"Bearer {token}"}
    figures = {}
    decided = _orders_for_dean_a(uni, make, 3)
    for order in decided:  # something in dean A's history too
        fire(order, "approve", uni.dean_a)
    _orders_for_dean_a(uni, make, 5)
    db.session.commit()
    client.get("/inbox")  # shows (and deletes) the messages waiting since the sign-in, so every page counted is alike
    for n in (5, 30):
        if n == 30:
            _orders_for_dean_a(uni, make, 25)
            db.session.commit()
        for size in (10, 50):
            for view in ("waiting", "history"):
                figures[("web", n, size, view)] = _count_queries(client.get, f"/inbox?view={view}&page_size={size}&q=а")
                figures[("api", n, size, view)] = _count_queries(
                    client.get, f"/api/v1/inbox?view={view}&page_size={size}", headers=headers
                )
    for channel in ("web", "api"):
        for view in ("waiting", "history"):
            assert len({v for k, v in figures.items() if (k[0], k[3]) == (channel, view)}) == 1, figures
    print("queries per inbox page:", {(k[0], k[3]): v for k, v in figures.items()})
