"""The orders part of the JSON API: list, draft with lines, read with eligibility, edit lines, the document.

Views parse input, call one operation from `orders.operations`, and dump the result; the request's unit of work
commits. An operation's refusal becomes the JSON error in `core.errors`; other errors are raised with
`flask_smorest.abort(status, message=..., errors=...)`, which `registrar.api` turns into the same shape.
"""

import io
from collections.abc import Callable

import marshmallow as ma
from flask import Response, jsonify, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate
from sqlalchemy import func, select

from core.db import db
from core.errors import error_answers
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES
from orders import jobs, operations, pdf
from orders.models import Order, OrderDocument, OrderLine
from orders.operations import iin_format_errors
from orders.pdf import PDF_MIMETYPE
from orders.registry import KINDS, NAMES, get_kind
from students.api import StudentSchema, UtcDateTime
from workflow.engine import legal_triggers, pending_approvals
from workflow.routes import FIXED_STATES

bp = Blueprint(
    "api_orders",
    __name__,
    url_prefix="/api/v1/orders",
    description="Orders: draft with lines, read with eligibility, visas and history, the document.",
)
READERS = (*UNIVERSITY_ROLES, "dean")
MAX_ID = 2**31 - 1
MAX_BATCH = 10_000
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class With:
    """An object's attributes plus a few computed ones, for a schema to dump."""

    def __init__(self, obj, **extra):
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name):
        return getattr(self._obj, name)


# Output ------------------------------------------------------------------------------------------------------


class UserBriefSchema(ma.Schema):
    id = fields.Int()
    username = fields.Str()
    full_name = fields.Str()
    position = fields.Str()


class RefusalSchema(ma.Schema):
    rule = fields.Str(metadata={"description": "Rule id, e.g. expulsion.status or line.open_order"})
    message = fields.Str()
    data = fields.Dict(metadata={"description": "The facts the rule looked at"})


class LineSchema(ma.Schema):
    id = fields.Int()
    position = fields.Int()
    student = fields.Nested(StudentSchema)
    faculty_id = fields.Int()
    params = fields.Dict()
    effective_date = fields.Date()
    eligible = fields.Bool()
    eligibility = fields.List(
        fields.Nested(RefusalSchema),
        metadata={"description": "Refusals of the last eligibility check; empty when the line is eligible"},
    )
    preview = fields.Dict(
        allow_none=True,
        metadata={"description": "Changes signing would make, {field: [before, after]}; null once the order is closed"},
    )
    applied_changes = fields.Dict(allow_none=True, metadata={"description": "Changes signing made"})
    override_justification = fields.Str(
        allow_none=True, metadata={"description": "Set when the registrar head accepted the line despite a refusal"}
    )
    override_by = fields.Nested(UserBriefSchema, allow_none=True)
    override_at = UtcDateTime(allow_none=True)


class VisaSchema(ma.Schema):
    id = fields.Int()
    round = fields.Int()
    step = fields.Str()
    role = fields.Str()
    faculty_id = fields.Int(allow_none=True)
    decision = fields.Str()
    comment = fields.Str()
    decided_at = UtcDateTime()
    decided_by = fields.Nested(UserBriefSchema)
    acting_for = fields.Nested(UserBriefSchema, allow_none=True)


class EventSchema(ma.Schema):
    id = fields.Int()
    trigger = fields.Str()
    from_state = fields.Str()
    to_state = fields.Str()
    comment = fields.Str()
    created_at = UtcDateTime()
    actor = fields.Nested(UserBriefSchema)
    acting_for_id = fields.Int(allow_none=True)


class PendingSchema(ma.Schema):
    role = fields.Str()
    faculty_id = fields.Int(allow_none=True, metadata={"description": "For a per-faculty step, whose visa"})


class DocumentSchema(ma.Schema):
    url = fields.Str()
    filename = fields.Str()
    sha256 = fields.Str()
    template_version = fields.Str()
    created_at = UtcDateTime()


class OrderSummarySchema(ma.Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"enum": NAMES})
    state = fields.Str(
        metadata={"description": "draft, review_<step>, awaiting_signature, signed, rejected, withdrawn"}
    )
    version = fields.Int(metadata={"description": "Send it back with a trigger to refuse a stale decision"})
    round = fields.Int()
    title = fields.Str()
    series = fields.Str()
    year = fields.Int(allow_none=True)
    number = fields.Int(allow_none=True)
    number_label = fields.Str(allow_none=True, metadata={"description": "e.g. 245-С; set when signed"})
    order_date = fields.Date(allow_none=True)
    author = fields.Nested(UserBriefSchema)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    signed_at = UtcDateTime(allow_none=True)
    line_count = fields.Int()


class OrderDetailSchema(OrderSummarySchema):
    basis = fields.Str()
    params = fields.Dict()
    route_name = fields.Str()
    lines = fields.List(fields.Nested(LineSchema), metadata={"description": "A dean gets own faculty's only"})
    hidden_lines = fields.Int(metadata={"description": "Lines of other faculties, not shown to a dean"})
    visas = fields.List(fields.Nested(VisaSchema))
    events = fields.List(fields.Nested(EventSchema))
    legal_triggers = fields.List(fields.Str(), metadata={"description": "Triggers you may fire now"})
    pending_approvals = fields.List(fields.Nested(PendingSchema), metadata={"description": "Who must act now"})
    document = fields.Nested(DocumentSchema, allow_none=True, metadata={"description": "Set once signed"})


class JobSchema(ma.Schema):
    id = fields.Int()
    order_id = fields.Int()
    action = fields.Str(metadata={"description": "fire (a decision), or a kind's own, e.g. the filling of a draft"})
    state = fields.Str(metadata={"enum": list(jobs.STATES)})
    done = fields.Int(metadata={"description": "Lines done so far"})
    total = fields.Int(metadata={"description": "Lines the job works on"})
    percent = fields.Int()
    result = fields.Dict(
        allow_none=True,
        metadata={
            "description": "Once ended: what the action returned (done), or {refusals: [{rule, message, student}]}"
            " (failed)"
        },
    )
    url = fields.Str(metadata={"description": "Where to ask for its progress: GET /api/v1/jobs/<id>"})


class AcceptedSchema(ma.Schema):
    order_id = fields.Int()
    order_url = fields.Str(metadata={"description": "The order, once the job has ended"})
    job = fields.Nested(JobSchema)


ACCEPTED = (
    "A big order (more lines than the job threshold, 300 by default): the action runs as a background job and this "
    "answer comes at once, with the job to poll (also in the Location header). A repeated request while the job "
    "runs starts no second one."
)
DRAFT_ACCEPTED = (
    "More students in scope than the job threshold (300 by default): the draft is created at once, empty, and a "
    "background job writes and checks its lines (all or none); poll the job, then read the outcomes. The same "
    "request repeated while the job runs answers with the same draft and job."
)


class FormFieldSchema(ma.Schema):
    name = fields.Str()
    label = fields.Str()
    type = fields.Str(metadata={"description": "string, text, date, integer, number, boolean, choice or choices"})
    required = fields.Bool()
    description = fields.Str()
    choices = fields.List(fields.Str(), allow_none=True, metadata={"description": "The allowed values, for choices"})


class KindSchema(ma.Schema):
    name = fields.Str()
    label = fields.Str()
    route = fields.Str(metadata={"description": "The approval route its orders travel"})
    params = fields.List(
        fields.Nested(FormFieldSchema),
        metadata={
            "description": "What `params` of POST /api/v1/orders takes for this kind (title and basis are top level)"
        },
    )
    line_params = fields.List(
        fields.Nested(FormFieldSchema),
        metadata={"description": "What PATCH .../lines/<line_id> takes in `params`; empty when lines take the order's"},
    )


class OrderPageSchema(ma.Schema):
    items = fields.List(fields.Nested(OrderSummarySchema))
    page = fields.Int()
    page_size = fields.Int()
    total = fields.Int()


# Input -------------------------------------------------------------------------------------------------------


def component_name(kind_name: str, *, line: bool = False) -> str:
    """The OpenAPI component of a kind's parameters: expulsion -> ExpulsionParams, AcademicLeaveLineParams."""
    return "".join(word.capitalize() for word in kind_name.split("_")) + ("LineParams" if line else "Params")


# The `oneOf` of the create and line bodies' `params`: one reference per registered kind. Like the registry's NAMES,
# these very lists are named by the schemas below, declared before every kind is registered, and filled by
# `document_kinds` once create_app() has registered them all.
PARAMS_COMPONENTS: list[dict[str, str]] = []
LINE_PARAMS_COMPONENTS: list[dict[str, str]] = []


def document_kinds(spec, converter) -> None:
    """Add every kind's parameters schema (and line schema) to the OpenAPI components, one per kind, and name them
    in the `oneOf` of the bodies' `params`."""
    for name, kind in KINDS.items():
        spec.components.schema(component_name(name), component=converter.schema2jsonschema(kind.params_schema))
        if kind.line_schema:
            spec.components.schema(
                component_name(name, line=True), component=converter.schema2jsonschema(kind.line_schema)
            )
    PARAMS_COMPONENTS[:] = [{"$ref": f"#/components/schemas/{component_name(name)}"} for name in KINDS]
    LINE_PARAMS_COMPONENTS[:] = [
        {"$ref": f"#/components/schemas/{component_name(name, line=True)}"}
        for name, kind in KINDS.items()
        if kind.line_schema
    ]


STUDENT_IDS = fields.List(
    fields.Int(strict=True, validate=validate.Range(min=1, max=MAX_ID)),
    validate=validate.Length(max=MAX_BATCH),
    metadata={"description": "Student ids"},
)
IINS = fields.List(
    fields.Str(validate=validate.Length(max=32)),
    validate=validate.Length(max=MAX_BATCH),
    metadata={"description": "Students' IINs (12 digits with a valid check digit)"},
)


class OrderCreateArgs(ma.Schema):
    kind = fields.Str(required=True, metadata={"enum": NAMES})
    title = fields.Str(validate=validate.Length(max=300), metadata={"description": "Empty: the kind's standard title"})
    basis = fields.Str(
        required=True, validate=validate.Length(max=2000), metadata={"description": "Documents the order rests on"}
    )
    params = fields.Dict(
        keys=fields.Str(),
        required=True,
        metadata={
            "description": "Parameters of the kind named by `kind`: that kind's schema `<Kind>Params` (the kind's name "
            "in CamelCase), also listed by `GET /api/v1/orders/kinds` (name, type, choices); dates as YYYY-MM-DD",
            "oneOf": PARAMS_COMPONENTS,
        },
    )
    student_ids = STUDENT_IDS
    iins = IINS


class LinesArgs(ma.Schema):
    student_ids = STUDENT_IDS
    iins = IINS

    @ma.validates_schema
    def _some_students(self, data, **kwargs):
        if not data.get("student_ids") and not data.get("iins"):
            raise ma.ValidationError("Give student_ids or iins.", "student_ids")


class LineParamsArgs(ma.Schema):
    params = fields.Dict(
        keys=fields.Str(),
        required=True,
        metadata={
            "description": "The line's own parameters as the kind defines them (e.g. target group, leave dates), "
            "with effective_date (YYYY-MM-DD) where the kind lets it differ per line: the schema "
            "`<Kind>LineParams` of the order's kind, e.g. AcademicLeaveLineParams",
            "oneOf": LINE_PARAMS_COMPONENTS,
        },
    )


class OverrideArgs(ma.Schema):
    justification = fields.Str(
        required=True,
        validate=validate.Length(min=10, max=2000),
        metadata={
            "description": "Why the rule may be set aside; shown on the order, in the audit log and the approval sheet"
        },
    )


class OrderListArgs(ma.Schema):
    state = fields.Str(
        validate=validate.Regexp(rf"^({'|'.join(FIXED_STATES)}|review_\w{{1,25}})$", error="Unknown state.")
    )
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))


# Helpers shared with approvals.api ------------------------------------------------------------------------------


def load_visible(order_id: int) -> Order:
    """The order, or 404 when it does not exist and 403 when the current user may not see it."""
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404, message=_("No order %(id)s.", id=order_id), errors={"order_id": "unknown"})
    if not operations.can_view(order, current_user):
        abort(
            403,
            message=_("You may not see this order: it has no students of your faculty."),
            errors={"order_id": "not visible to you"},
        )
    return order


def load_kind(order_id: int, kind: str, message: str, error: str) -> Order:
    """`load_visible`, and 404 with `message` (and `error` for the order_id) when the order is not of `kind`: the
    endpoints of one kind's own part of the API."""
    order = load_visible(order_id)
    if order.kind != kind:
        abort(404, message=message, errors={"order_id": error})
    return order


def job_json(job: jobs.Job) -> dict:
    """The job as the API shows it: its state and progress, and the URL to ask again."""
    return job.as_dict() | {"url": url_for("api_jobs.job_status", job_id=job.id)}


def bulk_draft_answers(bp: Blueprint, schema: type[ma.Schema]) -> Callable:
    """A bulk draft endpoint's answers, documented on `bp`: 201 with the outcomes (`schema`), 202 with the job that
    writes the lines (`accepted`), 403."""

    def document(view: Callable) -> Callable:
        view = error_answers(bp, 403)(view)
        view = bp.alt_response(202, schema=AcceptedSchema, description=DRAFT_ACCEPTED)(view)
        return bp.response(201, schema)(view)

    return document


def accepted(job: jobs.Job) -> Response:
    """202 Accepted: the action runs as `job`; its URL in the body and the Location header."""
    body = {
        "order_id": job.order_id,
        "order_url": url_for("api_orders.show", order_id=job.order_id),
        "job": job_json(job),
    }
    response = jsonify(body)
    response.status_code = 202
    response.headers["Location"] = body["job"]["url"]
    return response


def student_ids_from(args: dict) -> list[int]:
    ids = list(args.get("student_ids") or [])
    iins = [v.strip() for v in args.get("iins") or []]
    if iins:
        ids += operations.students_by_iin(iins)
    return ids


def detail(order: Order) -> With:
    """The order with what the current user may see of it and may do to it now."""
    lines = operations.visible_lines(order, current_user)
    kind = get_kind(order.kind)
    document = (
        db.session.execute(  # the metadata only, not the DOCX bytes
            select(
                OrderDocument.filename, OrderDocument.sha256, OrderDocument.template_version, OrderDocument.created_at
            ).where(OrderDocument.order_id == order.id)
        )
        .mappings()
        .first()
    )
    return With(
        order,
        lines=[With(line, preview=kind.preview(line) if order.is_open else None) for line in lines],
        line_count=len(order.lines),
        hidden_lines=len(order.lines) - len(lines),
        legal_triggers=legal_triggers(order, current_user),
        pending_approvals=[{"role": role, "faculty_id": faculty} for role, faculty in pending_approvals(order)],
        document={**document, "url": url_for("api_orders.document", order_id=order.id)} if document else None,
    )


def summaries(orders: list[Order]) -> list[With]:
    """Orders with their line counts, counted in one query."""
    ids = [order.id for order in orders]
    counts = (
        dict(
            db.session.execute(
                select(OrderLine.order_id, func.count()).where(OrderLine.order_id.in_(ids)).group_by(OrderLine.order_id)
            ).all()
        )
        if ids
        else {}
    )
    return [With(order, line_count=counts.get(order.id, 0)) for order in orders]


# Endpoints ---------------------------------------------------------------------------------------------------


def field_type(field: fields.Field) -> str:
    if isinstance(field, fields.List):
        return "choices"
    if field.metadata.get("choices") is not None:
        return "choice"
    if isinstance(field, fields.Date):
        return "date"
    if isinstance(field, fields.Integer):
        return "integer"
    if isinstance(field, fields.Number):
        return "number"
    if isinstance(field, fields.Boolean):
        return "boolean"
    return "text" if field.metadata.get("widget") == "textarea" else "string"


def schema_fields(schema: type[ma.Schema] | None) -> list[dict]:
    """The fields of a kind's schema as an API client needs them: name, label, type, required, help, choices."""
    if schema is None:
        return []
    described = []
    for name, field in schema().fields.items():
        choices = field.metadata.get("choices")
        if callable(choices):
            choices = choices()
        described.append(
            {
                "name": name,
                "label": str(field.metadata.get("title", name)),
                "type": field_type(field),
                "required": field.required,
                "description": str(field.metadata.get("description", "")),
                "choices": [str(value) for value, _label in choices] if choices is not None else None,
            }
        )
    return described


@bp.route("/kinds")
@roles_required(*READERS)
@bp.response(200, KindSchema(many=True))
def kinds():
    """Every order kind with the parameters its drafts take and the details each line may have."""
    return [
        {
            "name": kind.name,
            "label": kind.label(),
            "route": kind.route,
            "params": schema_fields(kind.params_schema),
            "line_params": schema_fields(kind.line_schema),
        }
        for kind in KINDS.values()
    ]


@bp.route("")
@roles_required(*READERS)
@bp.arguments(OrderListArgs, location="query")
@bp.response(200, OrderPageSchema)
def index(args):
    """Orders you may see, newest first (a dean: those with students of own faculty)."""
    query = operations.visible_orders(current_user)
    if args.get("state"):
        query = query.where(Order.state == args["state"])
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    size = args["page_size"]
    orders = list(db.session.scalars(query.order_by(Order.id.desc()).limit(size).offset((args["page"] - 1) * size)))
    return {"items": summaries(orders), "page": args["page"], "page_size": size, "total": total}


@bp.route("", methods=["POST"])
@roles_required("clerk")
@bp.arguments(OrderCreateArgs)
@bp.response(201, OrderDetailSchema)
def create(args):
    """Draft an order with its lines. All or nothing: one bad IIN or unknown student and nothing is created."""
    raw = {**args["params"], "title": args.get("title"), "basis": args["basis"]}
    order = operations.create_order_with_students(
        args["kind"], current_user, raw, args.get("student_ids") or [], args.get("iins") or []
    )
    return detail(order)


@bp.route("/<int(max=2147483647):order_id>")
@roles_required(*READERS)
@bp.response(200, OrderDetailSchema)
@error_answers(bp, 403, 404)
def show(order_id: int):
    """One order: lines with eligibility, visas, history, what you may do now, the document once signed."""
    order = load_visible(order_id)
    operations.refresh_eligibility(order)
    return detail(order)


@bp.route("/<int(max=2147483647):order_id>/lines", methods=["POST"])
@roles_required("clerk")
@bp.arguments(LinesArgs)
@bp.response(201, OrderDetailSchema)
@error_answers(bp, 403, 404, 409)
def add_lines(args, order_id: int):
    """Add students to a draft (already present ones are skipped); every line's eligibility is re-checked."""
    order = load_visible(order_id)
    errors = iin_format_errors(args.get("iins") or [])
    if errors:
        abort(422, message=_("No student was added; see errors."), errors=errors)
    operations.add_students(order, student_ids_from(args), current_user)
    return detail(order)


@bp.route("/<int(max=2147483647):order_id>/lines/<int(max=2147483647):line_id>", methods=["DELETE"])
@roles_required("clerk")
@bp.response(200, OrderDetailSchema)
@error_answers(bp, 403, 404, 409)
def remove_line(order_id: int, line_id: int):
    """Remove a line from a draft; the other lines' eligibility is re-checked."""
    order = load_visible(order_id)
    operations.remove_line(order, line_id, current_user)
    operations.check_lines(order)
    return detail(order)


@bp.route("/<int(max=2147483647):order_id>/lines/<int(max=2147483647):line_id>", methods=["PATCH"])
@roles_required("clerk")
@bp.arguments(LineParamsArgs)
@bp.response(200, OrderDetailSchema)
@error_answers(bp, 403, 404, 409)
def update_line(args, order_id: int, line_id: int):
    """Change one draft line's own parameters; the kind validates them and every line is re-checked."""
    order = load_visible(order_id)
    operations.update_line(order, line_id, args["params"], current_user)
    return detail(order)


@bp.route("/<int(max=2147483647):order_id>/lines/<int(max=2147483647):line_id>/override", methods=["POST"])
@roles_required("registrar")
@bp.arguments(OverrideArgs)
@bp.response(200, OrderDetailSchema)
@error_answers(bp, 403, 404, 409)
def override_line(args, order_id: int, line_id: int):
    """The registrar head accepts a line that fails a rule, with a written justification (audited)."""
    order = load_visible(order_id)
    operations.override_line(order, line_id, args["justification"], current_user)
    return detail(order)


@bp.route("/<int(max=2147483647):order_id>/document")
@roles_required(*READERS)
@bp.doc(
    responses={
        "200": {
            "description": "The signed order as DOCX, frozen at signing",
            "content": {DOCX: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
@error_answers(bp, 403, 404)
def document(order_id: int):
    """The DOCX of a signed order (404 before signing); a dean of some of its faculties gets the extract of the own
    faculty's lines."""
    order = load_visible(order_id)
    if order.document is None:
        abort(404, message=_("The document exists once the order is signed."), errors={"document": "not signed yet"})
    content, name, sha256 = operations.signed_document(order, current_user)
    response = send_file(io.BytesIO(content), mimetype=DOCX, as_attachment=True, download_name=name)
    if sha256:  # the whole order as signed; a dean's extract of own faculty's lines is not that document
        response.headers["X-Content-SHA256"] = sha256
    return response


@bp.route("/<int(max=2147483647):order_id>/document.pdf")
@roles_required(*READERS)
@bp.doc(
    responses={
        "200": {
            "description": "The signed order as PDF, converted by LibreOffice from the frozen DOCX and cached (a "
            "dean of some of its faculties: the PDF of the own faculty's extract, converted now)",
            "content": {PDF_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        "202": {"description": "Being converted by the worker: ask again in a few seconds"},
        "503": {"description": "LibreOffice is not installed on the server: no PDF"},
    }
)
@error_answers(bp, 403, 404)
def document_pdf(order_id: int):
    """The PDF of a signed order: 200 with the file, or 202 while the worker converts it (ask again), or 503 without
    LibreOffice. A dean whose faculties hold only some of the lines gets the PDF of the extract of those lines,
    converted in the request (as the DOCX download gives the extract)."""
    order = load_visible(order_id)
    if order.document is None:
        abort(404, message="The document exists once the order is signed.", errors={"document": "not signed yet"})
    content, name, docx_sha256 = operations.signed_document(order, current_user)
    name = name.removesuffix(".docx") + ".pdf"
    if docx_sha256 is None:  # a dean's extract of own faculty's lines, converted now (not cached, no hash header)
        extract = pdf.convert_now(content)
        return send_file(io.BytesIO(extract), mimetype=PDF_MIMETYPE, as_attachment=True, download_name=name)
    row = pdf.cached(order.document.sha256)
    if row is None or row.status != "ready":
        if not pdf.available():
            abort(503, message="PDF is not available: LibreOffice is not installed on the server.", errors={})
        pdf.request_pdf(order.document.sha256)
        message = "The PDF is being prepared; ask again in a few seconds."
        return {"code": 202, "status": "pending", "message": message}, 202
    response = send_file(
        io.BytesIO(row.content),
        mimetype=PDF_MIMETYPE,
        as_attachment=True,
        download_name=name,
    )
    response.headers["X-Content-SHA256"] = row.sha256
    return response


jobs_bp = Blueprint(
    "api_jobs",
    __name__,
    url_prefix="/api/v1/jobs",
    description="Background jobs on big orders: their state, progress and result.",
)


@jobs_bp.route("/<int(max=2147483647):job_id>")
@roles_required(*READERS)
@jobs_bp.response(200, JobSchema)
@jobs_bp.alt_response(403, response="FORBIDDEN")
@jobs_bp.alt_response(404, response="NOT_FOUND")
def job_status(job_id: int):
    """A background job (a decision on a big order, a big bulk draft): queued, running, done or failed, how many of
    its lines are done, and its result once ended. Who may see its order may see it."""
    job = db.session.get(jobs.Job, job_id)
    if job is None:
        abort(404, message=_("No job %(id)s.", id=job_id), errors={"job_id": "unknown"})
    load_visible(job.order_id)
    return job_json(job)
