"""State scholarship in bulk: one order for the chosen faculties and courses (all when none chosen), a line for
every active state-grant student in scope, each computed at once (`state_scholarship.py` beside this module), and
the appendix of students out with the reason.

Drafting costs a fixed number of statements whatever the number of students: the lines are written by one
`INSERT ... SELECT`, the facts are read set-based, and the computed figures go back in one batched UPDATE.
"""

from collections import Counter

from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from core.db import db
from core.models import User
from core.progress import report
from orders import jobs, operations
from orders.jobs import Job, register_action
from orders.models import Order, OrderLine
from orders.operations import InvalidInput
from orders.registry import get_kind
from students.models import Faculty, Group, Programme, Student

KIND = "state_scholarship"


def _create(author: User, raw: dict) -> Order:
    """The empty state scholarship draft; nothing is written when the input is bad."""
    order = operations.create_order(KIND, author, raw)
    faculties = order.params["faculties"]
    if faculties:
        known = set(db.session.scalars(select(Faculty.id).where(Faculty.id.in_(faculties))))
        unknown = [str(f) for f in faculties if f not in known]
        if unknown:
            raise InvalidInput({"faculties": _("There is no faculty %(ids)s.", ids=", ".join(unknown))})
    return order


def _in_scope(order: Order) -> Select:
    faculties, courses = order.params["faculties"], order.params["courses"]
    students = (
        select(Student.id, Student.group_id, Programme.faculty_id)
        .join(Group, Group.id == Student.group_id)
        .join(Programme, Programme.id == Group.programme_id)
        .where(Student.status == "active", Student.funding == "grant")
    )
    if faculties:
        students = students.where(Programme.faculty_id.in_(faculties))
    if courses:
        students = students.where(Student.course.in_(courses))
    return students


def _fill(order: Order) -> Order:
    """A line for every active state-grant student of the order's faculties and courses, computed and checked."""
    operations.insert_lines(order, _in_scope(order).subquery())
    report(0.3)
    operations.check_lines(order)
    report(0.9)
    if not order.lines:
        raise InvalidInput({"scope": _("No active state-grant student is in this scope; nothing was drafted.")})
    return order


def draft_scholarship(author: User, raw: dict) -> Order:
    """A state scholarship draft with a line for every active state-grant student of the chosen faculties and
    courses, every line computed and checked, at once. Nothing is written when the input is bad or nobody is in
    scope."""
    return _fill(_create(author, raw))


def ask_scholarship(author: User, raw: dict) -> tuple[Order, Job | None, bool]:
    """`draft_scholarship` from a page or the API: above the job threshold the draft is created here and its lines
    are filled by a background job (`jobs.start_fill`). Returns the draft, its fill job (None: filled already) and
    whether this request started that job (False: the same draft was already being filled)."""
    order = _create(author, raw)
    candidates = db.session.scalar(select(func.count()).select_from(_in_scope(order).subquery()))
    order, job, started = jobs.start_fill(order, FILL, author, {}, candidates)
    if job is None:
        _fill(order)
    return order, job, started


def fill_in_background(order: Order, actor: User, params: dict) -> dict:
    """The lines of a big state scholarship draft, written by the job `ask_scholarship` started."""
    operations._require_editable(order, actor)
    _fill(order)
    return {"lines": len(order.lines)}


FILL = "state_scholarship_fill"
register_action(FILL, fill_in_background)


def reason(line: OrderLine) -> str:
    """Why the line is in or out, in the interface language."""
    return get_kind(KIND).reason_text(line, "ui")


def split(order: Order, lines: list[OrderLine] | None = None) -> dict[str, list[OrderLine]]:
    """The lines appointed ("in") and not appointed ("out"), in order."""
    grouped: dict[str, list[OrderLine]] = {"in": [], "out": []}
    for line in order.lines if lines is None else lines:
        grouped["in" if line.params.get("outcome") == "in" else "out"].append(line)
    return grouped


def summary(order: Order) -> dict:
    """Counts by outcome and reason, and the monthly total of the lines in (KZT)."""
    reasons = Counter(line.params.get("why") for line in order.lines)
    appointed = [line for line in order.lines if line.params.get("outcome") == "in"]
    return {
        "in": len(appointed),
        "out": len(order.lines) - len(appointed),
        "reasons": {str(why): count for why, count in sorted(reasons.items(), key=lambda kv: str(kv[0]))},
        "monthly_total": sum(line.params["amount"] for line in appointed),
    }
