"""Entering the academic calendar: one per academic year, its dates checked in order with a message per field."""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.db import db
from core.errors import InvalidInput
from core.formatting import format_day, parse_date
from students.academic import AcademicCalendar

YEAR = re.compile(r"(\d{4})-(\d{4})")
# The dates of a calendar in the order they fall, with the label a form shows; the summer semester is optional.
DATES: list[tuple[str, str]] = [
    ("first_semester_start", _l("First semester starts")),
    ("first_session_start", _l("Winter session starts")),
    ("first_session_end", _l("Winter session ends")),
    ("first_semester_end", _l("First semester ends")),
    ("winter_holidays_start", _l("Winter holidays start")),
    ("winter_holidays_end", _l("Winter holidays end")),
    ("second_semester_start", _l("Second semester starts")),
    ("second_session_start", _l("Summer session starts")),
    ("second_session_end", _l("Summer session ends")),
    ("second_semester_end", _l("Second semester ends")),
    ("summer_holidays_start", _l("Summer holidays start")),
    ("summer_holidays_end", _l("Summer holidays end")),
    ("summer_semester_start", _l("Summer semester starts")),
    ("summer_semester_end", _l("Summer semester ends")),
]
OPTIONAL = ("summer_semester_start", "summer_semester_end")
# (earlier, later, strictly): the orderings the table's check constraints enforce, checked here first for messages.
ORDER = [
    ("first_semester_start", "first_session_start", False),
    ("first_session_start", "first_session_end", False),
    ("first_session_end", "first_semester_end", False),
    ("first_semester_end", "winter_holidays_start", True),
    ("winter_holidays_start", "winter_holidays_end", False),
    ("winter_holidays_end", "second_semester_start", True),
    ("second_semester_start", "second_session_start", False),
    ("second_session_start", "second_session_end", False),
    ("second_session_end", "second_semester_end", False),
    ("second_semester_end", "summer_holidays_start", True),
    ("summer_holidays_start", "summer_holidays_end", False),
    ("second_semester_end", "summer_semester_start", True),
    ("summer_semester_start", "summer_semester_end", False),
]


class InvalidCalendar(InvalidInput):
    """A calendar with wrong dates: `errors` names each wrong field."""


def save_calendar(raw: dict) -> AcademicCalendar:
    """Create or replace the calendar of the year `raw["year"]` (e.g. 2026-2027); InvalidCalendar lists every wrong
    field and nothing is written."""
    errors: dict[str, str] = {}
    labels = dict(DATES)
    year = str(raw.get("year") or "").strip()
    match = YEAR.fullmatch(year)
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        errors["year"] = _("Give the academic year as two consecutive years, e.g. 2026-2027.")
    days = {}
    for field, _label in DATES:
        value = raw.get(field)
        days[field] = parse_date(value)
        missing = field not in OPTIONAL or value not in (None, "")  # optional dates may be empty, not malformed
        if days[field] is None and missing:
            errors[field] = _("Give this date as YYYY-MM-DD.")
    if (days["summer_semester_start"] is None) != (days["summer_semester_end"] is None):
        errors.setdefault("summer_semester_end", _("Give both dates of the summer semester, or neither."))
    for earlier, later, strictly in ORDER:
        first, second = days[earlier], days[later]
        if first is None or second is None or later in errors:
            continue
        if second < first or (strictly and second == first):
            errors[later] = _(
                "%(later)s (%(b)s) must come after %(earlier)s (%(a)s).",
                later=labels[later],
                b=format_day(second),
                earlier=labels[earlier],
                a=format_day(first),
            )
    if match and days["first_semester_start"] and days["first_semester_start"].year != int(match.group(1)):
        errors.setdefault(
            "first_semester_start",
            _("The first semester of %(year)s starts in %(start)s.", year=year, start=match.group(1)),
        )
    if errors:
        raise InvalidCalendar(errors)
    calendar = db.session.scalar(select(AcademicCalendar).where(AcademicCalendar.year == year))
    if calendar is None:
        calendar = AcademicCalendar(year=year)
        db.session.add(calendar)
    for field, _label in DATES:
        setattr(calendar, field, days[field])
    db.session.flush()
    return calendar


def calendars() -> list[AcademicCalendar]:
    return list(db.session.scalars(select(AcademicCalendar).order_by(AcademicCalendar.year.desc())))
