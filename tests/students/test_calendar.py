"""Entering the academic calendar: dates checked in order with a message per field, nothing written on error;
the registrar office edits, everyone who works with orders reads."""

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from core.db import db
from students.academic import AcademicCalendar
from students.calendar import InvalidCalendar, save_calendar
from tests.conftest import login

GOOD = {
    "year": "2030-2031",
    "first_semester_start": "2030-09-01",
    "first_session_start": "2030-12-15",
    "first_session_end": "2031-01-10",
    "first_semester_end": "2031-01-17",
    "winter_holidays_start": "2031-01-18",
    "winter_holidays_end": "2031-02-01",
    "second_semester_start": "2031-02-02",
    "second_session_start": "2031-05-11",
    "second_session_end": "2031-05-31",
    "second_semester_end": "2031-06-06",
    "summer_holidays_start": "2031-07-01",
    "summer_holidays_end": "2031-08-31",
    "summer_semester_start": "2031-06-08",
    "summer_semester_end": "2031-06-27",
}


@pytest.fixture(autouse=True)
def english(session):
    with force_locale("en"):
        yield


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(AcademicCalendar))


def test_a_good_calendar_is_saved_and_its_holidays_are_the_transfer_windows(uni):
    calendar = save_calendar(GOOD)
    assert (calendar.year, calendar.winter_holidays_start) == ("2030-2031", date(2031, 1, 18))
    assert calendar.holiday(date(2031, 1, 20)) == "winter"
    assert calendar.holiday(date(2031, 7, 15)) == "summer"
    assert calendar.holiday(date(2031, 3, 1)) is None


def test_saving_the_same_year_again_replaces_its_dates(uni):
    save_calendar(GOOD)
    save_calendar({**GOOD, "winter_holidays_end": "2031-01-31", "summer_semester_start": "", "summer_semester_end": ""})
    (calendar,) = db.session.scalars(select(AcademicCalendar).where(AcademicCalendar.year == "2030-2031"))
    assert (calendar.winter_holidays_end, calendar.summer_semester_start) == (date(2031, 1, 31), None)


def test_dates_out_of_order_name_the_field_and_write_nothing(uni):
    before = count()
    with pytest.raises(InvalidCalendar) as error:
        save_calendar({**GOOD, "winter_holidays_start": "2031-01-17"})
    assert error.value.errors == {
        "winter_holidays_start": "Winter holidays start (17.01.2031) must come after First semester ends (17.01.2031)."
    }
    assert count() == before


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"year": "2030-2032"}, "year", "Give the academic year as two consecutive years, e.g. 2026-2027."),
        ({"year": "2031-2032"}, "first_semester_start", "The first semester of 2031-2032 starts in 2031."),
        ({"second_session_end": "31.05.2031"}, "second_session_end", "Give this date as YYYY-MM-DD."),
        ({"summer_semester_end": ""}, "summer_semester_end", "Give both dates of the summer semester, or neither."),
    ],
)
def test_each_mistake_has_its_message(uni, change, field, message):
    with pytest.raises(InvalidCalendar) as error:
        save_calendar({**GOOD, **change})
    assert error.value.errors[field] == message


def test_the_registrar_office_enters_a_year_in_the_web_form(client, uni):
    login(client, uni.clerk)
    assert client.get("/calendar/new").status_code == 200
    bad = client.post("/calendar/new", data={**GOOD, "second_semester_start": "2031-01-25"})
    assert bad.status_code == 400
    assert "Second semester starts (25.01.2031) must come after Winter holidays end" in bad.get_data(as_text=True)
    assert count() == 0
    response = client.post("/calendar/new", data=GOOD)
    assert response.status_code == 302
    page = client.get("/calendar/").get_data(as_text=True)
    assert 'data-testid="calendar-2030-2031"' in page and "18.01.2031" in page
    assert client.get("/calendar/2030-2031").status_code == 200
    assert client.get("/calendar/1999-2000").status_code == 404


@pytest.mark.parametrize("role", ["dean_a", "rector", "lawyer", "admin"])
def test_others_read_the_calendar_but_may_not_edit_it(client, uni, role):
    login(client, getattr(uni, role))
    assert client.get("/calendar/").status_code == 200
    assert client.get("/calendar/new").status_code == 403
    assert client.post("/calendar/new", data=GOOD).status_code == 403
    assert count() == 0
