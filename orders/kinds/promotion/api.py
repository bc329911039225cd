"""The promotion part of the JSON API: draft a promotion order for a whole scope, read its outcomes, turn the refused
lines into a repeat-year draft and an expulsion draft."""

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import fields, validate

from core.db import db
from core.errors import error_answers
from core.permissions import roles_required
from orders.api import READERS, RefusalSchema, accepted, bulk_draft_answers, load_kind
from orders.kinds.promotion import drafting as bulk
from orders.kinds.promotion.blueprints import api as bp
from orders.kinds.promotion.promotion import PromotionParams
from orders.operations import visible_lines
from students.api import StudentSchema

MAX_ID = 2**31 - 1


class DraftArgs(PromotionParams):
    """The promotion's parameters (the same schema as `params` of a promotion order), the scope, the basis and the
    title."""

    class Meta:
        unknown = ma.RAISE

    faculty_id = fields.Int(load_default=None, allow_none=True, validate=validate.Range(1, MAX_ID))
    programme_id = fields.Int(load_default=None, allow_none=True, validate=validate.Range(1, MAX_ID))
    course = fields.Int(load_default=None, allow_none=True, validate=validate.Range(1, 7))
    basis = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    title = fields.Str(load_default=None, validate=validate.Length(max=300))


class OutcomeLineSchema(ma.Schema):
    id = fields.Int()
    student = fields.Nested(StudentSchema)
    outcome = fields.Str(metadata={"enum": list(bulk.OUTCOMES)})
    reason = fields.Str()
    eligibility = fields.List(fields.Nested(RefusalSchema))


class OutcomesSchema(ma.Schema):
    order_id = fields.Int()
    state = fields.Str()
    academic_year = fields.Str()
    counts = fields.Dict(keys=fields.Str(), values=fields.Int())
    lines = fields.List(fields.Nested(OutcomeLineSchema))
    final_year = fields.List(
        fields.Nested(StudentSchema),
        metadata={"description": "Final-year students of the drafted scope: no lines (graduation is another order)."},
    )


class SplitSchema(ma.Schema):
    promotion = fields.Nested(OutcomesSchema)
    repeat_year_order_id = fields.Int(allow_none=True)
    expulsion_order_id = fields.Int(allow_none=True)


def _outcomes(order) -> dict:
    lines = visible_lines(order, current_user)
    return {
        "order_id": order.id,
        "state": order.state,
        "academic_year": order.params.get("academic_year"),
        "counts": bulk.summary(order),
        "lines": [
            {
                "id": line.id,
                "student": line.student,
                "outcome": bulk.outcome_of(line),
                "reason": bulk.outcome_reason(line),
                "eligibility": line.eligibility,
            }
            for line in lines
        ],
        "final_year": list(db.session.scalars(bulk.final_year_students(order, current_user))),
    }


def _load_promotion(order_id: int):
    return load_kind(
        order_id, "promotion", _("Order %(id)s is not a course promotion.", id=order_id), "not a promotion"
    )


@bp.route("/drafts", methods=["POST"])
@roles_required("clerk")
@bp.arguments(
    DraftArgs,
    example={
        "academic_year": "2025-2026",
        "faculty_id": 1,
        "course": 1,
        "effective_date": "2026-09-01",
        "basis": "Итоги летней экзаменационной сессии",
    },
)
@bulk_draft_answers(bp, OutcomesSchema)
def draft(args):
    """Draft a promotion order with a line for every active student in scope, each line checked and sorted into
    an outcome: promote, repeat_year, expulsion or blocked. Bad input: 422 and nothing written. More students in
    scope than the job threshold: 202, the draft created empty and its lines written by a background job."""
    order, job, _started = bulk.ask_promotion(current_user, args)
    return accepted(job) if job is not None else _outcomes(order)


@bp.route("/<int(max=2147483647):order_id>/outcomes")
@roles_required(*READERS)
@bp.response(200, OutcomesSchema)
@error_answers(bp, 403, 404)
def outcomes(order_id: int):
    """Each line of a promotion order with its outcome and the reason (a dean: own faculty's lines)."""
    return _outcomes(_load_promotion(order_id))


@bp.route("/<int(max=2147483647):order_id>/split", methods=["POST"])
@roles_required("clerk")
@bp.response(201, SplitSchema)
@error_answers(bp, 403, 404, 409)
def split(order_id: int):
    """Move the lines refused for their results out of the promotion draft into one repeat-year draft (ground:
    promotion refused) and one expulsion draft (academic failure)."""
    order = _load_promotion(order_id)
    repeat, expulsion = bulk.split_refused(order, current_user)
    return {
        "promotion": _outcomes(order),
        "repeat_year_order_id": repeat.id if repeat else None,
        "expulsion_order_id": expulsion.id if expulsion else None,
    }
