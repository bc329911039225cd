"""Big orders stay usable: the order page pages and filters its lines (eligibility, faculty, group, outcome) with
counts, in a fixed number of queries; many lines leave a draft in one action (every refused line, or those ticked);
a promotion draft lists its final-year students apart instead of as lines."""

import re

import pytest
from sqlalchemy import event, func, select, update

from core.db import db
from orders import operations
from orders.models import Order, OrderLine
from students.models import Student
from tests.conftest import login
from tests.orders.test_promotion import Cohort, bulk_draft, year_end  # noqa: F401 (a fixture)
from workflow.engine import fire
from workflow.models import AuditEvent

pytestmark = pytest.mark.usefixtures("english")


def rows(page: str) -> list[int]:
    """The ids of the lines shown on an order page, in order."""
    return [int(n) for n in re.findall(r'<tr class="[^"]*" data-line="(\d+)"', page)]


def names(page: str) -> set[str]:
    return set(re.findall(r'data-line="\d+">.*?<a href="/students/\d+">([^<]+)</a>', page, re.S))


def draft_of(make, uni, students) -> Order:
    return make.order(uni.clerk, students)


def expel(students) -> None:
    """Expelled meanwhile: their lines in an expulsion draft are refused."""
    db.session.execute(update(Student).where(Student.id.in_([s.id for s in students])).values(status="expelled"))
    db.session.expire_all()


def line_count(order: Order) -> int:
    return db.session.scalar(select(func.count(OrderLine.id)).where(OrderLine.order_id == order.id))


# Paging and filters ------------------------------------------------------------------------------------------------


def test_the_order_page_shows_50_lines_and_page_2_holds_the_rest(client, uni, make):
    students = [make.student(uni.ga, surname=f"Ф{n:03d}") for n in range(62)]
    order = draft_of(make, uni, students)
    login(client, uni.clerk)
    first = client.get(f"/orders/{order.id}").get_data(as_text=True)
    second = client.get(f"/orders/{order.id}?page=2").get_data(as_text=True)
    assert len(rows(first)) == 50 and len(rows(second)) == 12
    every = {line.id for line in db.session.get(Order, order.id).lines}
    assert set(rows(first)) | set(rows(second)) == every and not set(rows(first)) & set(rows(second))
    assert "Page 2 of 2" in second and "51–62 of 62" in second
    assert "<td>51</td>" in second  # numbered across pages
    assert len(rows(client.get(f"/orders/{order.id}?page=99").get_data(as_text=True))) == 12  # last page, no 500
    assert client.get(f"/orders/{order.id}?page=abc&group=x&eligibility=zzz").status_code == 200
    assert len(rows(client.get(f"/orders/{order.id}?outcome=zzz").get_data(as_text=True))) == 50  # no such filter


def test_filters_by_eligibility_faculty_and_group_with_counts(client, uni, make):
    in_a = [make.student(uni.ga, surname=f"А{n}") for n in range(6)]
    in_b = [make.student(uni.gb, surname=f"Б{n}") for n in range(3)]
    order = draft_of(make, uni, in_a + in_b)
    expel(in_a[:2] + in_b[:1])
    login(client, uni.clerk)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert ">refused (3)</option>" in page and ">eligible (6)</option>" in page
    assert "Faculty FA (6)</option>" in page and "Faculty FB (3)</option>" in page
    assert f">{uni.ga.name} (6)</option>" in page
    refused = client.get(f"/orders/{order.id}?eligibility=refused").get_data(as_text=True)
    assert names(refused) == {"А0 Нурлан Серикович", "А1 Нурлан Серикович", "Б0 Нурлан Серикович"}
    of_b = client.get(f"/orders/{order.id}?faculty={uni.fb.id}").get_data(as_text=True)
    assert {name.split()[0] for name in names(of_b)} == {"Б0", "Б1", "Б2"}
    both = client.get(f"/orders/{order.id}?group={uni.ga.id}&eligibility=eligible").get_data(as_text=True)
    assert {name.split()[0] for name in names(both)} == {"А2", "А3", "А4", "А5"}
    none = client.get(f"/orders/{order.id}?group={uni.gb.id}&faculty={uni.fa.id}").get_data(as_text=True)
    assert rows(none) == [] and "No line matches these filters." in none


def test_a_dean_pages_only_own_faculty_s_lines(client, uni, make):
    order = draft_of(make, uni, [make.student(uni.ga, surname="Адин"), make.student(uni.gb, surname="Бдин")])
    login(client, uni.dean_b)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert {name.split()[0] for name in names(page)} == {"Бдин"}
    assert "Faculty FA: 1" in page  # the other faculty's lines are counted, not shown
    assert rows(client.get(f"/orders/{order.id}?faculty={uni.fa.id}").get_data(as_text=True)) == []


def test_the_promotion_order_page_filters_by_outcome(client, uni, year_end):  # noqa: F811
    order = bulk_draft(uni, faculty_id=uni.fa.id)
    login(client, uni.clerk)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert ">needs a repeat year (2)</option>" in page and ">to promote (2)</option>" in page
    repeat = client.get(f"/orders/{order.id}?outcome=repeat_year").get_data(as_text=True)
    assert {name.split()[0] for name in names(repeat)} == {"Бекова", "Веров"}


def test_the_order_page_issues_the_same_queries_for_12_or_70_lines(client, uni, make):
    def count_for(n: int) -> int:
        group = make.group(uni.fa)
        order = draft_of(make, uni, [make.student(group, surname=f"Ж{i}") for i in range(n)])
        db.session.expire_all()
        statements = []

        def count(*_args):
            statements.append(1)

        client.get(f"/orders/{order.id}")  # warm: the sign-in's stored message is read once
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/orders/{order.id}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    login(client, uni.clerk)
    assert count_for(12) == count_for(70)


# Bulk removal ------------------------------------------------------------------------------------------------------


def test_remove_every_refused_line_in_one_action(client, uni, make):
    students = [make.student(uni.ga, surname=f"К{n}") for n in range(10)]
    order = draft_of(make, uni, students)
    expel(students[:4])
    login(client, uni.clerk)
    response = client.post(f"/orders/{order.id}/lines/remove", data={"what": "refused"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "4 refused lines removed." in page
    left = db.session.scalars(select(OrderLine.student_id).where(OrderLine.order_id == order.id)).all()
    assert sorted(left) == sorted(s.id for s in students[4:])  # the eligible stay, nothing else removed
    [audit] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.order_id == order.id, AuditEvent.trigger == "remove_lines")
    ).all()
    assert audit.actor_id == uni.clerk.id and audit.data["count"] == 4
    assert sorted(audit.data["student_ids"]) == sorted(s.id for s in students[:4])
    assert "removed lines" in page and ": 4 lines" in page  # in the order's history
    again = client.post(f"/orders/{order.id}/lines/remove", data={"what": "refused"}, follow_redirects=True)
    assert "No line of this draft is refused; nothing was removed." in again.get_data(as_text=True)
    assert line_count(order) == 6


def test_lines_accepted_by_the_registrar_head_stay(uni, year_end):  # noqa: F811
    order = bulk_draft(uni, faculty_id=uni.fa.id)
    low = next(line for line in order.lines if line.student.surname == "Бекова")
    operations.override_line(order, low.id, "Решение учёного совета №5 от 20.06.2026", uni.registrar)
    assert operations.remove_lines(order, uni.clerk, refused=True) == 2  # Веров (debts), Гаев (expulsion)
    db.session.expire_all()
    left = {line.student.surname for line in db.session.get(Order, order.id).lines}
    assert left == {"Алиев", "Бекова", "Ерлин"}


def test_remove_the_selected_lines(client, uni, make):
    students = [make.student(uni.ga, surname=f"М{n}") for n in range(5)]
    order = draft_of(make, uni, students)
    ids = {line.student_id: line.id for line in order.lines}
    login(client, uni.clerk)
    chosen = [ids[students[1].id], ids[students[3].id]]
    response = client.post(f"/orders/{order.id}/lines/remove", data={"what": "selected", "line_id": chosen})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 lines removed." in page
    left = db.session.scalars(select(OrderLine.id).where(OrderLine.order_id == order.id)).all()
    assert sorted(left) == sorted(set(ids.values()) - set(chosen))


def test_bad_selections_remove_nothing_and_say_why(client, uni, make):
    order = draft_of(make, uni, [make.student(uni.ga, surname=f"Н{n}") for n in range(3)])
    other = draft_of(make, uni, [make.student(uni.ga, surname="Чужой")])
    login(client, uni.clerk)
    nothing = client.post(f"/orders/{order.id}/lines/remove", data={"what": "selected"}, follow_redirects=True)
    assert "Choose at least one line to remove." in nothing.get_data(as_text=True)
    mine = order.lines[0].id
    foreign = other.lines[0].id
    mixed = client.post(
        f"/orders/{order.id}/lines/remove", data={"what": "selected", "line_id": [mine, foreign]}, follow_redirects=True
    )
    assert f"This order has no line {foreign}; nothing was removed." in mixed.get_data(as_text=True)
    assert line_count(order) == 3 and line_count(other) == 1


def test_removal_is_refused_once_submitted_and_for_deans(client, uni, make):
    students = [make.student(uni.ga, surname=f"О{n}") for n in range(3)]
    order = draft_of(make, uni, students)
    line_ids = [line.id for line in order.lines]
    login(client, uni.dean_a)
    assert client.post(f"/orders/{order.id}/lines/remove", data={"what": "refused"}).status_code == 403
    assert (
        client.post(f"/orders/{order.id}/lines/remove", data={"what": "selected", "line_id": line_ids}).status_code
        == 403
    )
    fire(order, "submit", uni.clerk)
    login(client, uni.clerk)
    page = client.post(
        f"/orders/{order.id}/lines/remove", data={"what": "selected", "line_id": line_ids}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Only a draft can be changed" in page
    assert line_count(order) == 3
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="remove-selected"' not in page and 'name="line_id"' not in page


def test_removal_needs_the_csrf_token(app, client, uni, make):
    order = draft_of(make, uni, [make.student(uni.ga)])
    login(client, uni.clerk)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/orders/{order.id}/lines/remove", data={"what": "refused"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert line_count(order) == 1


# Final-year students in a promotion ---------------------------------------------------------------------------------


def test_final_year_students_are_listed_apart_and_the_draft_submits_without_a_split(client, uni, make):
    cohort = Cohort(make, uni.fa, courses=(1, 4))
    good = [cohort.student(points=85, surname=f"Хорош{n}") for n in range(3)]
    finals = [cohort.student(course=4, points=85, surname=f"Выпуск{n}") for n in range(2)]
    order = bulk_draft(uni, faculty_id=uni.fa.id)
    assert sorted(line.student_id for line in order.lines) == sorted(s.id for s in good)  # not lines at all
    assert sorted(order.params["final_year"]) == sorted(s.id for s in finals)
    fire(order, "submit", uni.clerk)  # no refusal, no split
    assert order.state != "draft"
    db.session.flush()
    login(client, uni.clerk)
    outcomes = client.get(f"/orders/promotion/{order.id}").get_data(as_text=True)
    section = outcomes.split('data-testid="final-year"')[1]
    assert "Final year — graduation is a different order (2)" in section
    assert all(s.full_name in section for s in finals) and not any(s.full_name in section for s in good)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "2 final-year students of the drafted scope are not in this order" in page
    login(client, uni.dean_b)  # another faculty's dean does not see the order at all
    assert client.get(f"/orders/promotion/{order.id}").status_code == 403


def test_a_scope_of_only_final_year_students_drafts_nothing_and_says_why(uni, make):
    cohort = Cohort(make, uni.fa, courses=(1, 4))
    cohort.student(course=4, surname="Выпускник")
    with pytest.raises(operations.InvalidInput) as refused:
        bulk_draft(uni, faculty_id=uni.fa.id, course=4)
    assert "graduation is a different order" in refused.value.errors["scope"]
