"""Student search and the student page with status and movement history."""

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from core.db import db
from core.permissions import roles_required
from students.models import Student
from students.operations import UNIVERSITY_ROLES, get_visible_student, search_students

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
    return render_template("students/show.html", student=student)
