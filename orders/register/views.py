"""The scholarship register page: payments by month, filtered, with totals, pages and an XLSX export."""

import io
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from core.db import db
from core.labels import label
from core.permissions import roles_required
from orders.register import payments
from orders.registry import PAYING_NAMES
from students.models import Faculty

bp = Blueprint("register", __name__, url_prefix="/register", template_folder="templates")
PER_PAGE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTER_NAMES = ("month", "month_from", "month_to", "faculty_id", "kind", "q", "status")


@bp.route("")
@roles_required(*payments.READER_ROLES)
def index():
    faculties = payments.register_scope(current_user)
    flt, errors = payments.parse_filter(request.args, faculties)
    language = str(get_locale())
    register = payments.build_register(flt, faculties, language)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pages = max((len(register.rows) + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(page, pages)
    rows = register.rows[(page - 1) * PER_PAGE : page * PER_PAGE]
    query = Faculty.id.in_(faculties) if faculties is not None else True
    faculty_choices = [
        (f.id, f.name(language)) for f in db.session.scalars(select(Faculty).where(query).order_by(Faculty.code))
    ]
    args = {name: request.args.get(name) for name in FILTER_NAMES if request.args.get(name)}
    return render_template(
        "orders/register.html",
        register=register,
        rows=rows,
        page=page,
        pages=pages,
        errors=errors,
        flt=flt,
        faculties=faculty_choices,
        kinds=[(k, label(k)) for k in PAYING_NAMES],
        statuses=[(s, payments.status_label(s)) for s in payments.STATUSES],
        status_label=payments.status_label,
        args=args,
        page_url=lambda n: "?" + urlencode({**args, "page": n}),
        export_url=url_for("register.export", **args),
    ), (400 if errors else 200)


@bp.route("/export.xlsx")
@roles_required(*payments.READER_ROLES)
def export():
    faculties = payments.register_scope(current_user)
    flt, errors = payments.parse_filter(request.args, faculties)
    if errors:
        abort(400, "; ".join(errors.values()))
    register = payments.build_register(flt, faculties, str(get_locale()))
    content = payments.to_xlsx(register)
    name = f"register-{flt.month_from:%Y-%m}" + (f"-{flt.month_to:%Y-%m}" if flt.month_to != flt.month_from else "")
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True, download_name=f"{name}.xlsx")
