"""Finding students, and what a user may see of them."""

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from core.clock import today
from core.db import db
from core.models import User, principals_of
from students.models import Group, Programme, Student

UNIVERSITY_ROLES = ("clerk", "registrar", "lawyer", "finance", "rector")


def visible_students(actor: User) -> Select:
    """Students `actor` may see: university roles all, a dean own faculty only, everyone else none."""
    query = select(Student).join(Student.group).join(Group.programme)
    identities = [actor, *principals_of(actor, today())]  # a substitute sees what the person acted for sees
    if any(who.has_role(*UNIVERSITY_ROLES) for who in identities):
        return query
    faculties = {who.faculty_id for who in identities if who.has_role("dean") and who.faculty_id is not None}
    if faculties:
        return query.where(Programme.faculty_id.in_(faculties))
    return query.where(False)


def search_students(actor: User, text: str, *, limit: int = 50, status: str | None = None) -> list[Student]:
    """Students matching an IIN (or its start), a group name, or words of the full name."""
    text = " ".join(text.split())
    query = visible_students(actor).options(joinedload(Student.group).joinedload(Group.programme))
    if status:
        query = query.where(Student.status == status)
    if not text:
        return []
    if text.isdigit():
        query = query.where(Student.iin.startswith(text))
    else:
        words = [w.lower() for w in text.split()]
        for word in words:
            like = f"{word}%"
            query = query.where(
                or_(
                    func.lower(Student.surname).like(like),
                    func.lower(Student.name).like(like),
                    func.lower(Student.patronymic).like(like),
                    func.lower(Group.name) == word,
                )
            )
    return list(db.session.scalars(query.order_by(Student.surname, Student.name, Student.id).limit(limit)).unique())


def get_visible_student(actor: User, student_id: int) -> Student | None:
    return db.session.scalar(visible_students(actor).where(Student.id == student_id))
