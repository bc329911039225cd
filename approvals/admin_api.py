"""The admin part of the JSON API: approval routes (read, add a version) and substitutions."""

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate

from approvals.admin import (
    APPROVER_ROLES,
    cancel_substitution,
    create_substitution,
    route_overview,
    save_route_version,
    visible_substitutions,
)
from core.db import db
from core.errors import error_answers
from core.models import Substitution, User
from core.permissions import roles_required
from orders.api import MAX_ID
from orders.registry import KINDS
from students.api import UtcDateTime
from workflow.routes import get_route, route_names

bp = Blueprint(
    "api_approvals_admin",
    __name__,
    url_prefix="/api/v1",
    description="Admin: approval routes as versioned data (admin only); substitutes (who acts for whom).",
)


class AdminRouteStepSchema(ma.Schema):
    name = fields.Str()
    roles = fields.List(fields.Str())
    mode = fields.Str(metadata={"enum": ["one", "per_faculty", "n_of_m"]})
    n = fields.Int()
    due_days = fields.Int(metadata={"description": "Working days to act before a reminder"})
    escalate_after_days = fields.Int(metadata={"description": "Further working days before escalation"})
    escalate_to = fields.Str(metadata={"description": "Role the overdue order is escalated to"})


class AdminRouteSchema(ma.Schema):
    name = fields.Str()
    version = fields.Int()
    description = fields.Str()
    signer_role = fields.Str()
    sign_due_days = fields.Int()
    steps = fields.List(fields.Nested(AdminRouteStepSchema))
    kinds = fields.List(fields.Str(), metadata={"description": "Order kinds that use this route"})


class AdminRouteDefinitionSchema(ma.Schema):
    """The new version's definition; validated as a whole, errors come back under `definition`."""

    class Meta:
        unknown = ma.INCLUDE

    description = fields.Raw()
    signer_role = fields.Raw()
    sign_due_days = fields.Raw()
    steps = fields.Raw(required=True, metadata={"description": "A list of steps (see AdminRouteStepSchema)"})


class AdminRouteVersionSchema(ma.Schema):
    version = fields.Int()
    builtin = fields.Bool()
    created_at = UtcDateTime(allow_none=True)
    author = fields.Str(allow_none=True)
    open_orders = fields.Int(metadata={"description": "Open orders travelling on this version"})


class AdminRouteListItemSchema(ma.Schema):
    name = fields.Str()
    description = fields.Str()
    latest = fields.Int()
    kinds = fields.List(fields.Str())
    versions = fields.List(fields.Nested(AdminRouteVersionSchema))


class AdminRouteArgs(ma.Schema):
    version = fields.Int(validate=validate.Range(min=1, max=MAX_ID))


def _route_out(route) -> dict:
    return {**route.as_dict(), "kinds": [k.name for k in KINDS.values() if k.route == route.name]}


@bp.route("/routes")
@roles_required("admin")
@bp.response(200, AdminRouteListItemSchema(many=True))
def list_routes():
    """Every route with its versions (v1 is the built-in default) and the order kinds that use it."""
    return route_overview()


@bp.route("/routes/<name>")
@roles_required("admin")
@bp.arguments(AdminRouteArgs, location="query")
@bp.response(200, AdminRouteSchema)
@bp.alt_response(404, response="NOT_FOUND")
def read_route(args, name: str):
    """A route: the latest version, or `?version=N`."""
    if name not in route_names():
        abort(404, message=_("There is no route %(name)s.", name=name))
    return _route_out(get_route(name, args.get("version")))


@bp.route("/routes/<name>/versions", methods=["POST"])
@roles_required("admin")
@bp.arguments(
    AdminRouteDefinitionSchema,
    example={
        "description": "Движение контингента",
        "signer_role": "rector",
        "sign_due_days": 3,
        "steps": [
            {"name": "dean", "roles": ["dean"], "mode": "per_faculty", "due_days": 3},
            {"name": "registrar", "roles": ["registrar"], "due_days": 2},
        ],
    },
)
@bp.response(201, AdminRouteSchema)
@error_answers(bp, 404, 422)
def add_route_version(data, name: str):
    """Save the definition as the next version of the route. Orders already submitted keep their version."""
    if name not in route_names():
        abort(404, message=_("There is no route %(name)s.", name=name))
    route = save_route_version(name, data, current_user)
    return _route_out(route)


class SubstitutionPersonSchema(ma.Schema):
    id = fields.Int()
    username = fields.Str()
    full_name = fields.Str()


class SubstitutionSchema(ma.Schema):
    id = fields.Int()
    principal = fields.Nested(SubstitutionPersonSchema, metadata={"description": "The person acted for"})
    substitute = fields.Nested(SubstitutionPersonSchema)
    starts_on = fields.Date()
    ends_on = fields.Date(metadata={"description": "Inclusive"})
    reason = fields.Str()
    created_at = UtcDateTime()


class SubstitutionArgs(ma.Schema):
    principal_id = fields.Int(
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Whom the substitute acts for; only an admin may name someone else (default: me)"},
    )
    substitute_id = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata={"description": "Inclusive"})
    reason = fields.Str(load_default="", validate=validate.Length(max=200))


class SubstitutionListArgs(ma.Schema):
    include_past = fields.Bool(load_default=False)


@bp.route("/substitutions")
@roles_required(*APPROVER_ROLES, "admin")
@bp.arguments(SubstitutionListArgs, location="query")
@bp.response(200, SubstitutionSchema(many=True))
def list_substitutions(args):
    """Current and future substitutions I am part of (an admin: all)."""
    return visible_substitutions(current_user, include_past=args["include_past"])


def _user(user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None:
        abort(422, message=_("No such user."), errors={field: "no such user"})
    return user


@bp.route("/substitutions", methods=["POST"])
@roles_required(*APPROVER_ROLES, "admin")
@bp.arguments(
    SubstitutionArgs,
    example={"substitute_id": 12, "starts_on": "2026-12-01", "ends_on": "2026-12-14", "reason": "Отпуск"},
)
@bp.response(201, SubstitutionSchema)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def add_substitution(args):
    """Name a substitute for myself (an admin: for anyone, given `principal_id`)."""
    principal = _user(args.get("principal_id"), "principal_id") or current_user._get_current_object()
    return create_substitution(
        current_user,
        principal,
        _user(args["substitute_id"], "substitute_id"),
        args["starts_on"],
        args["ends_on"],
        args["reason"],
    )


@bp.route("/substitutions/<int(max=2147483647):substitution_id>", methods=["DELETE"])
@roles_required(*APPROVER_ROLES, "admin")
@bp.response(204)
@error_answers(bp, 403, 404)
def delete_substitution(substitution_id: int):
    """Cancel a substitution: a future one is deleted, one under way ends yesterday."""
    row = db.session.get(Substitution, substitution_id)
    if row is None:
        abort(404, message=_("No such substitution."))
    cancel_substitution(current_user, row)
