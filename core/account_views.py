"""The administrator's pages about accounts: every API token, with whose it is, its use, and a revoke button."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core import models
from core.auth import EmptyForm
from core.db import db
from core.models import ApiToken
from core.permissions import roles_required

bp = Blueprint("accounts", __name__, url_prefix="/admin")
TOKEN_STATES = {"active": _l("works"), "expired": _l("expired"), "revoked": _l("revoked")}


@bp.route("/tokens")
@roles_required("admin")
def tokens():
    rows = db.session.scalars(select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.id.desc()))
    return render_template("admin/tokens.html", tokens=list(rows), states=TOKEN_STATES, form=EmptyForm())


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required("admin")
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    models.revoke_token(token)
    flash(_("The token of %(user)s is revoked; it no longer works.", user=token.user.full_name), "success")
    return redirect(url_for("accounts.tokens"))
