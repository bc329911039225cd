"""Pages for competitive orders (vacant state grants, President's and personal scholarships): the ranking with each
line's outcome and reason, the bulk additions, and the council's ranking list as XLSX and DOCX."""

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.auth import EmptyForm
from core.clock import today
from core.db import db
from core.errors import InvalidInput, redirect_refusals_to
from core.permissions import roles_required
from orders import operations, ranking
from orders.kinds.competitions import drafting, ranking_list
from orders.kinds.competitions.blueprints import pages as bp
from orders.views import READERS, load_visible
from students.models import Faculty, Programme

KINDS = ("vacant_grant", "president_scholarship", "personal_scholarship")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _load(order_id: int):
    order = load_visible(order_id)
    if order.kind not in KINDS:
        abort(404)
    return order


def _int(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) < 2**31 else None


@bp.route("/<int:order_id>")
@roles_required(*READERS)
def show(order_id: int):
    order = _load(order_id)
    lines = operations.visible_lines(order, current_user)
    language = str(get_locale())
    programmes = faculties = []
    editable = operations.can_edit(order, current_user)
    if editable and order.kind == "vacant_grant":
        programmes = [
            (p.id, f"{p.code} {p.name(language)}")
            for p in db.session.scalars(select(Programme).order_by(Programme.code))
        ]
    elif editable:
        faculties = [(f.id, f.name(language)) for f in db.session.scalars(select(Faculty).order_by(Faculty.code))]
    return render_template(
        "orders/ranking.html",
        order=order,
        sections=ranking_list.sections(order, lines),
        lines=lines,
        editable=editable,
        programmes=programmes,
        faculties=faculties,
        deadline=ranking.next_deadline(today()) if order.kind == "vacant_grant" else None,
        class_labels=ranking.CLASS_LABELS,
        form=EmptyForm(),
    )


@bp.route("/<int:order_id>/add", methods=["POST"])
@roles_required("clerk")
def add(order_id: int):
    order = _load(order_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    redirect_refusals_to(url_for("ranking.show", order_id=order_id))
    if order.kind == "vacant_grant":
        programme_id, course = _int("programme_id"), _int("course")
        if programme_id is None or course is None or not 1 <= course <= 7:
            raise InvalidInput({"course": _("Choose a programme and a course from 1 to 7.")})
        added = drafting.add_paid_students(order, programme_id, course, current_user)
    else:
        added = drafting.add_scholarship_candidates(order, current_user, _int("faculty_id"))
    flash(ngettext("%(num)s student added and ranked.", "%(num)s students added and ranked.", len(added)), "success")
    return redirect(url_for("ranking.show", order_id=order_id))


def send_ranking(order, suffix: str):
    """The ranking list of the lines the user may see, as a workbook ("xlsx") or a Word document ("docx")."""
    export, mimetype = {"xlsx": (ranking_list.export_xlsx, XLSX), "docx": (ranking_list.export_docx, DOCX)}[suffix]
    content = export(order, operations.visible_lines(order, current_user))
    return send_file(
        io.BytesIO(content),
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"ranking-{order.label}.{suffix}".replace("/", "-"),
    )


@bp.route("/<int:order_id>/ranking.xlsx")
@roles_required(*READERS)
def export_xlsx(order_id: int):
    return send_ranking(_load(order_id), "xlsx")


@bp.route("/<int:order_id>/ranking.docx")
@roles_required(*READERS)
def export_docx(order_id: int):
    return send_ranking(_load(order_id), "docx")
