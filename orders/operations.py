"""What clerks and approvers do to orders, as plain functions. Views and the API call these; they never commit."""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, Subquery, delete, func, insert, literal, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import JSON, Date

from core.clock import now, today
from core.db import db
from core.errors import PARAMS, InvalidInput, Refusal
from core.formatting import format_day
from core.labels import label as state_label
from core.models import User
from core.paging import Page, paginate_list
from core.progress import report
from core.scope import faculty_scope
from notifications import references
from notifications.outbox import enqueue_emails
from orders import documents, verification
from orders.filing import template_label
from orders.kind import LineContext, OrderKind, record_values
from orders.models import (
    Order,
    OrderDocument,
    OrderLine,
    OrderRound,
    line_faculties,
    lines_in_scope,
    orders_in_scope,
)
from orders.numbering import format_number, next_number
from orders.params import load
from orders.registry import KINDS, get_kind, record_neutral_kinds
from orders.stamp import new_token
from orders.wording import sex_word
from students.iin import iin_error
from students.models import Group, Student, StudentMovement
from students.timeline import claim_due, column_values, json_values, void_lines, write_movements, write_records
from workflow.audit import record_order_event
from workflow.engine import after, guard, on_enter
from workflow.routes import TERMINAL_STATES, latest_version

# The order's own fields; everything else a kind validates is one of its parameters, `params.<name>`.
ORDER_FIELDS = ("kind", "title", "basis", "student_ids", "iins")


def _as_params(errors: dict[str, str]) -> dict[str, str]:
    """A kind's messages keyed by field of the order: a parameter as `params.<name>`."""
    return {key if key in ORDER_FIELDS else f"{PARAMS}{key}": message for key, message in errors.items()}


# Who may see what -------------------------------------------------------------------------------------------


def visible_orders(actor: User) -> Select:
    """Orders `actor` may see: university roles all; a dean those with a line of own faculty (or of the faculty
    of a dean they substitute today); nobody else any."""
    return select(Order).where(orders_in_scope(faculty_scope(actor)))


def can_view(order: Order, actor: User) -> bool:
    return db.session.scalar(visible_orders(actor).where(Order.id == order.id).with_only_columns(Order.id)) is not None


def can_edit(order: Order, actor: User) -> bool:
    return order.state == "draft" and (actor.id == order.author_id or actor.has_role("clerk"))


def visible_lines(order: Order, actor: User) -> list[OrderLine]:
    """The lines `actor` may read in full: a dean only own faculty's (and a substituted dean's); others all."""
    faculties = faculty_scope(actor)
    if faculties is None:
        return list(order.lines)
    lines = list(order.lines)
    return [line for line, of in zip(lines, line_faculties(lines), strict=True) if of & faculties]


def signed_document(order: Order, actor: User) -> tuple[bytes, str, str | None]:
    """What `actor` downloads of the signed order: (content, filename, SHA-256 of the frozen document or None). A
    dean (or a substitute acting for one) whose faculties hold only some of the lines gets the extract of those
    lines, never another faculty's students; everyone else the whole order as signed."""
    frozen = order.document
    visible = visible_lines(order, actor)
    if len(visible) == len(order.lines):
        return frozen.content, frozen.filename, frozen.sha256
    return documents.faculty_extract(frozen.content, order, visible), documents.faculty_extract_filename(order), None


# The order page's lines: filters with counts, one page --------------------------------------------------------

LINES_PER_PAGE = 50
ELIGIBILITY_FILTERS = ("eligible", "refused", "accepted")


@dataclass
class LineFilters:
    """What the reader narrowed the lines to (each empty = every line): eligibility (`ELIGIBILITY_FILTERS`),
    faculty id, group id, and the kind's outcome (`OrderKind.line_outcomes`)."""

    eligibility: str = ""
    faculty: int | None = None
    group: int | None = None
    outcome: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "LineFilters":
        """From the query string; a value that is not one of the choices means no filter, never an error."""

        def number(name: str) -> int | None:
            text = (args.get(name) or "").strip()
            return int(text) if text.isdigit() and len(text) < 10 else None

        eligibility = args.get("eligibility", "")
        return cls(
            eligibility=eligibility if eligibility in ELIGIBILITY_FILTERS else "",
            faculty=number("faculty"),
            group=number("group"),
            outcome=(args.get("outcome") or "")[:40],
        )

    @property
    def active(self) -> bool:
        return bool(self.eligibility or self.faculty or self.group or self.outcome)


@dataclass
class LineListing:
    """One page of the lines a reader sees, the counts of every filter's values over all of them, and the filters."""

    page: Page  # items: the OrderLine objects of this page
    filters: LineFilters
    total: int  # the lines the reader sees, before filtering
    eligibility: dict[str, int] = field(default_factory=dict)
    faculties: dict[int, int] = field(default_factory=dict)
    groups: dict[int, tuple[str, int]] = field(default_factory=dict)  # group id: (name, lines)
    outcomes: dict[str, int] = field(default_factory=dict)


def _eligibility_of(refusals: list, overridden: bool) -> str:
    if not refusals:
        return "eligible"
    return "accepted" if overridden else "refused"


def line_listing(order: Order, actor: User, filters: LineFilters, raw_page: str | None) -> LineListing:
    """The lines of `order` that `actor` may read, filtered and paged on the server: one light query of every visible
    line (id, faculty, group, refusals: no ORM objects) for the counts and the filtering, then one query loading the
    page's lines in full. Eligibility is as last checked (`refresh_eligibility` checks a draft before)."""
    kind = get_kind(order.kind)
    if filters.outcome not in kind.line_outcomes:
        filters = dataclasses.replace(filters, outcome="")
    rows = db.session.execute(
        select(
            OrderLine.id,
            OrderLine.faculty_id,
            Student.group_id,
            Group.name,
            OrderLine.eligibility,
            OrderLine.override_justification.is_not(None),
        )
        .join(Student, Student.id == OrderLine.student_id)
        .join(Group, Group.id == Student.group_id)
        .where(OrderLine.order_id == order.id, lines_in_scope(faculty_scope(actor)))
        .order_by(OrderLine.position, OrderLine.id)
    ).all()
    listing = LineListing(page=paginate_list([], None), filters=filters, total=len(rows))
    chosen = []
    for line_id, faculty_id, group_id, group_name, refusals, overridden in rows:
        eligibility = _eligibility_of(refusals or [], overridden)
        outcome = kind.line_outcome(refusals or [], overridden) if kind.line_outcomes else ""
        listing.eligibility[eligibility] = listing.eligibility.get(eligibility, 0) + 1
        listing.faculties[faculty_id] = listing.faculties.get(faculty_id, 0) + 1
        listing.groups[group_id] = (group_name, listing.groups.get(group_id, ("", 0))[1] + 1)
        if outcome:
            listing.outcomes[outcome] = listing.outcomes.get(outcome, 0) + 1
        if (
            (not filters.eligibility or filters.eligibility == eligibility)
            and (filters.faculty is None or filters.faculty == faculty_id)
            and (filters.group is None or filters.group == group_id)
            and (not filters.outcome or filters.outcome == outcome)
        ):
            chosen.append(line_id)
    ids = paginate_list(chosen, raw_page, per_page=LINES_PER_PAGE)
    lines = (
        db.session.scalars(
            select(OrderLine).where(OrderLine.id.in_(ids.items)).order_by(OrderLine.position, OrderLine.id)
        )
        .unique()
        .all()
        if ids.items
        else []
    )
    listing.page = dataclasses.replace(ids, items=list(lines))
    return listing


# Drafting ---------------------------------------------------------------------------------------------------


def create_order(kind_name: str, author: User, raw: dict) -> Order:
    """A new draft of `kind_name` with parameters from a form or API body."""
    if not author.has_role("clerk"):
        raise InvalidInput({"author": _("Only a clerk may draft orders.")}, status=403)
    kind = KINDS.get(kind_name)
    if kind is None:
        raise InvalidInput({"kind": _("Unknown order kind; known: %(k)s.", k=", ".join(KINDS))})
    params, errors = load(kind.params_schema(), raw)
    basis = (raw.get("basis") or "").strip()
    if not basis:
        errors["basis"] = _("Name the basis of the order (applications, submissions, certificates).")
    title = (raw.get("title") or "").strip() or kind.title_ru
    if len(title) > 300:
        errors["title"] = _("The title is longer than 300 characters.")
    if errors:
        raise InvalidInput(_as_params(errors))
    order = Order(
        kind=kind.name,
        state="draft",
        route_name=kind.route,
        route_version=latest_version(kind.route),
        series=current_app.config["ORDER_SERIES"],
        title=title,
        basis=basis,
        params=params,
        author_id=author.id,
    )
    db.session.add(order)
    db.session.flush()
    kind.drafted(order)
    if order.lines:
        check_lines(order)
    return order


def _require_editable(order: Order, actor: User) -> None:
    if order.state != "draft":
        raise InvalidInput(
            {"order": _("Only a draft can be changed; this order is %(s)s.", s=state_label(order.state))},
            status=409,
        )
    if not can_edit(order, actor):
        raise InvalidInput({"order": _("You may not change this order.")}, status=403)


def add_students(order: Order, student_ids: list[int], actor: User) -> list[OrderLine]:
    """Add a line per student (those already in the order are skipped) and check every line."""
    _require_editable(order, actor)
    wanted = list(dict.fromkeys(student_ids))
    students = (
        {
            s.id: s
            for s in db.session.scalars(
                select(Student)
                .where(Student.id.in_(wanted))
                .options(selectinload(Student.group).selectinload(Group.programme))
            )
        }
        if wanted
        else {}
    )
    unknown = [str(i) for i in wanted if i not in students]
    if unknown:
        ids = ", ".join(unknown)
        message = ngettext("Unknown student id: %(ids)s.", "Unknown student ids: %(ids)s.", len(unknown), ids=ids)
        raise InvalidInput({"student_ids": message})
    kind = get_kind(order.kind)
    present = {line.student_id for line in order.lines}
    params, effective = kind.line_params(order)
    position = max((line.position for line in order.lines), default=0)
    added = []
    for student_id in wanted:
        if student_id in present:
            continue
        position += 1
        student = students[student_id]
        line = OrderLine(
            student=student,
            faculty_id=student.group.programme.faculty_id,
            position=position,
            params=dict(params),
            effective_date=effective,
        )
        order.lines.append(line)
        added.append(line)
    check_lines(order)
    return added


def insert_lines(order: Order, students: Subquery) -> None:
    """Lines for many students in one INSERT ... SELECT: a line per row of `students` (id, group_id, faculty_id),
    ordered by group and name, with the parameters and effective date the kind gives new lines; not checked yet."""
    kind_params, effective = get_kind(order.kind).line_params(order)
    ordered = select(
        literal(order.id),
        students.c.id,
        students.c.faculty_id,
        func.row_number().over(order_by=(students.c.group_id, Student.surname, Student.name, students.c.id)),
        literal(kind_params, JSON),
        literal(effective, Date),
        literal([], JSON),
    ).join(Student, Student.id == students.c.id)
    db.session.execute(
        insert(OrderLine).from_select(
            ["order_id", "student_id", "faculty_id", "position", "params", "effective_date", "eligibility"], ordered
        )
    )
    db.session.expire(order, ["lines"])


def students_by_iin(iins: list[str]) -> list[int]:
    """Student ids for these IINs, in the same order; unknown IINs are an error naming each."""
    found = dict(db.session.execute(select(Student.iin, Student.id).where(Student.iin.in_(iins))).all())
    missing = [i for i in iins if i not in found]
    if missing:
        raise InvalidInput({"iins": _("No student with IIN %(iins)s.", iins=", ".join(missing))})
    return [found[i] for i in iins]


def iin_format_errors(iins: list[str]) -> dict[str, str]:
    """Why each malformed IIN is malformed, keyed by its position in the list; checked before any look-up."""
    return {f"iins.{i}": f"{value}: {problem}" for i, value in enumerate(iins) if (problem := iin_error(value))}


def create_order_with_students(
    kind_name: str, author: User, raw: dict, student_ids: list[int], iins: list[str]
) -> Order:
    """A new draft with a line per student, all or nothing: malformed IINs and bad parameters are refused together,
    then unknown students or IINs."""
    errors = iin_format_errors(iins)
    not_created = "The order was not created; see errors."
    try:
        order = create_order(kind_name, author, raw)
    except InvalidInput as refused:
        if refused.status != 422:
            raise
        fields = {refusal.field: refusal.message for refusal in refused.refusals}
        raise InvalidInput({**errors, **fields}, message=not_created) from refused
    if errors:
        raise InvalidInput(errors, message=not_created)
    ids = [*student_ids, *students_by_iin([iin.strip() for iin in iins])] if iins else list(student_ids)
    if ids:
        add_students(order, ids, author)
    return order


def remove_line(order: Order, line_id: int, actor: User) -> None:
    _require_editable(order, actor)
    order.lines.remove(_line(order, line_id))
    db.session.flush()


REMOVE_CHUNK = 5000  # ids per DELETE statement: well under every database's limit of bound parameters


def remove_lines(order: Order, actor: User, *, line_ids: list[int] | None = None, refused: bool = False) -> int:
    """Remove many lines of a draft in one action: the chosen `line_ids` (each must be a line of the order, else
    nothing is removed), or, with `refused`, every line a rule refuses now and the registrar head has not accepted.
    A few DELETE statements whatever the number; an audit event names the students removed. Returns how many."""
    _require_editable(order, actor)
    if refused:
        check_lines(order)
        chosen = [line for line in order.lines if not line.accepted]
        if not chosen:
            raise InvalidInput({"line_ids": _("No line of this draft is refused; nothing was removed.")}, status=409)
    else:
        wanted = set(line_ids or [])
        if not wanted:
            raise InvalidInput({"line_ids": _("Choose at least one line to remove.")})
        chosen = [line for line in order.lines if line.id in wanted]
        unknown = sorted(wanted - {line.id for line in chosen})
        if unknown:
            raise InvalidInput(
                {"line_ids": _("This order has no line %(id)s; nothing was removed.", id=", ".join(map(str, unknown)))},
                status=404,
            )
    ids = [line.id for line in chosen]
    students = [line.student_id for line in chosen]
    for start in range(0, len(ids), REMOVE_CHUNK):
        db.session.execute(
            delete(OrderLine).where(OrderLine.order_id == order.id, OrderLine.id.in_(ids[start : start + REMOVE_CHUNK]))
        )
    db.session.expire(order, ["lines"])
    record_order_event(
        order, actor.id, "remove_lines", {"refused": refused, "count": len(ids), "student_ids": students}
    )
    return len(ids)


def gather_context(
    order: Order, student_ids: list[int], *, drafts_conflict: bool = True, facts: dict[str, Any] | None = None
) -> LineContext:
    """One query for all lines: which of these students sit in another order that is still open.

    The earliest order keeps the student: a later draft naming the same student never blocks this one (it cannot be
    submitted while this order is open), and at signing no draft blocks. The same answer is shown on the order page
    and checked at submission, so a line shown eligible is not refused on submitting.
    """
    blocking = Order.state.not_in(TERMINAL_STATES)
    if drafts_conflict:
        blocking = blocking & ((Order.state != "draft") | (Order.id < order.id))
    else:
        blocking = blocking & (Order.state != "draft")
    neutral = record_neutral_kinds()
    if neutral:
        blocking = blocking & Order.kind.not_in(sorted(neutral))
    rows = (
        db.session.execute(
            select(OrderLine.student_id, Order.id, Order.number_label, Order.state)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.student_id.in_(student_ids), Order.id != order.id, blocking)
        )
        if student_ids
        else []
    )
    conflicts: dict[int, list[tuple[int, str, str]]] = {}
    for student_id, order_id, label, state in rows:
        conflicts.setdefault(student_id, []).append((order_id, label or f"#{order_id}", state))
    return LineContext(other_open_orders=conflicts, facts=facts or {})


def open_order_refusals(student: Student, context: LineContext) -> list[Refusal]:
    return [
        Refusal(
            "line.open_order",
            _(
                "%(name)s is already in order %(label)s (%(state)s); finish or withdraw that order first.",
                name=student.full_name,
                label=label,
                state=state_label(state),
            ),
            {"order_id": order_id, "state": state},
        )
        for order_id, label, state in context.other_open_orders.get(student.id, [])
    ]


def check_lines(order: Order, *, at_signing: bool = False) -> list[Refusal]:
    """Re-run every line's eligibility in a fixed number of queries; store every line's refusals and return those
    that block, each naming its line (`lines.<id>`): a line the registrar head accepted by override keeps its
    refusals on show, and only its absolute ones (`Refusal.absolute`) still block."""
    kind = get_kind(order.kind)
    db.session.flush()
    lines = order.lines
    facts = kind.gather(order, lines) if lines else {}
    if lines:
        kind.fill_params(order, lines, facts)
    context = gather_context(order, [line.student_id for line in lines], drafts_conflict=not at_signing, facts=facts)
    # The core's own rules: a student sits in one open order at a time of the kinds that change the record, and no
    # other order may change a record with a change already scheduled.
    one_open_order = kind.changes_record or kind.blocked_by_open_orders
    scheduled = scheduled_effects(order, [line.student_id for line in lines]) if kind.changes_record else {}
    blocking = []
    for line in lines:
        refusals = death_refusals(kind, line.student) + kind.check_line(line, context)
        refusals += scheduled_refusals(line.student, scheduled)
        if one_open_order:
            refusals = refusals + open_order_refusals(line.student, context)
        eligibility = [r.as_dict() for r in refusals]
        if line.eligibility != eligibility:  # leave unchanged lines clean: nothing for the next flush to compare
            line.eligibility = eligibility
        blocking += [
            dataclasses.replace(refusal, field=f"lines.{line.id}")
            for refusal in refusals
            if refusal.absolute or not line.overridden
        ]
    return blocking


def refresh_eligibility(order: Order) -> None:
    """Before a draft is shown: its lines' eligibility as submitting would find it now (`check_lines`, the one check),
    so that an order opened or withdrawn elsewhere meanwhile is reflected."""
    if order.state == "draft" and order.lines:
        check_lines(order)


def death_refusals(kind: OrderKind, student: Student) -> list[Refusal]:
    """A student expelled on death is named by no order but the revocation or amendment of an order (the core's
    rule `<kind>.death`, which no override passes)."""
    if kind.corrects or student.status != "expelled" or student.expulsion_reason != "death":
        return []
    return [
        Refusal(
            f"{kind.name}.death",
            _(
                "%(name)s was expelled on death: no order other than a revocation or amendment may name them.",
                name=student.full_name,
            ),
            {"expulsion_reason": "death"},
            absolute=True,
        )
    ]


def scheduled_effects(order: Order, student_ids: list[int]) -> dict[int, list[tuple[int, str, date]]]:
    """Which of these students have a signed change not in effect yet, by another order than `order` and than the
    one `order` corrects: student id -> [(order id, label, effective date)], in one query."""
    if not student_ids:
        return {}
    query = (
        select(StudentMovement.student_id, Order.id, Order.number_label, StudentMovement.effective_date)
        .join(OrderLine, OrderLine.id == StudentMovement.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            StudentMovement.student_id.in_(student_ids),
            StudentMovement.applied_at.is_(None),
            StudentMovement.voided_at.is_(None),
            Order.id != order.id,
        )
        .order_by(StudentMovement.effective_date)
    )
    if order.target_order_id is not None:
        query = query.where(Order.id != order.target_order_id)
    found: dict[int, list[tuple[int, str, date]]] = {}
    for student_id, order_id, label, effective in db.session.execute(query):
        found.setdefault(student_id, []).append((order_id, label or f"#{order_id}", effective))
    return found


def scheduled_refusals(student: Student, scheduled: dict[int, list[tuple[int, str, date]]]) -> list[Refusal]:
    """A student whose record another signed order will change on a later day is refused by every other order that
    changes the record: its effect would be computed from a record about to change. The revocation or amendment of
    that order is the exception (`scheduled_effects` leaves it out)."""
    return [
        Refusal(
            "line.scheduled_effect",
            _(
                "%(name)s has a change scheduled by order %(label)s, taking effect on %(date)s; revoke or amend that "
                "order, or draft this one once it is in effect.",
                name=student.full_name,
                label=label,
                date=f"{effective:%d.%m.%Y}",
            ),
            {"order_id": order_id, "effective_date": effective.isoformat()},
            absolute=True,
        )
        for order_id, label, effective in scheduled.get(student.id, [])
    ]


def update_line(order: Order, line_id: int, raw: dict, actor: User) -> OrderLine:
    """Change one draft line's own parameters (target group, leave dates...) loaded through the kind's
    `line_schema`. A changed line loses any override: the registrar head accepted it as it was."""
    _require_editable(order, actor)
    line = _line(order, line_id)
    schema = get_kind(order.kind).line_schema
    if schema is None:
        raise InvalidInput(_as_params({"line": _("This kind of order has no details per line.")}))
    params, errors = load(schema(line=line), raw)
    if errors:
        raise InvalidInput(_as_params(errors))
    effective = params.pop("effective_date", None)
    line.params = params
    line.effective_date = date.fromisoformat(effective) if effective else line.effective_date
    _clear_override(line)
    check_lines(order)
    return line


def override_line(order: Order, line_id: int, justification: str, actor: User) -> OrderLine:
    """The registrar head accepts a line a rule refuses, with a written justification kept in the audit log, on the
    order page and in the approval sheet of the document. A line an absolute rule refuses cannot be accepted; who
    accepted a line gives no registrar office's visa on the order (`workflow.engine`)."""
    if not actor.has_role("registrar"):
        raise InvalidInput({"order": _("Only the registrar head may accept a line that fails a rule.")}, status=403)
    if not order.is_open:
        raise InvalidInput(
            {
                "order": _(
                    "This order is %(s)s; lines can be accepted only while it is open.", s=state_label(order.state)
                )
            },
            status=409,
        )
    line = _line(order, line_id)
    check_lines(order)
    if line.eligible:
        raise InvalidInput(
            {"justification": _("This line passes every rule; there is nothing to override.")}, status=409
        )
    absolute = [refusal for refusal in line.eligibility if refusal.get("absolute")]
    if absolute:
        raise InvalidInput(
            {
                "justification": " ".join(
                    _("This rule cannot be waived: %(message)s", message=refusal["message"]) for refusal in absolute
                )
            }
        )
    justification = (justification or "").strip()
    if len(justification) < 10:
        raise InvalidInput({"justification": _("Write why the rule may be set aside (at least 10 characters).")})
    if len(justification) > 2000:
        raise InvalidInput({"justification": _("The justification is longer than 2000 characters.")})
    line.override_justification = justification
    line.override_by_id = actor.id
    line.override_at = now()
    record_order_event(
        order,
        actor.id,
        "override",
        {
            "line_id": line.id,
            "student_id": line.student_id,
            "student": line.student.full_name,
            "rules": [refusal["rule"] for refusal in line.eligibility],
        },
        comment=justification,
    )
    return line


def _line(order: Order, line_id: int) -> OrderLine:
    line = next((candidate for candidate in order.lines if candidate.id == line_id), None)
    if line is None:
        raise InvalidInput({"line_id": _("This order has no line %(id)s.", id=line_id)}, status=404)
    return line


def _clear_override(line: OrderLine) -> None:
    line.override_justification = line.override_by_id = line.override_at = None


def effects_preview(order: Order, lines: list[OrderLine] | None = None) -> dict[int, dict]:
    """What signing would change, per line id: of `lines` (one page of the order), or of all its lines."""
    kind = get_kind(order.kind)
    return {line.id: kind.preview(line) for line in (order.lines if lines is None else lines)}


# Guards and the signing transaction --------------------------------------------------------------------------


@guard("submit")
def _lines_ready(order: Order, actor: User, data: dict) -> list[Refusal]:
    if not order.lines:
        return [Refusal("order.no_lines", _("Add at least one student before submitting."))]
    return check_lines(order)


@after("submit")
def _remember_round(order: Order, actor: User, data: dict) -> None:
    """Keep what this round was submitted with, so the next round can show what changed."""
    db.session.add(OrderRound(order_id=order.id, round=order.round, snapshot=round_snapshot(order)))


def round_snapshot(order: Order) -> dict:
    return {
        "title": order.title,
        "basis": order.basis,
        "params": order.params,
        "lines": {
            str(line.student_id): {
                "name": line.student.full_name,
                "params": line.params,
                "effective_date": line.effective_date.isoformat(),
            }
            for line in order.lines
        },
    }


def changes_since_last_round(order: Order) -> dict | None:
    """Lines added, removed and changed, and order fields changed, since the previous round; None in round 1."""
    if order.round < 2:
        return None
    previous = db.session.get(OrderRound, (order.id, order.round - 1))
    if previous is None:
        return None
    before, now_ = previous.snapshot, round_snapshot(order)
    old_lines, new_lines = before["lines"], now_["lines"]
    return {
        "round": order.round,
        "added": [new_lines[k]["name"] for k in new_lines if k not in old_lines],
        "removed": [old_lines[k]["name"] for k in old_lines if k not in new_lines],
        "changed": [new_lines[k]["name"] for k in new_lines if k in old_lines and new_lines[k] != old_lines[k]],
        "fields": [f for f in ("title", "basis", "params") if before[f] != now_[f]],
    }


@guard("sign")
def _still_eligible(order: Order, actor: User, data: dict) -> list[Refusal]:
    return check_lines(order, at_signing=True)


APPLY_CHUNK = 2000  # lines applied together when signing (memory per chunk, statements per chunk)
NUMBERING_AT = 0.9  # the progress signing reports when all its heavy work is done and it is about to take the number


@on_enter("signed")
def take_effect(order: Order, actor: User, data: dict) -> None:
    """Everything signing means, in the signing transaction: history, document, e-mails, the effects on the records
    of the lines effective today or earlier (the later ones are scheduled for their day), and last the number.

    The number is taken at the very end (`_number_the_order`): taking it locks the year's sequence row until the
    commit, so every signing in the university would otherwise wait for the largest one. Until then the order's
    label is a placeholder in everything written (document, extracts' names) and its number a negative stand-in;
    what needs the number is finished in one short step."""
    kind = get_kind(order.kind)
    order.order_date = today()
    order.year = order.order_date.year
    placeholder = documents.number_placeholder()
    order.number = -order.id  # signed orders have a number (a check): this one, unique, until the real one is taken
    order.number_label = placeholder
    order.signed_at = now()
    order.signed_by_id = actor.id
    lines = order.lines
    kind.prepare(order, lines)
    report(0.2)
    # The document and the e-mails describe each student as the order found them, so they are written first. The
    # verification token exists before the document: its QR code is printed on every page.
    token = new_token()
    content = documents.render_order(order, token)
    report(0.4)
    # Every student's extract is frozen per line (its words now, its DOCX the first time it is rendered); the e-mail
    # attaches that stored extract, so the student gets the same bytes as the personal file holds. The e-mails name
    # the line (or the order): the worker reads the number, the item and the extract from them when it sends.
    common = {**documents.extract_common(order), **documents.stamp_fields(order, token)}
    verification.freeze_extracts(order, kind, lines, documents.line_places(kind, lines))
    _write_emails(order, kind, lines)
    report(0.5)
    for start in range(0, len(lines), APPLY_CHUNK):
        _apply_lines(order, kind, lines[start : start + APPLY_CHUNK])
    kind.after_apply(order, lines)
    report(NUMBERING_AT)
    _number_the_order(order, placeholder, content, common, token)
    report(0.95)


def _write_emails(order: Order, kind: OrderKind, lines: list[OrderLine]) -> None:
    """The signing's e-mails into the outbox: one per student with an address (the office's for those not written
    to). Written before the lines are applied, so they name each student as the order found them."""
    emails = [_student_email(order, line) for line in lines if line.student.email and kind.emails_student(line)]
    not_written_to = [line for line in lines if not kind.emails_student(line)]
    if not_written_to and current_app.config["REGISTRAR_OFFICE_EMAIL"]:
        emails.append(_office_email(order, not_written_to))
    enqueue_emails(emails)


def _apply_lines(order: Order, kind: OrderKind, lines: list[OrderLine]) -> None:
    """These lines' effects, history and timeline, in a few batched statements. Called with `APPLY_CHUNK` lines at a
    time: its lists (a few entries per line) would otherwise be the largest part of a big signing's memory."""
    # Not an ORM flush per student. A line takes effect now when its effective date is today or earlier; a later
    # one is scheduled: `apply_due_effects` writes it on the day. A correction voids its target lines' movements
    # now: an effect already in the record is reversed at once, a scheduled one is simply cancelled.
    changes = [kind.preview(line) for line in lines]
    values = [kind.apply(line, order) for line in lines]
    targets = [kind.voids(line) for line in lines]
    started = void_lines([target for target in targets if target is not None], order.signed_at)
    in_effect = [
        target in started if target is not None else line.effective_date <= order.order_date
        for line, target in zip(lines, targets, strict=True)
    ]
    changes = [  # a correction of an effect that never reached the record has nothing to reverse
        {} if target is not None and not now_in_effect else change
        for change, target, now_in_effect in zip(changes, targets, in_effect, strict=True)
    ]
    db.session.execute(
        update(OrderLine),
        [
            {"id": line.id, "applied_changes": change, "record_before": record_values(line.student, new)}
            for line, change, new in zip(lines, changes, values, strict=True)
        ],
    )
    movements, timeline_values = [], []
    for line, change, new, target, now_in_effect in zip(lines, changes, values, targets, in_effect, strict=True):
        if not change and target is None:  # a line that changes nothing (a payment order's left-out) is no movement
            continue
        movements.append(
            {
                "student_id": line.student_id,
                "order_line_id": line.id,
                "kind": order.kind,
                "effective_date": line.effective_date,
                "changes": change,
                "reason": line.params.get("reason"),
                "known_since": order.signed_at,
                # nothing waits when the line writes nothing (a payment) or only voids (a correction)
                "applied_at": order.signed_at if now_in_effect or target is not None or not new else None,
                "record_after": json_values(new) if new and (now_in_effect or target is None) else None,
            }
        )
        timeline_values.append(new if target is None else None)  # a correction's own movement sets no field
    write_movements(movements, timeline_values)  # labelled with the number at the end (`_number_the_order`)
    write_records(
        [
            (line.student_id, new)
            for line, new, now_in_effect in zip(lines, values, in_effect, strict=True)
            if now_in_effect
        ]
    )


def _number_the_order(order: Order, placeholder: str, content: bytes, common: dict, token: str) -> None:
    """The short last step of signing: take the number (the sequence row stays locked until the commit, and a
    rollback gives the number back), then write what carries it: the order's number and label, the document with
    the number in place of `placeholder` (its SHA-256 of the final bytes), the extracts' file names, and the
    movements' label (set once, from NULL: the one change their append-only guard allows besides the stamps)."""
    db.session.flush()  # the order's signing (state, stand-in number) is one new version of it ...
    number = next_number(order.year, order.series)
    label = format_number(number, order.series, order.year)
    db.session.execute(  # ... and its real number completes that version rather than making another
        update(Order)
        .where(Order.id == order.id)
        .values(number=number, number_label=label)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(order, "number", number)
    set_committed_value(order, "number_label", label)
    content = documents.with_number(content, placeholder, order.number_label)
    common["number"] = order.number_label
    verification.name_extracts(order, placeholder)
    db.session.execute(
        update(StudentMovement)
        .where(
            StudentMovement.order_line_id.in_(select(OrderLine.id).where(OrderLine.order_id == order.id)),
            StudentMovement.order_label.is_(None),
        )
        .values(order_label=order.number_label)
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        OrderDocument(
            order_id=order.id,
            filename=documents.filename(order),
            content=content,
            sha256=documents.sha256(content),
            template_version=template_label(common["template_ids"]["order"]) or documents.TEMPLATE_VERSION,
            template_id=common["template_ids"]["order"],
            verify_token=token,
            extract_common=common,
        )
    )


def _student_email(order: Order, line: OrderLine) -> dict:
    """The e-mail to a line's student: what is the student's own (the name and address as the order found them);
    the number, the item and the stored extract are read from the signed line when it is sent
    (`orders.verification.line_email_context`)."""
    language = "kk" if line.student.language == "kk" else "ru"
    return {
        "recipient": line.student.email,
        "template": get_kind(order.kind).email_template,
        "language": language,
        "context": {
            references.KEY: verification.LINE_EMAIL,
            "order_line_id": line.id,
            "student_name": line.student.full_name,
            "dear_ru": sex_word(line.student, "Уважаемый", "Уважаемая"),
            "order_date": format_day(order.order_date, language),
        },
    }


def _office_email(order: Order, lines: list[OrderLine]) -> dict:
    """The signed order, to the registrar office's address, for students the order must not be e-mailed to; the
    number and the document are read from the order when it is sent (`orders.verification.order_email_context`)."""
    return {
        "recipient": current_app.config["REGISTRAR_OFFICE_EMAIL"],
        "template": "order_office",
        "language": "ru",
        "context": {
            references.KEY: verification.ORDER_EMAIL,
            "order_id": order.id,
            "order_date": format_day(order.order_date, "ru"),
            "students": [line.student.full_name for line in lines],
        },
    }


# Effects on their effective day ----------------------------------------------------------------------------------


def apply_due_effects(day: date | None = None) -> dict:
    """The scheduler's pass: write into the current records every signed effect due on `day` (default: today, local
    time) and not applied yet, set-based (one guarded UPDATE claims them, batched UPDATEs write the students), with an
    audit event per order. Running it again, or in two schedulers at once, applies each effect once. The caller
    commits. Returns the counts of `movements` applied and `orders` they belong to."""
    day = day or today()
    moment = now()
    claimed = claim_due(day, moment)
    if not claimed:
        return {"movements": 0, "orders": 0}
    write_records([(row.student_id, column_values(row.record_after)) for row in claimed if row.record_after])
    per_order = db.session.execute(
        select(OrderLine.order_id, func.count(), func.min(StudentMovement.effective_date))
        .join(StudentMovement, StudentMovement.order_line_id == OrderLine.id)
        .where(StudentMovement.applied_at == moment, StudentMovement.effective_date <= day)
        .group_by(OrderLine.order_id)
    ).all()
    orders = {
        order.id: order for order in db.session.scalars(select(Order).where(Order.id.in_([r[0] for r in per_order])))
    }
    for order_id, count, effective in per_order:
        order = orders[order_id]
        record_order_event(
            order,
            order.signed_by_id,
            "take_effect",
            {"students": count, "effective_date": effective.isoformat(), "applied_on": day.isoformat()},
        )
    current_app.logger.info("effects: %s movement(s) of %s order(s) applied", len(claimed), len(per_order))
    return {"movements": len(claimed), "orders": len(per_order)}


def effect_state(order: Order) -> dict | None:
    """For a signed order's page: {"scheduled": first date still to come or None, "since": first effective date in
    effect or None}; None when the order changes no record. One query."""
    rows = db.session.execute(
        select(StudentMovement.applied_at.is_(None), func.min(StudentMovement.effective_date))
        .join(OrderLine, OrderLine.id == StudentMovement.order_line_id)
        .where(OrderLine.order_id == order.id, StudentMovement.voided_at.is_(None))
        .group_by(StudentMovement.applied_at.is_(None))
    ).all()
    if not rows:
        return None
    state = {"scheduled": None, "since": None}
    for pending, first in rows:
        state["scheduled" if pending else "since"] = first
    return state
