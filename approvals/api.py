"""The approvals part of the JSON API: fire a trigger on an order, and my inbox."""

import json

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from approvals.inbox import inbox, inbox_count
from core.permissions import roles_required
from orders.api import MAX_ID, OrderDetailSchema, OrderSummarySchema, commit, detail, load_visible, summaries
from orders.models import Order
from orders.operations import UNIVERSITY_ROLES
from workflow.engine import TRIGGERS, Refused, fire

bp = Blueprint("api_approvals", __name__, url_prefix="/api/v1",
               description="Decisions: fire a trigger (submit, approve, return, reject, sign, withdraw); my inbox.")
DECIDERS = (*UNIVERSITY_ROLES, "dean")
# Where a refusal belongs in the request, when not on a line: the field it is about, else its rule's family.
REFUSAL_FIELDS = {"comment.required": "comment", "state.stale": "version", "trigger.unknown": "trigger"}


class FireArgs(ma.Schema):
    trigger = fields.Str(required=True, validate=validate.OneOf(TRIGGERS))
    comment = fields.Str(load_default="", validate=validate.Length(max=4000),
                         metadata={"description": "Required to return or reject"})
    version = fields.Int(strict=True, allow_none=True, validate=validate.Range(min=1, max=MAX_ID), metadata={
        "description": "The order version you decided on; a different current version is refused with 409"})


class InboxArgs(ma.Schema):
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))


class InboxSchema(ma.Schema):
    count = fields.Int(metadata={"description": "How many orders wait for you in all"})
    page = fields.Int()
    page_size = fields.Int()
    items = fields.List(fields.Nested(OrderSummarySchema), metadata={"description": "Longest waiting first"})


def refusal_errors(order: Order, refused: Refused) -> dict[str, list[dict]]:
    """Each refusal as {rule, message, data}, under `lines.<id>` for a line's refusal, else under its field."""
    owner = {}
    for line in order.lines:
        for found in line.eligibility or []:
            owner.setdefault(json.dumps(found, sort_keys=True, default=str), f"lines.{line.id}")
    errors: dict[str, list[dict]] = {}
    for refusal in refused.refusals:
        as_dict = refusal.as_dict()
        key = owner.get(json.dumps(as_dict, sort_keys=True, default=str)) or REFUSAL_FIELDS.get(refusal.rule) \
            or refusal.rule.split(".")[0]
        errors.setdefault(key, []).append(as_dict)
    return errors


@bp.route("/orders/<int(max=2147483647):order_id>/fire", methods=["POST"])
@roles_required(*DECIDERS)
@bp.arguments(FireArgs, example={"trigger": "return", "comment": "Приложите заявление студента", "version": 3})
@bp.response(200, OrderDetailSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def fire_trigger(args, order_id: int):
    """Fire a trigger on an order. Refusals come back as 403 (not yours to decide), 409 (not in this state,
    or changed since you read it) or 422 (a rule failed), each listed as {rule, message, data}."""
    order = load_visible(order_id)
    try:
        fire(order, args["trigger"], current_user, comment=args["comment"], expected_version=args.get("version"))
    except Refused as refused:
        abort(refused.status, message=str(refused), errors=refusal_errors(order, refused))
    commit()
    return detail(order)


@bp.route("/inbox")
@roles_required(*DECIDERS)
@bp.arguments(InboxArgs, location="query")
@bp.response(200, InboxSchema)
def my_inbox(args):
    """Orders waiting for my visa or signature, with their count."""
    size = args["page_size"]
    orders = inbox(current_user, limit=size, offset=(args["page"] - 1) * size)
    return {"count": inbox_count(current_user), "page": args["page"], "page_size": size,
            "items": summaries(orders)}
