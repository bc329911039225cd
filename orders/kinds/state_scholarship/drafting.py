"""State scholarship in bulk: one order for the chosen faculties and courses (all when none chosen), a line for
every active state-grant student in scope, each computed at once (`state_scholarship.py` beside this module), and
the appendix of students out with the reason.

Drafting costs a fixed number of statements whatever the number of students: the lines are written by one
`INSERT ... SELECT`, the facts are read set-based, and the computed figures go back in one batched UPDATE.
"""

from collections import Counter

from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db
from core.models import User
from orders import operations
from orders.models import Order, OrderLine
from orders.operations import InvalidInput
from orders.registry import get_kind
from students.models import Faculty, Group, Programme, Student

KIND = "state_scholarship"


def draft_scholarship(author: User, raw: dict) -> Order:
    """A state scholarship draft with a line for every active state-grant student of the chosen faculties and
    courses, every line computed and checked. Nothing is written when the input is bad or nobody is in scope."""
    order = operations.create_order(KIND, author, raw)
    faculties, courses = order.params["faculties"], order.params["courses"]
    if faculties:
        known = set(db.session.scalars(select(Faculty.id).where(Faculty.id.in_(faculties))))
        unknown = [str(f) for f in faculties if f not in known]
        if unknown:
            raise InvalidInput({"faculties": _("There is no faculty %(ids)s.", ids=", ".join(unknown))})
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
    operations.insert_lines(order, students.subquery())
    operations.check_lines(order)
    if not order.lines:
        raise InvalidInput({"scope": _("No active state-grant student is in this scope; nothing was drafted.")})
    return order


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
