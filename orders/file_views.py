"""Pages of the registrar office's templates, the draft preview, the basis documents on order lines and the
student's personal file."""

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import defer

from core.auth import EmptyForm
from core.db import db
from core.errors import redirect_refusals_to
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES
from orders import pdf, personal_file, template_admin
from orders.documents import DOCX_MIMETYPE
from orders.filing import BUILT_IN, DOCUMENT_TYPES, EVERY_KIND, PARTS, LineFile, TemplateVersion
from orders.models import Order
from orders.operations import can_view, visible_lines
from orders.registry import KINDS
from students.models import Student
from students.operations import get_visible_student

TEMPLATE_EDITORS = ("admin", "registrar")
READERS = (*UNIVERSITY_ROLES, "dean")
FILE_EDITORS = ("clerk",)

templates_bp = Blueprint("doc_templates", __name__, url_prefix="/admin/templates")
files_bp = Blueprint("order_files", __name__)


def _form_ok() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


def _docx(content: bytes, name: str):
    return send_file(io.BytesIO(content), download_name=name, mimetype=DOCX_MIMETYPE, as_attachment=True)


# Templates -----------------------------------------------------------------------------------------------------------


@templates_bp.route("/")
@roles_required(*TEMPLATE_EDITORS)
def index():
    versions = list(
        db.session.scalars(
            select(TemplateVersion)
            .options(defer(TemplateVersion.content))
            .order_by(TemplateVersion.kind, TemplateVersion.part, TemplateVersion.version.desc())
        )
    )
    groups: dict[tuple[str, str], list[TemplateVersion]] = {}
    for version in versions:
        groups.setdefault((version.kind, version.part), []).append(version)
    return render_template(
        "orders/templates.html",
        groups=groups,
        kinds=[(EVERY_KIND, _("every kind")), *((name, kind.label()) for name, kind in KINDS.items())],
        parts=PARTS,
        placeholders={part: template_admin.placeholders(part) for part in PARTS},
        form=EmptyForm(),
    )


@templates_bp.route("/", methods=["POST"])
@roles_required(*TEMPLATE_EDITORS)
def upload():
    _form_ok()
    redirect_refusals_to(url_for("doc_templates.index"))
    uploaded = request.files.get("file")
    version = template_admin.upload(
        request.form.get("kind", ""),
        request.form.get("part", ""),
        uploaded.read() if uploaded else b"",
        request.form.get("note", ""),
        current_user,
    )
    flash(_("Version %(n)s is saved and active: orders signed from now on use it.", n=version.version), "success")
    return redirect(url_for("doc_templates.index"))


@templates_bp.route("/<int:version_id>.docx")
@roles_required(*TEMPLATE_EDITORS)
def download(version_id: int):
    version = db.session.get(TemplateVersion, version_id) or abort(404)
    return _docx(version.content, f"template-{version.kind.replace('*', 'all')}-{version.part}-v{version.version}.docx")


@templates_bp.route("/built-in/<part>.docx")
@roles_required(*TEMPLATE_EDITORS)
def built_in(part: str):
    if part not in PARTS:
        abort(404)
    return _docx(BUILT_IN[part], f"template-{part}-v0.docx")


@templates_bp.route("/activate", methods=["POST"])
@roles_required(*TEMPLATE_EDITORS)
def activate():
    _form_ok()
    redirect_refusals_to(url_for("doc_templates.index"))
    chosen = request.form.get("version_id", "")
    template_admin.activate(
        request.form.get("kind", ""), request.form.get("part", ""), int(chosen) if chosen.isdigit() else None
    )
    flash(_("The active template is changed: orders signed from now on use it."), "success")
    return redirect(url_for("doc_templates.index"))


# Draft preview ------------------------------------------------------------------------------------------------------


def _visible_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id) or abort(404)
    if not can_view(order, current_user):
        abort(403)
    return order


@files_bp.route("/orders/<int:order_id>/preview.docx")
@roles_required(*UNIVERSITY_ROLES)
def preview(order_id: int):
    """The whole order as it would be rendered now, marked DRAFT; for those who see every line."""
    order = _visible_order(order_id)
    return _docx(template_admin.draft_preview(order), f"draft-{order.id}.docx")


@files_bp.route("/orders/<int:order_id>/preview.pdf")
@roles_required(*UNIVERSITY_ROLES)
def preview_pdf(order_id: int):
    order = _visible_order(order_id)
    content = pdf.convert_now(template_admin.draft_preview(order))
    return send_file(io.BytesIO(content), download_name=f"draft-{order.id}.pdf", mimetype="application/pdf")


# Basis documents on order lines -------------------------------------------------------------------------------------


@files_bp.route("/orders/<int:order_id>/lines/<int:line_id>/files", methods=["POST"])
@roles_required(*FILE_EDITORS)
def upload_file(order_id: int, line_id: int):
    order = _visible_order(order_id)
    _form_ok()
    redirect_refusals_to(url_for("orders.show", order_id=order_id))
    uploaded = request.files.get("file")
    personal_file.upload_file(
        order,
        line_id,
        request.form.get("document_type", ""),
        uploaded.filename if uploaded else "",
        uploaded.read() if uploaded else b"",
        current_user,
    )
    flash(_("Document added to the line."), "success")
    return redirect(url_for("orders.show", order_id=order_id))


@files_bp.route("/orders/<int:order_id>/files/<int:file_id>/delete", methods=["POST"])
@roles_required(*FILE_EDITORS)
def delete_file(order_id: int, file_id: int):
    order = _visible_order(order_id)
    _form_ok()
    redirect_refusals_to(url_for("orders.show", order_id=order_id))
    personal_file.delete_file(order, file_id, current_user)
    flash(_("Document removed."), "success")
    return redirect(url_for("orders.show", order_id=order_id))


@files_bp.route("/orders/<int:order_id>/files/<int:file_id>")
@roles_required(*READERS)
def order_file(order_id: int, file_id: int):
    """A basis document from the order page: only of a line the reader sees (a dean: own faculty's)."""
    order = _visible_order(order_id)
    stored = db.session.get(LineFile, file_id)
    if stored is None or stored.order_id != order.id:
        abort(404)
    if stored.line_id not in {line.id for line in visible_lines(order, current_user)}:
        abort(403)
    return _stored(stored)


def _stored(stored: LineFile):
    return send_file(
        io.BytesIO(stored.content), download_name=stored.filename, mimetype=stored.mimetype, as_attachment=True
    )


# The personal file ----------------------------------------------------------------------------------------------


def _visible_student(student_id: int) -> Student:
    if db.session.get(Student, student_id) is None:
        abort(404)
    student = get_visible_student(current_user, student_id)
    if student is None:
        abort(403)
    return student


@files_bp.route("/students/<int:student_id>/file/documents/<int:file_id>")
@roles_required(*READERS)
def student_file(student_id: int, file_id: int):
    return _stored(personal_file.file_of(_visible_student(student_id), file_id))


@files_bp.route("/students/<int:student_id>/file.zip")
@roles_required(*READERS)
def archive(student_id: int):
    student = _visible_student(student_id)
    return send_file(
        io.BytesIO(personal_file.archive(student)),
        download_name=personal_file.archive_name(student),
        mimetype="application/zip",
        as_attachment=True,
    )


@files_bp.app_context_processor
def helpers() -> dict:
    """What the order page and the student page include from here ask for."""
    return {
        "order_line_files": personal_file.line_files,
        "personal_file_entries": personal_file.entries,
        "document_types": DOCUMENT_TYPES,
        "file_editors": FILE_EDITORS,
        "preview_roles": UNIVERSITY_ROLES,
    }
