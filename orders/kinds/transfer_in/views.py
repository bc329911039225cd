"""The page where a clerk enters an incoming student (transfer from another university) into a transfer-in draft."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from core.errors import FormRefusals
from core.permissions import roles_required
from orders.kinds.transfer_in.blueprints import pages as bp
from orders.kinds.transfer_in.incoming import add_incoming
from orders.views import load_visible


class IncomingForm(FlaskForm):
    """Fields are checked by `incoming.validate_incoming`, which names every problem at once."""

    iin = StringField(_l("IIN"), description=_l("12 digits."))
    surname = StringField(_l("Surname"))
    name = StringField(_l("Name"))
    patronymic = StringField(_l("Patronymic"))
    email = StringField(_l("E-mail"))
    previous_university = StringField(_l("Previous university"))
    group = StringField(_l("Target group"), description=_l("The group's name at this university."))
    funding = SelectField(
        _l("Funding at the previous university"), choices=[("grant", _l("state grant")), ("paid", _l("paid"))]
    )
    grant_tied = BooleanField(
        _l("The grant is tied to the previous university or is a pedagogical-quota grant"),
        description=_l("Then the student studies here on a paid basis."),
    )
    transcript = TextAreaField(
        _l("Transcript"),
        render_kw={"rows": 8},
        description=_l(
            "One discipline per line: code; name; semester; credits; points "
            "(0-100); optionally the academic year, e.g. 2025-2026."
        ),
    )


@bp.route("/<int:order_id>/incoming", methods=["GET", "POST"])
@roles_required("clerk")
def new_incoming(order_id: int):
    order = load_visible(order_id)
    form = IncomingForm()
    refused = FormRefusals(form)
    if form.validate_on_submit():
        with refused:
            add_incoming(order, form.data, current_user)
            flash(_("The incoming student is added to the draft."), "success")
            return redirect(url_for("orders.show", order_id=order.id))
    return render_template("orders/transfer_in.html", form=form, order=order), refused.status or (
        400 if form.errors else 200
    )
