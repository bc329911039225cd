"""Student search and the student page with status, movement history and the record as of a date."""

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from core.clock import today
from core.db import db
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES
from students.categories import categories_of
from students.difference import debts_of
from students.history import parse_day, record_on
from students.models import Student
from students.operations import get_visible_student, search_students
from students.timeline import scheduled_movements

bp = Blueprint("students", __name__, url_prefix="/students")


@bp.route("/")
@roles_required(*UNIVERSITY_ROLES, "dean")
def index():
    text = request.args.get("q", "")[:100]
    students = search_students(current_user, text) if text else []
    return render_template("students/index.html", students=students, q=text)


@bp.route("/<int:student_id>")
@roles_required(*UNIVERSITY_ROLES, "dean")
def show(student_id: int):
    if db.session.get(Student, student_id) is None:
        abort(404)
    student = get_visible_student(current_user, student_id)
    if student is None:
        abort(403)
    text = request.args.get("date", "")[:20].strip()
    known_text = request.args.get("known_on", "")[:20].strip()
    page = {
        "student": student,
        "debts": debts_of(student),
        "categories": categories_of(student),
        "scheduled": scheduled_movements(student.id),
        "known_text": known_text,
    }
    try:
        day = parse_day(text) if text else today()
        known_on = parse_day(known_text) if known_text else None
    except ValueError as error:
        return render_template("students/show.html", **page, as_of=None, as_of_text=text, as_of_error=str(error)), 400
    return render_template(
        "students/show.html",
        **page,
        as_of=record_on(student, day, known_on),
        as_of_day=day,
        as_of_text=day.isoformat(),
        as_of_error=None,
    )
