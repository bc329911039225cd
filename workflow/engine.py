"""`fire()`: the one way to change a subject's state.

One `transitions` machine per route is built once and shared by every subject (`model=None`); the state lives
in the subject's `state` column. `fire` locks the row, checks the state, the actor's permission (deny by default),
the comment and the registered guards, records the visa, runs the transition, writes an audit event and calls the
hooks of the state entered. It never commits: the caller's unit of work does.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import lazyload
from transitions import Machine

from core.db import db, is_postgres, utcnow
from core.labels import label
from core.models import User
from workflow.models import AuditEvent, Visa
from workflow.routes import TERMINAL_STATES, Route, get_route

TRIGGERS = ("submit", "approve", "return", "reject", "sign", "withdraw")
COMMENT_REQUIRED = ("return", "reject")
DECISION_OF = {"approve": "approved", "return": "returned", "reject": "rejected", "sign": "signed"}


class Subject(Protocol):
    """What the engine needs of a row it moves along a route (an Order)."""

    id: int
    state: str
    version: int
    round: int
    route_name: str
    route_version: int
    author_id: int
    updated_at: Any

    @property
    def faculty_ids(self) -> set[int]: ...


@dataclass
class Refusal:
    rule: str
    message: str
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"rule": self.rule, "message": self.message, "data": self.data}


class Refused(Exception):
    """A trigger was refused. `status` is the HTTP status a view should answer with."""

    def __init__(self, refusals: list[Refusal], status: int = 422):
        self.refusals = refusals
        self.status = status
        super().__init__("; ".join(r.message for r in refusals))


Guard = Callable[[Subject, User, dict], list[Refusal]]
Hook = Callable[[Subject, User, dict], None]
_guards: dict[str, list[Guard]] = defaultdict(list)
_enter_hooks: dict[str, list[Hook]] = defaultdict(list)


def guard(trigger: str) -> Callable[[Guard], Guard]:
    """Register a guard run before `trigger`; it returns the refusals (empty when the trigger may go on)."""

    def register(fn: Guard) -> Guard:
        _guards[trigger].append(fn)
        return fn

    return register


def on_enter(state: str) -> Callable[[Hook], Hook]:
    """Register a hook run, inside the same transaction, when a subject enters `state`."""

    def register(fn: Hook) -> Hook:
        _enter_hooks[state].append(fn)
        return fn

    return register


def _step_complete(event) -> bool:
    return not pending_approvals(event.model)


@cache
def machine_for(route_name: str, route_version: int) -> Machine:
    """The shared machine of one route version. Built once per process, never per subject."""
    route = get_route(route_name)
    review = [s.state for s in route.steps]
    transitions: list[dict] = [{"trigger": "submit", "source": "draft", "dest": route.first_state}]
    for state in review:
        transitions.append({"trigger": "approve", "source": state, "dest": route.state_after(state),
                            "conditions": [_step_complete]})
        transitions.append({"trigger": "approve", "source": state, "dest": None})
    deciding = [*review, "awaiting_signature"]
    transitions += [
        {"trigger": "return", "source": deciding, "dest": "draft"},
        {"trigger": "reject", "source": deciding, "dest": "rejected"},
        {"trigger": "sign", "source": "awaiting_signature", "dest": "signed"},
        {"trigger": "withdraw", "source": ["draft", *deciding], "dest": "withdrawn"},
    ]
    return Machine(model=None, states=route.states, transitions=transitions, initial="draft",
                   auto_transitions=False, send_event=True, model_attribute="state")


def _visas_this_round(subject: Subject) -> list[Visa]:
    return list(db.session.scalars(
        select(Visa).where(Visa.order_id == subject.id, Visa.round == subject.round).order_by(Visa.id)))


def pending_approvals(subject: Subject) -> list[tuple[str, int | None]]:
    """Who still has to act at the subject's current state: (role, faculty id or None) pairs."""
    route = get_route(subject.route_name)
    if subject.state == "awaiting_signature":
        return [(route.signer_role, None)]
    step = route.step_for_state(subject.state)
    if step is None:
        return []
    approved = [v for v in _visas_this_round(subject) if v.step == step.name and v.decision == "approved"]
    if step.per_faculty:
        done = {v.faculty_id for v in approved}
        return [(step.role, f) for f in sorted(subject.faculty_ids - done)]
    return [] if approved else [(step.role, None)]


def _permission_refusal(route: Route, subject: Subject, trigger: str, actor: User) -> Refusal | None:
    """Why `actor` may not fire `trigger` now, or None when allowed. Anything not allowed below is denied."""
    is_author = actor.id == subject.author_id
    if trigger == "submit":
        if is_author or actor.has_role("clerk"):
            return None
        return Refusal("permission.submit", _("Only the author or a clerk may submit this order."))
    if trigger == "withdraw":
        if is_author:
            return None
        return Refusal("permission.withdraw", _("Only the author may withdraw this order."))
    if is_author:
        return Refusal("permission.self_approval", _("The author of an order cannot visa or sign it."))
    if any(v.decided_by_id == actor.id for v in _visas_this_round(subject)):
        return Refusal("permission.second_visa", _("You have already given your visa on this order."))
    if subject.state == "awaiting_signature":
        if actor.has_role(route.signer_role) and trigger in ("sign", "return", "reject"):
            return None
        return Refusal("permission.sign", _("Only the rectorate may sign or return this order now."))
    step = route.step_for_state(subject.state)
    if step is None or trigger not in ("approve", "return", "reject") or not actor.has_role(step.role):
        return Refusal("permission.step", _("This order is not waiting for your decision."))
    if step.per_faculty:
        waiting = {f for _role, f in pending_approvals(subject)}
        if actor.faculty_id not in waiting:
            return Refusal("permission.faculty", _("This order is not waiting for your faculty's visa."))
    return None


def _lock(subject: Subject) -> None:
    """Take the row lock on PostgreSQL and reload the row, so a concurrent change is seen, not overwritten."""
    if is_postgres():
        model = type(subject)
        # The result must be consumed: the ORM refreshes the object only as rows are fetched.
        db.session.execute(
            select(model).where(model.id == subject.id).options(lazyload("*"))
            .with_for_update(of=model).execution_options(populate_existing=True)).scalar_one()


def legal_triggers(subject: Subject, actor: User) -> list[str]:
    """Triggers valid in the subject's state that `actor` is allowed to fire (guards not evaluated)."""
    route = get_route(subject.route_name)
    machine = machine_for(subject.route_name, subject.route_version)
    return [t for t in TRIGGERS
            if subject.state in machine.events[t].transitions
            and _permission_refusal(route, subject, t, actor) is None]


def fire(subject: Subject, trigger: str, actor: User, *, comment: str = "", acting_for: User | None = None,
         expected_version: int | None = None, **data) -> str:
    """Move `subject` by `trigger` on behalf of `actor`; returns the new state or raises `Refused`."""
    if trigger not in TRIGGERS:
        raise Refused([Refusal("trigger.unknown", _("Unknown action: %(t)s.", t=trigger))], status=404)
    _lock(subject)
    if expected_version is not None and expected_version != subject.version:
        raise Refused([Refusal("state.stale", _("The order has changed since you opened it; reload the page."),
                               {"expected": expected_version, "actual": subject.version})], status=409)
    route = get_route(subject.route_name)
    machine = machine_for(subject.route_name, subject.route_version)
    from_state = subject.state
    if from_state not in machine.events[trigger].transitions:
        raise Refused([Refusal("state.invalid", _("“%(t)s” is not possible for an order in state “%(s)s”.",
                                                  t=label(trigger), s=label(from_state)),
                               {"state": from_state, "trigger": trigger})], status=409)
    refusal = _permission_refusal(route, subject, trigger, actor)
    if refusal:
        raise Refused([refusal], status=403)
    comment = (comment or "").strip()
    if trigger in COMMENT_REQUIRED and not comment:
        raise Refused([Refusal("comment.required", _("A comment is required to return or reject an order."))])
    refusals = [r for g in _guards[trigger] for r in g(subject, actor, data)]
    if refusals:
        raise Refused(refusals)

    if trigger in DECISION_OF:
        step = route.step_for_state(from_state)
        db.session.add(Visa(
            order_id=subject.id, round=subject.round,
            step=step.name if step else "signature", role=step.role if step else route.signer_role,
            faculty_id=actor.faculty_id if step and step.per_faculty else None,
            decided_by_id=actor.id, acting_for_id=acting_for.id if acting_for else None,
            decision=DECISION_OF[trigger], comment=comment))
        db.session.flush()
    if not machine.events[trigger].trigger(subject):
        raise Refused([Refusal("state.refused", _("The action was refused in state “%(s)s”.", s=label(from_state)))])
    if trigger == "submit":
        subject.round += 1
    subject.updated_at = utcnow()  # always write the row, so the version column detects a concurrent change
    db.session.add(AuditEvent(
        order_id=subject.id, actor_id=actor.id, acting_for_id=acting_for.id if acting_for else None,
        trigger=trigger, from_state=from_state, to_state=subject.state, comment=comment,
        route_name=route.name, route_version=subject.route_version, data={}))
    if subject.state != from_state:
        for hook in _enter_hooks[subject.state]:
            hook(subject, actor, data)
    db.session.flush()
    return subject.state


def is_open(state: str) -> bool:
    return state not in TERMINAL_STATES
