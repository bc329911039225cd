"""The inbox and the decision endpoint every action button posts to."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from approvals.inbox import inbox
from core.db import db
from core.labels import label
from core.permissions import roles_required
from orders.operations import UNIVERSITY_ROLES
from orders.views import load_visible
from workflow.engine import TRIGGERS, Refused, fire

bp = Blueprint("approvals", __name__)
DECIDERS = (*UNIVERSITY_ROLES, "dean")


class DecisionForm(FlaskForm):
    version = HiddenField()
    comment = TextAreaField(validators=[Length(max=4000)])


@bp.route("/inbox")
@roles_required(*DECIDERS)
def inbox_page():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    orders = inbox(current_user, limit=51, offset=(page - 1) * 50)
    return render_template("approvals/inbox.html", orders=orders[:50], more=len(orders) > 50, page=page)


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
    try:
        state = fire(order, trigger, current_user, comment=form.comment.data or "", expected_version=version)
    except Refused as refused:
        db.session.rollback()
        if refused.status == 403:
            abort(403, refused.refusals[0].message)
        for refusal in refused.refusals:
            flash(refusal.message, "error")
        return redirect(url_for("orders.show", order_id=order_id))
    db.session.commit()
    flash(_("Done: the order is now “%(s)s”.", s=label(state)), "success")
    if trigger in ("approve", "sign", "return", "reject"):
        return redirect(url_for("approvals.inbox_page"))
    return redirect(url_for("orders.show", order_id=order_id))
