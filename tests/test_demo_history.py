"""The demo university's five years of history: signed movements of every kind the seeder plays out, in each of the
last five years, signed on their day; today's students end as the demo puts them."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from core.clock import today
from core.db import db
from core.formatting import as_utc
from notifications.models import OutboxMessage
from orders.models import Order
from registrar.demo import seed_demo, student_rows
from reports.dashboard import contingent_trend
from students.models import Group, Student, StudentMovement


def test_the_demo_has_signed_movements_in_each_of_the_last_five_years(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "CLOCK_NOW", datetime(2026, 12, 7, 6, tzinfo=UTC))
    seed_demo(students=60)
    assert app.config["CLOCK_NOW"] == datetime(2026, 12, 7, 6, tzinfo=UTC)  # the seeder gave the clock back

    movements = db.session.execute(
        select(
            StudentMovement.kind, StudentMovement.reason, StudentMovement.effective_date, StudentMovement.known_since
        )
    ).all()
    years = {row.effective_date.year for row in movements}
    assert {2022, 2023, 2024, 2025, 2026} <= years
    kinds = {row.kind for row in movements}
    assert {"promotion", "expulsion", "academic_leave", "leave_return", "restoration"} <= kinds
    reasons = {row.reason for row in movements if row.kind == "expulsion"}
    assert {"graduation", "own_request", "academic_failure", "non_payment"} <= reasons
    for row in movements:  # known on the day it took effect, not when the demo was seeded
        assert as_utc(row.known_since).date() <= row.effective_date or row.effective_date == today().replace(day=1)
    promotions = {row.effective_date.year for row in movements if row.kind == "promotion"}
    assert promotions >= {2023, 2024, 2025, 2026}

    orders = db.session.execute(select(Order.state, Order.order_date, Order.number_label)).all()
    assert {state for state, _d, _n in orders} == {"signed"}
    assert min(day for _s, day, _n in orders).year <= 2022
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0  # the past's e-mails are not sent today

    # today's students are where the demo has always put them
    groups = list(db.session.scalars(select(Group).order_by(Group.id)))
    for row in student_rows(groups, 60):
        student = db.session.scalar(select(Student).where(Student.iin == row["iin"]))
        assert (student.group_id, student.course, student.funding, student.status) == (
            row["group_id"],
            row["course"],
            row["funding"],
            "active",
        )
    trend = contingent_trend([datetime(year, 10, 1).date() for year in range(2022, 2027)])
    assert all(count > 0 for count in trend.values())
    assert trend[datetime(2026, 10, 1).date()] >= 60
