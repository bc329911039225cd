"""Year-end course promotion in bulk: draft one order for a course, faculty, programme or the whole university, sort
its lines into outcomes, and turn the refused ones into a repeat-year draft and an expulsion draft in one action.

Drafting costs a fixed number of statements whatever the number of students: the lines are written by one
`INSERT ... SELECT` from the students in scope, and the eligibility check reads its facts set-based.
"""

from collections import Counter
from dataclasses import asdict, dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, delete, func, select

from core.db import db
from core.models import User
from core.progress import report
from core.rules import rule
from core.scope import faculty_scope
from orders import jobs, operations
from orders.jobs import Job, register_action
from orders.kind import parse_academic_year
from orders.kinds.promotion.promotion import outcome_from
from orders.models import Order, OrderLine
from orders.operations import InvalidInput
from students.models import Faculty, Group, Programme, Student

OUTCOMES = ("promote", "repeat_year", "expulsion", "blocked")
# The order's parameter listing the ids of the final-year students in the drafted scope. They are no lines of the
# promotion: a final-year student cannot be promoted (graduation is a different order), so the legal document never
# names them, and they neither block submission nor need a split.
FINAL_YEAR = "final_year"


def outcome_of(line: OrderLine) -> str:
    """The line's outcome (`promotion.outcome_from`): promote, repeat_year, expulsion or blocked."""
    return outcome_from(line.eligibility, line.overridden)


def outcome_reason(line: OrderLine) -> str:
    """Why the line lands where it does, in the reader's language."""
    messages = " ".join(refusal["message"] for refusal in line.eligibility)
    if outcome_of(line) != "expulsion":
        return messages
    data = line.eligibility[0]["data"]
    if data.get("debt_credits", 0) > rule("promotion_expulsion_debt_credits"):
        why = ngettext(
            "Academic debts of %(num)s credit exceed the %(limit)s allowed for a repeat year.",
            "Academic debts of %(num)s credits exceed the %(limit)s allowed for a repeat year.",
            data["debt_credits"],
            limit=rule("promotion_expulsion_debt_credits"),
        )
    else:
        why = _("The course was already repeated.")
    return f"{messages} {why}"


def outcomes(order: Order, lines: list[OrderLine] | None = None) -> dict[str, list[OrderLine]]:
    grouped: dict[str, list[OrderLine]] = {outcome: [] for outcome in OUTCOMES}
    for line in order.lines if lines is None else lines:
        grouped[outcome_of(line)].append(line)
    return grouped


@dataclass(frozen=True)
class Scope:
    academic_year: str
    faculty_id: int | None
    programme_id: int | None
    course: int | None


def _scope(raw: dict) -> tuple[Scope | None, dict[str, str]]:
    errors: dict[str, str] = {}

    def optional_int(name: str, low: int = 1, high: int = 2**31 - 1) -> int | None:
        value = raw.get(name)
        if value in (None, ""):
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(value, bool) or not low <= number <= high:
            errors[name] = _("Give a whole number from %(low)s to %(high)s, or leave it empty.", low=low, high=high)
            return None
        return number

    faculty_id, programme_id, course = (
        optional_int("faculty_id"),
        optional_int("programme_id"),
        optional_int("course", 1, 7),
    )
    if faculty_id is not None and "faculty_id" not in errors and db.session.get(Faculty, faculty_id) is None:
        errors["faculty_id"] = _("There is no faculty %(id)s.", id=faculty_id)
    if programme_id is not None and "programme_id" not in errors:
        programme = db.session.get(Programme, programme_id)
        if programme is None:
            errors["programme_id"] = _("There is no programme %(id)s.", id=programme_id)
        elif faculty_id is not None and programme.faculty_id != faculty_id:
            errors["programme_id"] = _("Programme %(code)s does not belong to the chosen faculty.", code=programme.code)
    year = parse_academic_year(raw.get("academic_year"))
    if errors:
        return None, errors
    return Scope(year or "", faculty_id, programme_id, course), errors


def _create(author: User, raw: dict) -> tuple[Order, Scope]:
    """The empty promotion draft and the scope to fill it from; nothing is written when the input is bad."""
    scope, errors = _scope(raw)
    try:
        order = operations.create_order("promotion", author, raw)
    except InvalidInput as error:
        if error.status != 422:
            raise
        errors = {**error.errors, **errors}
    if errors:
        raise InvalidInput(errors)
    return order, scope


def _in_scope(scope: Scope) -> Select:
    students = (
        select(Student.id, Student.group_id, Programme.faculty_id)
        .join(Group, Group.id == Student.group_id)
        .join(Programme, Programme.id == Group.programme_id)
        .where(Student.status == "active")
    )
    if scope.faculty_id is not None:
        students = students.where(Programme.faculty_id == scope.faculty_id)
    if scope.programme_id is not None:
        students = students.where(Group.programme_id == scope.programme_id)
    if scope.course is not None:
        students = students.where(Student.course == scope.course)
    return students


FINAL_COURSE = Student.course >= Programme.duration_years


def _fill(order: Order, scope: Scope) -> Order:
    """A line for every active student in scope but the final-year ones (listed apart), every line checked."""
    students = _in_scope(scope)
    final_year = list(db.session.scalars(students.where(FINAL_COURSE).with_only_columns(Student.id)))
    operations.insert_lines(order, students.where(~FINAL_COURSE).subquery())
    report(0.3)
    operations.check_lines(order)
    report(0.9)
    if not order.lines:
        if final_year:
            raise InvalidInput(
                {
                    "scope": _(
                        "Every active student in this scope is in the final year: graduation is a different order; "
                        "nothing was drafted."
                    )
                }
            )
        raise InvalidInput({"scope": _("No active student is in this scope; nothing was drafted.")})
    order.params = {**order.params, FINAL_YEAR: final_year}
    return order


def draft_promotion(author: User, raw: dict) -> Order:
    """A promotion draft with a line for every active student in scope (faculty, programme, course: each
    optional), every line checked, at once. Nothing is written when the input is bad or nobody is in scope."""
    order, scope = _create(author, raw)
    return _fill(order, scope)


def ask_promotion(author: User, raw: dict) -> tuple[Order, Job | None, bool]:
    """`draft_promotion` from a page or the API: above the job threshold the draft is created here and its lines
    are filled by a background job (`jobs.start_fill`). Returns the draft, its fill job (None: filled already) and
    whether this request started that job (False: the same draft was already being filled)."""
    order, scope = _create(author, raw)
    candidates = db.session.scalar(select(func.count()).select_from(_in_scope(scope).where(~FINAL_COURSE).subquery()))
    order, job, started = jobs.start_fill(order, FILL, author, asdict(scope), candidates)
    if job is None:
        _fill(order, scope)
    return order, job, started


def fill_in_background(order: Order, actor: User, params: dict) -> dict:
    """The lines of a big promotion draft, written by the job `ask_promotion` started (the asker may still edit it)."""
    operations._require_editable(order, actor)
    _fill(order, Scope(**params["scope"]))
    return {"lines": len(order.lines)}


FILL = "promotion_fill"
register_action(FILL, fill_in_background)


def final_year_students(order: Order, actor: User) -> Select:
    """The final-year students the draft left out (`FINAL_YEAR`) that `actor` may see, by group and name: a query
    for the pager."""
    ids = (order.params or {}).get(FINAL_YEAR) or []
    query = (
        select(Student)
        .join(Group, Group.id == Student.group_id)
        .join(Programme, Programme.id == Group.programme_id)
        .where(Student.id.in_(ids))
        .order_by(Group.name, Student.surname, Student.name, Student.id)
    )
    faculties = faculty_scope(actor)
    return query if faculties is None else query.where(Programme.faculty_id.in_(faculties))


def split_refused(order: Order, actor: User) -> tuple[Order | None, Order | None]:
    """Move the lines whose outcome is repeat_year or expulsion out of this promotion draft into a new repeat-year
    draft (ground: promotion refused) and a new expulsion draft (reason: academic failure), with the same effective
    date and basis. Returns (repeat-year draft, expulsion draft); None for an outcome without lines."""
    if order.kind != "promotion":
        raise InvalidInput({"order": _("Only a course promotion order has refused lines to turn into drafts.")})
    operations._require_editable(order, actor)
    operations.check_lines(order)
    grouped = outcomes(order)
    moving = {outcome: [line.student_id for line in grouped[outcome]] for outcome in ("repeat_year", "expulsion")}
    if not any(moving.values()):
        raise InvalidInput(
            {"order": _("No line of this draft is refused for its academic results; nothing to turn into drafts.")},
            status=409,
        )
    ids = moving["repeat_year"] + moving["expulsion"]
    db.session.execute(delete(OrderLine).where(OrderLine.order_id == order.id, OrderLine.student_id.in_(ids)))
    db.session.expire(order, ["lines"])
    common = {"effective_date": order.params["effective_date"], "basis": order.basis}
    created: dict[str, Order | None] = {"repeat_year": None, "expulsion": None}
    if moving["repeat_year"]:
        created["repeat_year"] = operations.create_order(
            "repeat_year",
            actor,
            {**common, "ground": "promotion_refused", "academic_year": order.params["academic_year"]},
        )
    if moving["expulsion"]:
        created["expulsion"] = operations.create_order("expulsion", actor, {**common, "reason": "academic_failure"})
    for outcome, new in created.items():
        if new is not None:
            students = (
                select(Student.id, Student.group_id, Programme.faculty_id)
                .join(Group, Group.id == Student.group_id)
                .join(Programme, Programme.id == Group.programme_id)
                .where(Student.id.in_(moving[outcome]))
            ).subquery()
            operations.insert_lines(new, students)
            operations.check_lines(new)
    # The lines left were checked above, in this transaction: removing the others changes none of their facts,
    # and the moved students now sit in the new drafts, no longer in this order, so no re-check (a full check of
    # 20,000 lines) is needed.
    return created["repeat_year"], created["expulsion"]


def split_in_background(order: Order, actor: User, params: dict) -> dict:
    """`split_refused` as a background job (a big draft): the drafts made are the job's result."""
    made = [draft for draft in split_refused(order, actor) if draft is not None]
    return {"drafts": [{"id": draft.id, "label": draft.label, "lines": len(draft.lines)} for draft in made]}


register_action("promotion_split", split_in_background)


def summary(order: Order) -> dict[str, int]:
    counts = Counter(outcome_of(line) for line in order.lines)
    return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}
