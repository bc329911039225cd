"""Deadlines: a reminder to whoever still has to act on an overdue step, then an escalation to a superior.

`run_deadlines()` is what the scheduler (`registrar scheduler`, or the thread inside `registrar run`) calls every few
minutes. Each reminder and escalation is recorded as a `DeadlineNotice`, unique per order, round, step and kind; the
notice is inserted in a SAVEPOINT before its e-mails are queued, so two schedulers running at once send each e-mail
once. Nothing here changes an order's state: an escalation never takes the original approver's right to act.
"""

from datetime import date, datetime

from flask import current_app
from sqlalchemy import case, exists, func, select
from sqlalchemy.exc import IntegrityError

from core.clock import add_working_days
from core.clock import now as clock_now
from core.db import db
from core.formatting import as_utc, format_moment, local_time
from core.models import Substitution, User, UserRole
from notifications.outbox import enqueue_emails
from orders.models import Order
from workflow.engine import current_step, pending_approvals
from workflow.models import DeadlineNotice, Visa
from workflow.routes import SIGNER_STEP, TERMINAL_STATES, Step


class _Staff:
    """Every active user holding a role, and today's substitutions: loaded once per run, not once per order."""

    def __init__(self, on: date):
        users = db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.is_active_user.is_(True), UserRole.role != "clerk")
            .distinct()
        ).all()
        self.users = {u.id: u for u in users}
        self.substitutes: dict[int, list[User]] = {}
        rows = db.session.scalars(
            select(Substitution).where(Substitution.starts_on <= on, Substitution.ends_on >= on)
        ).all()
        for row in rows:
            if row.substitute.is_active_user:
                self.substitutes.setdefault(row.principal_id, []).append(row.substitute)

    def with_role(self, *roles: str, faculty_ids: set[int] | None = None) -> list[User]:
        return [
            u
            for u in self.users.values()
            if u.has_role(*roles) and (faculty_ids is None or u.faculty_id in faculty_ids)
        ]


def approvers(order: Order, step: Step, staff: _Staff) -> list[User]:
    """Who still has to act on `order` at `step`: holders of the step's roles (for a per-faculty step the deans of
    the faculties still pending), never the author nor anyone who already decided this round, plus whoever
    substitutes for one of them today."""
    pending = pending_approvals(order)
    if not pending:
        return []
    faculty_ids = {f for _role, f in pending} if step.mode == "per_faculty" else None
    decided = set()
    for visa in db.session.scalars(select(Visa).where(Visa.order_id == order.id, Visa.round == order.round)):
        decided |= {visa.decided_by_id, visa.acting_for_id}
    principals = [
        u
        for u in staff.with_role(*step.roles, faculty_ids=faculty_ids)
        if u.id != order.author_id and u.id not in decided
    ]
    people = {u.id: u for u in principals}
    for principal in principals:
        for substitute in staff.substitutes.get(principal.id, []):
            if substitute.id != order.author_id and substitute.id not in decided:
                people.setdefault(substitute.id, substitute)
    return list(people.values())


def _notice_once(order: Order, step: Step, kind: str) -> bool:
    """Record the notice in a SAVEPOINT; False when it exists already (sent earlier, or by another scheduler)."""
    try:
        with db.session.begin_nested():
            db.session.add(DeadlineNotice(order_id=order.id, round=order.round, step=step.name, kind=kind))
    except IntegrityError:
        return False
    return True


def _emails(template: str, people: list[User], order: Order, step: Step, due_at: datetime) -> list[dict]:
    return [
        {
            "recipient": person.email,
            "template": template,
            "language": person.language,
            "context": {
                "recipient_name": person.full_name,
                "order_id": order.id,
                "order_label": order.label,
                "order_title": order.title,
                "step": step.name,
                "state": order.state,
                "due": format_moment(due_at, person.language),
                "link": f"/orders/{order.id}",
            },
        }
        for person in sorted(people, key=lambda p: p.id)
        if person.email
    ]


def overdue_orders(moment: datetime) -> list[Order]:
    """Open orders whose current step is past due and not yet escalated: one query, so that orders left escalated
    for months do not make every pass slower."""
    step = case((Order.state == "awaiting_signature", SIGNER_STEP), else_=func.substr(Order.state, len("review_") + 1))
    escalated = exists().where(
        DeadlineNotice.order_id == Order.id,
        DeadlineNotice.round == Order.round,
        DeadlineNotice.step == step,
        DeadlineNotice.kind == "escalation",
    )
    return list(
        db.session.scalars(
            select(Order)
            .where(
                Order.due_at.is_not(None),
                Order.due_at <= moment,
                Order.state.not_in(("draft", *TERMINAL_STATES)),
                ~escalated,
            )
            .order_by(Order.due_at, Order.id)
        )
    )


def run_deadlines(now: datetime | None = None) -> dict:
    """Send the reminders and escalations due at `now` (default: the clock). Returns counts: `checked` (overdue
    steps not yet escalated), `reminders` and `escalations` recorded, `emails` queued. The caller commits."""
    moment = as_utc(now or clock_now())
    orders = overdue_orders(moment)
    result = {"checked": len(orders), "reminders": 0, "escalations": 0, "emails": 0}
    if not orders:
        return result
    sent = {
        (n.order_id, n.round, n.step, n.kind)
        for n in db.session.scalars(select(DeadlineNotice).where(DeadlineNotice.order_id.in_([o.id for o in orders])))
    }
    staff = _Staff(local_time(moment).date())
    emails: list[dict] = []
    for order in orders:
        step = current_step(order)
        if step is None:
            continue
        due_at = as_utc(order.due_at)
        remind = (order.id, order.round, step.name, "reminder") not in sent
        escalate = (
            moment >= add_working_days(due_at, step.escalate_after_days)
            and (order.id, order.round, step.name, "escalation") not in sent
        )
        if not (remind or escalate):
            continue
        people = approvers(order, step, staff)
        if remind and _notice_once(order, step, "reminder"):
            emails += _emails("deadline_reminder", people, order, step, due_at)
            result["reminders"] += 1
        if escalate and _notice_once(order, step, "escalation"):
            superiors = [u for u in staff.with_role(step.escalate_to) if u.id != order.author_id]
            everyone = {u.id: u for u in [*superiors, *people]}
            emails += _emails("deadline_escalation", list(everyone.values()), order, step, due_at)
            result["escalations"] += 1
    enqueue_emails(emails)
    result["emails"] = len(emails)
    current_app.logger.info("deadlines: %s", result)
    return result
