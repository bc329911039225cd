"""Substitutes: a dean on leave names someone to act for them for a date range. Inside the range the substitute
sees and visas the dean's work "acting for" the dean; outside it the substitute has no such power."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from approvals.admin import SubstitutionError, create_substitution
from approvals.inbox import waiting_for
from core.clock import local_zone, today
from core.db import db
from core.models import principals_of
from workflow.engine import Refused, acting_for_in, fire, legal_actions, legal_triggers, pending_approvals
from workflow.models import AuditEvent, Visa

LEAVE_DAYS = 14


def inbox_ids(user) -> list[int]:
    return [order.id for order in db.session.scalars(waiting_for(user))]


def visas_of(order) -> list[Visa]:
    return list(db.session.scalars(select(Visa).where(Visa.order_id == order.id).order_by(Visa.id)))


def last_event(order) -> AuditEvent:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.order_id == order.id).order_by(AuditEvent.id.desc())
    ).first()


def moment_on(day) -> datetime:
    """Noon local time on `day`, as the aware UTC datetime `CLOCK_NOW` takes."""
    return datetime.combine(day, time(12), local_zone()).astimezone(UTC)


@pytest.fixture
def leave(uni):
    """Dean A is on leave from today for two weeks; returns a function naming a substitute for that range."""

    def name(substitute):
        row = create_substitution(
            uni.dean_a, uni.dean_a, substitute, today(), today() + timedelta(days=LEAVE_DAYS), "Ежегодный отпуск"
        )
        assert (row.principal_id, row.substitute_id, row.created_by_id) == (uni.dean_a.id, substitute.id, uni.dean_a.id)
        return row

    return name


@pytest.fixture(params=["dean_of_another_faculty", "vice_dean_without_dean_role"])
def substitute(request, uni, make):
    if request.param == "dean_of_another_faculty":
        return uni.dean_b
    return make.user("clerk", username="vice_dean_a")  # a vice-dean with an office account, no dean role


@pytest.fixture
def submitted(uni, make):
    """An expulsion of one student of faculty FA, waiting for dean A's visa."""
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    assert pending_approvals(order) == [("dean", uni.fa.id)]
    return order


def test_inside_the_range_the_substitute_visas_acting_for_the_dean(uni, leave, substitute, submitted):
    order = submitted
    assert "approve" not in legal_triggers(order, substitute)
    assert order.id not in inbox_ids(substitute)
    leave(substitute)
    assert [p.id for p in principals_of(substitute, today())] == [uni.dean_a.id]

    assert order.id in inbox_ids(substitute)
    assert ("approve", uni.dean_a) in legal_actions(order, substitute)
    assert acting_for_in(order, "approve", substitute) == uni.dean_a
    assert fire(order, "approve", substitute, acting_for=uni.dean_a, comment="За декана") == "review_registrar"

    (visa,) = visas_of(order)
    assert (visa.step, visa.role, visa.faculty_id, visa.decided_by_id, visa.acting_for_id, visa.comment) == (
        "dean",
        "dean",
        uni.fa.id,
        substitute.id,
        uni.dean_a.id,
        "За декана",
    )
    event = last_event(order)
    assert (event.trigger, event.actor_id, event.acting_for_id, event.from_state, event.to_state) == (
        "approve",
        substitute.id,
        uni.dean_a.id,
        "review_dean",
        "review_registrar",
    )
    assert order.id not in inbox_ids(substitute)
    assert order.id not in inbox_ids(uni.dean_a)
    with pytest.raises(Refused) as refused:  # the dean's faculty has its visa: not again, by either of them
        fire(order, "approve", uni.dean_a)
    assert refused.value.status == 403


def test_the_substitute_may_return_or_reject_for_the_dean_too(uni, leave, submitted):
    vice = uni.dean_b
    leave(vice)
    assert {t for t, who in legal_actions(submitted, vice) if who == uni.dean_a} == {"approve", "return", "reject"}
    assert fire(submitted, "return", vice, acting_for=uni.dean_a, comment="Нет заявления") == "draft"
    (visa,) = visas_of(submitted)
    assert (visa.decision, visa.decided_by_id, visa.acting_for_id) == ("returned", vice.id, uni.dean_a.id)


@pytest.mark.parametrize("when", ["after", "before"])
def test_outside_the_range_acting_for_the_dean_is_refused(when, app, monkeypatch, uni, leave, substitute, submitted):
    order = submitted
    row = leave(substitute)
    day = row.ends_on + timedelta(days=1) if when == "after" else row.starts_on - timedelta(days=1)
    monkeypatch.setitem(app.config, "CLOCK_NOW", moment_on(day))  # monkeypatch restores the real clock after
    assert today() == day
    assert principals_of(substitute, today()) == []
    assert order.id not in inbox_ids(substitute)
    assert all(who is None for _t, who in legal_actions(order, substitute))
    assert acting_for_in(order, "approve", substitute) is None

    with pytest.raises(Refused) as refused:
        fire(order, "approve", substitute, acting_for=uni.dean_a)
    assert refused.value.status == 403
    assert [r.rule for r in refused.value.refusals] == ["permission.substitute"]
    assert uni.dean_a.full_name in refused.value.refusals[0].message
    with pytest.raises(Refused) as refused:  # nor on their own account
        fire(order, "approve", substitute)
    assert refused.value.status == 403
    assert visas_of(order) == [] and order.state == "review_dean"
    assert order.id in inbox_ids(uni.dean_a)  # the dean's own right is untouched
    assert fire(order, "approve", uni.dean_a) == "review_registrar"


def test_the_last_day_of_the_range_still_counts(app, monkeypatch, uni, leave, submitted):
    row = leave(uni.dean_b)
    monkeypatch.setitem(app.config, "CLOCK_NOW", moment_on(row.ends_on))
    assert submitted.id in inbox_ids(uni.dean_b)
    assert fire(submitted, "approve", uni.dean_b, acting_for=uni.dean_a) == "review_registrar"


def test_nobody_acts_for_someone_without_a_substitution(uni, make, submitted):
    stranger = make.user("dean", uni.fb)
    with pytest.raises(Refused) as refused:
        fire(submitted, "approve", stranger, acting_for=uni.dean_a)
    assert refused.value.status == 403 and refused.value.refusals[0].rule == "permission.substitute"
    with pytest.raises(Refused) as refused:  # nor for oneself
        fire(submitted, "approve", uni.dean_a, acting_for=uni.dean_a)
    assert refused.value.refusals[0].rule == "permission.substitute"
    assert visas_of(submitted) == []


def test_a_dean_of_the_same_faculty_as_substitute_visas_on_own_account_first(uni, make, leave, submitted):
    vice = make.user("dean", uni.fa, username="vice_dean_fa")
    leave(vice)
    assert acting_for_in(submitted, "approve", vice) is None  # their own dean role suffices
    assert fire(submitted, "approve", vice, acting_for=uni.dean_a) == "review_registrar"  # or explicitly for A
    (visa,) = visas_of(submitted)
    assert (visa.decided_by_id, visa.acting_for_id) == (vice.id, uni.dean_a.id)


@pytest.mark.parametrize("first", ["own", "acting_for"])
def test_the_substitute_cannot_visa_twice_on_one_order(first, uni, make, leave):
    """Dean B substitutes for dean A on an order of both faculties: one visa, either B's own or for A, not both."""
    order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)])
    fire(order, "submit", uni.clerk)
    leave(uni.dean_b)
    assert order.id in inbox_ids(uni.dean_b)
    if first == "own":
        assert acting_for_in(order, "approve", uni.dean_b) is None
        fire(order, "approve", uni.dean_b)
        second = {"acting_for": uni.dean_a}
    else:
        fire(order, "approve", uni.dean_b, acting_for=uni.dean_a)
        second = {}
    assert order.state == "review_dean"
    assert "approve" not in legal_triggers(order, uni.dean_b)
    assert order.id not in inbox_ids(uni.dean_b)
    with pytest.raises(Refused) as refused:
        fire(order, "approve", uni.dean_b, **second)
    assert refused.value.status == 403
    assert refused.value.refusals[0].rule == "permission.second_visa"
    assert len(visas_of(order)) == 1
    remaining = [uni.dean_a] if first == "own" else [make.user("dean", uni.fb)]
    assert fire(order, "approve", remaining[0]) == "review_registrar"


def test_a_substitute_never_visas_an_order_they_wrote(uni, make):
    author = make.user("clerk")
    create_substitution(uni.dean_a, uni.dean_a, author, today(), today() + timedelta(days=3))
    order = make.order(author, [make.student(uni.ga)])
    fire(order, "submit", author)
    assert order.id not in inbox_ids(author)
    with pytest.raises(Refused) as refused:
        fire(order, "approve", author, acting_for=uni.dean_a)
    assert refused.value.refusals[0].rule == "permission.self_approval"


def test_only_the_dean_or_an_admin_names_the_substitute(uni, make):
    with pytest.raises(SubstitutionError) as refused:
        create_substitution(uni.dean_b, uni.dean_a, uni.dean_b, today(), today())
    assert refused.value.status == 403
    with pytest.raises(SubstitutionError):
        create_substitution(uni.dean_a, uni.dean_a, uni.dean_a, today(), today())
    row = create_substitution(uni.admin, uni.dean_a, uni.dean_b, today(), today() + timedelta(days=1))
    assert row.created_by_id == uni.admin.id
