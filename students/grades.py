"""The letter-grade scale (DESIGN.md section 2) and set-based academic figures: GPA, earned credits, debts.

Every figure function takes a list of student ids and answers for all of them with one query, so bulk paths
(promotion of a whole course, scholarship lists) cost the same number of queries for ten students or ten thousand.
A grade counts while no later attempt at the same discipline (same code: a later year or semester, or the retake
row) supersedes it; a retake therefore replaces the grade it retakes in GPA, credits and debts.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import has_app_context
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from core.db import db
from core.rules import DEFAULT_RULES, rule
from students.academic import Grade

DEBT_LETTERS = ("FX", "F")
EXCELLENT = ("A", "A-")
GOOD = ("B+", "B", "B-", "C+")


def scale() -> list[tuple[int, str, float]]:
    """(lowest points, letter, grade point), highest first, from the `grade_scale` rule (its default outside an app)."""
    table = rule("grade_scale") if has_app_context() else DEFAULT_RULES["grade_scale"]
    return sorted(((lowest, letter, point) for letter, (lowest, point) in table.items()), reverse=True)


def pass_points() -> int:
    """The fewest points that pass (the lowest bound of D under the default scale): below is academic debt."""
    return min(lowest for lowest, letter, _point in scale() if letter not in DEBT_LETTERS)


def letter_for(points: int) -> tuple[str, float]:
    """The letter and grade point for 0..100 points; ValueError outside the range."""
    if not 0 <= points <= 100:
        raise ValueError(f"points must be 0..100, got {points}")
    for lowest, letter, grade_point in scale():
        if points >= lowest:
            return letter, grade_point
    raise AssertionError("unreachable")


def grade_values(
    code: str, name: str, semester: int, year: str, points: int, credits: int = 5, retake: bool = False
) -> dict:
    """A grade's columns but the student, its letter and grade point from the scale: a row for a bulk insert."""
    letter, grade_point = letter_for(points)
    return {
        "discipline_code": code,
        "discipline_name": name,
        "semester": semester,
        "academic_year": year,
        "points": points,
        "letter": letter,
        "grade_point": grade_point,
        "credits": credits,
        "is_retake": retake,
    }


def _current():
    """Grades not superseded by a later attempt at the same discipline by the same student."""
    later = aliased(Grade)
    superseded = exists().where(
        later.student_id == Grade.student_id,
        later.discipline_code == Grade.discipline_code,
        later.id != Grade.id,
        or_(
            later.academic_year > Grade.academic_year,
            and_(later.academic_year == Grade.academic_year, later.semester > Grade.semester),
            and_(
                later.academic_year == Grade.academic_year,
                later.semester == Grade.semester,
                later.is_retake.is_(True),
                Grade.is_retake.is_(False),
            ),
        ),
    )
    return ~superseded


@dataclass
class Record:
    """One student's figures from the grades that count."""

    gpa: float | None = None
    credits: int = 0
    earned_credits: int = 0
    debts: int = 0
    letters: set[str] = field(default_factory=set)


def records_for(student_ids: Iterable[int], academic_year: str | None = None) -> dict[int, Record]:
    """Figures per student id (every id asked for is a key), from one query; `academic_year` limits the grades."""
    ids = list(dict.fromkeys(student_ids))
    result = {student_id: Record() for student_id in ids}
    if not ids:
        return result
    weighted = func.sum(Grade.grade_point * Grade.credits)
    credits = func.sum(Grade.credits)
    query = (
        select(
            Grade.student_id,
            Grade.letter,
            weighted,
            credits,
            func.sum(case((Grade.points >= pass_points(), Grade.credits), else_=0)),
            func.count(Grade.id),
        )
        .where(Grade.student_id.in_(ids), _current())
        .group_by(Grade.student_id, Grade.letter)
    )
    if academic_year is not None:
        query = query.where(Grade.academic_year == academic_year)
    sums: dict[int, list[float]] = {}
    for student_id, letter, points_sum, credit_sum, earned, count in db.session.execute(query):
        record = result[student_id]
        record.letters.add(letter)
        record.credits += credit_sum
        record.earned_credits += earned
        if letter in DEBT_LETTERS:
            record.debts += count
        total = sums.setdefault(student_id, [0.0, 0])
        total[0] += points_sum
        total[1] += credit_sum
    for student_id, (points_sum, credit_sum) in sums.items():
        result[student_id].gpa = round(points_sum / credit_sum, 2) if credit_sum else None
    return result


def debts_for(student_ids: Iterable[int]) -> dict[int, list[Grade]]:
    """Academic debts per student id: FX/F grades not later retaken with a pass (one query)."""
    ids = list(dict.fromkeys(student_ids))
    result: dict[int, list[Grade]] = {student_id: [] for student_id in ids}
    if not ids:
        return result
    query = (
        select(Grade)
        .where(Grade.student_id.in_(ids), Grade.letter.in_(DEBT_LETTERS), _current())
        .order_by(Grade.student_id, Grade.academic_year, Grade.semester, Grade.discipline_code)
    )
    for grade in db.session.scalars(query):
        result[grade.student_id].append(grade)
    return result
