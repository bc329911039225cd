"""The inbox: orders waiting for a given person's decision (or a person they substitute for today), found with one
query whatever the number of orders."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, any_, case, exists, false, func, literal, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.exc import StaleDataError

from core.clock import now, today
from core.db import db, is_postgres
from core.errors import InvalidInput
from core.formatting import as_utc, local_zone
from core.models import User, principals_of
from core.scope import faculty_scope
from orders import jobs
from orders.models import Order, OrderLine, lines_in_scope
from orders.operations import visible_orders
from students.models import Student
from workflow.engine import COMMENT_REQUIRED, Refused, acting_for_in, fire, legal_triggers
from workflow.models import ApprovalSlot, AuditEvent, Visa


def _slot_match(who: User) -> ColumnElement | None:
    """The approval slots `who` may fill: a role they hold, for any faculty or (per-faculty steps) their own."""
    roles = sorted(who.roles)
    if not roles:
        return None
    scope = ApprovalSlot.faculty_id.is_(None)
    if who.faculty_id is not None:
        scope = or_(scope, ApprovalSlot.faculty_id == who.faculty_id)
    return and_(ApprovalSlot.role.in_(roles), scope)


def _context(actor: User) -> list[User]:
    """The people `actor` substitutes today: one small query, once per request."""
    cached = getattr(g, "_inbox_context", None) if has_request_context() else None
    if cached and cached[0] == actor.id:
        return cached[1]
    principals = principals_of(actor, today())
    if has_request_context():
        g._inbox_context = (actor.id, principals)
    return principals


def _waiting_parts(
    actor: User, principals: list[User]
) -> tuple[ColumnElement, list[tuple[ColumnElement, User | None]]]:
    """The whole "waits for `actor`" condition, and its parts per identity (None for the actor's own).

    An order waits for a person when it has an open approval slot (workflow.models.ApprovalSlot, kept by fire())
    for one of their roles and their faculty, they did not write it and gave no visa on it in this round."""
    identities = [(who, match) for who in [actor, *principals] if (match := _slot_match(who)) is not None]
    if not identities:
        return false(), []
    # The driving set: one index lookup on (role, faculty) for every identity at once. On PostgreSQL as `id =
    # ANY(ARRAY(...))`, an InitPlan whose ids probe `pk_orders`: with `IN (...)` at the server's default
    # random_page_cost (4) the planner costs ~1,000 index probes above a parallel scan of every order and hashes
    # the whole table (90-100 ms at 100,000 orders instead of ~20; bench/README.md, inbox).
    driving = select(ApprovalSlot.order_id).where(or_(*(match for _who, match in identities)))
    slotted = Order.id == any_(func.array(driving.scalar_subquery())) if is_postgres() else Order.id.in_(driving)
    parts: list[tuple[ColumnElement, User | None]] = []
    for who, match in identities:
        visaed = exists().where(
            Visa.order_id == Order.id,
            Visa.round == Order.round,
            or_(Visa.decided_by_id == who.id, Visa.acting_for_id == who.id),
        )
        own = [not_(visaed), Order.author_id != actor.id]
        if who is not actor:
            own.append(Order.author_id != who.id)
        if len(identities) > 1:  # which identity the order waits for
            own.insert(0, exists().where(ApprovalSlot.order_id == Order.id, match))
        parts.append((and_(*own), None if who is actor else who))
    waiting = and_(slotted, or_(*(c for c, _who in parts)))
    if not principals:  # the actor's own part already excludes what the actor visaed
        return waiting, parts
    actor_visaed = exists().where(Visa.order_id == Order.id, Visa.round == Order.round, Visa.decided_by_id == actor.id)
    return and_(waiting, not_(actor_visaed)), parts


def waiting_for(actor: User, *, include_substitutions: bool = True) -> Select:
    """Orders whose current step needs the visa or signature of `actor` or of someone `actor` substitutes for
    today; never an order the actor (or that person) wrote or already gave a visa on in this round."""
    principals = _context(actor)
    condition, _parts = _waiting_parts(actor, principals if include_substitutions else [])
    return select(Order).where(condition)


def inbox_count(actor: User) -> int:
    """How many orders wait for `actor` (the nav badge); taken from the inbox page's counts when it made them."""
    cached = getattr(g, "_inbox_waiting", None) if has_request_context() else None
    if cached and cached[0] == actor.id:
        return cached[1]
    return db.session.scalar(waiting_for(actor).with_only_columns(func.count(Order.id)).order_by(None)) or 0


# The inbox views: waiting, overdue, returned to me, my decided history -----------------------------------------

VIEWS = ("waiting", "overdue", "returned", "history")
SORTS = ("updated", "due", "number", "decided")
DATE_FIELDS = ("updated", "created")
MAX_PAGE_SIZE = 100
DEFAULT_SORT = {
    "waiting": ("updated", "asc"),
    "overdue": ("due", "asc"),
    "returned": ("updated", "desc"),
    "history": ("decided", "desc"),
}
BULK_TRIGGERS = ("approve", "return", "reject", "sign")


@dataclass
class Filters:
    """What the inbox shows of a view: filters, search, sorting and the page."""

    kind: str | None = None
    faculty_id: int | None = None
    date_field: str = "updated"
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    sort: str | None = None
    direction: str | None = None
    page: int = 1
    page_size: int = 20


@dataclass
class Row:
    order: Order
    line_count: int = 0
    own_lines: int | None = None  # for a dean: lines of own (or substituted) faculties
    acting_for: User | None = None
    overdue: bool = False
    return_comment: str | None = None
    returned_by: str | None = None
    decision: str | None = None
    decided_at: datetime | None = None


@dataclass
class InboxPage:
    view: str
    rows: list[Row]
    total: int
    counts: dict[str, int]
    filters: Filters
    sort: str
    direction: str

    @property
    def pages(self) -> int:
        return max((self.total + self.filters.page_size - 1) // self.filters.page_size, 1)


def _aware(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment is not None else None


def is_overdue(order: Order, moment: datetime | None = None) -> bool:
    """Waiting on a step whose due time has passed."""
    due = _aware(order.due_at)
    return bool(due and order.state != "draft" and order.is_open and due < (moment or now()))


def _returned_condition(actor: User) -> ColumnElement:
    returned = exists().where(AuditEvent.order_id == Order.id, AuditEvent.trigger == "return")
    return and_(Order.author_id == actor.id, Order.state == "draft", returned)


def _history_condition(actor: User) -> ColumnElement:
    return exists().where(Visa.order_id == Order.id, Visa.decided_by_id == actor.id)


def view_condition(actor: User, view: str, principals: list[User]) -> ColumnElement:
    if view in ("waiting", "overdue"):
        condition, _parts = _waiting_parts(actor, principals)
        return and_(condition, Order.due_at < now()) if view == "overdue" else condition
    if view == "returned":
        return _returned_condition(actor)
    if view == "history":
        return _history_condition(actor)
    raise ValueError(f"unknown inbox view {view}")


HISTORY_CAP = 1000  # the history tab counts up to this many orders ("1000+" beyond)


def _side_counts(actor: User) -> tuple[ColumnElement, ColumnElement]:
    """The returned and history tab counts as scalar subqueries (history stops at HISTORY_CAP)."""
    returned = select(func.count(Order.id)).where(_returned_condition(actor)).scalar_subquery()
    decided = select(Visa.order_id).where(Visa.decided_by_id == actor.id).distinct().limit(HISTORY_CAP).subquery()
    return returned, select(func.count()).select_from(decided).scalar_subquery()


def view_counts(actor: User) -> dict[str, int]:
    """How many orders each view holds (unfiltered), in one query."""
    principals = _context(actor)

    waiting, _parts = _waiting_parts(actor, principals)
    # One pass over the waiting set gives both waiting and overdue; the history count stops at HISTORY_CAP.
    waiting_counts = (
        select(
            func.count(Order.id).label("waiting"), func.count(Order.id).filter(Order.due_at < now()).label("overdue")
        )
        .where(waiting)
        .subquery()
    )
    returned, history = _side_counts(actor)
    row = db.session.execute(
        select(waiting_counts.c.waiting, waiting_counts.c.overdue, returned.label("returned"), history.label("history"))
    ).one()
    values = {"waiting": row.waiting, "overdue": row.overdue, "returned": row.returned, "history": row.history}
    if has_request_context():
        g._inbox_waiting = (actor.id, values["waiting"])
    return values


def _local_bound(day: date, end: bool) -> datetime:
    moment = datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=local_zone())
    return moment.astimezone(UTC)


def search_condition(q: str, faculties: set[int] | None) -> ColumnElement | None:
    """Orders matching `q`: number (or #id), title, or a student's name or IIN (of the lines the reader may see)."""
    text = " ".join((q or "").split())[:100]
    if not text:
        return None
    lowered = text.lower()
    conditions = [
        func.lower(Order.title).contains(lowered, autoescape=True),
        func.lower(Order.number_label).startswith(lowered, autoescape=True),
    ]
    digits = text.lstrip("#")
    if digits.isdigit() and len(digits) <= 9:
        conditions.append(Order.id == int(digits))
    if text.isdigit():
        student = Student.iin.startswith(text)
    else:
        student = and_(
            *(
                or_(
                    func.lower(Student.surname).startswith(word, autoescape=True),
                    func.lower(Student.name).startswith(word, autoescape=True),
                    func.lower(Student.patronymic).startswith(word, autoescape=True),
                )
                for word in lowered.split()
            )
        )
    line = [OrderLine.order_id == Order.id, OrderLine.student_id == Student.id, student]
    conditions.append(exists().where(*line, lines_in_scope(faculties)))
    return or_(*conditions)


def _filters(query: Select, filters: Filters, faculties: set[int] | None) -> Select:
    if filters.kind:
        query = query.where(Order.kind == filters.kind)
    if filters.faculty_id:
        query = query.where(exists().where(OrderLine.order_id == Order.id, OrderLine.faculty_id == filters.faculty_id))
    column = Order.created_at if filters.date_field == "created" else Order.updated_at
    if filters.date_from:
        query = query.where(column >= _local_bound(filters.date_from, end=False))
    if filters.date_to:
        query = query.where(column < _local_bound(filters.date_to, end=True))
    found = search_condition(filters.q, faculties)
    if found is not None:
        query = query.where(found)
    return query


def _ordering(view: str, sort: str, direction: str, history_visa) -> list:
    def way(column):
        return column.desc() if direction == "desc" else column.asc()

    if sort == "due":
        keys = [Order.due_at.is_(None), way(Order.due_at)]
    elif sort == "number":
        keys = [Order.number.is_(None), way(Order.year), way(Order.number)]
    elif sort == "decided" and history_visa is not None:
        keys = [way(history_visa.id)]
    else:
        keys = [way(Order.updated_at)]
    return [*keys, way(Order.id)]


def inbox_page(actor: User, view: str = "waiting", filters: Filters | None = None) -> InboxPage:
    """One page of a view with its rows ready to show, in a fixed number of queries whatever the page size."""
    filters = filters or Filters()
    if view not in VIEWS:
        view = "waiting"
    filters.page_size = min(max(filters.page_size, 1), MAX_PAGE_SIZE)
    filters.page = max(filters.page, 1)
    sort, direction = DEFAULT_SORT[view]
    if filters.sort in SORTS and (filters.sort != "decided" or view == "history"):
        sort = filters.sort
    if filters.direction in ("asc", "desc"):
        direction = filters.direction
    principals = _context(actor)
    faculties = faculty_scope(actor, principals)
    condition = view_condition(actor, view, principals)

    if view in ("waiting", "overdue"):
        results, total, tab_counts = _waiting_page(
            actor, view, filters, sort, direction, principals, faculties, condition
        )
    else:
        results, total, tab_counts = _other_page(actor, view, filters, sort, direction, faculties, condition)

    ids = [r[0].id for r in results]
    counts: dict[int, tuple[int, int]] = {}
    if ids:
        own = case((lines_in_scope(faculties), 1), else_=0) if faculties is not None else literal(0)
        counts = {
            order_id: (n, int(o or 0))
            for order_id, n, o in db.session.execute(
                select(OrderLine.order_id, func.count(), func.sum(own))
                .where(OrderLine.order_id.in_(ids))
                .group_by(OrderLine.order_id)
            )
        }
    people = {p.id: p for p in principals}
    moment = now()
    rows = []
    for result in results:
        order = result[0]
        n, own_lines = counts.get(order.id, (0, 0))
        row = Row(
            order=order,
            line_count=n,
            own_lines=own_lines if faculties is not None else None,
            overdue=is_overdue(order, moment),
        )
        if view in ("waiting", "overdue"):
            row.acting_for = people.get(result[1])
        elif view == "returned":
            row.return_comment, row.returned_by = result[1], result[2]
        else:
            row.decision, row.decided_at = result[1], _aware(result[2])
        rows.append(row)
    return InboxPage(
        view=view, rows=rows, total=total, counts=tab_counts, filters=filters, sort=sort, direction=direction
    )


def _unfiltered(filters: Filters) -> bool:
    return (
        Filters(
            page=filters.page,
            page_size=filters.page_size,
            sort=filters.sort,
            direction=filters.direction,
            date_field=filters.date_field,
        )
        == filters
    )


def _waiting_page(
    actor: User,
    view: str,
    filters: Filters,
    sort: str,
    direction: str,
    principals: list[User],
    faculties: set[int] | None,
    condition: ColumnElement,
) -> tuple[list, int, dict[str, int]]:
    """The rows of the waiting or overdue view, the view's total and the tab counts, with the waiting set evaluated
    once: one statement picks the page's ids, sorted and limited, with the total as `count(*) OVER ()` (and, for
    the unfiltered waiting view, the overdue count as a filtered window count and the returned and history counts
    as uncorrelated subqueries), then loads those rows with their authors."""
    _condition, parts = _waiting_parts(actor, principals)
    whens = [(c, 0) for c, who in parts if who is None] + [(c, who.id) for c, who in parts if who is not None]
    acting_for = case(*whens, else_=0) if principals and whens else literal(0)
    combined = view == "waiting" and _unfiltered(filters)
    moment = now()
    picked: list = [Order.id.label("id"), acting_for.label("acting_for"), func.count().over().label("total")]
    if combined:
        picked.append(func.count().filter(Order.due_at < moment).over().label("overdue"))
    ordering = _ordering(view, sort, direction, None)
    page = (
        _filters(select(*picked).where(condition), filters, faculties)
        .order_by(*ordering)
        .limit(filters.page_size)
        .offset((filters.page - 1) * filters.page_size)
        .subquery("page")
    )
    columns: list = [Order, page.c.acting_for, page.c.total]
    if combined:
        returned, history = _side_counts(actor)
        columns += [page.c.overdue, returned.label("returned"), history.label("history")]
    # Only the page's rows are loaded as objects; the author (joined) without their roles, which no row shows.
    query = (
        select(*columns)
        .join(page, page.c.id == Order.id)
        .options(joinedload(Order.author).lazyload(User.role_rows))
        .order_by(*ordering)
    )
    results = db.session.execute(query).unique().all()
    if combined and results:
        first = results[0]
        tab_counts = {
            "waiting": first.total,
            "overdue": first.overdue,
            "returned": first.returned,
            "history": first.history,
        }
        if has_request_context():
            g._inbox_waiting = (actor.id, tab_counts["waiting"])
    else:  # another view, a filter, or an empty page: the tab counts by their own statement
        tab_counts = view_counts(actor)
    if results:
        total = results[0].total
    elif combined or (view == "overdue" and _unfiltered(filters)):
        total = tab_counts[view]
    elif filters.page == 1:
        total = 0
    else:  # past the last page of a filtered view
        base = _filters(select(Order.id).where(condition), filters, faculties)
        total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    return results, total, tab_counts


def _other_page(
    actor: User,
    view: str,
    filters: Filters,
    sort: str,
    direction: str,
    faculties: set[int] | None,
    condition: ColumnElement,
) -> tuple[list, int, dict[str, int]]:
    """The rows of the returned or history view, its total and the tab counts."""
    columns: list = [Order]
    visa = None
    if view == "returned":
        last_return = (
            select(AuditEvent.id)
            .where(AuditEvent.order_id == Order.id, AuditEvent.trigger == "return")
            .order_by(AuditEvent.id.desc())
            .limit(1)
            .correlate(Order)
            .scalar_subquery()
        )
        event, returner = aliased(AuditEvent), aliased(User)
        columns += [event.comment, returner.full_name]
    else:
        visa = aliased(Visa)
        mine = (
            select(func.max(Visa.id))
            .where(Visa.order_id == Order.id, Visa.decided_by_id == actor.id)
            .correlate(Order)
            .scalar_subquery()
        )
        columns += [visa.decision, visa.decided_at]

    tab_counts = view_counts(actor)
    if _unfiltered(filters) and view != "history":
        total = tab_counts[view]
    else:
        base = _filters(select(Order.id).where(condition), filters, faculties)
        total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0

    query = select(*columns).select_from(Order)
    if view == "returned":
        query = query.join(event, event.id == last_return).join(returner, returner.id == event.actor_id)
    else:
        query = query.join(visa, visa.id == mine)
    query = _filters(query.where(condition), filters, faculties)
    query = (
        query.order_by(*_ordering(view, sort, direction, visa))
        .limit(filters.page_size)
        .offset((filters.page - 1) * filters.page_size)
    )
    return db.session.execute(query).unique().all(), total, tab_counts


# Bulk decisions -----------------------------------------------------------------------------------------------


class BulkRefused(InvalidInput):
    """The whole bulk request is refused (nothing was tried); `field` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__({field: message}, message=message)


@dataclass
class BulkResult:
    order_id: int
    label: str
    ok: bool
    state: str | None = None
    acting_for: User | None = None
    refusals: list[dict] = field(default_factory=list)
    in_background: bool = False  # a big order: the decision runs as a job, shown on the order page


def _in_background(order: Order, trigger: str, actor: User, acting_for: User | None, comment: str) -> BulkResult:
    """A big order in a bulk decision: its decision becomes a background job (never a second one)."""
    _job, started = jobs.start_fire(order, trigger, actor, comment, order.version, acting_for)
    refusals = (
        []
        if started
        else [
            {
                "rule": "job.running",
                "message": _("An action on this order is already running in the background; wait for it to finish."),
                "data": {},
            }
        ]
    )
    return BulkResult(order.id, order.label, started, order.state, acting_for, refusals, in_background=started)


def bulk_decide(actor: User, order_ids: list[int], trigger: str, comment: str = "") -> list[BulkResult]:
    """Fire `trigger` on each order separately, each in its own SAVEPOINT and acting for the right person, so that
    one refused order is reported and the others go through. Never commits: the caller does, once."""
    if trigger not in BULK_TRIGGERS:
        raise BulkRefused("trigger", _("Choose approve, sign, return or reject."))
    comment = (comment or "").strip()
    if trigger in COMMENT_REQUIRED and not comment:
        raise BulkRefused("comment", _("A comment is required to return or reject orders; nothing was changed."))
    if has_request_context():
        g.pop("_inbox_waiting", None)
        g.pop("_inbox_context", None)
    wanted = list(dict.fromkeys(order_ids))
    if not wanted:
        raise BulkRefused("order_ids", _("Select at least one order."))
    found = {o.id: o for o in db.session.scalars(visible_orders(actor).where(Order.id.in_(wanted)))}
    results = []
    for order_id in wanted:
        order = found.get(order_id)
        if order is None:
            results.append(
                BulkResult(
                    order_id,
                    f"#{order_id}",
                    False,
                    refusals=[
                        {"rule": "order.not_found", "message": _("No such order, or you may not see it."), "data": {}}
                    ],
                )
            )
            continue
        acting_for = acting_for_in(order, trigger, actor)
        if trigger in legal_triggers(order, actor) and jobs.in_background(order, trigger):
            results.append(_in_background(order, trigger, actor, acting_for, comment))
            continue
        savepoint = db.session.begin_nested()
        try:
            state = fire(order, trigger, actor, comment=comment, acting_for=acting_for)
            savepoint.commit()
        except Refused as refused:
            savepoint.rollback()
            results.append(BulkResult(order_id, order.label, False, refusals=[r.as_dict() for r in refused.refusals]))
        except (StaleDataError, IntegrityError):
            savepoint.rollback()
            results.append(
                BulkResult(
                    order_id,
                    order.label,
                    False,
                    refusals=[
                        {
                            "rule": "state.stale",
                            "message": _("Someone changed this order at the same moment; try again."),
                            "data": {},
                        }
                    ],
                )
            )
        else:
            results.append(BulkResult(order_id, order.label, True, state=state, acting_for=acting_for))
    return results
