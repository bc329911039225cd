"""Downloads of signed documents beside the order's DOCX: the order's PDF, and each student's extract as DOCX and
PDF (listed in the student's personal file, `orders/personal_file.py`). Every file is the frozen one; a PDF not
converted yet is asked of the worker and the page says it is being prepared. The one exception: a dean's extract of
own faculty's lines is cut from the signed DOCX per download, so its PDF is converted in the request."""

import io

from flask import Blueprint, abort, render_template, send_file
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.db import db
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES
from orders import operations, pdf, verification
from orders.documents import DOCX_MIMETYPE, sha256
from orders.models import Order, OrderExtract, OrderLine
from students.operations import get_visible_student

bp = Blueprint("signed_documents", __name__, url_prefix="/orders")
READERS = (*UNIVERSITY_ROLES, "dean")


def _pdf_answer(docx_sha256: str, filename: str):
    """The cached PDF of a frozen DOCX, or a 202 page saying it is being prepared (the worker converts it), or 503
    when LibreOffice is not installed here."""
    row = pdf.cached(docx_sha256)
    if row is not None and row.status == "ready":
        return send_file(io.BytesIO(row.content), download_name=filename, mimetype=pdf.PDF_MIMETYPE, as_attachment=True)
    if not pdf.available():
        abort(503, _("PDF is not available: LibreOffice is not installed on the server. Download the DOCX instead."))
    failed = row.error if row is not None and row.status == "failed" else None
    pdf.request_pdf(docx_sha256)
    return render_template("orders/pdf_pending.html", failed=failed), 202


@bp.route("/<int:order_id>/document.pdf")
@roles_required(*READERS)
def order_pdf(order_id: int):
    """The signed order's PDF, or for a dean whose faculties hold only some of its lines the PDF of the extract of
    those lines (as the DOCX download gives), never another faculty's students."""
    order = db.session.get(Order, order_id) or abort(404)
    if not operations.can_view(order, current_user):
        abort(403)
    if order.document is None:
        abort(404, _("The document exists once the order is signed."))
    content, name, docx_sha256 = operations.signed_document(order, current_user)
    name = name.removesuffix(".docx") + ".pdf"
    if docx_sha256 is None:  # a dean's extract of own faculty's lines: cut now, so converted now, never cached
        extract = pdf.convert_now(content)
        return send_file(io.BytesIO(extract), download_name=name, mimetype=pdf.PDF_MIMETYPE, as_attachment=True)
    return _pdf_answer(docx_sha256, name)


def _visible_extract(extract_id: int) -> OrderExtract:
    extract = db.session.get(OrderExtract, extract_id) or abort(404)
    student_id = db.session.scalar(select(OrderLine.student_id).where(OrderLine.id == extract.order_line_id))
    if get_visible_student(current_user, student_id) is None:
        abort(403)
    return extract


@bp.route("/extracts/<int:extract_id>.docx")
@roles_required(*READERS)
def extract_docx(extract_id: int):
    extract = _visible_extract(extract_id)
    content = verification.extract_document(extract)
    return send_file(io.BytesIO(content), download_name=extract.filename, mimetype=DOCX_MIMETYPE, as_attachment=True)


@bp.route("/extracts/<int:extract_id>.pdf")
@roles_required(*READERS)
def extract_pdf(extract_id: int):
    extract = _visible_extract(extract_id)
    content = verification.extract_document(extract)
    return _pdf_answer(sha256(content), extract.filename.removesuffix(".docx") + ".pdf")


@bp.app_template_global()
def pdf_available() -> bool:
    return pdf.available()
