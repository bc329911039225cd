"""The academic difference: the target curriculum's disciplines a student has not passed, matched by code or name."""

import pytest
from sqlalchemy import event

from core.db import db
from students.academic import CurriculumItem, StudentDebt
from students.difference import (
    debts_of,
    difference_for,
    first_period_completed,
    normalise,
    remove_debts,
    store_debts,
)
from tests.builders import add_grade


def item(programme, semester, code, name, credits=5):
    row = CurriculumItem(
        programme_id=programme.id,
        semester=semester,
        code=code,
        name_ru=name,
        name_kk=f"{name} (kk)",
        name_en=f"{name} (en)",
        credits=credits,
    )
    db.session.add(row)
    db.session.flush()
    return row


def grade(student, code, name, points, **kwargs):
    return add_grade(student, code, points, name=name, **kwargs)


@pytest.fixture
def target(make):
    """A second-course group of a programme with two semesters a year of curriculum."""
    group = make.group(course=2)
    programme = group.programme
    item(programme, 1, "MAT101", "Математика")
    item(programme, 1, "HIS101", "История Казахстана", credits=3)
    item(programme, 2, "PHY102", "Физика (часть 1)")
    item(programme, 3, "PRG201", "Программирование")
    item(programme, 5, "NET301", "Компьютерные сети")  # third course: beyond the target course
    return group


def codes(rows):
    return [row["code"] for row in rows]


def test_normalised_names_ignore_case_punctuation_and_spaces():
    assert normalise("  Физика (часть-1). ") == normalise("физика   часть 1") == "физика часть 1"
    assert normalise("History_of Kazakhstan") == "history of kazakhstan"


def test_difference_lists_unpassed_disciplines_up_to_the_target_course(target, make):
    student = make.student()
    grade(student, "MAT101", "Математика", 88)  # same code: passed
    grade(student, "X-77", "физика  ЧАСТЬ 1", 70, semester=2)  # other code, same name once normalised
    grade(student, "HIS101", "История Казахстана", 40)  # FX: not passed
    (rows,) = difference_for({student.id: (target.programme_id, 4)}).values()
    assert codes(rows) == ["HIS101", "PRG201"]
    assert rows[0] == {
        "code": "HIS101",
        "name_ru": "История Казахстана",
        "name_kk": "История Казахстана (kk)",
        "semester": 1,
        "credits": 3,
    }


def test_a_passing_retake_clears_a_failed_grade(target, make):
    student = make.student()
    grade(student, "HIS101", "История Казахстана", 30)
    grade(student, "HIS101", "История Казахстана", 75, retake=True)
    (rows,) = difference_for({student.id: (target.programme_id, 2)}).values()
    assert codes(rows) == ["MAT101", "PHY102"]


def test_difference_for_many_students_takes_two_queries(target, make):
    students = [make.student() for _ in range(5)]
    grade(students[0], "MAT101", "Математика", 95)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = difference_for({s.id: (target.programme_id, 4) for s in students})
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 2
    assert codes(result[students[0].id]) == ["HIS101", "PHY102", "PRG201"]
    assert codes(result[students[4].id]) == ["HIS101", "MAT101", "PHY102", "PRG201"]


def test_first_period_needs_every_semester_one_discipline(target, make):
    done, half, other = make.student(target), make.student(target), make.student()
    for student in (done, half):
        grade(student, "MAT101", "Математика", 60)
    grade(done, "HIS-1", "история казахстана", 51)
    grade(other, "ANY", "Любая дисциплина", 90)  # a programme without curriculum: one pass of semester 1 is enough
    result = first_period_completed(
        {done.id: target.programme_id, half.id: target.programme_id, other.id: other.group.programme_id}
    )
    assert result == {done.id: True, half.id: False, other.id: True}


def test_debts_are_stored_once_and_removed_with_their_line(target, make):
    student = make.student()
    rows = difference_for({student.id: (target.programme_id, 2)})[student.id]
    db.session.add(StudentDebt(student_id=student.id, code="MAT101", name="Математика", semester=1, credits=5))
    db.session.flush()
    assert store_debts([(student.id, None, rows)]) == 2  # MAT101 is owed already
    assert [(d.code, d.semester, d.credits) for d in debts_of(student)] == [
        ("HIS101", 1, 3),
        ("MAT101", 1, 5),
        ("PHY102", 2, 5),
    ]
    assert all(d.cleared_on is None for d in debts_of(student))
    remove_debts([0])  # no such line: nothing removed
    assert len(debts_of(student)) == 3
