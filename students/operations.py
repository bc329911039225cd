"""Finding students, and what a user may see of them."""

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import joinedload

from core.db import db
from core.models import User
from core.scope import faculty_scope
from students.models import Group, Programme, Student, students_in_scope


def visible_students(actor: User) -> Select:
    """Students `actor` may see: university roles all, a dean own faculty only (and a substituted dean's),
    everyone else none."""
    query = select(Student).join(Student.group).join(Group.programme)
    return query.where(students_in_scope(faculty_scope(actor)))


def name_or_iin(text: str) -> ColumnElement[bool] | None:
    """Students whose IIN starts with `text` (digits), or each of whose words starts a part of the full name;
    None for an empty text."""
    text = " ".join(text.split())
    if not text:
        return None
    if text.isdigit():
        return Student.iin.startswith(text)
    return and_(
        *(
            or_(
                func.lower(Student.surname).like(f"{word}%"),
                func.lower(Student.name).like(f"{word}%"),
                func.lower(Student.patronymic).like(f"{word}%"),
            )
            for word in text.lower().split()
        )
    )


def find_students(
    actor: User,
    text: str = "",
    *,
    faculty_id: int | None = None,
    course: int | None = None,
    status: str | None = None,
    funding: str | None = None,
) -> Select:
    """The students `actor` sees matching an IIN (or its start), a group name, or words of the full name, and the
    filters given, in name order (a query: page it or export it)."""
    query = visible_students(actor).options(
        joinedload(Student.group).joinedload(Group.programme).joinedload(Programme.faculty)
    )
    text = " ".join(text.split())
    if text.isdigit():
        query = query.where(Student.iin.startswith(text))
    elif text:
        for word in text.lower().split():
            query = query.where(or_(name_or_iin(word), func.lower(Group.name) == word))
    if faculty_id is not None:
        query = query.where(Programme.faculty_id == faculty_id)
    if course is not None:
        query = query.where(Student.course == course)
    if status:
        query = query.where(Student.status == status)
    if funding:
        query = query.where(Student.funding == funding)
    return query.order_by(Student.surname, Student.name, Student.id)


def search_students(actor: User, text: str, *, limit: int = 50, status: str | None = None) -> list[Student]:
    """Students matching an IIN (or its start), a group name, or words of the full name (none for no text)."""
    if not text.strip():
        return []
    return list(db.session.scalars(find_students(actor, text, status=status).limit(limit)).unique())


def get_visible_student(actor: User, student_id: int) -> Student | None:
    return db.session.scalar(visible_students(actor).where(Student.id == student_id))
