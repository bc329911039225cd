"""Social categories a student's record carries, each with the supporting document and the dates it holds:
orphan (or left without parental care), visual disability, hearing disability. A state scholarship asks these
students only for no academic debt (DESIGN.md section 2). The student page lets a clerk (or the dean of the
student's faculty) add a category and end one."""

from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core.db import db, utcnow
from core.errors import InvalidInput, redirect_refusals_to
from core.models import User
from core.permissions import roles_required
from students.models import Student, _in
from students.operations import get_visible_student

CATEGORIES = ("orphan", "visual_disability", "hearing_disability")
CATEGORY_LABELS = {
    "orphan": _l("orphan or left without parental care"),
    "visual_disability": _l("visual disability"),
    "hearing_disability": _l("hearing disability"),
}
EDITORS = ("clerk", "dean")


class StudentCategory(db.Model):
    __tablename__ = "student_categories"
    __table_args__ = (
        CheckConstraint(_in("category", CATEGORIES), name="category"),
        CheckConstraint("valid_to IS NULL OR valid_from <= valid_to", name="dates"),
        Index("ix_student_categories_student_id_category", "student_id", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    document: Mapped[str] = mapped_column(Text)  # the supporting document: kind, number, date, issuer
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    student: Mapped[Student] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS.get(self.category, self.category))


def categories_on(student_ids, day: date) -> dict[int, set[str]]:
    """The categories valid on `day` per student id (only students that have one), in one query. `student_ids` may
    be a list or a subquery selecting ids."""
    rows = db.session.execute(
        select(StudentCategory.student_id, StudentCategory.category).where(
            StudentCategory.student_id.in_(student_ids),
            StudentCategory.valid_from <= day,
            or_(StudentCategory.valid_to.is_(None), StudentCategory.valid_to >= day),
        )
    )
    result: dict[int, set[str]] = {}
    for student_id, category in rows:
        result.setdefault(student_id, set()).add(category)
    return result


def categories_of(student: Student) -> list[StudentCategory]:
    return list(
        db.session.scalars(
            select(StudentCategory)
            .where(StudentCategory.student_id == student.id)
            .order_by(StudentCategory.valid_from.desc(), StudentCategory.id.desc())
        )
    )


# Operations ------------------------------------------------------------------------------------------------------


class CategoryError(InvalidInput):
    """Bad input for a category; the message says why."""

    def __init__(self, message: str):
        super().__init__({}, message=message)


def add_category(
    student: Student, category: str, document: str, valid_from: date, valid_to: date | None, actor: User
) -> StudentCategory:
    document = (document or "").strip()
    if category not in CATEGORIES:
        raise CategoryError(_("Choose the category: %(c)s.", c=", ".join(CATEGORIES)))
    if not document:
        raise CategoryError(_("Name the supporting document (kind, number, date, issued by)."))
    if valid_to is not None and valid_to < valid_from:
        raise CategoryError(_("The category cannot end before it starts."))
    overlap = [
        StudentCategory.student_id == student.id,
        StudentCategory.category == category,
        or_(StudentCategory.valid_to.is_(None), StudentCategory.valid_to >= valid_from),
    ]
    if valid_to is not None:
        overlap.append(StudentCategory.valid_from <= valid_to)
    overlapping = db.session.scalar(select(StudentCategory.id).where(*overlap).limit(1))
    if overlapping is not None:
        raise CategoryError(
            _("%(name)s already has this category for part of these dates; end it first.", name=student.full_name)
        )
    row = StudentCategory(
        student_id=student.id,
        category=category,
        document=document,
        valid_from=valid_from,
        valid_to=valid_to,
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    return row


def end_category(row: StudentCategory, valid_to: date) -> StudentCategory:
    if valid_to < row.valid_from:
        raise CategoryError(_("The category cannot end before it starts."))
    row.valid_to = valid_to
    return row


# The clerk's part of the student page ------------------------------------------------------------------------


class CategoryForm(FlaskForm):
    category = SelectField(_l("Category"), choices=[(c, CATEGORY_LABELS[c]) for c in CATEGORIES])
    document = TextAreaField(
        _l("Supporting document"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("e.g. a certificate of the medical and social expertise: number, date, issued by."),
    )
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    valid_to = DateField(_l("Valid to"), validators=[Optional()], description=_l("Empty: without an end date."))


class EndCategoryForm(FlaskForm):
    valid_to = DateField(_l("Valid to"), validators=[InputRequired()])


bp = Blueprint("categories", __name__, url_prefix="/students")


@bp.app_context_processor
def _helpers() -> dict:
    """For `templates/students/categories.html`, included by the student page."""
    return {"category_form": CategoryForm, "end_category_form": EndCategoryForm, "category_editors": EDITORS}


def _student(student_id: int) -> Student:
    if db.session.get(Student, student_id) is None:
        abort(404)
    student = get_visible_student(current_user, student_id)
    if student is None:
        abort(403)
    return student


@bp.route("/<int:student_id>/categories", methods=["POST"])
@roles_required(*EDITORS)
def add(student_id: int):
    student = _student(student_id)
    form = CategoryForm()
    if not form.validate_on_submit():
        for field in form:
            for error in field.errors:
                flash(f"{field.label.text}: {error}", "error")
        return redirect(url_for("students.show", student_id=student.id)), 303
    redirect_refusals_to(url_for("students.show", student_id=student.id), 303)
    add_category(
        student, form.category.data, form.document.data, form.valid_from.data, form.valid_to.data, current_user
    )
    flash(_("Category added."), "success")
    return redirect(url_for("students.show", student_id=student.id)), 303


@bp.route("/<int:student_id>/categories/<int:category_id>/end", methods=["POST"])
@roles_required(*EDITORS)
def end(student_id: int, category_id: int):
    student = _student(student_id)
    row = db.session.get(StudentCategory, category_id)
    if row is None or row.student_id != student.id:
        abort(404)
    form = EndCategoryForm()
    if not form.validate_on_submit():
        flash(_("Give the date the category ends."), "error")
        return redirect(url_for("students.show", student_id=student.id)), 303
    redirect_refusals_to(url_for("students.show", student_id=student.id), 303)
    end_category(row, form.valid_to.data)
    flash(_("Category ended."), "success")
    return redirect(url_for("students.show", student_id=student.id)), 303
