"""The time as the application sees it, and the working calendar of deadlines. Tests and the deadline scheduler's
tests move the time with `CLOCK_NOW`."""

from datetime import date, datetime, timedelta
from functools import cache

import holidays
from flask import current_app

from core.db import utcnow
from core.formatting import local_time, local_zone

COUNTRY = "KZ"  # whose public holidays and moved days off the working calendar follows


def now() -> datetime:
    """The current UTC moment, or the app's `CLOCK_NOW` (an aware datetime) when a test has set one."""
    frozen = current_app.config.get("CLOCK_NOW")
    return frozen if frozen is not None else utcnow()


def today() -> date:
    """Today's local calendar date (Asia/Almaty by default)."""
    return local_time(now()).date()


@cache
def _public_calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(COUNTRY, years=year)


def is_working_day(day: date) -> bool:
    """Monday to Friday, except Kazakhstan's public holidays and the days off the government moves (with the
    Saturdays worked instead), from the `holidays` package, and except the university's own `EXTRA_DAYS_OFF`."""
    if day in current_app.config.get("EXTRA_DAYS_OFF", ()):
        return False
    return _public_calendar(day.year).is_working_day(day)


def add_working_days(moment: datetime, days: int) -> datetime:
    """`moment` plus `days` working days (`is_working_day`), counted in local time; the result keeps the time of
    day."""
    local = local_time(moment)
    remaining = days
    while remaining > 0:
        local += timedelta(days=1)
        if is_working_day(local.date()):
            remaining -= 1
    return local.astimezone(moment.tzinfo or local_zone())
