"""Expulsion: who may be expelled, and what signing does to the students' records, numbers and e-mails."""

import hashlib

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from core import clock
from core.db import db
from notifications import attachments, relay
from notifications.models import OutboxMessage
from notifications.references import full_context
from orders import operations
from orders.models import OrderSequence
from students.models import StudentMovement
from tests.builders import rules
from workflow.engine import Refused, fire, pending_approvals

STATUS_RULE_TAIL = "only active students or students on academic leave can be expelled."


@pytest.fixture(autouse=True)
def english(session):
    """Refusal messages in English, whatever catalogs are compiled."""
    with force_locale("en"):
        yield


def deans_of(uni):
    return {uni.fa.id: uni.dean_a, uni.fb.id: uni.dean_b}


def to_signature(order, uni):
    """The legal route: the dean of each faculty, then the registrar office, then the lawyer."""
    fire(order, "submit", uni.clerk)
    for _role, faculty_id in pending_approvals(order):
        fire(order, "approve", deans_of(uni)[faculty_id])
    assert order.state == "review_registrar"
    fire(order, "approve", uni.registrar)
    assert order.state == "review_lawyer"
    fire(order, "approve", uni.lawyer)
    assert order.state == "awaiting_signature"


def sign(order, uni):
    to_signature(order, uni)
    assert fire(order, "sign", uni.rector) == "signed"
    db.session.expire_all()  # assert what the database holds, not what is in memory
    return order


def movements_of(student) -> list[StudentMovement]:
    return list(db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id)))


# Eligibility ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["expelled", "graduated"])
def test_expelled_or_graduated_student_is_not_eligible(status, uni, make):
    student = make.student(uni.ga, status=status, surname="Сапарова", name="Айгерим")
    order = make.order(uni.clerk, [student])
    (line,) = order.lines
    assert line.eligibility == [
        {
            "rule": "expulsion.status",
            "message": f"Сапарова Айгерим Сериковна is {status}: {STATUS_RULE_TAIL}",
            "data": {"status": status},
            "absolute": True,
        }
    ]
    assert not line.eligible


def test_active_student_and_student_on_academic_leave_are_eligible(uni, make):
    active, on_leave = make.student(uni.ga), make.student(uni.ga, status="academic_leave")
    order = make.order(uni.clerk, [active, on_leave])
    assert [line.eligibility for line in order.lines] == [[], []]


def test_student_in_another_open_order_is_not_eligible_until_it_is_withdrawn(uni, make):
    student = make.student(uni.ga, surname="Ким", name="Виктор")
    first = make.order(uni.clerk, [student])
    second = make.order(uni.clerk, [student])
    (line,) = second.lines
    assert rules(line) == ["line.open_order"]
    assert line.eligibility[0]["message"] == (
        f"Ким Виктор Серикович is already in order #{first.id} (draft); finish or withdraw that order first."
    )
    assert line.eligibility[0]["data"] == {"order_id": first.id, "state": "draft"}

    with pytest.raises(Refused) as refused:
        fire(second, "submit", uni.clerk)
    assert refused.value.status == 422
    assert [r.rule for r in refused.value.refusals] == ["line.open_order"]
    assert second.state == "draft"

    fire(first, "withdraw", uni.clerk)
    assert operations.check_lines(second) == []
    assert line.eligible
    assert fire(second, "submit", uni.clerk) == "review_dean"


def test_a_submitted_other_order_blocks_too_and_a_rejected_one_frees_the_student(uni, make):
    student = make.student(uni.ga)
    first = make.order(uni.clerk, [student])
    fire(first, "submit", uni.clerk)
    second = make.order(uni.clerk, [student])
    assert second.lines[0].eligibility[0]["data"] == {"order_id": first.id, "state": "review_dean"}
    fire(first, "reject", uni.dean_a, comment="Нет заявления")
    assert operations.check_lines(second) == []


def test_submit_refused_without_lines(uni, make):
    order = make.order(uni.clerk, [])
    with pytest.raises(Refused) as refused:
        fire(order, "submit", uni.clerk)
    assert refused.value.status == 422
    assert [(r.rule, r.message) for r in refused.value.refusals] == [
        ("order.no_lines", "Add at least one student before submitting.")
    ]
    assert order.state == "draft"


def test_submit_refused_with_an_ineligible_line(uni, make):
    ok, graduated = make.student(uni.ga), make.student(uni.ga, status="graduated")
    order = make.order(uni.clerk, [ok, graduated])
    with pytest.raises(Refused) as refused:
        fire(order, "submit", uni.clerk)
    assert refused.value.status == 422
    assert [r.rule for r in refused.value.refusals] == ["expulsion.status"]
    assert graduated.full_name in refused.value.refusals[0].message
    assert order.state == "draft"


def test_sign_rechecks_eligibility_and_changes_nothing_when_a_line_fails(uni, make):
    student = make.student(uni.ga)
    order = make.order(uni.clerk, [student])
    to_signature(order, uni)
    student.status = "graduated"  # changed by someone else after the visas
    with pytest.raises(Refused) as refused:
        fire(order, "sign", uni.rector)
    assert [r.rule for r in refused.value.refusals] == ["expulsion.status"]
    assert order.state == "awaiting_signature"
    assert order.number is None
    assert movements_of(student) == []
    assert db.session.scalar(select(func.count()).select_from(OrderSequence)) == 0


# Signing --------------------------------------------------------------------------------------------------


def test_signing_expels_every_student_with_reason_and_date(uni, make):
    a, b = make.student(uni.ga), make.student(uni.gb, status="academic_leave")
    order = sign(make.order(uni.clerk, [a, b], reason="academic_failure", effective_date="2026-09-15"), uni)
    for student, before in ((a, "active"), (b, "academic_leave")):
        assert student.status == "expelled"
        assert student.expulsion_reason == "academic_failure"
        assert str(student.status_since) == "2026-09-15"
        (movement,) = movements_of(student)
        assert movement.changes["status"] == [before, "expelled"]
    assert order.signed_by_id == uni.rector.id
    assert order.signed_at is not None


def test_signing_applies_an_order_longer_than_one_chunk_to_every_line_once(uni, make, monkeypatch):
    monkeypatch.setattr(operations, "APPLY_CHUNK", 2)  # five lines: chunks of 2, 2 and 1
    students = [make.student(uni.ga if n % 2 else uni.gb) for n in range(5)]
    order = sign(make.order(uni.clerk, students, reason="own_request", effective_date="2026-09-15"), uni)
    for student in students:
        assert (student.status, student.expulsion_reason) == ("expelled", "own_request")
        (movement,) = movements_of(student)
        assert movement.order_label == order.number_label and movement.changes["status"] == ["active", "expelled"]
    assert all(line.applied_changes["status"] == ["active", "expelled"] for line in order.lines)


@pytest.mark.parametrize(
    ("funding", "reason", "after", "changes"),
    [
        ("grant", "own_request", "none", {"status": ["active", "expelled"], "funding": ["grant", "none"]}),
        ("grant", "academic_failure", "none", {"status": ["active", "expelled"], "funding": ["grant", "none"]}),
        ("grant", "transfer", "grant", {"status": ["active", "expelled"]}),
        ("paid", "own_request", "paid", {"status": ["active", "expelled"]}),
        ("paid", "transfer", "paid", {"status": ["active", "expelled"]}),
    ],
)
def test_grant_ends_on_expulsion_except_on_transfer(funding, reason, after, changes, uni, make):
    student = make.student(uni.ga, funding=funding)
    order = sign(make.order(uni.clerk, [student], reason=reason), uni)
    assert student.funding == after
    (movement,) = movements_of(student)
    assert movement.changes == changes
    assert order.lines[0].applied_changes == changes


def test_one_movement_per_line_with_changes_and_order_label(uni, make):
    students = [make.student(uni.ga), make.student(uni.ga), make.student(uni.gb)]
    order = sign(make.order(uni.clerk, students, reason="non_payment", effective_date="2026-10-01"), uni)
    rows = list(
        db.session.scalars(
            select(StudentMovement)
            .where(StudentMovement.student_id.in_([s.id for s in students]))
            .order_by(StudentMovement.id)
        )
    )
    assert len(rows) == 3
    assert {r.student_id for r in rows} == {s.id for s in students}
    assert {r.order_line_id for r in rows} == {line.id for line in order.lines}
    for row in rows:
        assert (row.kind, row.reason, str(row.effective_date), row.order_label) == (
            "expulsion",
            "non_payment",
            "2026-10-01",
            order.number_label,
        )


def test_numbers_are_gapless_per_year_and_series(app, uni, make):
    first = sign(make.order(uni.clerk, [make.student(uni.ga)]), uni)
    second = sign(make.order(uni.clerk, [make.student(uni.gb)]), uni)
    today = clock.today()
    assert (first.number, first.number_label, first.year, first.series) == (1, "1-С", today.year, "С")
    assert (second.number, second.number_label) == (2, "2-С")
    assert first.order_date == second.order_date == today
    assert db.session.get(OrderSequence, (today.year, "С")).last_number == 2


def test_another_series_has_its_own_sequence(app, uni, make):
    first = sign(make.order(uni.clerk, [make.student(uni.ga)]), uni)
    other = make.order(uni.clerk, [make.student(uni.ga)])
    other.series = "К"
    sign(other, uni)
    assert (first.number_label, other.number_label) == ("1-С", "1-К")


def test_returned_and_resubmitted_order_takes_one_number(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    to_signature(order, uni)
    fire(order, "return", uni.rector, comment="Уточните основание")
    assert order.number is None
    sign(order, uni)
    assert order.number_label == "1-С"
    nxt = sign(make.order(uni.clerk, [make.student(uni.ga)]), uni)
    assert nxt.number_label == "2-С"
    assert db.session.get(OrderSequence, (order.year, "С")).last_number == 2


def test_rejected_and_withdrawn_orders_take_no_number(uni, make):
    rejected = make.order(uni.clerk, [make.student(uni.ga)])
    to_signature(rejected, uni)
    fire(rejected, "reject", uni.rector, comment="Не подписываю")
    withdrawn = make.order(uni.clerk, [make.student(uni.ga)])
    fire(withdrawn, "withdraw", uni.clerk)
    assert rejected.number is None and withdrawn.number is None
    assert sign(make.order(uni.clerk, [make.student(uni.ga)]), uni).number_label == "1-С"


def test_signed_order_stores_its_document_with_sha256(uni, make):
    order = sign(make.order(uni.clerk, [make.student(uni.ga)]), uni)
    document = order.document
    assert document is not None
    assert document.content[:2] == b"PK"
    assert document.sha256 == hashlib.sha256(document.content).hexdigest()


def test_outbox_row_per_student_with_email_and_none_without(uni, make):
    with_mail = make.student(uni.ga, email="aigerim@students.test")
    kk_group = make.group(uni.fb, language="kk")
    kazakh = make.student(kk_group, email="daulet@students.test")
    without = make.student(uni.ga, email=None)
    before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    order = sign(make.order(uni.clerk, [with_mail, kazakh, without]), uni)
    rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))[before:]
    assert sorted((r.recipient, r.language, r.template) for r in rows) == [
        ("aigerim@students.test", "ru", "expulsion_student"),
        ("daulet@students.test", "kk", "expulsion_student"),
    ]
    assert all(r.status == "pending" and full_context(r.context)["order_label"] == order.number_label for r in rows)
    assert movements_of(without), "a student without e-mail is still expelled"
    assert without.status == "expelled"


def test_expulsion_for_death_writes_to_the_registrar_office_not_to_the_student(app, uni, make):
    deceased = make.student(uni.ga, email="deceased@students.test")
    living = make.student(uni.ga, email="living@students.test")
    before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    order = sign(make.order(uni.clerk, [deceased], reason="death"), uni)
    rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))[before:]
    assert [r.recipient for r in rows] == [app.config["REGISTRAR_OFFICE_EMAIL"]]
    [row] = rows
    assert row.context["students"] == [deceased.full_name]
    [spec] = attachments.specs(full_context(row.context))
    assert (
        attachments.render(spec, full_context(row.context)).content == order.document.content
    )  # the signed order itself
    message = relay.compose(row)
    assert deceased.full_name in message.get_body().get_content() and message["To"] == row.recipient
    sign(make.order(uni.clerk, [living], reason="own_request"), uni)
    assert db.session.scalar(select(OutboxMessage.recipient).order_by(OutboxMessage.id.desc()).limit(1)) == (
        "living@students.test"
    )


def test_nothing_is_queued_before_signing(uni, make):
    before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    order = make.order(uni.clerk, [make.student(uni.ga)])
    to_signature(order, uni)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == before
