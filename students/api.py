"""The students part of the JSON API: search, and one student with movement history."""

from datetime import date

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from core.clock import today
from core.db import db
from core.errors import error_answers
from core.formatting import as_utc, format_day
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES
from students.history import parse_day, record_on
from students.models import FUNDINGS, STATUSES, Student
from students.operations import get_visible_student, search_students

bp = Blueprint(
    "api_students",
    __name__,
    url_prefix="/api/v1/students",
    description="Students: search, one student with status and movement history, and the record as of a date.",
)
READERS = (*UNIVERSITY_ROLES, "dean")


class UtcDateTime(fields.DateTime):
    """Stored moments are UTC; SQLite hands them back naive, so say so in the output."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(as_utc(value) if value is not None else None, attr, obj, **kwargs)


class StudentSchema(ma.Schema):
    id = fields.Int()
    iin = fields.Str()
    surname = fields.Str()
    name = fields.Str()
    patronymic = fields.Str(allow_none=True)
    full_name = fields.Str()
    email = fields.Str(allow_none=True)
    group_id = fields.Int()
    group = fields.Str(attribute="group.name", metadata={"description": "Group name"})
    programme_code = fields.Str(attribute="group.programme.code")
    language = fields.Str(attribute="group.language", metadata={"description": "Language of instruction"})
    study_form = fields.Str(attribute="group.study_form")
    course = fields.Int()
    status = fields.Str(metadata={"enum": list(STATUSES)})
    funding = fields.Str(metadata={"enum": list(FUNDINGS)})
    expulsion_reason = fields.Str(allow_none=True)
    status_since = fields.Date(allow_none=True)
    faculty_id = fields.Int()


class MovementSchema(ma.Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"description": "Kind of the order that made the change"})
    effective_date = fields.Date()
    changes = fields.Dict(metadata={"description": "What changed: {field: [before, after]}"})
    reason = fields.Str(allow_none=True)
    order_label = fields.Str(allow_none=True, metadata={"description": "Number of the order, e.g. 245-С"})
    order_line_id = fields.Int(allow_none=True)
    created_at = UtcDateTime()


class StudentDetailSchema(StudentSchema):
    movements = fields.List(fields.Nested(MovementSchema), metadata={"description": "Oldest first"})


class StudentSearchArgs(ma.Schema):
    q = fields.Str(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "An IIN or its start, a group name, or words of the full name"},
    )
    status = fields.Str(validate=validate.OneOf(STATUSES))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))


@bp.route("")
@roles_required(*READERS)
@bp.arguments(StudentSearchArgs, location="query")
@bp.response(200, StudentSchema(many=True))
def search(args):
    """Find students by IIN, group or name (a dean finds only students of own faculty)."""
    return search_students(current_user, args["q"], limit=args["limit"], status=args.get("status"))


@bp.route("/<int(max=2147483647):student_id>")
@roles_required(*READERS)
@bp.response(200, StudentDetailSchema)
@error_answers(bp, 403, 404)
def show(student_id: int):
    """One student with status and movement history."""
    if db.session.get(Student, student_id) is None:
        abort(404, message=_("No student with id %(id)s.", id=student_id), errors={"student_id": "unknown"})
    student = get_visible_student(current_user, student_id)
    if student is None:
        abort(403, message=_("This student is not in your faculty."), errors={"student_id": "not visible to you"})
    return student


class Day(fields.Date):
    """A calendar date written exactly as YYYY-MM-DD."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_day(value if isinstance(value, str) else None)
        except ValueError as error:
            raise ma.ValidationError(str(error)) from None


class AsOfArgs(ma.Schema):
    date = Day(load_default=None, metadata={"description": "The day (YYYY-MM-DD, local calendar); today when left out"})
    known_on = Day(
        load_default=None,
        metadata={
            "description": "Answer as it was known at the end of this day (YYYY-MM-DD): orders signed later, and "
            "revocations signed later, are left out; everything known now when left out"
        },
    )


class GroupRefSchema(ma.Schema):
    id = fields.Int(allow_none=True)
    name = fields.Str(allow_none=True)


class RecordAsOfSchema(ma.Schema):
    date = fields.Date()
    status = fields.Str(metadata={"enum": list(STATUSES)})
    course = fields.Int(allow_none=True)
    group = fields.Nested(GroupRefSchema)
    funding = fields.Str(allow_none=True, metadata={"enum": list(FUNDINGS)})
    expulsion_reason = fields.Str(allow_none=True)


@bp.route("/<int(max=2147483647):student_id>/as-of")
@roles_required(*READERS)
@bp.arguments(AsOfArgs, location="query")
@bp.response(200, RecordAsOfSchema)
@error_answers(bp, 403, 404)
def as_of(args, student_id: int):
    """The student's status, course, group, funding and expulsion reason at the end of a date, as known at the end
    of `known_on` (default: now), read from the timeline of movements; 404 before the student was enrolled."""
    if db.session.get(Student, student_id) is None:
        abort(404, message=_("No student with id %(id)s.", id=student_id), errors={"student_id": "unknown"})
    student = get_visible_student(current_user, student_id)
    if student is None:
        abort(403, message=_("This student is not in your faculty."), errors={"student_id": "not visible to you"})
    day: date = args["date"] or today()
    record = record_on(student, day, args["known_on"])
    if record is None:
        abort(
            404,
            message=_("The student was not enrolled on %(day)s.", day=format_day(day)),
            errors={"date": "not enrolled on this date"},
        )
    return record
