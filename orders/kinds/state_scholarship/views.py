"""Pages for the state scholarship: draft one order for chosen faculties and courses, see who is in and who is out
and why."""

from flask import flash, render_template
from flask_babel import ngettext
from flask_login import current_user

from core.permissions import roles_required
from orders import jobs, operations
from orders.kinds.state_scholarship import drafting as bulk
from orders.kinds.state_scholarship.blueprints import pages as bp
from orders.kinds.state_scholarship.state_scholarship import StateScholarshipParams
from orders.params import order_form
from orders.views import READERS, bulk_new, load_visible


def _announce(order) -> None:
    counts = bulk.summary(order)
    flash(
        ngettext(
            "State scholarship drafted for %(num)s student: %(in)s appointed, %(out)s not appointed.",
            "State scholarship drafted for %(num)s students: %(in)s appointed, %(out)s not appointed.",
            len(order.lines),
            **{"in": counts["in"], "out": counts["out"]},
        ),
        "success",
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required("clerk")
def new():
    form = order_form(StateScholarshipParams, scope=True)()
    return bulk_new(form, bulk.ask_scholarship, "scholarship.outcomes", "orders/scholarship_new.html", _announce)


@bp.route("/<int:order_id>")
@roles_required(*READERS)
def outcomes(order_id: int):
    order = load_visible(order_id, bulk.KIND)
    lines = operations.visible_lines(order, current_user)
    return render_template(
        "orders/scholarship_outcomes.html",
        order=order,
        grouped=bulk.split(order, lines),
        reason=bulk.reason,
        counts=bulk.summary(order),
        **jobs.job_context(order.id, current_user),
    )
