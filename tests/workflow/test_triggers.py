"""Every trigger in every state for every role: who may move an order, and why the others are refused.

Expulsions travel the `legal` route: dean(s) of each faculty -> registrar office -> lawyer -> rector's signature."""

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import create_user
from tests.conftest import sign, visa_until_signature
from workflow.engine import TRIGGERS, Refused, fire, legal_triggers, pending_approvals
from workflow.models import AuditEvent, Visa

ROLES = ("author", "other_clerk", "dean_own", "dean_other", "registrar", "lawyer", "finance", "rector", "admin")
STATES = (
    "draft",
    "review_dean",
    "review_registrar",
    "review_lawyer",
    "awaiting_signature",
    "signed",
    "rejected",
    "withdrawn",
)
REVIEW = {
    "review_dean": ("dean_own", "review_registrar"),
    "review_registrar": ("registrar", "review_lawyer"),
    "review_lawyer": ("lawyer", "awaiting_signature"),
}

# The only (state, trigger, role) combinations that succeed, and the state they lead to. Everything else is refused.
ALLOWED = {
    ("draft", "submit", "author"): "review_dean",
    ("draft", "submit", "other_clerk"): "review_dean",
    ("draft", "withdraw", "author"): "withdrawn",
    **{
        key: value
        for state, (role, after) in REVIEW.items()
        for key, value in (
            ((state, "approve", role), after),
            ((state, "return", role), "draft"),
            ((state, "reject", role), "rejected"),
            ((state, "withdraw", "author"), "withdrawn"),
        )
    },
    ("awaiting_signature", "sign", "rector"): "signed",
    ("awaiting_signature", "return", "rector"): "draft",
    ("awaiting_signature", "reject", "rector"): "rejected",
    ("awaiting_signature", "withdraw", "author"): "withdrawn",
}
# Triggers that exist in each state at all; any other is an invalid state (409) whoever fires it.
VALID_IN = {
    "draft": {"submit", "withdraw"},
    **{state: {"approve", "return", "reject", "withdraw"} for state in REVIEW},
    "awaiting_signature": {"return", "reject", "sign", "withdraw"},
}
APPROVER = {"review_dean": "dean_a", "review_registrar": "registrar", "review_lawyer": "lawyer"}


def bring_to(order, state, uni):
    """Move a one-faculty (FA) order authored by uni.clerk to `state` by firing the real triggers."""
    if state == "draft":
        return
    if state == "withdrawn":
        fire(order, "withdraw", uni.clerk)
        return
    fire(order, "submit", uni.clerk)
    if state == "rejected":
        fire(order, "reject", uni.dean_a, comment="Не тот факультет")
    elif state == "signed":
        sign(order, uni)
    else:
        for step in ("review_dean", "review_registrar", "review_lawyer"):
            if order.state == state:
                break
            fire(order, "approve", getattr(uni, APPROVER[step]))
    assert order.state == state


def counts(order) -> tuple[int, int]:
    events = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.order_id == order.id))
    visas = db.session.scalar(select(func.count()).select_from(Visa).where(Visa.order_id == order.id))
    return events, visas


def events_of(order) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.order_id == order.id).order_by(AuditEvent.id)))


@pytest.fixture
def actors(uni, make):
    return {
        "author": uni.clerk,
        "other_clerk": make.user("clerk"),
        "dean_own": uni.dean_a,
        "dean_other": uni.dean_b,
        "registrar": uni.registrar,
        "lawyer": uni.lawyer,
        "finance": uni.finance,
        "rector": uni.rector,
        "admin": uni.admin,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("state", STATES)
def test_trigger_matrix(state, trigger, role, uni, make, actors):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    bring_to(order, state, uni)
    actor = actors[role]
    expected = ALLOWED.get((state, trigger, role))
    comment = "Основание проверено" if trigger in ("return", "reject") else ""

    # The UI offers exactly the triggers that would succeed (guards aside).
    assert (trigger in legal_triggers(order, actor)) == (expected is not None)

    before = counts(order)
    if expected is not None:
        assert fire(order, trigger, actor, comment=comment) == expected
        assert order.state == expected
        event = events_of(order)[-1]
        assert (event.trigger, event.actor_id, event.from_state, event.to_state) == (trigger, actor.id, state, expected)
        return

    with pytest.raises(Refused) as refused:
        fire(order, trigger, actor, comment=comment)
    if trigger not in VALID_IN.get(state, set()):
        assert refused.value.status == 409
        assert [r.rule for r in refused.value.refusals] == ["state.invalid"]
    else:
        assert refused.value.status == 403
        assert len(refused.value.refusals) == 1
        assert refused.value.refusals[0].rule.startswith("permission.")
    assert order.state == state
    assert counts(order) == before, "a refused trigger must write no visa and no audit event"


@pytest.mark.parametrize(
    ("state", "role"),
    [
        ("review_dean", "dean_own"),
        ("review_registrar", "registrar"),
        ("review_lawyer", "lawyer"),
        ("awaiting_signature", "rector"),
    ],
)
@pytest.mark.parametrize("trigger", ["return", "reject"])
@pytest.mark.parametrize("comment", ["", "   \n "])
def test_return_and_reject_need_a_comment(state, role, trigger, comment, uni, make, actors):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    bring_to(order, state, uni)
    before = counts(order)
    with pytest.raises(Refused) as refused:
        fire(order, trigger, actors[role], comment=comment)
    assert refused.value.status == 422
    assert [r.rule for r in refused.value.refusals] == ["comment.required"]
    assert "comment is required" in refused.value.refusals[0].message
    assert order.state == state
    assert counts(order) == before


def test_dean_of_a_faculty_not_in_the_order_is_refused_by_faculty(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    with pytest.raises(Refused) as refused:
        fire(order, "approve", uni.dean_b)
    assert refused.value.status == 403
    assert refused.value.refusals[0].rule == "permission.faculty"


def test_author_cannot_sign_own_order_even_as_rector(uni, make):
    author = create_user("clerk_rector", "secret", "Clerk and Rector", ["clerk", "rector"])
    db.session.flush()
    order = make.order(author, [make.student(uni.ga)])
    fire(order, "submit", author)
    visa_until_signature(order, uni)
    assert order.state == "awaiting_signature"
    assert legal_triggers(order, author) == ["withdraw"]
    for trigger in ("sign", "return", "reject"):
        with pytest.raises(Refused) as refused:
            fire(order, trigger, author, comment="сам себе")
        assert refused.value.status == 403
        assert refused.value.refusals[0].rule == "permission.self_approval"
    assert order.state == "awaiting_signature"
    assert fire(order, "sign", uni.rector) == "signed"


def test_author_cannot_visa_own_order_even_as_dean(uni, make):
    author = create_user("clerk_dean", "secret", "Clerk and Dean", ["clerk", "dean"], faculty_id=uni.fa.id)
    db.session.flush()
    order = make.order(author, [make.student(uni.ga)])
    fire(order, "submit", author)
    with pytest.raises(Refused) as refused:
        fire(order, "approve", author)
    assert refused.value.status == 403
    assert refused.value.refusals[0].rule == "permission.self_approval"
    assert order.state == "review_dean"
    assert pending_approvals(order) == [("dean", uni.fa.id)]


def test_the_same_dean_cannot_visa_twice(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)])
    fire(order, "submit", uni.clerk)
    fire(order, "approve", uni.dean_a)
    with pytest.raises(Refused) as refused:
        fire(order, "approve", uni.dean_a)
    assert refused.value.status == 403
    assert refused.value.refusals[0].rule == "permission.second_visa"
    assert order.state == "review_dean"
    assert pending_approvals(order) == [("dean", uni.fb.id)]
    approved = db.session.scalars(select(Visa).where(Visa.order_id == order.id, Visa.decided_by_id == uni.dean_a.id))
    assert len(list(approved)) == 1


def test_one_deans_visa_keeps_review_and_both_move_to_signature_exactly_once(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)])
    fire(order, "submit", uni.clerk)
    assert sorted(pending_approvals(order)) == sorted([("dean", uni.fa.id), ("dean", uni.fb.id)])
    assert fire(order, "approve", uni.dean_a) == "review_dean"
    assert pending_approvals(order) == [("dean", uni.fb.id)]
    assert fire(order, "approve", uni.dean_b) == "review_registrar"
    assert pending_approvals(order) == [("registrar", None)]
    with pytest.raises(Refused) as refused:  # a late dean's approval cannot move it again
        fire(order, "approve", uni.dean_b)
    assert refused.value.status == 403
    assert refused.value.refusals[0].rule == "permission.second_visa"
    assert order.state == "review_registrar"

    moves = [(e.trigger, e.actor_id, e.from_state, e.to_state) for e in events_of(order)]
    assert moves == [
        ("submit", uni.clerk.id, "draft", "review_dean"),
        ("approve", uni.dean_a.id, "review_dean", "review_dean"),
        ("approve", uni.dean_b.id, "review_dean", "review_registrar"),
    ]
    assert sum(1 for m in moves if m[3] == "review_registrar") == 1
    visas = {
        (v.faculty_id, v.decided_by_id, v.decision, v.round)
        for v in db.session.scalars(select(Visa).where(Visa.order_id == order.id))
    }
    assert visas == {(uni.fa.id, uni.dean_a.id, "approved", 1), (uni.fb.id, uni.dean_b.id, "approved", 1)}


def test_return_goes_back_to_draft_and_resubmission_needs_every_visa_again(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)])
    fire(order, "submit", uni.clerk)
    assert order.round == 1
    fire(order, "approve", uni.dean_a)
    assert fire(order, "return", uni.dean_b, comment="Уточните дату отчисления") == "draft"
    last = events_of(order)[-1]
    assert (last.trigger, last.actor_id, last.from_state, last.to_state, last.comment) == (
        "return",
        uni.dean_b.id,
        "review_dean",
        "draft",
        "Уточните дату отчисления",
    )
    returned = db.session.scalar(select(Visa).where(Visa.order_id == order.id, Visa.decision == "returned"))
    assert (returned.decided_by_id, returned.comment, returned.round) == (uni.dean_b.id, "Уточните дату отчисления", 1)

    fire(order, "submit", uni.clerk)
    assert order.round == 2
    # Dean A's visa belonged to the first round: both faculties must visa again.
    assert sorted(pending_approvals(order)) == sorted([("dean", uni.fa.id), ("dean", uni.fb.id)])
    assert "approve" in legal_triggers(order, uni.dean_a)
    assert fire(order, "approve", uni.dean_a) == "review_dean"
    assert fire(order, "approve", uni.dean_b) == "review_registrar"
    assert fire(order, "approve", uni.registrar) == "review_lawyer"
    assert fire(order, "approve", uni.lawyer) == "awaiting_signature"

    # The rector may return too; the next round again starts with the deans.
    assert fire(order, "return", uni.rector, comment="Нет заявления") == "draft"
    fire(order, "submit", uni.clerk)
    assert order.round == 3
    assert order.state == "review_dean"
    assert len(pending_approvals(order)) == 2


def test_audit_events_record_actor_states_comment_and_route(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    fire(order, "approve", uni.dean_a, comment="Согласовано")
    fire(order, "approve", uni.registrar)
    fire(order, "approve", uni.lawyer, comment="Правовых препятствий нет")
    fire(order, "reject", uni.rector, comment="Основание не подтверждено")
    rows = [
        (e.trigger, e.actor_id, e.acting_for_id, e.from_state, e.to_state, e.comment, e.route_name, e.route_version)
        for e in events_of(order)
    ]
    assert rows == [
        ("submit", uni.clerk.id, None, "draft", "review_dean", "", "legal", 1),
        ("approve", uni.dean_a.id, None, "review_dean", "review_registrar", "Согласовано", "legal", 1),
        ("approve", uni.registrar.id, None, "review_registrar", "review_lawyer", "", "legal", 1),
        ("approve", uni.lawyer.id, None, "review_lawyer", "awaiting_signature", "Правовых препятствий нет", "legal", 1),
        ("reject", uni.rector.id, None, "awaiting_signature", "rejected", "Основание не подтверждено", "legal", 1),
    ]
    assert all(e.created_at is not None for e in events_of(order))


def test_stale_expected_version_is_refused_with_409(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    visa_until_signature(order, uni)
    seen = order.version
    fire(order, "return", uni.rector, comment="Уточните основание")  # someone else acted meanwhile
    fire(order, "submit", uni.clerk)
    visa_until_signature(order, uni)
    before = counts(order)
    with pytest.raises(Refused) as refused:
        fire(order, "sign", uni.rector, expected_version=seen)
    assert refused.value.status == 409
    assert refused.value.refusals[0].rule == "state.stale"
    assert order.state == "awaiting_signature"
    assert counts(order) == before
    assert fire(order, "sign", uni.rector, expected_version=order.version) == "signed"


def test_unknown_trigger_is_refused(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    with pytest.raises(Refused) as refused:
        fire(order, "publish", uni.clerk)
    assert refused.value.status == 404
    assert order.state == "draft"
