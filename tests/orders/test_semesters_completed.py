"""The academic difference counts only the semesters of the target curriculum completed by the effective date."""

from datetime import date
from types import SimpleNamespace

from orders.group_change import semesters_completed

CALENDAR = SimpleNamespace(
    year="2026-2027",
    first_semester_start=date(2026, 9, 1),
    first_semester_end=date(2026, 12, 26),
    summer_holidays_start=date(2027, 7, 1),
    summer_holidays_end=date(2027, 8, 31),
)


def test_winter_holidays_count_the_first_semester_of_the_course_entered():
    assert semesters_completed(2, date(2027, 1, 10), [CALENDAR]) == 3  # semester 4 is not studied yet


def test_summer_holidays_count_only_the_earlier_courses():
    assert semesters_completed(2, date(2027, 7, 15), [CALENDAR]) == 2
    assert semesters_completed(1, date(2027, 7, 15), [CALENDAR]) == 0


def test_without_a_calendar_the_first_semester_ends_with_the_calendar_year():
    assert semesters_completed(3, date(2028, 1, 20), []) == 5
    assert semesters_completed(3, date(2028, 8, 20), []) == 4
