"""The state scholarship part of the JSON API: draft an order for chosen faculties and courses, read who is in and
who is out and why."""

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import fields, validate

from core.errors import error_answers
from core.permissions import roles_required
from orders.api import READERS, RefusalSchema, accepted, bulk_draft_answers, load_kind
from orders.kinds.state_scholarship import drafting as bulk
from orders.kinds.state_scholarship.blueprints import api as bp
from orders.kinds.state_scholarship.state_scholarship import StateScholarshipParams
from orders.operations import visible_lines
from students.api import StudentSchema


class ScholarshipDraftArgs(StateScholarshipParams):
    """The state scholarship's parameters (the same schema as `params` of a state_scholarship order, with the
    faculties and courses in scope), the basis and the title."""

    class Meta:
        unknown = ma.RAISE

    basis = fields.Str(required=True, validate=validate.Length(min=1, max=2000))
    title = fields.Str(load_default=None, validate=validate.Length(max=300))


class ScholarshipLineSchema(ma.Schema):
    id = fields.Int()
    student = fields.Nested(StudentSchema)
    outcome = fields.Str(metadata={"enum": ["in", "out"]})
    why = fields.Str()
    reason = fields.Str()
    amount = fields.Int()
    months = fields.List(fields.Str())
    table_from = fields.Str(allow_none=True)
    eligibility = fields.List(fields.Nested(RefusalSchema))


class ScholarshipOutcomesSchema(ma.Schema):
    order_id = fields.Int()
    state = fields.Str()
    academic_year = fields.Str()
    semester = fields.Int()
    counts = fields.Dict()
    lines = fields.List(fields.Nested(ScholarshipLineSchema))


def _outcomes(order) -> dict:
    lines = visible_lines(order, current_user)
    return {
        "order_id": order.id,
        "state": order.state,
        "academic_year": order.params.get("academic_year"),
        "semester": order.params.get("semester"),
        "counts": bulk.summary(order),
        "lines": [
            {
                "id": line.id,
                "student": line.student,
                "outcome": line.params.get("outcome"),
                "why": line.params.get("why"),
                "reason": bulk.reason(line),
                "amount": line.params.get("amount"),
                "months": line.params.get("months", []),
                "table_from": line.params.get("table_from"),
                "eligibility": line.eligibility,
            }
            for line in lines
        ],
    }


@bp.route("/drafts", methods=["POST"])
@roles_required("clerk")
@bp.arguments(
    ScholarshipDraftArgs,
    example={
        "academic_year": "2026-2027",
        "semester": 2,
        "faculties": [1],
        "courses": [],
        "effective_date": "2027-02-01",
        "basis": "Итоги зимней экзаменационной сессии",
    },
)
@bulk_draft_answers(bp, ScholarshipOutcomesSchema)
def draft(args):
    """Draft a state scholarship order with a line for every active state-grant student in scope, each with the
    amount and months or the reason it is not appointed. Bad input: 422 and nothing written. More students in scope
    than the job threshold: 202, the draft created empty and its lines written by a background job."""
    order, job, _started = bulk.ask_scholarship(current_user, args)
    return accepted(job) if job is not None else _outcomes(order)


@bp.route("/<int(max=2147483647):order_id>/outcomes")
@roles_required(*READERS)
@bp.response(200, ScholarshipOutcomesSchema)
@error_answers(bp, 403, 404)
def outcomes(order_id: int):
    """Each line of a state scholarship order: in or out, why, amount and months (a dean: own faculty's lines)."""
    message = _("Order %(id)s is not a state scholarship order.", id=order_id)
    return _outcomes(load_kind(order_id, bulk.KIND, message, "not one"))
