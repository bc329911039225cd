"""Deadlines with a controllable clock: a reminder once, then an escalation once, and nobody loses the right to act."""

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from approvals.deadlines import _notice_once, overdue_orders, run_deadlines
from core.clock import add_working_days, is_working_day
from core.config import load_config
from core.db import db
from core.formatting import as_utc
from core.models import Substitution
from notifications.models import OutboxMessage
from notifications.relay import compose
from tests.builders import two_schedulers
from tests.conftest import Factory, visa_until_signature
from workflow.engine import current_step, fire, legal_triggers
from workflow.models import DeadlineNotice

ALMATY = ZoneInfo("Asia/Almaty")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=ALMATY)


@pytest.fixture
def clock(app):
    """`clock(moment)` freezes the app's time; the previous setting comes back after the test."""
    before = app.config.get("CLOCK_NOW")

    def set_clock(moment: datetime) -> None:
        app.config["CLOCK_NOW"] = moment

    yield set_clock
    app.config["CLOCK_NOW"] = before


def mails(template: str) -> dict[str, int]:
    rows = db.session.execute(
        select(OutboxMessage.recipient, func.count(OutboxMessage.id))
        .where(OutboxMessage.template == template)
        .group_by(OutboxMessage.recipient)
    )
    return dict(rows.all())


@pytest.fixture
def overdue_setup(uni, make, clock):
    """An order of two faculties entering the deans' step on Friday 27.11.2026 at 10:00; the dean of FB visas at
    once, the dean of FA is on leave from Monday with a vice-dean acting for him."""
    clock(local(2026, 11, 27, 10, 0))  # a Friday
    order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb, surname="Омаров")])
    fire(order, "submit", uni.clerk)
    fire(order, "approve", uni.dean_b)
    vice = make.user("clerk", username="vice_a")
    db.session.add(
        Substitution(
            principal_id=uni.dean_a.id,
            substitute_id=vice.id,
            starts_on=date(2026, 11, 30),
            ends_on=date(2026, 12, 31),
            reason="отпуск",
            created_by_id=uni.dean_a.id,
        )
    )
    db.session.flush()
    return order, vice


def test_due_date_counts_working_days_from_friday(uni, overdue_setup, clock):
    order, _vice = overdue_setup
    assert order.state == "review_dean" and current_step(order).due_days == 3
    clock(local(2026, 11, 30, 9, 0))  # Monday morning: one weekend later, nothing is overdue
    assert run_deadlines() == {"checked": 0, "reminders": 0, "escalations": 0, "emails": 0}
    clock(local(2026, 12, 2, 9, 59))  # Wednesday just before the third working day ends
    assert run_deadlines()["checked"] == 0
    assert mails("deadline_reminder") == {}


def test_reminder_once_to_the_pending_dean_and_the_substitute(uni, overdue_setup, clock):
    order, vice = overdue_setup
    clock(local(2026, 12, 2, 10, 0))  # three working days after Friday 10:00
    first = run_deadlines()
    assert first["checked"] == 1 and first["reminders"] == 1 and first["escalations"] == 0
    second = run_deadlines()  # the scheduler runs again: nothing new
    assert second["reminders"] == 0 and second["emails"] == 0
    # the dean of FB has given the visa already; the author and the registrar are not asked
    assert mails("deadline_reminder") == {uni.dean_a.email: 1, vice.email: 1}
    notices = db.session.scalars(select(DeadlineNotice).where(DeadlineNotice.order_id == order.id)).all()
    assert [(n.round, n.step, n.kind) for n in notices] == [(1, "dean", "reminder")]

    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == vice.email))
    message = compose(row)
    assert order.label in message["Subject"]
    assert f"/orders/{order.id}" in message.get_content() and "02.12.2026 10:00" in message.get_content()


def test_escalation_once_then_the_dean_still_decides(uni, overdue_setup, clock):
    order, vice = overdue_setup
    clock(local(2026, 12, 2, 10, 0))
    run_deadlines()
    clock(local(2026, 12, 4, 9, 0))  # escalate_after_days=2 not yet over
    assert run_deadlines()["escalations"] == 0
    clock(local(2026, 12, 4, 10, 0))
    assert run_deadlines()["escalations"] == 1
    assert run_deadlines()["checked"] == 0  # an escalated step is not looked at again
    escalations = mails("deadline_escalation")
    assert escalations == {uni.registrar.email: 1, uni.dean_a.email: 1, vice.email: 1}
    assert mails("deadline_reminder") == {uni.dean_a.email: 1, vice.email: 1}
    assert order not in overdue_orders(local(2026, 12, 4, 10, 0))  # past due, but escalated at this step
    assert order.state == "review_dean"  # escalation changes nothing in the order

    assert "approve" in legal_triggers(order, uni.dean_a)
    assert fire(order, "approve", uni.dean_a) == "review_registrar"
    assert order.due_at > local(2026, 12, 4, 10, 0)  # a new step starts with a fresh due date
    assert order in overdue_orders(order.due_at)  # and is not escalated when it passes
    assert run_deadlines()["checked"] == 0


def test_a_late_scheduler_sends_reminder_and_escalation_together(uni, overdue_setup, clock):
    clock(local(2026, 12, 10, 12, 0))
    result = run_deadlines()
    assert (result["reminders"], result["escalations"]) == (1, 1)


def test_a_second_scheduler_racing_for_the_same_notice_sends_nothing(uni, overdue_setup, clock):
    order, _vice = overdue_setup
    clock(local(2026, 12, 2, 10, 0))
    step = current_step(order)
    assert _notice_once(order, step, "reminder") is True  # the other scheduler got there first
    assert _notice_once(order, step, "reminder") is False  # the unique key refuses, the SAVEPOINT is undone
    assert run_deadlines()["emails"] == 0  # and the session is still usable
    assert mails("deadline_reminder") == {}


def test_signature_step_reminds_the_rector(uni, make, clock):
    clock(local(2026, 11, 27, 10, 0))
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    visa_until_signature(order, uni)
    assert order.state == "awaiting_signature"
    clock(local(2026, 12, 2, 10, 0))
    assert run_deadlines()["reminders"] == 1
    assert mails("deadline_reminder") == {uni.rector.email: 1}


def test_deadlines_skip_independence_day_and_nauryz(uni, make, clock):
    """Kazakhstan's public holidays come from the `holidays` package: Wednesday 16 December is Independence Day;
    Nauryz is 21-23 March, and in 2027 Wednesday 24 March is off for the Sunday 21st."""
    clock(local(2026, 12, 15, 10, 0))  # a Tuesday
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    assert current_step(order).due_days == 3
    assert as_utc(order.due_at) == local(2026, 12, 21, 10, 0)  # Thursday, Friday and Monday
    clock(local(2026, 12, 18, 10, 0))
    assert run_deadlines()["checked"] == 0
    clock(local(2026, 12, 21, 10, 0))
    assert run_deadlines()["reminders"] == 1

    assert add_working_days(local(2027, 3, 19, 10, 0), 2) == local(2027, 3, 26, 10, 0)  # Thursday and Friday


def test_days_off_moved_by_the_government_and_the_universitys_own(session, app, monkeypatch):
    assert not is_working_day(date(2025, 1, 3))  # a Friday off, moved from Sunday 5 January...
    assert is_working_day(date(2025, 1, 5))  # ...which was worked
    monkeypatch.setitem(app.config, "EXTRA_DAYS_OFF", frozenset({date(2026, 12, 17)}))
    assert add_working_days(local(2026, 12, 15, 10, 0), 3) == local(2026, 12, 22, 10, 0)


def test_extra_days_off_setting_and_its_deprecated_old_name(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRAR_SECRET_KEY", "test")
    monkeypatch.delenv("REGISTRAR_EXTRA_DAYS_OFF", raising=False)
    monkeypatch.setenv("REGISTRAR_HOLIDAYS", "2026-12-30")
    assert load_config(str(tmp_path))["EXTRA_DAYS_OFF"] == {date(2026, 12, 30)}
    monkeypatch.setenv("REGISTRAR_EXTRA_DAYS_OFF", "2026-12-30, 2026-12-31")
    assert load_config(str(tmp_path))["EXTRA_DAYS_OFF"] == {date(2026, 12, 30), date(2026, 12, 31)}
    monkeypatch.setenv("REGISTRAR_EXTRA_DAYS_OFF", "31.12.2026")
    with pytest.raises(ValueError, match="REGISTRAR_EXTRA_DAYS_OFF: '31.12.2026'"):
        load_config(str(tmp_path))


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="the race of two schedulers is proved on PostgreSQL only",
)
def test_two_schedulers_at_once_send_each_email_once(app, committed, clock):
    """Scheduler B reads before A commits, so both try to record the reminder; B waits on the unique key, gets
    the IntegrityError in its SAVEPOINT and sends nothing."""
    make = Factory()
    clock(local(2026, 11, 27, 10, 0))
    fa = make.faculty()
    clerk, dean = make.user("clerk"), make.user("dean", fa)
    order = make.order(clerk, [make.student(make.group(fa))])
    db.session.commit()
    fire(order, "submit", clerk)
    db.session.commit()
    dean_email = dean.email
    db.session.close()
    moment = local(2026, 12, 2, 10, 0)
    # B is blocked on the unique key of the notice A inserted
    results = two_schedulers(app, lambda: run_deadlines(moment))
    assert results["a"]["reminders"] == 1 and results["b"]["reminders"] == 0, results
    assert mails("deadline_reminder") == {dean_email: 1}
