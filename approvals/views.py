"""The inbox (four views, filters, bulk decisions), the decision endpoint every action button posts to, and the
route diagram the order page shows."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from approvals import diagram
from approvals.inbox import (
    DATE_FIELDS,
    HISTORY_CAP,
    SORTS,
    VIEWS,
    Filters,
    bulk_decide,
    inbox_page,
)
from core.auth import EmptyForm
from core.db import db
from core.errors import redirect_refusals_to
from core.formatting import parse_date
from core.labels import label
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES
from orders import jobs
from orders.registry import KINDS
from orders.views import load_visible
from students.models import Faculty
from workflow.engine import TRIGGERS, acting_for_in, fire, legal_triggers, route_of

bp = Blueprint("approvals", __name__)
DECIDERS = (*UNIVERSITY_ROLES, "dean")
PAGE_SIZES = (10, 20, 50, 100)


class DecisionForm(FlaskForm):
    version = HiddenField()
    comment = TextAreaField(validators=[Length(max=4000)])


def filters_from(args) -> Filters:
    """Inbox filters from a query string; anything malformed is ignored rather than refused."""
    faculty = args.get("faculty", type=int)
    return Filters(
        kind=args.get("kind") if args.get("kind") in KINDS else None,
        faculty_id=faculty if faculty and 0 < faculty < 2**31 else None,
        date_field=args.get("date_field") if args.get("date_field") in DATE_FIELDS else "updated",
        date_from=parse_date(args.get("date_from")),
        date_to=parse_date(args.get("date_to")),
        q=(args.get("q") or "")[:100],
        sort=args.get("sort") if args.get("sort") in SORTS else None,
        direction=args.get("direction") if args.get("direction") in ("asc", "desc") else None,
        page=min(max(args.get("page", 1, type=int) or 1, 1), 100_000),
        page_size=args.get("page_size", 20, type=int) if args.get("page_size", type=int) in PAGE_SIZES else 20,
    )


@bp.route("/inbox", endpoint="inbox_page")
@roles_required(*DECIDERS)
def inbox_view():
    view = request.args.get("view", "waiting")
    if view not in VIEWS:
        view = "waiting"
    result = inbox_page(current_user, view, filters_from(request.args))
    language = str(get_locale())
    faculties = [(f.id, f.name(language)) for f in db.session.scalars(select(Faculty).order_by(Faculty.code))]
    kept = {k: v for k, v in request.args.items() if k not in ("view", "page") and v}
    can_sign = current_user.has_role("rector")
    return render_template(
        "approvals/inbox.html",
        result=result,
        view=view,
        views=VIEWS,
        kinds=list(KINDS),
        faculties=faculties,
        kept=kept,
        can_sign=can_sign,
        form=EmptyForm(),
        page_sizes=PAGE_SIZES,
        sorts=[s for s in SORTS if s != "decided" or view == "history"],
        history_cap=HISTORY_CAP,
    )


@bp.route("/inbox/bulk", methods=["POST"])
@roles_required(*DECIDERS)
def bulk():
    """Decide several orders at once; each is tried on its own and the result of each is shown."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    back = request.form.get("back", "")
    back = back if back.startswith("/inbox") and not back.startswith("//") else url_for("approvals.inbox_page")
    ids = [int(v) for v in request.form.getlist("order_id") if v.isdigit() and len(v) <= 9]
    trigger = request.form.get("trigger", "")
    redirect_refusals_to(back)
    results = bulk_decide(current_user, ids, trigger, request.form.get("comment", "")[:4000])
    return render_template("approvals/bulk_result.html", results=results, trigger=trigger, back=back)


@bp.route("/orders/<int:order_id>/fire/<trigger>", methods=["POST"])
@roles_required(*DECIDERS)
def decide(order_id: int, trigger: str):
    if trigger not in TRIGGERS:
        abort(404)
    order = load_visible(order_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    version = int(form.version.data) if (form.version.data or "").isdigit() else None
    redirect_refusals_to(url_for("orders.show", order_id=order_id))
    if trigger in legal_triggers(order, current_user) and jobs.in_background(order, trigger):
        return _in_background(order, trigger, form.comment.data or "", version)
    state = fire(
        order,
        trigger,
        current_user,
        comment=form.comment.data or "",
        expected_version=version,
        acting_for=acting_for_in(order, trigger, current_user),
    )
    flash(_("Done: the order is now “%(s)s”.", s=label(state)), "success")
    if trigger in ("approve", "sign", "return", "reject"):
        return redirect(url_for("approvals.inbox_page"))
    return redirect(url_for("orders.show", order_id=order_id))


def _in_background(order, trigger: str, comment: str, version: int | None):
    """A big order: the decision runs as a job (the worker fires it as this user, re-checking everything); the
    order page shows its progress and result. A second click finds the job running and starts nothing."""
    acting_for = acting_for_in(order, trigger, current_user)
    _job, started = jobs.start_fire(order, trigger, current_user, comment, version, acting_for)
    if started:
        flash(_("“%(t)s” runs in the background; this page shows its progress.", t=label(trigger)), "success")
    else:
        flash(_("An action on this order is already running in the background; wait for it to finish."), "error")
    return redirect(url_for("orders.show", order_id=order.id))


@bp.app_template_global("route_diagram_svg")
def route_diagram_svg(order) -> Markup:
    """The order's route as inline SVG, for the order page (orders/ cannot import approvals/; its template can)."""
    # Built by diagram.svg, which escapes every name and label it puts into the SVG.
    return Markup(diagram.svg(route_of(order), order.state))  # nosec B704


@bp.app_template_global("route_diagram_mermaid")
def route_diagram_mermaid(order) -> str:
    return diagram.mermaid(route_of(order), order.state)
