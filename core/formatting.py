"""How dates, moments and money read in the pages, the documents and the e-mails (Flask-Babel), and the one date
parser for forms, API bodies and imports.

Every stored moment is UTC (SQLite hands it back naive) and is shown in the configured `TIMEZONE`. A date reads
dd.MM.yyyy and a moment dd.MM.yyyy HH:mm in every language; money groups thousands with a non-breaking space, the
Russian and Kazakh convention, whatever the reader's language. Documents and e-mails are written in their own
language (kk or ru), not the reader's: they pass it as `locale`. Without one, Flask-Babel formats in the reader's
language; with one, Babel itself does (Flask-Babel takes a language only through `force_locale`, which costs several
times the formatting, and signing an order formats dates for each of thousands of lines).
"""

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, dates
from babel.numbers import format_decimal
from flask import current_app
from flask_babel import format_date, format_datetime

DAY_PATTERN = "dd.MM.yyyy"
MOMENT_PATTERN = "dd.MM.yyyy HH:mm"
MONEY_PATTERN = "#,##0.##"
MONEY_LOCALE = "ru"  # CLDR's ru and kk both group thousands with a non-breaking space: 54 205
ISO_DAY = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})")
DOTTED_DAY = re.compile(r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})")


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def as_utc(moment: datetime) -> datetime:
    """A stored moment as an aware UTC datetime: SQLite hands back naive values, and every stored moment is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_time(moment: datetime) -> datetime:
    """A stored moment in the configured `TIMEZONE` (Asia/Almaty by default)."""
    return as_utc(moment).astimezone(local_zone())


def start_of_day(day: date) -> datetime:
    """The first UTC moment of the local calendar day `day`."""
    return datetime.combine(day, time(), tzinfo=local_zone()).astimezone(UTC)


@cache
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code)


def format_day(day: date | None, locale: str | None = None) -> str:
    """A calendar date as dd.MM.yyyy ("" for None)."""
    if day is None:
        return ""
    if locale is None:
        return format_date(day, DAY_PATTERN)
    return _day_in(day, locale)


@lru_cache(maxsize=4096)
def _day_in(day: date, locale: str) -> str:
    """Documents format the same few dates thousands of times (a line's effective date in every item)."""
    return dates.format_date(day, DAY_PATTERN, locale=_babel_locale(locale))


def format_moment(moment: datetime | None, locale: str | None = None) -> str:
    """A stored moment as local dd.MM.yyyy HH:mm ("" for None)."""
    if moment is None:
        return ""
    if locale is None:
        return format_datetime(local_time(moment), MOMENT_PATTERN, rebase=False)
    return dates.format_datetime(local_time(moment), MOMENT_PATTERN, locale=_babel_locale(locale))


def format_money(amount: int | Decimal) -> str:
    """An amount of tenge with the thousands apart by a non-breaking space: 54205 -> "54 205", in every language."""
    return format_decimal(amount, MONEY_PATTERN, locale=_babel_locale(MONEY_LOCALE))


def parse_date(value: date | str | None, *, dotted: bool = False) -> date | None:
    """A date from a form (a `date`), an API body (YYYY-MM-DD text) or, with `dotted`, an imported file
    (DD.MM.YYYY as well). None when the value is missing, empty or not a real date: a caller that must tell
    "missing" from "wrong" looks at the raw value."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = ISO_DAY.fullmatch(text) or (DOTTED_DAY.fullmatch(text) if dotted else None)
    if match is None:
        return None
    try:
        return date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return None
