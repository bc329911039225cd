"""The time as the application sees it. Tests and the deadline scheduler's tests move it with `CLOCK_NOW`."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from core.db import utcnow


def now() -> datetime:
    """The current UTC moment, or the app's `CLOCK_NOW` (an aware datetime) when a test has set one."""
    frozen = current_app.config.get("CLOCK_NOW")
    return frozen if frozen is not None else utcnow()


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def today() -> date:
    """Today's local calendar date (Asia/Almaty by default)."""
    return now().astimezone(local_zone()).date()


def add_working_days(moment: datetime, days: int) -> datetime:
    """`moment` plus `days` working days (Monday to Friday, skipping the dates in the HOLIDAYS setting), counted
    in local time; the result keeps the time of day."""
    holidays = set(current_app.config.get("HOLIDAYS", ()))
    local = moment.astimezone(local_zone())
    remaining = days
    while remaining > 0:
        local += timedelta(days=1)
        if local.weekday() < 5 and local.date() not in holidays:
            remaining -= 1
    return local.astimezone(moment.tzinfo or local_zone())
