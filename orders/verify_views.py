"""The public verification page, for anyone holding a printed or forwarded document: no sign-in.

`/verify/<token>` (the QR code on every page of the order and of its extracts) shows what the order is and whether a
later order revoked or amended it, without any student's name or IIN; a file uploaded there is compared byte for
byte (SHA-256) with the signed order, its PDF and every extract of it. Both are rate-limited per address.
"""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from core.extensions import limiter
from core.permissions import public
from orders import verification
from orders.stamp import normalise_token

bp = Blueprint("verify", __name__, url_prefix="/verify")


class UploadForm(FlaskForm):
    file = FileField(
        _l("The file to check"),
        validators=[FileRequired(_l("Choose the file (DOCX or PDF) you received."))],
        description=_l("The DOCX or PDF exactly as you received it; it is compared byte for byte and not kept."),
    )


def _page_limit() -> str:
    return current_app.config["VERIFY_LIMIT"]


def _upload_limit() -> str:
    return current_app.config["VERIFY_UPLOAD_LIMIT"]


@bp.route("/")
@public
@limiter.limit(_page_limit, scope="verify-page")
def start():
    """Where a person types the code printed beside the QR code."""
    code = normalise_token(request.args.get("code", "")[:64])
    if code:
        return redirect(url_for(".show", token=code))
    return render_template("verify/start.html")


@bp.route("/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_page_limit, scope="verify-page", methods=["GET"])
@limiter.limit(_upload_limit, scope="verify-upload", methods=["POST"])
def show(token: str):
    document = verification.document_by_token(token)
    if document is None:
        abort(404, _l("No signed document has this code. Check the code, or ask the registrar office."))
    form = UploadForm()
    result = None
    if form.validate_on_submit():
        result = verification.match(document, verification.file_sha256(form.file.data.stream))
    status = 400 if form.errors else 200
    return render_template("verify/show.html", facts=verification.facts(document), form=form, result=result), status
