"""Academic data the order rules read: curricula per programme, students' grades, the academic calendar."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db, utcnow
from students.models import Named, Programme, Student, _in

LETTERS = ("A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "FX", "F")
YEAR_LABEL = "length({0}) = 9 AND substr({0}, 5, 1) = '-'"


class CurriculumItem(Named, db.Model):
    """A discipline of a programme's curriculum in one semester."""

    __tablename__ = "curriculum_items"
    __table_args__ = (
        UniqueConstraint("programme_id", "semester", "code", name="uq_curriculum_items_programme_semester_code"),
        CheckConstraint("semester BETWEEN 1 AND 14", name="semester"),
        CheckConstraint("credits BETWEEN 1 AND 30", name="credits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    semester: Mapped[int]
    code: Mapped[str] = mapped_column(String(32))
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    credits: Mapped[int]

    programme: Mapped[Programme] = relationship()


Discipline = CurriculumItem


class Grade(db.Model):
    """A student's final grade in one discipline of one semester; a retake is a separate row."""

    __tablename__ = "grades"
    __table_args__ = (
        UniqueConstraint(
            "student_id",
            "discipline_code",
            "semester",
            "academic_year",
            "is_retake",
            name="uq_grades_student_discipline_attempt",
        ),
        CheckConstraint("points BETWEEN 0 AND 100", name="points"),
        CheckConstraint(_in("letter", LETTERS), name="letter"),
        CheckConstraint("grade_point BETWEEN 0 AND 4", name="grade_point"),
        CheckConstraint("credits BETWEEN 1 AND 30", name="credits"),
        CheckConstraint("semester BETWEEN 1 AND 14", name="semester"),
        CheckConstraint(YEAR_LABEL.format("academic_year"), name="academic_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    discipline_code: Mapped[str] = mapped_column(String(32))
    discipline_name: Mapped[str] = mapped_column(String(300))
    semester: Mapped[int]
    academic_year: Mapped[str] = mapped_column(String(9))
    points: Mapped[int]
    letter: Mapped[str] = mapped_column(String(2))
    grade_point: Mapped[float]
    credits: Mapped[int]
    is_retake: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    student: Mapped[Student] = relationship()


class AcademicCalendar(db.Model):
    """One academic year: two semesters with their sessions, winter and summer holidays, the summer semester.

    The holidays are the windows in which transfers and restorations may take effect.
    """

    __tablename__ = "academic_calendars"
    __table_args__ = (
        CheckConstraint(YEAR_LABEL.format("year"), name="year"),
        CheckConstraint(
            "first_semester_start <= first_session_start AND first_session_start <= first_session_end "
            "AND first_session_end <= first_semester_end",
            name="first_semester",
        ),
        CheckConstraint(
            "first_semester_end < winter_holidays_start AND winter_holidays_start <= winter_holidays_end "
            "AND winter_holidays_end < second_semester_start",
            name="winter_holidays",
        ),
        CheckConstraint(
            "second_semester_start <= second_session_start AND second_session_start <= second_session_end "
            "AND second_session_end <= second_semester_end",
            name="second_semester",
        ),
        CheckConstraint(
            "second_semester_end < summer_holidays_start AND summer_holidays_start <= summer_holidays_end",
            name="summer_holidays",
        ),
        CheckConstraint(
            "summer_semester_start IS NULL OR (summer_semester_end IS NOT NULL AND second_semester_end < "
            "summer_semester_start AND summer_semester_start <= summer_semester_end)",
            name="summer_semester",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[str] = mapped_column(String(9), unique=True)
    first_semester_start: Mapped[date]
    first_session_start: Mapped[date]
    first_session_end: Mapped[date]
    first_semester_end: Mapped[date]
    winter_holidays_start: Mapped[date]
    winter_holidays_end: Mapped[date]
    second_semester_start: Mapped[date]
    second_session_start: Mapped[date]
    second_session_end: Mapped[date]
    second_semester_end: Mapped[date]
    summer_holidays_start: Mapped[date]
    summer_holidays_end: Mapped[date]
    summer_semester_start: Mapped[date | None]
    summer_semester_end: Mapped[date | None]

    def holiday(self, day: date) -> str | None:
        """'winter' or 'summer' when `day` falls in that holiday window, else None."""
        if self.winter_holidays_start <= day <= self.winter_holidays_end:
            return "winter"
        if self.summer_holidays_start <= day <= self.summer_holidays_end:
            return "summer"
        return None


def academic_year_of(day: date) -> str:
    """The label of the academic year a day belongs to, counting from 1 September: 2026-10-01 -> '2026-2027'."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


class StudentDebt(db.Model):
    """A discipline the student must still pass: the academic difference listed by a transfer or restoration order.

    Written when that order is signed (`order_line_id` names its line) and removed if the order is revoked;
    `cleared_on` is set when the grade arrives.
    """

    __tablename__ = "student_debts"
    __table_args__ = (
        UniqueConstraint("student_id", "code", name="uq_student_debts_student_code"),
        CheckConstraint("credits BETWEEN 1 AND 30", name="credits"),
        CheckConstraint("semester BETWEEN 1 AND 14", name="semester"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    # The order lines live in `orders`, a floor above; the key names the table, not the class.
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(300))
    semester: Mapped[int]
    credits: Mapped[int]
    cleared_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
