"""`fire()`: the one way to change a subject's state.

One `transitions` machine per route is built once and shared by every subject (`model=None`); the state lives
in the subject's `state` column. `fire` locks the row, checks the state, the actor's permission (deny by default),
the comment and the registered guards, records the visa, runs the transition, writes an audit event and calls the
hooks of the state entered. It never commits: the caller's unit of work does.

A user may act for someone else (`acting_for`) only while a substitution names them for that day; the visa and the
audit event then record both. The permission rules are those of the person acted for.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import lazyload
from transitions import Machine

from core.clock import add_working_days, now, today
from core.db import db, is_postgres
from core.errors import Refusal, Refused
from core.labels import label
from core.models import User, principals_of, substitutes_for
from workflow.models import ApprovalSlot, AuditEvent, Visa
from workflow.routes import SIGNER_STEP, TERMINAL_STATES, Route, Step, get_route, latest_version

TRIGGERS = ("submit", "approve", "return", "reject", "sign", "withdraw")
COMMENT_REQUIRED = ("return", "reject")
DECISION_OF = {"approve": "approved", "return": "returned", "reject": "rejected", "sign": "signed"}
OVERRIDER_ROLE = "registrar"  # who may accept a line against a rule, and so gives no visa of that role on its order


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
    step_entered_at: Any
    due_at: Any

    @property
    def faculty_ids(self) -> set[int]: ...

    @property
    def override_by_ids(self) -> set[int]: ...


Guard = Callable[[Subject, User, dict], list[Refusal]]
Hook = Callable[[Subject, User, dict], None]
_guards: dict[str, list[Guard]] = defaultdict(list)
_enter_hooks: dict[str, list[Hook]] = defaultdict(list)
_after_hooks: dict[str, list[Hook]] = defaultdict(list)


def _registry(table: dict[str, list], key: str) -> Callable:
    def register(fn):
        table[key].append(fn)
        return fn

    return register


def guard(trigger: str) -> Callable[[Guard], Guard]:
    """Register a guard run before `trigger`; it returns the refusals (empty when the trigger may go on)."""
    return _registry(_guards, trigger)


def on_enter(state: str) -> Callable[[Hook], Hook]:
    """Register a hook run, inside the same transaction, when a subject enters `state`."""
    return _registry(_enter_hooks, state)


def after(trigger: str) -> Callable[[Hook], Hook]:
    """Register a hook run, inside the same transaction, after `trigger` went through."""
    return _registry(_after_hooks, trigger)


def route_of(subject: Subject) -> Route:
    return get_route(subject.route_name, subject.route_version)


def _step_complete(event) -> bool:
    return not pending_approvals(event.model)


@lru_cache(maxsize=256)
def machine_for(route: Route) -> Machine:
    """The shared machine of one route version. Built once per process, never per subject."""
    review = [s.state for s in route.steps]
    transitions: list[dict] = [{"trigger": "submit", "source": "draft", "dest": route.first_state}]
    for state in review:
        transitions.append(
            {"trigger": "approve", "source": state, "dest": route.state_after(state), "conditions": [_step_complete]}
        )
        transitions.append({"trigger": "approve", "source": state, "dest": None})
    deciding = [*review, "awaiting_signature"]
    transitions += [
        {"trigger": "return", "source": deciding, "dest": "draft"},
        {"trigger": "reject", "source": deciding, "dest": "rejected"},
        {"trigger": "sign", "source": "awaiting_signature", "dest": "signed"},
        {"trigger": "withdraw", "source": ["draft", *deciding], "dest": "withdrawn"},
    ]
    return Machine(
        model=None,
        states=route.states,
        transitions=transitions,
        initial="draft",
        auto_transitions=False,
        send_event=True,
        model_attribute="state",
    )


def current_step(subject: Subject) -> Step | None:
    """The step the subject waits on: a visa step, the signature, or None (draft, ended)."""
    route = route_of(subject)
    if subject.state == "awaiting_signature":
        return route.signature_step()
    return route.step_for_state(subject.state)


def _visas_this_round(subject: Subject) -> list[Visa]:
    return list(
        db.session.scalars(
            select(Visa).where(Visa.order_id == subject.id, Visa.round == subject.round).order_by(Visa.id)
        )
    )


def pending_approvals(
    subject: Subject, *, route: Route | None = None, visas: list[Visa] | None = None
) -> list[tuple[str, int | None]]:
    """Who still has to act at the subject's current state: (role, faculty id or None), one pair per visa missing.

    For a step open to several roles the role named is the first. `route` and `visas` (this round's) may be passed
    by a caller that has them already."""
    route = route or route_of(subject)
    if subject.state == "awaiting_signature":
        return [(route.signer_role, None)]
    step = route.step_for_state(subject.state)
    if step is None:
        return []
    visas = _visas_this_round(subject) if visas is None else visas
    approved = [v for v in visas if v.step == step.name and v.decision == "approved"]
    if step.mode == "per_faculty":
        done = {v.faculty_id for v in approved}
        return [(step.roles[0], f) for f in sorted(subject.faculty_ids - done)]
    missing = (step.n if step.mode == "n_of_m" else 1) - len(approved)
    return [(step.roles[0], None)] * max(missing, 0)


def open_slots(subject: Subject, route: Route | None = None) -> set[tuple[int, str, str, int | None, int]]:
    """The approval slots the subject should have now: (round, step, role, faculty id or None, seat), one per role
    of the current step and per visa still missing (the signature counts as the step `signature`)."""
    route = route or route_of(subject)
    if subject.state == "awaiting_signature":
        return {(subject.round, SIGNER_STEP, route.signer_role, None, 1)}
    step = route.step_for_state(subject.state)
    if step is None:
        return set()
    slots, seats = set(), defaultdict(int)
    for _role, faculty in pending_approvals(subject, route=route):
        seats[faculty] += 1
        slots |= {(subject.round, step.name, role, faculty, seats[faculty]) for role in step.roles}
    return slots


def sync_slots(subject: Subject, route: Route | None = None) -> None:
    """Make the subject's rows in `approval_slots` match `open_slots`: rows of visas given, of a step left or of
    an ended subject go, rows of a step entered come. `fire` calls it; nothing else needs to."""
    wanted = open_slots(subject, route)
    if not wanted:
        db.session.execute(
            delete(ApprovalSlot).where(ApprovalSlot.order_id == subject.id),
            execution_options={"synchronize_session": False},
        )
        return
    stale = []
    for row in db.session.execute(
        select(
            ApprovalSlot.id,
            ApprovalSlot.round,
            ApprovalSlot.step,
            ApprovalSlot.role,
            ApprovalSlot.faculty_id,
            ApprovalSlot.seat,
        ).where(ApprovalSlot.order_id == subject.id)
    ):
        key = (row.round, row.step, row.role, row.faculty_id, row.seat)
        if key in wanted:
            wanted.discard(key)
        else:
            stale.append(row.id)
    if stale:
        db.session.execute(
            delete(ApprovalSlot).where(ApprovalSlot.id.in_(stale)), execution_options={"synchronize_session": False}
        )
    if wanted:
        db.session.execute(
            insert(ApprovalSlot),
            [
                {"order_id": subject.id, "round": n, "step": step, "role": role, "faculty_id": faculty, "seat": seat}
                for n, step, role, faculty, seat in sorted(wanted, key=lambda k: (k[1], k[2], k[3] or 0, k[4]))
            ],
        )


def _permission_refusal(
    route: Route,
    subject: Subject,
    trigger: str,
    actor: User,
    principal: User | None = None,
    visas: list[Visa] | None = None,
) -> Refusal | None:
    """Why `actor` (acting for `principal`, if given) may not fire `trigger` now, or None when allowed.

    The rules are checked against the person acted for; nobody may visa an order they wrote, or visa twice, and
    who accepted one of its lines against a rule gives no visa at a registrar office's step."""
    who = principal or actor
    people = {actor.id, who.id}
    is_author = subject.author_id in people
    if trigger == "submit":
        if principal is None and (is_author or actor.has_role("clerk")):
            return None
        return Refusal("permission.submit", _("Only the author or a clerk may submit this order."))
    if trigger == "withdraw":
        if principal is None and is_author:
            return None
        return Refusal("permission.withdraw", _("Only the author may withdraw this order."))
    if is_author:
        return Refusal("permission.self_approval", _("The author of an order cannot visa or sign it."))
    visas = _visas_this_round(subject) if visas is None else visas
    if any(v.decided_by_id in people or v.acting_for_id in people for v in visas):
        return Refusal("permission.second_visa", _("You have already given your visa on this order."))
    if subject.state == "awaiting_signature":
        if who.has_role(route.signer_role) and trigger in ("sign", "return", "reject"):
            return None
        return Refusal("permission.sign", _("Only the rectorate may sign or return this order now."))
    step = route.step_for_state(subject.state)
    if step is None or trigger not in ("approve", "return", "reject") or not who.has_role(*step.roles):
        return Refusal("permission.step", _("This order is not waiting for your decision."))
    if step.mode == "per_faculty":
        waiting = {f for _role, f in pending_approvals(subject, route=route, visas=visas)}
        if who.faculty_id not in waiting:
            return Refusal("permission.faculty", _("This order is not waiting for your faculty's visa."))
    if trigger == "approve" and OVERRIDER_ROLE in step.roles and people & subject.override_by_ids:
        return Refusal(
            "permission.overrider",
            _(
                "You accepted a line of this order against a rule: another member of the registrar office gives "
                "its visa."
            ),
        )
    return None


def acting_identities(actor: User) -> list[User | None]:
    """Whom `actor` may act as today: themselves (None) first, then each person they substitute for."""
    return [None, *principals_of(actor, today())]


def legal_actions(subject: Subject, actor: User) -> list[tuple[str, User | None]]:
    """(trigger, acting for) pairs valid now for `actor` (guards not evaluated): what the UI offers as buttons.

    A trigger appears once, under the first identity allowed to fire it (the actor's own before a substitution)."""
    route = route_of(subject)
    machine = machine_for(route)
    actions: list[tuple[str, User | None]] = []
    identities = acting_identities(actor) if subject.state not in ("draft", *TERMINAL_STATES) else [None]
    visas = _visas_this_round(subject)
    for trigger in TRIGGERS:
        if subject.state not in machine.events[trigger].transitions:
            continue
        for principal in identities:
            if _permission_refusal(route, subject, trigger, actor, principal, visas) is None:
                actions.append((trigger, principal))
                break
    return actions


def acting_for_in(subject: Subject, trigger: str, actor: User) -> User | None:
    """Whom `actor` would act for when firing `trigger` now: None for themselves (also when nobody fits, so that
    `fire` then explains the actor's own refusal)."""
    return next((principal for t, principal in legal_actions(subject, actor) if t == trigger), None)


def legal_triggers(subject: Subject, actor: User) -> list[str]:
    return [trigger for trigger, _principal in legal_actions(subject, actor)]


def _lock(subject: Subject) -> None:
    """Take the row lock on PostgreSQL and reload the row, so a concurrent change is seen, not overwritten."""
    if is_postgres():
        model = type(subject)
        db.session.execute(
            select(model)
            .where(model.id == subject.id)
            .options(lazyload("*"))
            .with_for_update(of=model)
            .execution_options(populate_existing=True)
        ).scalar_one()


def _check_version(subject: Subject, expected_version: int | None) -> None:
    """Refuse a decision taken on an older version of the order than the one now stored."""
    if expected_version is not None and expected_version != subject.version:
        raise Refused(
            [
                Refusal(
                    "state.stale",
                    _("The order has changed since you opened it; reload the page."),
                    {"expected": expected_version, "actual": subject.version},
                    field="version",
                )
            ],
            status=409,
        )


def _check_substitution(actor: User, acting_for: User | None) -> None:
    """Refuse acting for someone `actor` does not substitute for today (or for themselves)."""
    if acting_for is not None and (acting_for.id == actor.id or not substitutes_for(actor, acting_for, today())):
        raise Refused(
            [
                Refusal(
                    "permission.substitute", _("You do not substitute for %(name)s today.", name=acting_for.full_name)
                )
            ],
            status=403,
        )


def _write_visa(subject: Subject, trigger: str, actor: User, acting_for: User | None, comment: str) -> None:
    """The decision `trigger` on the current step, given by `actor` as themselves or for `acting_for`."""
    who = acting_for or actor
    step = current_step(subject)
    db.session.add(
        Visa(
            order_id=subject.id,
            round=subject.round,
            step=step.name,
            role=next((r for r in step.roles if who.has_role(r)), step.roles[0]),
            faculty_id=who.faculty_id if step.mode == "per_faculty" else None,
            decided_by_id=actor.id,
            acting_for_id=acting_for.id if acting_for else None,
            decision=DECISION_OF[trigger],
            comment=comment,
            decided_at=now(),
        )
    )
    db.session.flush()


def _start_step_clock(subject: Subject, route: Route, moment: datetime) -> None:
    """The order entered a new state at `moment`: when its step is due (no due time outside the steps)."""
    subject.step_entered_at = moment
    step = route.signature_step() if subject.state == "awaiting_signature" else route.step_for_state(subject.state)
    subject.due_at = add_working_days(moment, step.due_days) if step else None


def fire(
    subject: Subject,
    trigger: str,
    actor: User,
    *,
    comment: str = "",
    acting_for: User | None = None,
    expected_version: int | None = None,
    **data,
) -> str:
    """Move `subject` by `trigger` on behalf of `actor`; returns the new state or raises `Refused`."""
    if trigger not in TRIGGERS:
        raise Refused([Refusal("trigger.unknown", _("Unknown action: %(t)s.", t=trigger), field="trigger")], status=404)
    _lock(subject)
    if trigger == "submit" and subject.state == "draft":
        subject.route_version = latest_version(subject.route_name)  # an order travels on the version it was sent on
    _check_version(subject, expected_version)
    route = route_of(subject)
    machine = machine_for(route)
    from_state = subject.state
    if from_state not in machine.events[trigger].transitions:
        raise Refused(
            [
                Refusal(
                    "state.invalid",
                    _("“%(t)s” is not possible for an order in state “%(s)s”.", t=label(trigger), s=label(from_state)),
                    {"state": from_state, "trigger": trigger},
                )
            ],
            status=409,
        )
    _check_substitution(actor, acting_for)
    refusal = _permission_refusal(route, subject, trigger, actor, acting_for)
    if refusal:
        raise Refused([refusal], status=403)
    comment = (comment or "").strip()
    if trigger in COMMENT_REQUIRED and not comment:
        raise Refused(
            [Refusal("comment.required", _("A comment is required to return or reject an order."), field="comment")]
        )
    refusals = [r for g in _guards[trigger] for r in g(subject, actor, data)]
    if refusals:
        raise Refused(refusals)

    if trigger in DECISION_OF:
        _write_visa(subject, trigger, actor, acting_for, comment)
    if not machine.events[trigger].trigger(subject):
        raise Refused([Refusal("state.refused", _("The action was refused in state “%(s)s”.", s=label(from_state)))])
    if trigger == "submit":
        subject.round += 1
    moment = now()
    subject.updated_at = moment  # always write the row, so the version column detects a concurrent change
    if subject.state != from_state:
        _start_step_clock(subject, route, moment)
    db.session.add(
        AuditEvent(
            order_id=subject.id,
            actor_id=actor.id,
            acting_for_id=acting_for.id if acting_for else None,
            trigger=trigger,
            from_state=from_state,
            to_state=subject.state,
            comment=comment,
            route_name=route.name,
            route_version=route.version,
            data={},
            created_at=moment,
        )
    )
    for hook in _after_hooks[trigger]:
        hook(subject, actor, data)
    if subject.state != from_state:
        for hook in _enter_hooks[subject.state]:
            hook(subject, actor, data)
    sync_slots(subject, route)
    db.session.flush()
    return subject.state
