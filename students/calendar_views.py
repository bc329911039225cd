"""The academic calendar pages: every year's dates for everyone who works with orders; the registrar office edits."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, StringField
from wtforms.validators import Optional

from core.db import db
from core.errors import FormRefusals
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES
from students.academic import AcademicCalendar
from students.calendar import DATES, calendars, save_calendar

bp = Blueprint("calendar", __name__, url_prefix="/calendar")
EDITORS = ("clerk", "registrar")


class CalendarForm(FlaskForm):
    year = StringField(_l("Academic year"), description=_l("Two consecutive years, e.g. 2026-2027."))


for _field, _label in DATES:
    setattr(CalendarForm, _field, DateField(_label, validators=[Optional()]))


@bp.route("/")
@roles_required(*UNIVERSITY_ROLES, "dean", "admin")
def index():
    return render_template("calendar/index.html", calendars=calendars(), dates=DATES)


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<year>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(year: str | None = None):
    existing = None
    if year is not None:
        existing = db.session.scalar(select(AcademicCalendar).where(AcademicCalendar.year == year)) or abort(404)
    form = CalendarForm(obj=existing)
    refused = FormRefusals(form)
    if form.validate_on_submit():
        with refused:
            save_calendar(form.data)
            flash(_("The academic calendar %(year)s is saved.", year=form.year.data.strip()), "success")
            return redirect(url_for("calendar.index"))
    return render_template("calendar/edit.html", form=form, existing=existing), refused.status or (
        400 if form.errors else 200
    )
