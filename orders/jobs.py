"""Long actions on big orders as background jobs: signing, submitting or visaing an order of more than
`JOB_THRESHOLD_LINES` lines (and what kinds register, such as the promotion split) runs in a dramatiq worker.

The request only records a job (one active job per order: a unique partial index) and returns; the row is handed
to the broker once its transaction commits. A worker claims the job in a short transaction of its own (state
`running`, a lease), then runs the same operation the synchronous path runs, as the user who asked, in one
transaction that also marks the job done: a worker killed in the middle leaves the order untouched and the job
`running`; once its lease has passed, the sweep (scheduler pass, worker start) hands it over again, and the next
worker finishes it. A refusal (a rule, a permission re-checked in the worker, a change meanwhile) is the job's result.
"""

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dramatiq
from flask import Flask, current_app
from flask_babel import force_locale
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    and_,
    event,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from core.db import db, is_postgres, utcnow
from core.errors import Refused
from core.labels import label
from core.logs import REQUEST_ID, current_request_id
from core.models import User
from core.progress import listening
from notifications import relay
from orders.models import Order, OrderLine
from workflow.engine import fire

log = logging.getLogger(__name__)
EXTENSION = "registrar_jobs"
STATES = ("queued", "running", "done", "failed")
ACTIVE_STATES = ("queued", "running")
ACTIVE = "state IN ('queued', 'running')"
MAX_ATTEMPTS = 5  # claims of one job (a worker killed each time); then it is marked failed
_TO_SEND = "jobs_to_send"  # ids of jobs to hand to the broker once this transaction commits


class Job(db.Model):
    """One background action on one order, with its progress (`done` of `total`) and its result."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
        CheckConstraint("done >= 0 AND total >= 0 AND done <= total", name="progress"),
        # A second click while a job of this order is queued or running cannot start another one.
        Index(
            "uq_jobs_active_order",
            "order_id",
            unique=True,
            sqlite_where=text(ACTIVE),
            postgresql_where=text(ACTIVE),
        ),
        Index("ix_jobs_state_lease_until", "state", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    actor: Mapped[User] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "order_id": self.order_id,
            "action": self.action,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "result": self.result,
        }


# What a job does: the same operation the synchronous path calls, given the order, the user who asked and the
# job's parameters; returns what the result should say. Kinds register theirs (`register_action`).
Action = Callable[[Order, User, dict], dict]
ACTIONS: dict[str, Action] = {}


def register_action(name: str, action: Action) -> None:
    ACTIONS[name] = action


def _fire(order: Order, actor: User, params: dict) -> dict:
    acting_for = db.session.get(User, params["acting_for_id"]) if params.get("acting_for_id") else None
    state = fire(
        order,
        params["trigger"],
        actor,
        comment=params.get("comment", ""),
        acting_for=acting_for,
        expected_version=params.get("version"),
    )
    return {"state": state}


register_action("fire", _fire)
# The decisions that run in the background on a big order: each re-checks every line (submit, sign) or writes
# the whole order (sign); return and reject stay immediate.
BACKGROUND_TRIGGERS = ("submit", "approve", "sign")


# Asking for a job ---------------------------------------------------------------------------------------------------


def threshold() -> int:
    return int(current_app.config.get("JOB_THRESHOLD_LINES", 300))


def lease() -> timedelta:
    return timedelta(seconds=float(current_app.config.get("JOB_LEASE", 300)))


def line_count(order: Order) -> int:
    return db.session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order.id))


def in_background(order: Order, trigger: str | None = None) -> bool:
    """Whether this action on `order` runs as a job: a big order (more lines than the threshold setting)."""
    if trigger is not None and trigger not in BACKGROUND_TRIGGERS:
        return False
    return line_count(order) > threshold()


def active_job(order_id: int) -> Job | None:
    return db.session.scalar(select(Job).where(Job.order_id == order_id, Job.state.in_(ACTIVE_STATES)))


def latest_job(order_id: int) -> Job | None:
    return db.session.scalar(select(Job).where(Job.order_id == order_id).order_by(Job.id.desc()).limit(1))


SHOWN_FOR = timedelta(days=1)  # the result of a finished job stays on the order page for its author this long


def job_to_show(order_id: int, user: User) -> Job | None:
    """The job the order page shows: one queued or running (to everyone who sees the order), else the last one
    `user` asked for, finished within `SHOWN_FOR`."""
    job = latest_job(order_id)
    if job is None or job.active:
        return job
    finished = job.finished_at
    if finished is not None and finished.tzinfo is None:  # SQLite hands stored UTC moments back naive
        finished = finished.replace(tzinfo=UTC)
    if job.actor_id != user.id or finished is None or utcnow() - finished > SHOWN_FOR:
        return None
    return job


def job_label(job: Job) -> str:
    """What the job does, in the reader's language: the decision (`sign`) or the action's own name."""
    return label(job.params.get("trigger") or job.action)


def start_job(
    order: Order, action: str, actor: User, params: dict | None = None, total: int | None = None
) -> tuple[Job, bool]:
    """Record a job of `action` on `order` for `actor`, handed to the broker when the caller's transaction commits.
    Returns (the job, True), or (the job already queued or running for this order, False): never a second one.
    The caller has checked that `actor` may ask; the worker's operation checks it again. `total`: the lines the
    job works on, when not the order's lines (a draft being filled has none yet)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown job action {action!r}")
    running = active_job(order.id)
    if running is not None:
        return running, False
    job = Job(
        action=action,
        order_id=order.id,
        actor_id=actor.id,
        params=params or {},
        total=line_count(order) if total is None else total,
        request_id=current_request_id(),
        lease_until=utcnow() + lease(),  # if the hand-over is lost, the sweep hands it over once this has passed
    )
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(_TO_SEND, []).append(job.id)
    return job, True


def start_fire(
    order: Order, trigger: str, actor: User, comment: str, version: int | None, acting_for: User | None
) -> tuple[Job, bool]:
    """A decision on a big order as a job (`start_job` of "fire"): the worker fires `trigger` as `actor`, acting for
    `acting_for`, on the `version` decided on."""
    params = {
        "trigger": trigger,
        "comment": comment,
        "version": version,
        "acting_for_id": acting_for.id if acting_for else None,
    }
    return start_job(order, "fire", actor, params)


def start_fill(order: Order, action: str, actor: User, scope: dict, candidates: int) -> tuple[Order, Job | None, bool]:
    """A bulk draft of more than the threshold's students: its lines are written by a job of `action` (the order,
    created empty in this transaction, is filled in the worker, in one transaction: all its lines or none). A
    repeated request (the same author, parameters, basis and scope while the first draft is being filled) keeps
    nothing of its own: the first draft and its job are returned, and False. A small draft: (order, None, False), to
    be filled by the caller."""
    if candidates <= threshold():
        return order, None, False
    params = {"scope": scope, "draft": {"params": order.params, "basis": order.basis, "title": order.title}}
    params = json.loads(json.dumps(params, default=str))  # as the JSON column gives it back, to compare
    for running in db.session.scalars(
        select(Job).where(Job.actor_id == actor.id, Job.action == action, Job.state.in_(ACTIVE_STATES))
    ):
        if running.params == params:
            db.session.delete(order)
            db.session.flush()
            return db.session.get(Order, running.order_id), running, False
    job, _started = start_job(order, action, actor, params, total=candidates)
    return order, job, True


def job_context(order_id: int, user: User) -> dict:
    """What a page including `orders/_job.html` needs: the job to show (`job_to_show`) and its label."""
    job = job_to_show(order_id, user)
    return {"job": job, "job_label": job_label(job) if job is not None else ""}


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    ids = session.info.pop(_TO_SEND, None)
    if ids:
        send(ids)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_TO_SEND, None)


def send(job_ids: list[int]) -> None:
    """Hand jobs to the broker; a broker down loses nothing: the sweep hands them over once their lease passes."""
    try:
        actor = current_app.extensions[EXTENSION]
        for job_id in job_ids:
            actor.send(job_id)
    except Exception:  # any broker client error: the job stays queued for the sweep
        log.exception("could not hand jobs %s to the broker; the sweep will retry", job_ids)


# Running a job (in a worker) ------------------------------------------------------------------------------------------


def run_job(job_id: int) -> str:
    """Claim the job and run its action; "done", "failed" (refused: the refusals are its result) or "skipped"
    (finished already, or another worker holds an unexpired lease). Any other error puts the job back in the queue
    and is raised, so that dramatiq retries it."""
    now = utcnow()
    claimed = db.session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(Job.state == "queued", and_(Job.state == "running", Job.lease_until < now)),
        )
        .values(
            state="running",
            attempts=Job.attempts + 1,
            started_at=func.coalesce(Job.started_at, now),
            heartbeat_at=now,
            lease_until=now + lease(),
            done=0,
        )
        .returning(Job.attempts)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    if claimed is None:
        return "skipped"
    attempt = claimed.attempts
    job = db.session.get(Job, job_id)
    REQUEST_ID.set(job.request_id)
    log.info("job %s (%s of order %s) started, attempt %s", job_id, job.action, job.order_id, attempt)
    if attempt > MAX_ATTEMPTS:
        return _finish(job_id, attempt, "failed", {"error": "attempts"})
    try:
        with force_locale(job.actor.language), listening(_progress_writer(job_id, attempt, job.total)):
            order = db.session.get(Order, job.order_id)
            result = ACTIONS[job.action](order, job.actor, job.params)
            this_run = and_(Job.id == job_id, Job.state == "running", Job.attempts == attempt)
            marked = db.session.execute(
                update(Job)
                .where(this_run)
                .values(state="done", done=Job.total, result=result, finished_at=utcnow(), lease_until=None)
                .execution_options(synchronize_session=False)
            )
            if marked.rowcount != 1:  # another worker took the job over: its run counts, not this one
                db.session.rollback()
                return "skipped"
            db.session.commit()
    except Refused as refused:
        db.session.rollback()
        with force_locale(job.actor.language):
            return _finish(job_id, attempt, "failed", {"refusals": describe_refusals(refused)})
    except Exception:
        db.session.rollback()
        db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "running", Job.attempts == attempt)
            .values(state="queued", lease_until=utcnow() + lease())
        )
        db.session.commit()
        raise
    log.info("job %s done", job_id)
    return "done"


def _progress_writer(job_id: int, attempt: int, total: int) -> Callable[[float], None] | None:
    """Progress written in a short transaction of its own (the operation's own stays open to its end), which also
    renews the lease: a heartbeat. PostgreSQL only: SQLite has one writer at a time, and the operation's open
    transaction holds it, so there the bar moves only when the job ends."""
    if not is_postgres():
        return None

    def write(fraction: float) -> None:
        moment = utcnow()
        with db.engine.begin() as connection:
            connection.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "running", Job.attempts == attempt)
                .values(done=int(total * fraction), heartbeat_at=moment, lease_until=moment + lease())
            )

    return write


def _finish(job_id: int, attempt: int, state: str, result: dict) -> str:
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "running", Job.attempts == attempt)
        .values(state=state, result=result, finished_at=utcnow(), lease_until=None)
    )
    db.session.commit()
    log.info("job %s %s", job_id, state)
    return state


def describe_refusals(refused: Refused) -> list[dict]:
    """The refusals as the order page lists them: the message and, for a line, the student it concerns."""
    line_ids = {_line_id(r.field) for r in refused.refusals} - {None}
    names = {}
    if line_ids:
        lines = db.session.scalars(
            select(OrderLine).where(OrderLine.id.in_(line_ids)).options(selectinload(OrderLine.student))
        )
        names = {line.id: line.student.full_name for line in lines}
    described = []
    for refusal in refused.refusals:
        entry = {"rule": refusal.rule, "message": refusal.message}
        line_id = _line_id(refusal.field)
        if line_id is not None:
            entry["student"] = names.get(line_id, "")
        described.append(entry)
    return described or [{"rule": "job.refused", "message": refused.message}]


def _line_id(field: str | None) -> int | None:
    """The line a refusal names (`lines.12`), or None."""
    head, _dot, tail = (field or "").partition(".")
    return int(tail) if head == "lines" and tail.isdigit() else None


def sweep_jobs(now: datetime | None = None) -> int:
    """Hand over again every job whose lease has passed: queued but never picked up (a lost hand-over), or running
    in a worker that died. A job claimed `MAX_ATTEMPTS` times is marked failed instead. Returns how many."""
    now = now or utcnow()
    stale = and_(Job.state.in_(ACTIVE_STATES), Job.lease_until < now)
    db.session.execute(
        update(Job)
        .where(stale, Job.attempts >= MAX_ATTEMPTS)
        .values(state="failed", finished_at=now, lease_until=None, result={"error": "attempts"})
    )
    ids = list(
        db.session.scalars(
            update(Job)
            .where(stale)
            .values(state="queued", lease_until=now + lease())
            .returning(Job.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    if ids:
        log.warning("jobs %s were left by a worker or never picked up: handed over again", ids)
        send(sorted(ids))
    return len(ids)


def running_jobs() -> int:
    return db.session.scalar(select(func.count()).select_from(Job).where(Job.state == "running"))


def init_app(app: Flask) -> None:
    """Declare the job actor on the delivery service's broker and queue (so `registrar worker` and the embedded
    worker run jobs too). dramatiq retries a job that failed on an error (not a refusal) with backoff."""
    delivery: relay.Delivery = app.extensions[relay.EXTENSION]

    def run_order_job(job_id: int) -> None:
        with app.app_context():
            try:
                run_job(job_id)
            finally:
                db.session.remove()

    app.extensions[EXTENSION] = dramatiq.actor(
        run_order_job,
        broker=delivery.broker,
        actor_name="run_order_job",
        queue_name=delivery.queue,
        max_retries=3,
        min_backoff=1000,
        time_limit=int(float(app.config.get("JOB_LEASE", 300)) * 1000),
    )
