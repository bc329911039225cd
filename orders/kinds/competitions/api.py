"""The ranking part of the JSON API: the ranking of a vacant grant or a President's / personal scholarship order,
the bulk additions (paid students of a programme and course; scholarship candidates), and the council's ranking list
as XLSX or DOCX."""

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort
from marshmallow import fields, validate

from core.clock import today
from core.errors import error_answers
from core.permissions import roles_required
from orders import ranking
from orders.api import READERS, load_visible
from orders.kinds.competitions import drafting, ranking_list
from orders.kinds.competitions.blueprints import api as bp
from orders.kinds.competitions.views import DOCX, KINDS, XLSX, send_ranking
from orders.operations import InvalidInput, visible_lines

MAX_ID = 2**31 - 1


class RowSchema(ma.Schema):
    rank = fields.Int(allow_none=True)
    name = fields.Str()
    iin = fields.Str()
    group = fields.Str()
    gpa = fields.Float(allow_none=True)
    klass = fields.Int(
        allow_none=True,
        data_key="tie_class",
        metadata={"description": "0 only A/A-, 1 only A..B-, 2 mixed (the tie-break order)"},
    )
    outcome = fields.Str(metadata={"enum": ["in", "out"]})
    reason = fields.Str(metadata={"description": "Why the line is out, in Russian as in the ranking list"})
    tie = fields.Bool(metadata={"description": "Equal merit on the cut line: the council decides"})


class SectionSchema(ma.Schema):
    key = fields.Str(metadata={"description": "programme code:course, or 'university' for a scholarship"})
    title = fields.Str()
    places = fields.Int(allow_none=True)
    rows = fields.List(fields.Nested(RowSchema))


class RankingSchema(ma.Schema):
    order_id = fields.Int()
    kind = fields.Str()
    state = fields.Str()
    next_deadline = fields.Date(allow_none=True, metadata={"description": "Vacant grants: the next ministry deadline"})
    sections = fields.List(fields.Nested(SectionSchema))


class AddArgs(ma.Schema):
    programme_id = fields.Int(
        load_default=None, validate=validate.Range(1, MAX_ID), metadata={"description": "Vacant grant: the programme"}
    )
    course = fields.Int(
        load_default=None, validate=validate.Range(1, 7), metadata={"description": "Vacant grant: the course"}
    )
    faculty_id = fields.Int(
        load_default=None,
        allow_none=True,
        validate=validate.Range(1, MAX_ID),
        metadata={"description": "Scholarship: only this faculty's candidates"},
    )


def _load(order_id: int):
    order = load_visible(order_id)
    if order.kind not in KINDS:
        abort(
            404, message=_("Order %(id)s is not a competitive order.", id=order_id), errors={"order_id": "not ranked"}
        )
    return order


def _ranking(order) -> dict:
    return {
        "order_id": order.id,
        "kind": order.kind,
        "state": order.state,
        "next_deadline": ranking.next_deadline(today()) if order.kind == "vacant_grant" else None,
        "sections": ranking_list.sections(order, visible_lines(order, current_user)),
    }


@bp.route("/<int(max=2147483647):order_id>")
@roles_required(*READERS)
@bp.response(200, RankingSchema)
@error_answers(bp, 403, 404)
def show(order_id: int):
    """The ranking by competition, each line with its outcome and reason (a dean: own faculty's lines)."""
    return _ranking(_load(order_id))


@bp.route("/<int(max=2147483647):order_id>/add", methods=["POST"])
@roles_required("clerk")
@bp.arguments(AddArgs, example={"programme_id": 3, "course": 2})
@bp.response(201, RankingSchema)
@error_answers(bp, 403, 404)
def add(args, order_id: int):
    """Vacant grant: add every active paid student of a programme and course. Scholarship: add every active student
    of an eligible course with only A and A- in the academic year (optionally of one faculty). Lines are ranked."""
    order = _load(order_id)
    if order.kind == "vacant_grant":
        if args["programme_id"] is None or args["course"] is None:
            raise InvalidInput({"course": "Give programme_id and course."})
        drafting.add_paid_students(order, args["programme_id"], args["course"], current_user)
    else:
        drafting.add_scholarship_candidates(order, current_user, args["faculty_id"])
    return _ranking(order)


@bp.route("/<int(max=2147483647):order_id>/ranking.xlsx")
@roles_required(*READERS)
@bp.response(200, content_type=XLSX)
@bp.alt_response(403, response="FORBIDDEN")
def export_xlsx(order_id: int):
    """The council's ranking list as a workbook."""
    return send_ranking(_load(order_id), "xlsx")


@bp.route("/<int(max=2147483647):order_id>/ranking.docx")
@roles_required(*READERS)
@bp.response(200, content_type=DOCX)
@bp.alt_response(403, response="FORBIDDEN")
def export_docx(order_id: int):
    """The council's ranking list as a Word document."""
    return send_ranking(_load(order_id), "docx")
