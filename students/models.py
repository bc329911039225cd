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


class Named:
    """A row named in the three languages: `name(language)` is the name in it, else the Russian one."""

    def name(self, language: str = "ru") -> str:
        return getattr(self, f"name_{language}", None) or self.name_ru


class Faculty(Named, db.Model):
    __tablename__ = "faculties"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_kk: Mapped[str] = mapped_column(String(200))
    name_ru: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))

    programmes: Mapped[list["Programme"]] = relationship(back_populates="faculty")


class Programme(Named, db.Model):
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
    """One change of a student's record, written by the order line that caused it when the order is signed.

    Two times: `effective_date` (valid from, a local date) and `known_since` (the signing). `applied_at` is when the
    change reached the current record (the signing, or the scheduler's pass on the effective day; NULL while it is
    scheduled); `record_after` holds the columns it writes then. `voided_at` is the signing of the revocation or
    amendment that voided it. Otherwise append-only. See `students/timeline.py`.
    """

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
    known_since: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    record_after: Mapped[dict | None] = mapped_column(JSON)

    student: Mapped[Student] = relationship(back_populates="movements")

    __table_args__ = (
        UniqueConstraint("order_line_id", "student_id", name="uq_student_movements_line_student"),
        # The scheduler's pass looks for effects not applied yet: a partial index would do on PostgreSQL only.
        Index("ix_student_movements_applied_at_effective_date", "applied_at", "effective_date"),
    )

    @property
    def scheduled(self) -> bool:
        return self.applied_at is None and self.voided_at is None


# The fields of the record the timeline keeps: what "the record of a student on a date" answers.
TIMELINE_FIELDS = ("status", "course", "group_id", "funding", "expulsion_reason")


class RecordChange(db.Model):
    """One field of a student's record set to a value from a date, known since a moment: the timeline's row.

    A movement writes one row per field it sets; an enrolment (import, transfer in, demo seed) writes one row per
    field with no movement. Values are text (course and group id as digits); NULL is a value (no expulsion reason).
    """

    __tablename__ = "record_changes"
    __table_args__ = (
        CheckConstraint(_in("field", TIMELINE_FIELDS), name="field"),
        Index("ix_record_changes_student_id_field_effective_date", "student_id", "field", "effective_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("student_movements.id"), index=True)
    field: Mapped[str] = mapped_column(String(16))
    value: Mapped[str | None] = mapped_column(String(32))
    effective_date: Mapped[date]
    known_since: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]


def students_in_scope(faculties: set[int] | None) -> ColumnElement[bool]:
    """Students of the faculties seen (core.scope.faculty_scope: None for the whole university)."""
    if faculties is None:
        return true()
    if not faculties:
        return false()
    groups = select(Group.id).join(Programme, Programme.id == Group.programme_id)
    return Student.group_id.in_(groups.where(Programme.faculty_id.in_(faculties)))
