"""Pages for year-end promotion: draft one order for a whole scope, see its outcomes, turn the refused lines into
repeat-year and expulsion drafts."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import IntegerField, SelectField
from wtforms.validators import NumberRange, Optional

from core.auth import EmptyForm
from core.db import db
from core.permissions import roles_required
from orders import operations
from orders import promotion as bulk
from orders.kinds.promotion import PromotionParams
from orders.operations import InvalidInput
from orders.params import order_form
from orders.views import READERS, flash_invalid, load_visible, show_on_form
from students.models import Faculty, Programme

bp = Blueprint("promotion", __name__, url_prefix="/orders/promotion")


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


@bp.route("/new", methods=["GET", "POST"])
@roles_required("clerk")
def new():
    form = _draft_form()
    if form.validate_on_submit():
        try:
            order = bulk.draft_promotion(current_user, form.data)
        except InvalidInput as error:
            db.session.rollback()
            show_on_form(form, error)
        else:
            db.session.commit()
            counts = bulk.summary(order)
            flash(
                _(
                    "Promotion drafted for %(n)s student(s): %(promote)s to promote, %(repeat)s for a repeat year, "
                    "%(expel)s for expulsion, %(blocked)s blocked.",
                    n=len(order.lines),
                    promote=counts["promote"],
                    repeat=counts["repeat_year"],
                    expel=counts["expulsion"],
                    blocked=counts["blocked"],
                ),
                "success",
            )
            return redirect(url_for("promotion.outcomes", order_id=order.id))
    return render_template("orders/promotion_new.html", form=form), (400 if form.errors else 200)


@bp.route("/<int:order_id>")
@roles_required(*READERS)
def outcomes(order_id: int):
    order = load_visible(order_id)
    if order.kind != "promotion":
        abort(404)
    lines = operations.visible_lines(order, current_user)
    return render_template(
        "orders/promotion_outcomes.html",
        order=order,
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
    try:
        repeat, expulsion = bulk.split_refused(order, current_user)
    except InvalidInput as error:
        flash_invalid(error)
    else:
        db.session.commit()
        for made in (repeat, expulsion):
            if made is not None:
                flash(
                    _(
                        "Draft %(label)s (%(kind)s) created with %(n)s student(s).",
                        label=made.label,
                        kind=made.title,
                        n=len(made.lines),
                    ),
                    "success",
                )
    return redirect(url_for("promotion.outcomes", order_id=order_id))
