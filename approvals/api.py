"""The approvals part of the JSON API: fire a trigger on an order, and my inbox."""

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from approvals import diagram
from approvals.inbox import (
    BULK_TRIGGERS,
    DATE_FIELDS,
    MAX_PAGE_SIZE,
    SORTS,
    VIEWS,
    Filters,
    bulk_decide,
    inbox_page,
)
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES
from orders import jobs
from orders.api import (
    ACCEPTED,
    MAX_ID,
    AcceptedSchema,
    OrderDetailSchema,
    OrderSummarySchema,
    RefusalSchema,
    UserBriefSchema,
    With,
    accepted,
    detail,
    job_json,
    load_visible,
)
from orders.registry import KINDS, NAMES
from students.api import UtcDateTime
from workflow.engine import TRIGGERS, acting_for_in, fire, legal_triggers, route_of

bp = Blueprint(
    "api_approvals",
    __name__,
    url_prefix="/api/v1",
    description="Decisions: fire a trigger (submit, approve, return, reject, sign, withdraw); my inbox.",
)
DECIDERS = (*UNIVERSITY_ROLES, "dean")


class FireArgs(ma.Schema):
    trigger = fields.Str(required=True, validate=validate.OneOf(TRIGGERS))
    comment = fields.Str(
        load_default="", validate=validate.Length(max=4000), metadata={"description": "Required to return or reject"}
    )
    version = fields.Int(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The order version you decided on; a different current version is refused with 409"},
    )


class InboxArgs(ma.Schema):
    view = fields.Str(
        load_default="waiting",
        validate=validate.OneOf(VIEWS),
        metadata={
            "description": "waiting (for me, also as substitute), overdue, returned (to me, the author), history "
            "(orders I decided, newest first)"
        },
    )
    kind = fields.Str(metadata={"enum": NAMES})
    faculty_id = fields.Int(
        validate=validate.Range(min=1, max=MAX_ID), metadata={"description": "Orders having a line of this faculty"}
    )
    date_field = fields.Str(load_default="updated", validate=validate.OneOf(DATE_FIELDS))
    date_from = fields.Date(metadata={"description": "Local date, inclusive"})
    date_to = fields.Date(metadata={"description": "Local date, inclusive"})
    q = fields.Str(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "Order number (or #id), title, or a student's name or IIN"},
    )
    sort = fields.Str(
        validate=validate.OneOf(SORTS),
        metadata={
            "description": "updated, due, number; decided (history only). Default: updated (longest waiting first) "
            "for waiting, due for overdue, "
            "updated for returned, decided for history"
        },
    )
    direction = fields.Str(validate=validate.OneOf(("asc", "desc")))
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Int(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))

    @ma.validates("kind")
    def _known_kind(self, value: str, **kwargs) -> None:
        """Checked when a request is read, against every kind registered by then."""
        if value not in KINDS:
            raise ma.ValidationError(f"Must be one of: {', '.join(KINDS)}.")


class InboxItemSchema(OrderSummarySchema):
    due_at = UtcDateTime(allow_none=True, metadata={"description": "When the current step is due"})
    overdue = fields.Bool()
    acting_for = fields.Nested(
        UserBriefSchema,
        allow_none=True,
        metadata={"description": "waiting/overdue: the person you would act for (you substitute them today)"},
    )
    own_line_count = fields.Int(allow_none=True, metadata={"description": "For a dean: lines of own faculty"})
    return_comment = fields.Str(allow_none=True, metadata={"description": "returned: why it was returned"})
    returned_by = fields.Str(allow_none=True)
    decision = fields.Str(allow_none=True, metadata={"description": "history: my last decision on it"})
    decided_at = UtcDateTime(allow_none=True)


class InboxCountsSchema(ma.Schema):
    waiting = fields.Int()
    overdue = fields.Int()
    returned = fields.Int()
    history = fields.Int()


class InboxSchema(ma.Schema):
    view = fields.Str()
    count = fields.Int(metadata={"description": "How many orders of this view match the filters"})
    counts = fields.Nested(InboxCountsSchema, metadata={"description": "Each view's size, unfiltered"})
    page = fields.Int()
    page_size = fields.Int()
    sort = fields.Str()
    direction = fields.Str()
    items = fields.List(fields.Nested(InboxItemSchema))


class BulkArgs(ma.Schema):
    order_ids = fields.List(
        fields.Int(strict=True, validate=validate.Range(min=1, max=MAX_ID)),
        required=True,
        validate=validate.Length(min=1, max=MAX_PAGE_SIZE),
    )
    trigger = fields.Str(required=True, validate=validate.OneOf(BULK_TRIGGERS))
    comment = fields.Str(
        load_default="",
        validate=validate.Length(max=4000),
        metadata={"description": "One comment for every order; required to return or reject"},
    )


class BulkItemSchema(ma.Schema):
    order_id = fields.Int()
    label = fields.Str()
    ok = fields.Bool()
    state = fields.Str(allow_none=True, metadata={"description": "The new state when ok"})
    acting_for = fields.Nested(UserBriefSchema, allow_none=True)
    refusals = fields.List(fields.Nested(RefusalSchema), metadata={"description": "Why it was refused"})


class BulkSchema(ma.Schema):
    done = fields.Int(metadata={"description": "How many orders went through"})
    refused = fields.Int()
    results = fields.List(fields.Nested(BulkItemSchema), metadata={"description": "In the order of order_ids"})


class RouteStepSchema(ma.Schema):
    name = fields.Str()
    state = fields.Str()
    roles = fields.List(fields.Str())
    mode = fields.Str(metadata={"description": "one, per_faculty or n_of_m"})
    n = fields.Int()
    due_days = fields.Int()
    title = fields.Str()
    status = fields.Str(metadata={"description": "done, current or todo"})


class RouteSchema(ma.Schema):
    name = fields.Str()
    version = fields.Int()
    signer_role = fields.Str()
    current_state = fields.Str()
    steps = fields.List(fields.Nested(RouteStepSchema))
    mermaid = fields.Str(metadata={"description": "Mermaid stateDiagram-v2 text, current state highlighted"})
    svg = fields.Str(metadata={"description": "The same route drawn as SVG"})


@bp.route("/orders/<int(max=2147483647):order_id>/fire", methods=["POST"])
@roles_required(*DECIDERS)
@bp.arguments(FireArgs, example={"trigger": "return", "comment": "Приложите заявление студента", "version": 3})
@bp.response(200, OrderDetailSchema)
@bp.alt_response(202, schema=AcceptedSchema, description=ACCEPTED)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def fire_trigger(args, order_id: int):
    """Fire a trigger on an order. Refusals come back as 403 (not yours to decide), 409 (not in this state,
    or changed since you read it, or a job of this order still running) or 422 (a rule failed), each listed as
    {rule, message, data}. Submitting, visaing or signing a big order answers 202 with its background job."""
    order = load_visible(order_id)
    trigger = args["trigger"]
    if trigger in legal_triggers(order, current_user) and jobs.in_background(order, trigger):
        acting_for = acting_for_in(order, trigger, current_user)
        job, started = jobs.start_fire(order, trigger, current_user, args["comment"], args.get("version"), acting_for)
        if not started:
            abort(
                409,
                message=_("An action on this order is already running in the background; wait for it to finish."),
                errors={"job": job_json(job)["url"]},
            )
        return accepted(job)
    fire(
        order,
        args["trigger"],
        current_user,
        comment=args["comment"],
        expected_version=args.get("version"),
        acting_for=acting_for_in(order, args["trigger"], current_user),
    )
    return detail(order)


@bp.route("/inbox")
@roles_required(*DECIDERS)
@bp.arguments(InboxArgs, location="query")
@bp.response(200, InboxSchema)
def my_inbox(args):
    """My inbox: one view (waiting, overdue, returned, history) filtered, searched, sorted and paged, with the
    size of every view."""
    view = args.pop("view")
    result = inbox_page(current_user, view, Filters(**args))
    items = [
        With(
            row.order,
            line_count=row.line_count,
            own_line_count=row.own_lines,
            overdue=row.overdue,
            acting_for=row.acting_for,
            return_comment=row.return_comment,
            returned_by=row.returned_by,
            decision=row.decision,
            decided_at=row.decided_at,
        )
        for row in result.rows
    ]
    return {
        "view": view,
        "count": result.total,
        "counts": result.counts,
        "page": result.filters.page,
        "page_size": result.filters.page_size,
        "sort": result.sort,
        "direction": result.direction,
        "items": items,
    }


@bp.route("/inbox/bulk", methods=["POST"])
@roles_required(*DECIDERS)
@bp.arguments(BulkArgs, example={"order_ids": [12, 15, 19], "trigger": "approve", "comment": ""})
@bp.response(200, BulkSchema)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def bulk(args):
    """Decide several orders at once. Each order is tried on its own (acting for whom you substitute where that
    is what makes it yours): the refused ones are listed with their reasons, the others go through. Returning or
    rejecting without a comment refuses the whole request (422) and changes nothing."""
    results = bulk_decide(current_user, args["order_ids"], args["trigger"], args["comment"])
    done = sum(1 for r in results if r.ok)
    return {"done": done, "refused": len(results) - done, "results": results}


@bp.route("/orders/<int(max=2147483647):order_id>/route")
@roles_required(*DECIDERS)
@bp.response(200, RouteSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def order_route(order_id: int):
    """The route version the order travels on: its steps (each done, current or todo), and the diagram as
    Mermaid text and as SVG, generated from the live definition."""
    order = load_visible(order_id)
    route = route_of(order)
    status = diagram.progress(route, order.state)
    steps = [
        {
            "name": s.name,
            "state": s.state,
            "roles": list(s.roles),
            "mode": s.mode,
            "n": s.n,
            "due_days": s.due_days,
            "title": diagram.step_title(s),
            "status": status.get(s.state, "todo"),
        }
        for s in route.steps
    ]
    return {
        "name": route.name,
        "version": route.version,
        "signer_role": route.signer_role,
        "current_state": order.state,
        "steps": steps,
        "mermaid": diagram.mermaid(route, order.state),
        "svg": diagram.svg(route, order.state),
    }
