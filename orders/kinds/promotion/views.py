"""Pages for year-end promotion: draft one order for a whole scope, see its outcomes, turn the refused lines into
repeat-year and expulsion drafts."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from core.auth import EmptyForm
from core.db import db
from core.errors import redirect_refusals_to
from core.paging import paginate
from core.permissions import roles_required
from orders import jobs, operations
from orders.kinds.promotion import drafting as bulk
from orders.kinds.promotion.blueprints import pages as bp
from orders.kinds.promotion.promotion import PromotionParams
from orders.params import order_form
from orders.views import READERS, bulk_new, load_visible
from students.models import Faculty, Programme


def _optional_id(value):
    return int(value) if value not in (None, "", "None") and str(value).isdigit() else None


class PromotionDraftForm(order_form(PromotionParams)):
    faculty_id = SelectField(
        _l("Faculty"), coerce=_optional_id, validate_choice=False, description=_l("Empty: every faculty.")
    )
    programme_id = SelectField(
        _l("Programme"),
        coerce=_optional_id,
        validate_choice=False,
        description=_l("Empty: every programme of the scope."),
    )
    course = IntegerField(
        _l("Course"), validators=[Optional(), NumberRange(min=1, max=7)], description=_l("Empty: every course.")
    )


def _draft_form() -> PromotionDraftForm:
    form = PromotionDraftForm()
    language = str(get_locale())
    form.faculty_id.choices = [("", _("all faculties"))] + [
        (str(f.id), f.name(language)) for f in db.session.scalars(select(Faculty).order_by(Faculty.code))
    ]
    form.programme_id.choices = [("", _("all programmes"))] + [
        (str(p.id), f"{p.code} {p.name(language)}")
        for p in db.session.scalars(select(Programme).order_by(Programme.code))
    ]
    return form


def _announce(order) -> None:
    counts = bulk.summary(order)
    flash(
        ngettext(
            "Promotion drafted for %(num)s student: %(promote)s to promote, %(repeat)s for a repeat year, "
            "%(expel)s for expulsion, %(blocked)s blocked.",
            "Promotion drafted for %(num)s students: %(promote)s to promote, %(repeat)s for a repeat year, "
            "%(expel)s for expulsion, %(blocked)s blocked.",
            len(order.lines),
            promote=counts["promote"],
            repeat=counts["repeat_year"],
            expel=counts["expulsion"],
            blocked=counts["blocked"],
        ),
        "success",
    )
    final_year = len(order.params.get(bulk.FINAL_YEAR) or [])
    if final_year:
        flash(
            ngettext(
                "%(num)s final-year student is listed apart: graduation is a different order.",
                "%(num)s final-year students are listed apart: graduation is a different order.",
                final_year,
            ),
            "success",
        )


@bp.route("/new", methods=["GET", "POST"])
@roles_required("clerk")
def new():
    return bulk_new(_draft_form(), bulk.ask_promotion, "promotion.outcomes", "orders/promotion_new.html", _announce)


@bp.route("/<int:order_id>")
@roles_required(*READERS)
def outcomes(order_id: int):
    order = load_visible(order_id, "promotion")
    lines = operations.visible_lines(order, current_user)
    return render_template(
        "orders/promotion_outcomes.html",
        order=order,
        final_year=paginate(bulk.final_year_students(order, current_user), request.args.get("final_page")),
        **jobs.job_context(order.id, current_user),
        grouped=bulk.outcomes(order, lines),
        reason=bulk.outcome_reason,
        editable=operations.can_edit(order, current_user),
        form=EmptyForm(),
    )


@bp.route("/<int:order_id>/split", methods=["POST"])
@roles_required("clerk")
def split(order_id: int):
    order = load_visible(order_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    redirect_refusals_to(url_for("promotion.outcomes", order_id=order_id))
    if order.kind == "promotion" and operations.can_edit(order, current_user) and jobs.in_background(order):
        _job, started = jobs.start_job(order, "promotion_split", current_user)
        if started:
            flash(_("The split runs in the background; this page shows its progress."), "success")
        else:
            flash(_("An action on this order is already running in the background; wait for it to finish."), "error")
        return redirect(url_for("promotion.outcomes", order_id=order_id))
    repeat, expulsion = bulk.split_refused(order, current_user)
    for made in (repeat, expulsion):
        if made is not None:
            flash(
                ngettext(
                    "Draft %(label)s (%(kind)s) created with %(num)s student.",
                    "Draft %(label)s (%(kind)s) created with %(num)s students.",
                    len(made.lines),
                    label=made.label,
                    kind=made.title,
                ),
                "success",
            )
    return redirect(url_for("promotion.outcomes", order_id=order_id))
