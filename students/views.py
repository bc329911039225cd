"""Student search and the student page with status, movement history and the record as of a date."""

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.clock import today
from core.db import db
from core.labels import label
from core.paging import paginate
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES, faculty_scope
from core.xlsx import back_to_search, refused_if_too_many, sheet_download
from students.categories import categories_of
from students.difference import debts_of
from students.history import parse_day, record_on
from students.models import FUNDINGS, STATUSES, Faculty, Student
from students.operations import find_students, get_visible_student
from students.timeline import scheduled_movements

bp = Blueprint("students", __name__, url_prefix="/students")


COURSES = range(1, 8)


def _filters(args) -> tuple[dict, dict]:
    """The search as typed ({text, faculty_id, course, status, funding}) and what was wrong with it."""
    errors = {}
    found = {
        "text": args.get("q", "")[:100],
        "status": args.get("status", "") if args.get("status", "") in STATUSES else None,
        "funding": args.get("funding", "") if args.get("funding", "") in FUNDINGS else None,
        "faculty_id": None,
        "course": None,
    }
    for name, arg, message in (
        ("faculty_id", "faculty", _("Choose a faculty from the list.")),
        ("course", "course", _("Choose a course from the list.")),
    ):
        text = args.get(arg, "").strip()
        if text.isdigit() and int(text) < 2**31:
            found[name] = int(text)
        elif text:
            errors[arg] = message
    return found, errors


def _faculties() -> list[tuple[int, str]]:
    scope = faculty_scope(current_user)
    query = select(Faculty).order_by(Faculty.code)
    if scope is not None:
        query = query.where(Faculty.id.in_(scope))
    language = str(get_locale())
    return [(faculty.id, f"{faculty.code} — {faculty.name(language)}") for faculty in db.session.scalars(query)]


@bp.route("/")
@roles_required(*UNIVERSITY_ROLES, "dean")
def index():
    filters, errors = _filters(request.args)
    page = None if errors else paginate(find_students(current_user, **filters), request.args.get("page"))
    return render_template(
        "students/index.html",
        page=page,
        q=filters["text"],
        filters=filters,
        errors=errors,
        faculties=_faculties(),
        courses=COURSES,
        statuses=STATUSES,
        fundings=FUNDINGS,
    ), (400 if errors else 200)


def _cells(student: Student) -> list:
    group = student.group
    return [
        student.full_name,
        student.iin,
        group.programme.faculty.code,
        f"{group.programme.code} {group.programme.name(str(get_locale()))}",
        group.name,
        student.course,
        label(student.status),
        label(student.funding),
    ]


@bp.route("/students.xlsx")
@roles_required(*UNIVERSITY_ROLES, "dean")
def export():
    filters, errors = _filters(request.args)
    if errors:
        return back_to_search(" ".join(errors.values()))
    query = find_students(current_user, **filters)
    if refused := refused_if_too_many(
        query,
        _("%(total)s students match; a spreadsheet holds at most %(limit)s. Narrow the search (faculty, course)."),
    ):
        return refused
    headers = [_("Name"), _("IIN"), _("Faculty"), _("Programme"), _("Group"), _("Course"), _("Status"), _("Funding")]
    rows = (_cells(student) for student in db.session.scalars(query.execution_options(yield_per=1000)))
    return sheet_download(_("Students"), headers, rows, "students")


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
