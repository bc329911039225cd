"""Finding students, and what a user may see of them."""

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from core.db import db
from core.models import User
from core.scope import faculty_scope
from students.models import Group, Student, students_in_scope


def visible_students(actor: User) -> Select:
    """Students `actor` may see: university roles all, a dean own faculty only (and a substituted dean's),
    everyone else none."""
    query = select(Student).join(Student.group).join(Group.programme)
    return query.where(students_in_scope(faculty_scope(actor)))


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
