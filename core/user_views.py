"""The administrator's user pages: list, create, edit roles and faculty, deactivate and reactivate, reset a password.
Every change goes through `core.users` (policy and audit); the views parse, call one operation and render."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import column, select, table
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from core.auth import EmptyForm
from core.db import db
from core.errors import FormRefusals, redirect_refusals_to
from core.labels import label
from core.models import ROLES, User
from core.permissions import roles_required
from core.users import add_user, deactivate_user, reactivate_user, reset_password, update_user

bp = Blueprint("users", __name__, url_prefix="/admin/users")

# The faculties table belongs to `students`, a floor above; like the users' foreign key, core names it by table.
_faculties = table("faculties", column("id"), column("code"), column("name_kk"), column("name_ru"), column("name_en"))
PASSWORD_HELP = _l(
    "At least 10 characters, not only digits, not containing the username, not a common password. The user must "
    "choose a new one at the next sign-in."
)


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    full_name = StringField(
        _l("Full name"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("As it appears in orders and on the approval sheet."),
    )
    position = StringField(
        _l("Position"), validators=[Optional(), Length(max=200)], description=_l("For example: dean of the faculty.")
    )
    email = StringField(
        _l("E-mail"),
        validators=[Optional(), Length(max=254), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Not an e-mail."))],
        description=_l("Where notifications about orders are sent."),
    )
    roles = CheckboxesField(
        _l("Roles"),
        description=_l("What the user may do; a dean also needs a faculty."),
        validators=[DataRequired(message=_l("Choose at least one role."))],
        render_kw={"class": "checkboxes"},
    )
    faculty_id = SelectField(
        _l("Faculty"),
        default="",
        description=_l("The faculty a dean (or a faculty clerk) works for; empty for the university."),
    )


class NewUserForm(UserForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Latin letters, digits, . _ - only.")),
        ],
        description=_l("Used to sign in; Latin letters, digits, dot, dash or underscore."),
    )
    password = PasswordField(
        _l("Temporary password"), validators=[DataRequired(), Length(max=200)], description=PASSWORD_HELP
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Temporary password"), validators=[DataRequired(), Length(max=200)], description=PASSWORD_HELP
    )


def _faculty_choices() -> list[tuple[str, str]]:
    name = {"kk": _faculties.c.name_kk, "en": _faculties.c.name_en}.get(str(get_locale()), _faculties.c.name_ru)
    rows = db.session.execute(select(_faculties.c.id, _faculties.c.code, name).order_by(_faculties.c.code))
    return [("", "—")] + [(str(row[0]), f"{row[1]} — {row[2]}") for row in rows]


def _prepare(form: UserForm) -> None:
    form.roles.choices = [(role, label(role)) for role in ROLES]
    form.faculty_id.choices = _faculty_choices()
    if form.faculty_id.data is None:  # not posted (no faculty chosen) or none on the user
        form.faculty_id.data = ""


def _fill(form: UserForm, user: User) -> None:
    form.roles.data = sorted(user.roles)
    form.faculty_id.data = str(user.faculty_id) if user.faculty_id else ""


def _text(field: StringField) -> str:
    return (field.data or "").strip()


def _faculty_id(form: UserForm) -> int | None:
    return int(form.faculty_id.data) if form.faculty_id.data else None


@bp.route("")
@roles_required("admin")
def index():
    users = db.session.scalars(select(User).order_by(User.is_active_user.desc(), User.username))
    return render_template("admin/users.html", users=list(users), faculties=dict(_faculty_choices()[1:]))


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new():
    form = NewUserForm()
    _prepare(form)
    if form.validate_on_submit():
        with FormRefusals(form) as refused:
            user = add_user(
                current_user,
                form.username.data,
                form.password.data,
                _text(form.full_name),
                form.roles.data,
                faculty_id=_faculty_id(form),
                email=_text(form.email) or None,
                position=_text(form.position),
            )
            flash(_("%(user)s can now sign in and must choose a new password first.", user=user.full_name), "success")
            return redirect(url_for("users.index"))
        return render_template("admin/user_form.html", form=form, user=None), refused.status
    return render_template("admin/user_form.html", form=form, user=None), (200 if not form.errors else 400)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    _prepare(form)
    if not form.is_submitted():
        _fill(form, user)
    if form.validate_on_submit():
        with FormRefusals(form):
            update_user(
                current_user,
                user,
                full_name=_text(form.full_name),
                roles=form.roles.data,
                faculty_id=_faculty_id(form),
                email=_text(form.email) or None,
                position=_text(form.position),
            )
            flash(_("The changes to %(user)s are saved.", user=user.full_name), "success")
            return redirect(url_for("users.edit", user_id=user.id))
    return _edit_page(user, form, ResetPasswordForm(formdata=None))


def _edit_page(user: User, form: UserForm, reset_form: ResetPasswordForm):
    status = 400 if form.errors or reset_form.errors else 200
    return render_template(
        "admin/user_form.html", form=form, user=user, reset_form=reset_form, button=EmptyForm()
    ), status


@bp.route("/<int:user_id>/password", methods=["POST"])
@roles_required("admin")
def reset(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    reset_form = ResetPasswordForm()
    if reset_form.validate_on_submit():
        with FormRefusals(reset_form):
            reset_password(current_user, user, reset_form.password.data)
            flash(
                _(
                    "The password of %(user)s is reset; they must choose a new one at the next sign-in.",
                    user=user.full_name,
                ),
                "success",
            )
            return redirect(url_for("users.edit", user_id=user.id))
    form = UserForm(formdata=None, obj=user)
    _prepare(form)
    _fill(form, user)
    return _edit_page(user, form, reset_form)


@bp.route("/<int:user_id>/deactivate", methods=["POST"])
@roles_required("admin")
def deactivate(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    redirect_refusals_to(url_for("users.edit", user_id=user.id))
    deactivate_user(current_user, user)
    flash(_("%(user)s is deactivated: signed out everywhere, API tokens revoked.", user=user.full_name), "success")
    return redirect(url_for("users.edit", user_id=user.id))


@bp.route("/<int:user_id>/reactivate", methods=["POST"])
@roles_required("admin")
def reactivate(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    reactivate_user(current_user, user)
    flash(_("%(user)s may sign in again (revoked API tokens stay revoked).", user=user.full_name), "success")
    return redirect(url_for("users.edit", user_id=user.id))
