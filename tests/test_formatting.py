"""Dates, moments, money and plurals as every language shows them, and the one date parser."""

from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale, gettext, ngettext

from core.formatting import format_day, format_moment, format_money, local_time, parse_date

NBSP = "\u00a0"


@pytest.fixture
def ui(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_a_date_reads_the_same_in_every_language(ui, language):
    with force_locale(language):
        assert format_day(date(2027, 1, 5)) == "05.01.2027"
        assert format_day(None) == ""


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_a_moment_late_in_the_utc_evening_is_the_next_day_in_almaty(ui, language):
    evening = datetime(2026, 12, 31, 20, 30, tzinfo=UTC)
    with force_locale(language):
        assert format_moment(evening) == "01.01.2027 01:30"  # UTC+5
        assert format_moment(evening.replace(tzinfo=None)) == "01.01.2027 01:30"  # SQLite's naive UTC
    assert local_time(evening.replace(tzinfo=None)).date() == date(2027, 1, 1)


def test_a_document_or_an_email_passes_its_own_language(ui):
    with force_locale("en"):
        assert format_day(date(2026, 9, 1), "kk") == "01.09.2026"
        assert format_moment(datetime(2026, 9, 1, 4, 5, tzinfo=UTC), "ru") == "01.09.2026 09:05"


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_money_groups_thousands_with_a_non_breaking_space_in_every_language(ui, language):
    with force_locale(language):
        assert format_money(54205) == f"54{NBSP}205"
        assert format_money(1234567) == f"1{NBSP}234{NBSP}567"
        assert format_money(900) == "900"


@pytest.mark.parametrize(
    ("count", "russian"),
    [(1, "1 рабочий день"), (2, "2 рабочих дня"), (5, "5 рабочих дней"), (21, "21 рабочий день")],
)
def test_russian_plurals_have_three_forms(ui, count, russian):
    with force_locale("ru"):
        assert ngettext("%(num)s working day", "%(num)s working days", count) == russian


def test_kazakh_and_english_plurals(ui):
    with force_locale("kk"):
        assert ngettext("%(num)s working day", "%(num)s working days", 5) == "5 жұмыс күні"
    with force_locale("en"):
        assert ngettext("%(num)s working day", "%(num)s working days", 1) == "1 working day"
        assert ngettext("%(num)s working day", "%(num)s working days", 5) == "5 working days"


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_a_percent_sign_reads_as_one(ui, language):
    with force_locale(language):
        assert gettext("only excellent grades (+15%)").endswith("(+15%)")


def test_parse_date_takes_dates_and_iso_text():
    assert parse_date(date(2026, 9, 1)) == date(2026, 9, 1)
    assert parse_date(" 2026-09-01 ") == date(2026, 9, 1)
    for value in (None, "", "  ", "2026-02-30", "2026-9-1", "20260901", "01.09.2026", "вчера", 20260901):
        assert parse_date(value) is None, value


def test_parse_date_takes_dotted_dates_from_imports():
    assert parse_date("01.09.2025", dotted=True) == date(2025, 9, 1)
    assert parse_date("1.9.2025", dotted=True) == date(2025, 9, 1)
    assert parse_date("2025-09-01", dotted=True) == date(2025, 9, 1)
    assert parse_date("31.02.2025", dotted=True) is None
