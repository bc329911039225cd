"""The scholarship register: payments derived from signed payment orders and later movements (leave, return,
expulsion, loss of the grant), corrections, the page with its filters and scope, the XLSX export and the API.

Scholarship orders are built here as signed rows with the payment contract of orders/register/payments.py (the kinds
are built elsewhere); the movements come from real signed orders.
"""

import io
import itertools
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from core.db import db
from core.models import issue_token
from orders import operations
from orders.models import Order, OrderLine
from orders.register import payments
from tests.conftest import login, sign, take_effect_by
from tests.orders.test_academic_leave import leave_order, with_document

MONTHS = ["2027-02", "2027-03", "2027-04", "2027-05", "2027-06"]
AMOUNT = 47135
_numbers = itertools.count(9001)


pytestmark = pytest.mark.usefixtures("english")


def signed_order(uni, kind: str, route_name: str, day: date, title: str, basis: str, **fields) -> Order:
    """A signed order of 2027 with the next number of series С, as the kinds write them."""
    number = next(_numbers)
    order = Order(
        kind=kind,
        state="signed",
        route_name=route_name,
        route_version=1,
        series="С",
        year=2027,
        number=number,
        number_label=f"{number}-С",
        order_date=day,
        title=title,
        basis=basis,
        params={},
        author_id=uni.clerk.id,
        **fields,
    )
    db.session.add(order)
    db.session.flush()
    return order


def scholarship(
    uni, students, *, kind="state_scholarship", months=MONTHS, amount=AMOUNT, outcome=None, superseded_as=None
):
    """A signed payment order with a line per student, as the scholarship kinds write them."""
    order = signed_order(
        uni,
        kind,
        "money",
        date(2027, 1, 25),
        "О назначении государственной стипендии",
        "Итоги сессии",
        signed_by_id=uni.rector.id,
    )
    for position, student in enumerate(students, 1):
        params = {"amount": amount, "months": list(months)}
        if outcome:
            params["outcome"] = outcome
        db.session.add(
            OrderLine(
                order_id=order.id,
                student_id=student.id,
                faculty_id=student.faculty_id,
                position=position,
                params=params,
                effective_date=date(2027, 2, 1),
            )
        )
    db.session.flush()
    if superseded_as:
        correction(uni, order, [], superseded_as)
    return order


def correction(uni, target, lines, superseded_as):
    """A signed revocation (every line) or amendment (`lines`) of `target`, as the correction kinds write it."""
    kind = "revocation" if superseded_as == "revoked" else "amendment"
    order = signed_order(
        uni, kind, "legal", date(2027, 3, 1), "Об отмене", "Представление юриста", target_order_id=target.id
    )
    for position, line in enumerate(lines, 1):
        db.session.add(
            OrderLine(
                order_id=order.id,
                student_id=line.student_id,
                faculty_id=line.faculty_id,
                position=position,
                params={"target_line_id": line.id, "item": position},
                effective_date=date(2027, 3, 1),
            )
        )
    target.superseded_as, target.superseded_by_id = superseded_as, order.id
    db.session.flush()


def on_leave(uni, student, ground, start="2027-03-10", end="2027-08-31", **details):
    order = leave_order(uni, [student], ground=ground, start=start, end=end)
    if ground == "child_care":
        details.setdefault("child_birth_date", "2027-01-05")
    with_document(order, uni, **details)
    sign(order, uni)
    take_effect_by(start)
    return order


def expel(uni, student, effective_date="2027-04-15", reason="own_request"):
    order = operations.create_order(
        "expulsion", uni.clerk, {"reason": reason, "effective_date": effective_date, "basis": "Заявление обучающегося"}
    )
    operations.add_students(order, [student.id], uni.clerk)
    sign(order, uni)
    take_effect_by(effective_date)
    return order


def return_from_leave(uni, student, effective_date, applied="2026-12-01"):
    order = operations.create_order(
        "leave_return", uni.clerk, {"effective_date": effective_date, "basis": "Заявление обучающегося"}
    )
    operations.add_students(order, [student.id], uni.clerk)
    operations.update_line(order, order.lines[0].id, {"application_date": applied}, uni.clerk)
    sign(order, uni)
    take_effect_by(effective_date)
    return order


def register(months=MONTHS, faculties=None, **filters):
    flt = payments.RegisterFilter(payments.parse_month(months[0]), payments.parse_month(months[-1]), **filters)
    return payments.build_register(flt, faculties, "en")


def paid(student, months=MONTHS) -> dict[str, int]:
    return {row.month: row.paid for row in register(months).rows if row.student_id == student.id}


def rows_of(student, months=MONTHS) -> dict[str, payments.PaymentRow]:
    return {row.month: row for row in register(months).rows if row.student_id == student.id}


# Deriving the payments -----------------------------------------------------------------------------------------


def test_a_scholarship_pays_each_month_of_the_order(uni, make):
    student = make.student(uni.ga)
    order = scholarship(uni, [student])
    rows = rows_of(student)
    assert {m: r.paid for m, r in rows.items()} == dict.fromkeys(MONTHS, AMOUNT)
    assert {r.status for r in rows.values()} == {"paid"}
    assert rows["2027-03"].order_label == order.number_label


def test_child_care_leave_in_march_stops_the_payments_from_its_effective_date(uni, make):
    student = make.student(uni.ga)
    scholarship(uni, [student])
    leave = on_leave(uni, student, "child_care", start="2027-03-10")
    rows = rows_of(student)
    # March: 9 of 31 days before the leave, 47 135 × 9 / 31 = 13 684.35 -> 13 684; nothing from April.
    assert {m: r.paid for m, r in rows.items()} == {
        "2027-02": AMOUNT,
        "2027-03": 13684,
        "2027-04": 0,
        "2027-05": 0,
        "2027-06": 0,
    }
    assert (rows["2027-03"].status, rows["2027-03"].days_paid, rows["2027-03"].days) == ("reduced", 9, 31)
    why = f"academic leave (child care) from 10.03.2027, order {leave.number_label}"
    assert rows["2027-03"].note == why
    assert (rows["2027-04"].status, rows["2027-04"].note) == ("suspended", why)


def test_medical_leave_keeps_the_scholarship_by_default(uni, make):
    student = make.student(uni.ga)
    scholarship(uni, [student])
    leave = on_leave(uni, student, "medical", start="2027-03-10", end="2027-09-09")
    rows = rows_of(student)
    assert {m: r.paid for m, r in rows.items()} == dict.fromkeys(MONTHS, AMOUNT)
    assert rows["2027-03"].note == (
        f"academic leave (medical) from 10.03.2027, order {leave.number_label}: the scholarship continues"
    )


def test_the_kept_grounds_follow_the_setting(app, uni, make):
    student = make.student(uni.ga)
    scholarship(uni, [student])
    on_leave(uni, student, "medical", start="2027-03-10", end="2027-09-09")
    rules = app.config["RULES"]
    before = rules["scholarship_kept_on_leave"]
    rules["scholarship_kept_on_leave"] = []
    try:
        assert paid(student)["2027-04"] == 0
    finally:
        rules["scholarship_kept_on_leave"] = before


def test_an_expelled_student_stops_being_paid(uni, make):
    student = make.student(uni.ga)
    scholarship(uni, [student])
    expulsion = expel(uni, student, "2027-04-15")
    rows = rows_of(student)
    # April: 14 of 30 days, 47 135 × 14 / 30 = 21 996.33 -> 21 996.
    assert {m: r.paid for m, r in rows.items()} == {
        "2027-02": AMOUNT,
        "2027-03": AMOUNT,
        "2027-04": 21996,
        "2027-05": 0,
        "2027-06": 0,
    }
    assert rows["2027-05"].status == "stopped"
    assert rows["2027-05"].note == f"expulsion (own request) from 15.04.2027, order {expulsion.number_label}"


def test_return_from_leave_restores_the_remaining_months(uni, make):
    student = make.student(uni.ga)
    scholarship(uni, [student])
    on_leave(uni, student, "child_care", start="2027-03-10", end="2027-05-15")
    back = return_from_leave(uni, student, "2027-05-16")
    assert student.status == "active"
    rows = rows_of(student)
    # May: days 16-31, 47 135 × 16 / 31 = 24 327.74 -> 24 328; June in full.
    assert {m: r.paid for m, r in rows.items()} == {
        "2027-02": AMOUNT,
        "2027-03": 13684,
        "2027-04": 0,
        "2027-05": 24328,
        "2027-06": AMOUNT,
    }
    assert rows["2027-05"].note == f"return from academic leave on 16.05.2027, order {back.number_label}"


def test_losing_the_grant_stops_the_state_scholarship(uni, make):
    student = make.student(uni.ga)
    scholarship(uni, [student])
    order = operations.create_order(
        "funding_change",
        uni.clerk,
        {
            "direction": "to_paid",
            "effective_date": "2027-04-01",
            "ground": "отказ от гранта",
            "basis": "Заявление обучающегося",
        },
    )
    operations.add_students(order, [student.id], uni.clerk)
    sign(order, uni)
    db.session.expire_all()
    rows = rows_of(student)
    assert [rows[m].paid for m in MONTHS] == [AMOUNT, AMOUNT, 0, 0, 0]
    assert rows["2027-04"].note == f"state grant ended (funding: paid) from 01.04.2027, order {order.number_label}"


def test_a_revoked_scholarship_order_pays_nothing(uni, make):
    student = make.student(uni.ga)
    scholarship(uni, [student], superseded_as="revoked")
    assert paid(student) == {}


def test_an_amendment_excludes_only_its_items(uni, make):
    kept, excluded = make.student(uni.ga, surname="Ким"), make.student(uni.ga, surname="Ли")
    order = scholarship(uni, [kept, excluded])
    correction(uni, order, [line for line in order.lines if line.student_id == excluded.id], "amended")
    assert paid(excluded) == {}
    assert paid(kept) == dict.fromkeys(MONTHS, AMOUNT)


def test_a_revoked_leave_never_suspended_the_scholarship(uni, make):
    student = make.student(uni.ga)
    scholarship(uni, [student])
    leave = on_leave(uni, student, "child_care", start="2027-03-10")
    revocation = operations.create_order(
        "revocation",
        uni.clerk,
        {"target": leave.number_label, "effective_date": "2027-04-20", "basis": "Представление юриста"},
    )
    sign(revocation, uni)
    db.session.expire_all()
    assert student.status == "active"
    assert paid(student) == dict.fromkeys(MONTHS, AMOUNT)


def test_lines_out_of_the_order_are_not_paid(uni, make):
    student = make.student(uni.ga)
    scholarship(uni, [student], outcome="out")
    assert paid(student) == {}


def test_a_student_already_on_leave_when_the_order_starts_is_paid_from_the_return(uni, make):
    student = make.student(uni.ga)
    on_leave(uni, student, "child_care", start="2026-11-10", end="2027-03-31")
    scholarship(uni, [student])
    return_from_leave(uni, student, "2027-04-01")
    assert [paid(student)[m] for m in MONTHS] == [0, 0, AMOUNT, AMOUNT, AMOUNT]
    assert rows_of(student)["2027-02"].note.startswith("academic leave (child care) from 10.11.2026, order ")


def test_travel_compensation_is_a_one_off_payment(uni, make):
    student = make.student(uni.ga)
    order = operations.create_order(
        "travel_compensation",
        uni.clerk,
        {"season": "winter", "year": 2026, "effective_date": "2026-01-20", "basis": "Представление декана"},
    )
    operations.add_students(order, [student.id], uni.clerk)
    sign(order, uni)
    db.session.expire_all()
    (row,) = register(["2025-12", "2026-02"]).rows
    assert (row.month, row.kind, row.amount, row.paid, row.order_label) == (
        "2026-01",
        "travel_compensation",
        17300,
        17300,
        order.number_label,
    )


def test_filters_month_kind_faculty_and_name(uni, make):
    a = make.student(uni.ga, surname="Сапарова", name="Дана")
    b = make.student(uni.gb, surname="Омаров", name="Ерлан")
    scholarship(uni, [a, b])
    scholarship(uni, [b], kind="personal_scholarship", amount=60000, months=["2027-03"])
    march = register(["2027-03"])
    assert sorted((r.student, r.kind) for r in march.rows) == [
        ("Омаров Ерлан Серикович", "personal_scholarship"),
        ("Омаров Ерлан Серикович", "state_scholarship"),
        ("Сапарова Дана Сериковна", "state_scholarship"),
    ]
    assert march.totals["paid"] == 2 * AMOUNT + 60000
    assert {r.student_id for r in register(["2027-03"], faculty_id=uni.fa.id).rows} == {a.id}
    assert [r.kind for r in register(["2027-03"], kind="personal_scholarship").rows] == ["personal_scholarship"]
    assert {r.student_id for r in register(["2027-03"], text="сапар").rows} == {a.id}
    assert {r.student_id for r in register(["2027-03"], text=b.iin).rows} == {b.id}
    assert register(["2027-07"]).rows == []
    assert len(register(MONTHS).rows) == 11


def test_the_register_takes_a_fixed_number_of_queries(uni, make):
    def count(n):
        students = [make.student(uni.ga) for _ in range(n)]
        scholarship(uni, students)
        for student in students[:2]:
            on_leave(uni, student, "child_care", start="2027-03-10")
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = register(MONTHS).rows
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements), len(rows)

    few, few_rows = count(3)
    many, many_rows = count(30)
    assert many_rows > few_rows
    assert few == many == 2


# The page, the export and the API -----------------------------------------------------------------------------


def test_the_page_shows_rows_totals_and_why(client, uni, make):
    student = make.student(uni.ga, surname="Сапарова", name="Дана")
    scholarship(uni, [student])
    leave = on_leave(uni, student, "child_care", start="2027-03-10")
    login(client, uni.finance)
    page = client.get("/register?month_from=2027-03&month_to=2027-04").get_data(as_text=True)
    assert "Сапарова Дана Сериковна" in page
    assert f"academic leave (child care) from 10.03.2027, order {leave.number_label}" in page
    assert "Paid: 13\u00a0684 KZT" in page
    assert "/register/export.xlsx?month_from=2027-03&amp;month_to=2027-04" in page


def test_bad_months_are_refused_with_a_message(client, uni):
    login(client, uni.registrar)
    response = client.get("/register?month=March")
    assert response.status_code == 400
    assert "Give the month as YYYY-MM" in response.get_data(as_text=True)


def test_the_xlsx_export_holds_the_rows_shown(client, uni, make):
    students = [make.student(uni.ga, surname=f"Студент{i}") for i in range(3)]
    scholarship(uni, students)
    expel(uni, students[0], "2027-04-15")
    login(client, uni.finance)
    response = client.get("/register/export.xlsx?month_from=2027-04&month_to=2027-05")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith("register-2027-04-2027-05.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(min_row=3, values_only=True))
    shown = register(["2027-04", "2027-05"]).rows
    body, total = values[:-1], values[-1]
    assert [(v[0], v[2], v[6], v[9]) for v in body] == [(r.month, r.iin, r.order_label, r.paid) for r in shown]
    assert total[0] == "Total" and total[9] == sum(r.paid for r in shown) == 4 * AMOUNT + 21996


def test_a_dean_sees_only_own_faculty(client, uni, make):
    own, other = make.student(uni.ga, surname="Свой"), make.student(uni.gb, surname="Чужой")
    scholarship(uni, [own, other])
    login(client, uni.dean_a)
    page = client.get("/register?month=2027-03").get_data(as_text=True)
    assert "Свой" in page and "Чужой" not in page
    assert client.get(f"/register?month=2027-03&faculty_id={uni.fb.id}").status_code == 400
    login(client, uni.dean_b)
    page = client.get("/register?month=2027-03").get_data(as_text=True)
    assert "Чужой" in page and "Свой" not in page
    sheet = load_workbook(io.BytesIO(client.get("/register/export.xlsx?month=2027-03").data)).active
    assert [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)][:-1] == [other.full_name]


@pytest.mark.parametrize("role", ["admin", "lawyer"])
def test_others_get_403(role, client, uni):
    login(client, getattr(uni, role))
    assert client.get("/register").status_code == 403
    assert client.get("/register/export.xlsx").status_code == 403


def test_the_api_returns_the_same_rows(client, uni, make):
    own, other = make.student(uni.ga), make.student(uni.gb)
    scholarship(uni, [own, other])
    on_leave(uni, own, "child_care", start="2027-03-10")
    tokens = {user.username: issue_token(user) for user in (uni.finance, uni.dean_b, uni.lawyer)}
    db.session.commit()

    def get(user, query):
        return client.get(f"/api/v1/register?{query}", headers={"Authorization": f"Bearer {tokens[user.username]}"})

    response = get(uni.finance, "month_from=2027-03&month_to=2027-04&per_page=3&page=1")
    assert response.status_code == 200
    body = response.get_json()
    shown = register(["2027-03", "2027-04"]).rows
    assert body["total"] == len(shown) == 4 and len(body["rows"]) == 3
    assert body["rows"] == [row.as_dict() for row in shown[:3]]
    assert body["totals"]["paid"] == sum(r.paid for r in shown)
    assert {r["student_id"] for r in get(uni.dean_b, "month=2027-03").get_json()["rows"]} == {other.id}
    assert get(uni.lawyer, "month=2027-03").status_code == 403
    bad = get(uni.finance, "month_from=2027-05&month_to=2027-03")
    assert bad.status_code == 422 and "month_to" in bad.get_json()["errors"]


def test_a_signed_state_scholarship_order_of_the_real_kind_feeds_the_register(uni, make):
    from tests.orders import test_state_scholarship as state
    from workflow.engine import fire

    state.calendar(2026)
    paid_student = state.graded(make, uni.ga, 90, 85, surname="Жаксылыков")
    out = state.graded(make, uni.ga, 90, 65, surname="Нурланова")
    order = state.draft(uni)
    fire(order, "submit", uni.clerk)
    sign(order, uni)
    db.session.expire_all()
    leave = on_leave(uni, paid_student, "child_care", start="2027-03-10")
    rows = rows_of(paid_student, ["2027-01", "2027-08"])
    assert sorted(rows) == ["2027-02", "2027-03", "2027-04", "2027-05", "2027-06", "2027-07", "2027-08"]
    assert (rows["2027-02"].paid, rows["2027-03"].paid, rows["2027-04"].paid) == (AMOUNT, 13684, 0)
    assert rows["2027-04"].note.endswith(f"order {leave.number_label}")
    assert rows_of(out, ["2027-01", "2027-08"]) == {}
