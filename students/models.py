"""Faculties, programmes, groups, students and the movement history written by signed orders."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db, utcnow

LEVELS = ("bachelor", "master", "doctoral")
STUDY_FORMS = ("full_time", "part_time")
LANGUAGES = ("kk", "ru", "en")
# incoming: a student transferring in from another university, created with the draft; active once it is signed
STATUSES = ("active", "academic_leave", "expelled", "graduated", "incoming")
FUNDINGS = ("grant", "paid", "none")  # none: a grant that ended (expulsion)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Faculty(db.Model):
    __tablename__ = "faculties"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))

    programmes: Mapped[list["Programme"]] = relationship(back_populates="faculty")

    def name(self, language: str = "ru") -> str:
        return getattr(self, f"name_{language}", None) or self.name_ru


class Programme(db.Model):
    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint(_in("level", LEVELS), name="level"),
        CheckConstraint("duration_years BETWEEN 1 AND 7", name="duration_years"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(16))
    duration_years: Mapped[int]
    faculty_id: Mapped[int] = mapped_column(ForeignKey("faculties.id"), index=True)

    faculty: Mapped[Faculty] = relationship(back_populates="programmes")

    def name(self, language: str = "ru") -> str:
        return getattr(self, f"name_{language}", None) or self.name_ru


class Group(db.Model):
    __tablename__ = "groups"
    __table_args__ = (
        CheckConstraint(_in("language", LANGUAGES), name="language"),
        CheckConstraint(_in("study_form", STUDY_FORMS), name="study_form"),
        CheckConstraint("course BETWEEN 1 AND 7", name="course"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    course: Mapped[int]
    language: Mapped[str] = mapped_column(String(2))
    study_form: Mapped[str] = mapped_column(String(16))

    programme: Mapped[Programme] = relationship(lazy="joined")


class Student(db.Model):
    __tablename__ = "students"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("funding", FUNDINGS), name="funding"),
        CheckConstraint("length(iin) = 12", name="iin_length"),
        CheckConstraint("course BETWEEN 1 AND 7", name="course"),
        Index("ix_students_surname_name", "surname", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True)
    surname: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    course: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="active")
    funding: Mapped[str] = mapped_column(String(8))
    expulsion_reason: Mapped[str | None] = mapped_column(String(32))
    status_since: Mapped[date | None]
    leave_ground: Mapped[str | None] = mapped_column(String(32))  # while on academic leave
    leave_start: Mapped[date | None]
    leave_end: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    group: Mapped[Group] = relationship(lazy="joined")
    movements: Mapped[list["StudentMovement"]] = relationship(back_populates="student", order_by="StudentMovement.id")

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.name, self.patronymic) if p)

    @property
    def faculty_id(self) -> int:
        return self.group.programme.faculty_id

    @property
    def language(self) -> str:
        return self.group.language


class StudentMovement(db.Model):
    """One change of a student's record, written by the order line that caused it. Append-only."""

    __tablename__ = "student_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    # The order lines live in `orders`, a floor above; the key names the table, not the class.
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    effective_date: Mapped[date]
    changes: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(32))
    order_label: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    student: Mapped[Student] = relationship(back_populates="movements")

    __table_args__ = (UniqueConstraint("order_line_id", "student_id", name="uq_student_movements_line_student"),)


def students_in_scope(faculties: set[int] | None) -> ColumnElement[bool]:
    """Students of the faculties seen (core.scope.faculty_scope: None for the whole university)."""
    if faculties is None:
        return true()
    if not faculties:
        return false()
    groups = select(Group.id).join(Programme, Programme.id == Group.programme_id)
    return Student.group_id.in_(groups.where(Programme.faculty_id.in_(faculties)))
