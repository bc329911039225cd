"""The grade scale, GPA, earned credits and academic debts; the academic calendar's windows and constraints."""

from datetime import date

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from core.db import db
from students.academic import AcademicCalendar, academic_year_of
from students.grades import debts_for, letter_for, records_for
from tests.builders import add_grade as grade


@pytest.mark.parametrize(
    ("points", "letter", "grade_point"),
    [
        (100, "A", 4.0),
        (95, "A", 4.0),
        (94, "A-", 3.67),
        (90, "A-", 3.67),
        (89, "B+", 3.33),
        (85, "B+", 3.33),
        (84, "B", 3.0),
        (80, "B", 3.0),
        (79, "B-", 2.67),
        (75, "B-", 2.67),
        (74, "C+", 2.33),
        (70, "C+", 2.33),
        (69, "C", 2.0),
        (65, "C", 2.0),
        (64, "C-", 1.67),
        (60, "C-", 1.67),
        (59, "D+", 1.33),
        (55, "D+", 1.33),
        (54, "D", 1.0),
        (50, "D", 1.0),
        (49, "FX", 0.5),
        (25, "FX", 0.5),
        (24, "F", 0.0),
        (0, "F", 0.0),
    ],
)
def test_scale_boundaries(points, letter, grade_point):
    assert letter_for(points) == (letter, grade_point)


@pytest.mark.parametrize("points", [-1, 101])
def test_points_outside_the_scale_are_refused(points):
    with pytest.raises(ValueError):
        letter_for(points)


def test_gpa_is_credit_weighted(make):
    a, b, nobody = make.student(), make.student(), make.student()
    grade(a, "MAT1", 96, credits=5)  # A 4.0
    grade(a, "PHY1", 66, credits=3)  # C 2.0
    grade(b, "MAT1", 70, credits=6)  # C+ 2.33
    records = records_for([a.id, b.id, nobody.id])
    gpa = {student_id: record.gpa for student_id, record in records.items()}
    assert gpa == {a.id: round((4.0 * 5 + 2.0 * 3) / 8, 2), b.id: 2.33, nobody.id: None}
    assert gpa[a.id] == 3.25
    assert records_for([a.id])[a.id].earned_credits == 8


def test_debt_is_cleared_by_a_later_passing_retake(make):
    student = make.student()
    grade(student, "MAT1", 90, credits=5)
    grade(student, "PHY1", 40, credits=4)  # FX: a debt
    grade(student, "CHE1", 10, credits=3)  # F: a debt
    assert {g.discipline_code for g in debts_for([student.id])[student.id]} == {"PHY1", "CHE1"}
    record = records_for([student.id])[student.id]
    assert (record.debts, record.earned_credits) == (2, 5)

    grade(student, "PHY1", 72, credits=4, retake=True)  # passed retake, same semester
    grade(student, "CHE1", 30, credits=3, semester=3, year="2026-2027")  # failed again a year later
    debts = debts_for([student.id])[student.id]
    assert [(g.discipline_code, g.points) for g in debts] == [("CHE1", 30)]
    record = records_for([student.id])[student.id]
    assert record.earned_credits == 9
    assert record.gpa == round((3.67 * 5 + 2.33 * 4 + 0.5 * 3) / 12, 2)  # the retake replaces the FX

    grade(student, "CHE1", 55, credits=3, semester=5, year="2027-2028")
    assert debts_for([student.id]) == {student.id: []}


def test_figures_for_many_students_take_one_query(make, session):
    students = [make.student() for _ in range(5)]
    for s in students:
        grade(s, "MAT1", 80)
    statements = []

    def count(*_args):
        statements.append(1)

    engine_connection = session.connection()
    event.listen(engine_connection, "before_cursor_execute", count)
    try:
        records_for([s.id for s in students])
        debts_for([s.id for s in students])
    finally:
        event.remove(engine_connection, "before_cursor_execute", count)
    assert len(statements) == 2


def test_grade_constraints_in_the_database(make):
    student = make.student()
    row = grade(student, "MAT1", 80)
    row.points = 101
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def calendar(**changes) -> AcademicCalendar:
    values = dict(
        year="2026-2027",
        first_semester_start=date(2026, 9, 1),
        first_session_start=date(2026, 12, 14),
        first_session_end=date(2027, 1, 10),
        first_semester_end=date(2027, 1, 10),
        winter_holidays_start=date(2027, 1, 11),
        winter_holidays_end=date(2027, 1, 24),
        second_semester_start=date(2027, 1, 25),
        second_session_start=date(2027, 5, 10),
        second_session_end=date(2027, 6, 5),
        second_semester_end=date(2027, 6, 5),
        summer_holidays_start=date(2027, 6, 6),
        summer_holidays_end=date(2027, 8, 31),
        summer_semester_start=date(2027, 6, 14),
        summer_semester_end=date(2027, 7, 31),
    )
    values.update(changes)
    return AcademicCalendar(**values)


def test_calendar_windows(session):
    year = calendar()
    db.session.add(year)
    db.session.flush()
    assert year.holiday(date(2027, 1, 15)) == "winter"
    assert year.holiday(date(2027, 7, 1)) == "summer"
    assert year.holiday(date(2026, 10, 1)) is None
    assert academic_year_of(date(2026, 10, 1)) == "2026-2027" == academic_year_of(date(2027, 8, 31))


@pytest.mark.parametrize(
    "changes",
    [
        {"winter_holidays_start": date(2027, 1, 30)},  # winter holidays end before they start
        {"first_session_end": date(2027, 2, 1)},  # session after the semester
        {"summer_semester_end": date(2027, 6, 1)},  # summer semester ends before it starts
        {"year": "2026/27"},
    ],
)
def test_calendar_dates_must_be_in_order(session, changes):
    db.session.add(calendar(**changes))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
