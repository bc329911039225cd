"""Bulk additions to a competition's draft: the paid students of a programme and course who may apply for a vacant
grant, or the candidates for a President's or personal scholarship; each line is checked and ranked."""

from flask_babel import gettext as _
from sqlalchemy import or_, select

from core.db import db
from core.errors import InvalidInput
from core.models import User
from core.rules import rule
from orders import operations
from orders.kinds.competitions.president_scholarship import PersonalScholarship, PresidentScholarship
from orders.kinds.competitions.vacant_grant import VacantGrant
from orders.models import Order, OrderLine
from students.academic import Grade
from students.grades import EXCELLENT
from students.models import Group, Programme, Student


def add_paid_students(order: Order, programme_id: int, course: int, actor: User) -> list[OrderLine]:
    """Add as applicants every active paid student of one programme and course (the clerk then removes those who
    did not apply); each line is checked and ranked."""
    if order.kind != VacantGrant.name:
        raise InvalidInput({"order": _("Only a vacant grant order takes applicants by programme and course.")})
    if db.session.get(Programme, programme_id) is None:
        raise InvalidInput({"programme_id": _("There is no programme %(id)s.", id=programme_id)})
    ids = list(
        db.session.scalars(
            select(Student.id)
            .join(Group, Group.id == Student.group_id)
            .where(
                Group.programme_id == programme_id,
                Student.course == course,
                Student.status == "active",
                Student.funding == "paid",
            )
            .order_by(Student.surname, Student.name, Student.id)
        )
    )
    if not ids:
        raise InvalidInput({"course": _("No active paid student studies in this programme and course.")})
    return operations.add_students(order, ids, actor)


def add_scholarship_candidates(order: Order, actor: User, faculty_id: int | None = None) -> list[OrderLine]:
    """Add every active student of an eligible course (setting `personal_scholarship_min_course`) whose grades of the
    order's academic year are all A/A-, optionally of one faculty; each line is checked and ranked by the quota."""
    if order.kind not in (PresidentScholarship.name, PersonalScholarship.name):
        raise InvalidInput({"order": _("Only a President's or personal scholarship order takes candidates.")})
    courses = rule("personal_scholarship_min_course")
    if not courses:
        raise InvalidInput({"order": _("No level is eligible: set personal_scholarship_min_course.")})
    year = order.params["academic_year"]
    not_excellent = select(Grade.student_id).where(Grade.academic_year == year, Grade.letter.not_in(EXCELLENT))
    graded = select(Grade.student_id).where(Grade.academic_year == year)
    query = (
        select(Student.id)
        .join(Group, Group.id == Student.group_id)
        .join(Programme, Programme.id == Group.programme_id)
        .where(
            Student.status == "active",
            Student.id.in_(graded),
            Student.id.not_in(not_excellent),
            or_(*((Programme.level == level) & (Student.course >= int(first)) for level, first in courses.items())),
        )
        .order_by(Student.surname, Student.name, Student.id)
    )
    if faculty_id is not None:
        query = query.where(Programme.faculty_id == faculty_id)
    ids = list(db.session.scalars(query))
    if not ids:
        raise InvalidInput(
            {
                "faculty_id": _(
                    "No active student of an eligible course has only A and A- grades in %(year)s.", year=year
                )
            }
        )
    return operations.add_students(order, ids, actor)
