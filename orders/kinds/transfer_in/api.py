"""The transfer-in part of the JSON API: add an incoming student, with the transcript, to a transfer-in draft."""

import marshmallow as ma
from flask_login import current_user
from marshmallow import fields, validate

from core.errors import error_answers
from core.permissions import roles_required
from orders.api import OrderDetailSchema, detail, load_visible
from orders.kinds.transfer_in.blueprints import api as bp
from orders.kinds.transfer_in.incoming import TRANSCRIPT_MAX, add_incoming


class TranscriptRowSchema(ma.Schema):
    """Loose on purpose: each row's values are checked by the operation, which names the row and the problem."""

    code = fields.Raw(required=True, metadata={"description": "Discipline code"})
    name = fields.Raw(required=True, metadata={"description": "Discipline name"})
    semester = fields.Raw(required=True, metadata={"description": "1..14"})
    credits = fields.Raw(required=True, metadata={"description": "1..30"})
    points = fields.Raw(required=True, metadata={"description": "0..100; the letter is computed from them"})
    academic_year = fields.Raw(metadata={"description": "e.g. 2025-2026; default: the year of the effective date"})


class IncomingArgs(ma.Schema):
    iin = fields.Str(required=True, validate=validate.Length(max=32))
    surname = fields.Str(required=True, validate=validate.Length(max=200))
    name = fields.Str(required=True, validate=validate.Length(max=200))
    patronymic = fields.Str(allow_none=True, validate=validate.Length(max=200))
    email = fields.Str(allow_none=True, validate=validate.Length(max=254))
    previous_university = fields.Str(required=True, validate=validate.Length(max=400))
    group = fields.Str(required=True, validate=validate.Length(max=64), metadata={"description": "Target group name"})
    funding = fields.Str(required=True, metadata={"enum": ["grant", "paid"]})
    grant_tied = fields.Bool(
        load_default=False,
        metadata={
            "description": "The grant is tied to the previous university or is a pedagogical-quota grant: paid here"
        },
    )
    transcript = fields.List(
        fields.Nested(TranscriptRowSchema, unknown=ma.EXCLUDE),
        required=True,
        validate=validate.Length(min=1, max=TRANSCRIPT_MAX),
    )


@bp.route("/<int(max=2147483647):order_id>/incoming", methods=["POST"])
@roles_required("clerk")
@bp.arguments(
    IncomingArgs,
    example={
        "iin": "040315512343",
        "surname": "Омарова",
        "name": "Дана",
        "previous_university": "КазНУ им. аль-Фараби",
        "group": "IT-21",
        "funding": "grant",
        "grant_tied": False,
        "transcript": [{"code": "MAT101", "name": "Математика", "semester": 1, "credits": 5, "points": 88}],
    },
)
@bp.response(201, OrderDetailSchema)
@error_answers(bp, 403, 404, 409)
def add(args, order_id: int):
    """Create the incoming student (status incoming) with the transcript as grades and add their line to the
    transfer-in draft. All or nothing: every bad field is named (transcript rows as transcript.<n>)."""
    order = load_visible(order_id)
    add_incoming(order, args, current_user)
    return detail(order)
