"""Drafting views: create, add and remove students, the order page, the document."""

import io
from collections.abc import Callable

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from core.auth import EmptyForm
from core.db import db
from core.errors import FormRefusals, redirect_refusals_to
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES, faculty_scope
from orders import jobs, operations
from orders.models import Order, OrderLine, lines_in_scope
from orders.operations import InvalidInput
from orders.params import line_form, order_form
from orders.registry import KINDS, every_order_panels, get_kind
from students.models import Faculty
from students.operations import search_students
from workflow.engine import legal_actions, pending_approvals

bp = Blueprint("orders", __name__, url_prefix="/orders")
jobs_bp = Blueprint("jobs", __name__)
READERS = (*UNIVERSITY_ROLES, "dean")


def load_visible(order_id: int, kind: str | None = None) -> Order:
    """The order, or 404 when it does not exist (or is not of `kind`, when given) and 403 when the user may not see
    it."""
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404)
    if not operations.can_view(order, current_user):
        abort(403)
    if kind is not None and order.kind != kind:
        abort(404)
    return order


def flash_filling(started: bool) -> None:
    """After a bulk draft too big for the request (`jobs.start_fill`): its lines are being written in the
    background, or a repeated click found the same draft being filled and started nothing."""
    if started:
        flash(
            _("The draft is created; its students are added in the background; this page shows the progress."),
            "success",
        )
    else:
        flash(_("An action on this order is already running in the background; wait for it to finish."), "error")


def bulk_new(form, ask: Callable, endpoint: str, template: str, announce: Callable[[Order], None]):
    """The page of a bulk draft (promotion, state scholarship): `ask(author, form.data)` drafts the order, fills it
    here and `announce` flashes its counts, or leaves the filling to a background job; either way on to `endpoint`
    (the outcomes page). Refused input: the form again with the reasons."""
    refused = FormRefusals(form, fallback="basis")
    if form.validate_on_submit():  # the CSRF token; the parameters are loaded through the kind's schema
        with refused:
            order, job, started = ask(current_user, form.data)
            if job is not None:
                flash_filling(started)
            else:
                announce(order)
            return redirect(url_for(endpoint, order_id=order.id))
    return render_template(template, form=form), refused.status or (400 if form.errors else 200)


@bp.route("/new/<kind_name>", methods=["GET", "POST"])
@roles_required("clerk")
def new(kind_name: str):
    kind = KINDS.get(kind_name) or abort(404)
    form = order_form(kind.params_schema)()
    refused = FormRefusals(form, fallback="basis")
    if form.validate_on_submit():  # the CSRF token; the parameters are loaded through the kind's schema
        with refused:
            order = operations.create_order(kind.name, current_user, form.data)
            flash(_("Draft created. Now add the students."), "success")
            return redirect(url_for("orders.show", order_id=order.id))
    return render_template("orders/new.html", form=form, kind=kind), refused.status or (400 if form.errors else 200)


@bp.route("/<int:order_id>")
@roles_required(*READERS)
def show(order_id: int):
    order = load_visible(order_id)
    operations.refresh_eligibility(order)
    job = jobs.job_to_show(order.id, current_user)
    # While a job works on the order (fills a draft, submits it), its lines are not edited by hand.
    editable = operations.can_edit(order, current_user) and not (job is not None and job.active)
    q = request.args.get("q", "")[:100]
    found = search_students(current_user, q, limit=30) if editable and q else []
    in_order = set(
        db.session.scalars(
            select(OrderLine.student_id).where(
                OrderLine.order_id == order.id, OrderLine.student_id.in_([s.id for s in found])
            )
        )
        if found
        else ()
    )
    listing = operations.line_listing(
        order, current_user, operations.LineFilters.from_args(request.args), request.args.get("page")
    )
    lines = listing.page.items
    actions = [] if job is not None and job.active else legal_actions(order, current_user)
    acting_for = list({who.id: who for _trigger, who in actions if who is not None}.values())
    kind = get_kind(order.kind)
    line_forms = (
        {line.id: line_form(kind.line_schema)(prefix=f"line{line.id}", data=_line_form_data(line)) for line in lines}
        if editable and kind.line_schema
        else {}
    )
    all_lines = db.session.scalar(select(func.count(OrderLine.id)).where(OrderLine.order_id == order.id)) or 0
    return render_template(
        "orders/show.html",
        order=order,
        kind=kind,
        job=job,
        job_label=jobs.job_label(job) if job is not None else "",
        every_order_panels=every_order_panels(),
        editable=editable,
        line_forms=line_forms,
        can_override=order.is_open and current_user.has_role("registrar"),
        lines=lines,
        listing=listing,
        faculty_names=_faculty_names(set(listing.faculties)),
        hidden_lines=all_lines - listing.total,
        others=_other_faculties(order, listing.total, all_lines),
        previews=operations.effects_preview(order, lines) if order.is_open else {},
        effect=operations.effect_state(order) if order.state == "signed" else None,
        triggers=[trigger for trigger, _who in actions],
        acting_for=acting_for,
        pending=_named(pending_approvals(order)),
        changes=operations.changes_since_last_round(order),
        q=q,
        found=found,
        in_order=in_order,
        form=EmptyForm(),
    )


def _faculty_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    language = str(get_locale())
    return {f.id: f.name(language) for f in db.session.scalars(select(Faculty).where(Faculty.id.in_(ids)))}


def _line_form_data(line) -> dict:
    return {**line.params, "effective_date": line.effective_date}


def _other_faculties(order: Order, shown: int, all_lines: int) -> list[tuple[str, int]]:
    """(faculty name, number of lines) for the lines of other faculties the reader does not see in full."""
    if shown == all_lines:
        return []
    counts = dict(
        db.session.execute(
            select(OrderLine.faculty_id, func.count(OrderLine.id))
            .where(
                OrderLine.order_id == order.id,
                OrderLine.id.not_in(  # not `~lines_in_scope`: a line without a target group makes that NULL
                    select(OrderLine.id).where(
                        OrderLine.order_id == order.id, lines_in_scope(faculty_scope(current_user))
                    )
                ),
            )
            .group_by(OrderLine.faculty_id)
        )
        .tuples()
        .all()
    )
    names = _faculty_names(set(counts))
    return sorted((names.get(f, str(f)), n) for f, n in counts.items())


def _named(pending: list[tuple[str, int | None]]) -> list[tuple[str, str | None]]:
    """(role, faculty id) pairs as (role, faculty name in the reader's language)."""
    ids = {faculty_id for _role, faculty_id in pending if faculty_id}
    faculties = {f.id: f for f in db.session.scalars(select(Faculty).where(Faculty.id.in_(ids)))} if ids else {}
    language = str(get_locale())
    return [(role, faculties[f].name(language) if f else None) for role, f in pending]


@bp.route("/<int:order_id>/lines", methods=["POST"])
@roles_required("clerk")
def add_lines(order_id: int):
    order = load_visible(order_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    ids = [int(v) for v in request.form.getlist("student_id") if v.isdigit()]
    iins = [v.strip() for v in request.form.get("iins", "").replace(",", " ").split() if v.strip()]
    redirect_refusals_to(url_for("orders.show", order_id=order_id))
    if iins:
        ids += operations.students_by_iin(iins)
    if not ids:
        raise InvalidInput({"student_ids": _("Choose at least one student.")})
    added = operations.add_students(order, ids, current_user)
    flash(ngettext("%(num)s student added.", "%(num)s students added.", len(added)), "success")
    return redirect(url_for("orders.show", order_id=order_id))


@bp.route("/<int:order_id>/lines/<int:line_id>/delete", methods=["POST"])
@roles_required("clerk")
def remove_line(order_id: int, line_id: int):
    order = load_visible(order_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    redirect_refusals_to(url_for("orders.show", order_id=order_id))
    operations.remove_line(order, line_id, current_user)
    operations.check_lines(order)
    flash(_("Line removed."), "success")
    return redirect(url_for("orders.show", order_id=order_id))


@bp.route("/<int:order_id>/lines/remove", methods=["POST"])
@roles_required("clerk")
def remove_lines(order_id: int):
    """Remove many lines of a draft in one action: every refused line (`what=refused`) or the lines ticked on the
    page (`what=selected`, `line_id` per line)."""
    order = load_visible(order_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    back = url_for("orders.show", order_id=order_id)
    redirect_refusals_to(back)
    if request.form.get("what") == "refused":
        removed = operations.remove_lines(order, current_user, refused=True)
        message = ngettext("%(num)s refused line removed.", "%(num)s refused lines removed.", removed)
    else:
        ids = [int(v) for v in request.form.getlist("line_id") if v.isdigit() and len(v) < 10]
        removed = operations.remove_lines(order, current_user, line_ids=ids)
        message = ngettext("%(num)s line removed.", "%(num)s lines removed.", removed)
    flash(message, "success")
    return redirect(back)


@bp.route("/<int:order_id>/lines/<int:line_id>", methods=["POST"])
@roles_required("clerk")
def edit_line(order_id: int, line_id: int):
    """Save one line's own parameters from the line form shown on the draft's page."""
    order = load_visible(order_id)
    kind = get_kind(order.kind)
    if kind.line_schema is None:
        abort(404)
    form = line_form(kind.line_schema)(prefix=f"line{line_id}")
    if not form.validate_on_submit():  # the CSRF token; the details are loaded through the kind's line schema
        flash(_("The form has expired; reload the page and try again."), "error")
        return redirect(url_for("orders.show", order_id=order_id))
    redirect_refusals_to(url_for("orders.show", order_id=order_id), form=form)
    operations.update_line(order, line_id, form.data, current_user)
    flash(_("Line saved."), "success")
    return redirect(url_for("orders.show", order_id=order_id))


@bp.route("/<int:order_id>/lines/<int:line_id>/override", methods=["POST"])
@roles_required("registrar")
def override_line(order_id: int, line_id: int):
    """The registrar head accepts a refused line with a written justification."""
    order = load_visible(order_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    redirect_refusals_to(url_for("orders.show", order_id=order_id))
    operations.override_line(order, line_id, request.form.get("justification", ""), current_user)
    flash(_("The line is accepted; your justification is recorded."), "success")
    return redirect(url_for("orders.show", order_id=order_id))


@bp.route("/<int:order_id>/document.docx")
@roles_required(*READERS)
def document(order_id: int):
    order = load_visible(order_id)
    if order.document is None:
        abort(404, _("The document exists once the order is signed."))
    content, name, _sha256 = operations.signed_document(order, current_user)
    return send_file(
        io.BytesIO(content),
        download_name=name,
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        as_attachment=True,
    )


@jobs_bp.route("/jobs/<int:job_id>")
@roles_required(*READERS)
def status(job_id: int):
    """A background job's progress and result, as JSON, for the order page's progress bar (who may see the order)."""
    job = db.session.get(jobs.Job, job_id)
    if job is None:
        abort(404)
    load_visible(job.order_id)
    response = jsonify(job.as_dict() | {"order_url": url_for("orders.show", order_id=job.order_id)})
    response.headers["Cache-Control"] = "no-store"
    return response
