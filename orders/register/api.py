"""The scholarship register in the JSON API: the same rows as the page, for the finance office's systems."""

import marshmallow as ma
from flask import request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from core.permissions import roles_required
from orders.register import payments
from orders.registry import PAYING_NAMES

bp = Blueprint(
    "api_register",
    __name__,
    url_prefix="/api/v1/register",
    description="The scholarship register: payments by month, derived from signed orders and movements.",
)
MAX_PER_PAGE = 5000


class RegisterArgs(ma.Schema):
    month = fields.Str(load_default=None, metadata={"description": "YYYY-MM: one month (default: the current)"})
    month_from = fields.Str(load_default=None, metadata={"description": "YYYY-MM: the first month of a range"})
    month_to = fields.Str(load_default=None, metadata={"description": "YYYY-MM: the last month of a range"})
    faculty_id = fields.Str(load_default=None, metadata={"description": "a faculty id"})
    kind = fields.Str(load_default=None, metadata={"enum": PAYING_NAMES})
    q = fields.Str(load_default=None, metadata={"description": "student name words or IIN (start)"})
    status = fields.Str(load_default=None, metadata={"enum": list(payments.STATUSES)})
    page = fields.Int(load_default=1, validate=validate.Range(1, 10**6))
    per_page = fields.Int(load_default=500, validate=validate.Range(1, MAX_PER_PAGE))


class PaymentRowSchema(ma.Schema):
    month = fields.Str()
    student_id = fields.Int()
    student = fields.Str()
    iin = fields.Str()
    faculty_id = fields.Int()
    faculty = fields.Str()
    group = fields.Str()
    kind = fields.Str()
    order_id = fields.Int()
    order_label = fields.Str()
    order_date = fields.Str(allow_none=True)
    line_id = fields.Int()
    amount = fields.Int(metadata={"description": "KZT the order pays for a full month (one-off: the payment)"})
    paid = fields.Int(metadata={"description": "KZT paid for this month"})
    status = fields.Str(metadata={"enum": list(payments.STATUSES)})
    days_paid = fields.Int()
    days = fields.Int()
    note = fields.Str(metadata={"description": "why a payment is reduced, suspended or stopped"})


class RegisterSchema(ma.Schema):
    month_from = fields.Str()
    month_to = fields.Str()
    page = fields.Int()
    per_page = fields.Int()
    total = fields.Int(metadata={"description": "rows matching the filters, on every page"})
    totals = fields.Dict(metadata={"description": "paid, due, rows, students, by_month, by_kind (KZT)"})
    rows = fields.List(fields.Nested(PaymentRowSchema))


@bp.route("")
@roles_required(*payments.READER_ROLES)
@bp.arguments(RegisterArgs, location="query")
@bp.response(200, RegisterSchema)
@bp.alt_response(403, response="FORBIDDEN")
def register(args):
    """Payment rows of the months asked for (finance, registrar, clerk, rector: the whole university; a dean:
    own faculty). Bad filters: 422 with the field."""
    faculties = payments.register_scope(current_user)
    flt, errors = payments.parse_filter(request.args, faculties)
    if errors:
        abort(422, message=_("The filters are not valid; see errors."), errors=errors)
    result = payments.build_register(flt, faculties, str(get_locale()))
    page, per_page = args["page"], args["per_page"]
    rows = result.rows[(page - 1) * per_page : page * per_page]
    return {
        "month_from": f"{flt.month_from:%Y-%m}",
        "month_to": f"{flt.month_to:%Y-%m}",
        "page": page,
        "per_page": per_page,
        "total": len(result.rows),
        "totals": result.totals,
        "rows": [row.as_dict() for row in rows],
    }
