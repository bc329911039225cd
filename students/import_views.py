"""The import page: upload a file, see every bad row or what it would change, confirm to write it in one go.

The uploaded file is kept under the instance folder with a random token remembered in the signed session; the
confirm step reads that same file again and checks it again, never trusting anything parsed sent back by the browser.
"""

import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired

from core.errors import redirect_refusals_to
from core.permissions import roles_required
from students.imports import COLUMNS, EXAMPLES, KINDS, apply_plan, plan_import

bp = Blueprint("imports", __name__, url_prefix="/imports")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KEEP_SECONDS = 24 * 3600
KIND_LABELS = {"students": _l("Students"), "curriculum": _l("Curriculum"), "grades": _l("Grades")}
SHOWN_ERRORS = 100  # a page lists this many bad rows and counts the rest


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("What the file holds"), choices=[(k, KIND_LABELS[k]) for k in KINDS], validators=[InputRequired()]
    )
    file = FileField(
        _l("File (.csv or .xlsx)"),
        validators=[FileRequired(), FileAllowed(["csv", "xlsx"], _l("Upload a .csv or .xlsx file."))],
    )


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[InputRequired()])


def _folder() -> Path:
    folder = Path(current_app.config.get("IMPORTS_DIR") or Path(current_app.instance_path) / "imports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _forget_old(folder: Path) -> None:
    limit = time.time() - KEEP_SECONDS
    for path in folder.glob("*.upload"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def _stored() -> tuple[dict, Path] | None:
    """The upload this browser session made, and its file, when both still exist."""
    upload = session.get("import_upload")
    if not upload or not TOKEN.match(upload.get("token", "")) or upload.get("kind") not in KINDS:
        return None
    path = _folder() / f"{upload['token']}.upload"
    return (upload, path) if path.is_file() else None


def _page(form: UploadForm, plan=None, confirm: ConfirmForm | None = None, filename: str | None = None, status=200):
    return render_template(
        "imports/index.html",
        form=form,
        plan=plan,
        confirm=confirm,
        filename=filename,
        columns=COLUMNS,
        examples=EXAMPLES,
        kind_labels=KIND_LABELS,
        shown_errors=SHOWN_ERRORS,
    ), status


@bp.route("/", methods=["GET"])
@roles_required("clerk")
def index():
    return _page(UploadForm())


@bp.route("/", methods=["POST"])
@roles_required("clerk")
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    folder = _folder()
    _forget_old(folder)
    previous = _stored()
    if previous:
        previous[1].unlink(missing_ok=True)
    data = form.file.data.read()
    filename = Path(form.file.data.filename or "upload").name
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.upload").write_bytes(data)
    session["import_upload"] = {"token": token, "kind": form.kind.data, "filename": filename}
    plan = plan_import(form.kind.data, filename, data)
    if not plan.ok:  # nothing to confirm: the file is not kept
        (folder / f"{token}.upload").unlink()
        session.pop("import_upload")
    confirm = ConfirmForm(token=token) if plan.ok else None
    return _page(form, plan=plan, confirm=confirm, filename=filename, status=200 if plan.ok else 422)


@bp.route("/confirm", methods=["POST"])
@roles_required("clerk")
def confirm():
    form = ConfirmForm()
    stored = _stored()
    if not form.validate_on_submit() or stored is None or form.token.data != stored[0]["token"]:
        flash(_("That upload is no longer available; upload the file again."), "error")
        return redirect(url_for("imports.index"))
    upload, path = stored
    plan = plan_import(upload["kind"], upload["filename"], path.read_bytes())
    if not plan.ok:
        upload_form = UploadForm(kind=upload["kind"])
        return _page(upload_form, plan=plan, filename=upload["filename"], status=422)
    redirect_refusals_to(url_for("imports.index"))
    counts = apply_plan(plan)
    path.unlink(missing_ok=True)
    session.pop("import_upload", None)
    flash(
        _(
            "Imported %(file)s: %(created)d new, %(updated)d updated, %(unchanged)d unchanged.",
            file=upload["filename"],
            **counts,
        ),
        "success",
    )
    return redirect(url_for("imports.index"))
