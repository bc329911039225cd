"""The academic difference: disciplines of a target curriculum a student has not passed yet, set-based.

For a student and a target programme, the difference is every curriculum item of the semesters of the target
programme the student would have completed by the effective date (the caller counts them: see
`orders.group_change.semesters_completed`) that no passing grade of the student matches, first by discipline code,
then by the normalised name (case-folded, punctuation dropped, spaces collapsed). A grade counts while no later attempt
supersedes it (see `students.grades`), and passes from `pass_points()` points (D and better).

Every function answers for many students with a fixed number of queries, so a bulk order costs the same as one line.
"""

import re
from collections.abc import Iterable

from sqlalchemy import delete, exists, insert, select, update

from core.clock import today
from core.db import db
from students.academic import CurriculumItem, Grade, StudentDebt
from students.grades import _current, pass_points

_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


def normalise(name: str | None) -> str:
    """A discipline name reduced for matching: 'Физика  (часть-1).' and 'физика часть 1' are the same."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", (name or "").casefold())).strip()


def passed_for(student_ids: Iterable[int]) -> dict[int, tuple[set[str], set[str]]]:
    """(codes, normalised names) of the disciplines each student has passed, from one query."""
    ids = list(dict.fromkeys(student_ids))
    result: dict[int, tuple[set[str], set[str]]] = {student_id: (set(), set()) for student_id in ids}
    if not ids:
        return result
    rows = db.session.execute(
        select(Grade.student_id, Grade.discipline_code, Grade.discipline_name).where(
            Grade.student_id.in_(ids), Grade.points >= pass_points(), _current()
        )
    )
    for student_id, code, name in rows:
        codes, names = result[student_id]
        codes.add(code.strip().casefold())
        names.add(normalise(name))
    return result


def _curricula(programme_ids: set[int], up_to_semester: int) -> dict[int, list[CurriculumItem]]:
    """Curriculum items per programme, semesters 1..up_to_semester, in one query."""
    result: dict[int, list[CurriculumItem]] = {programme_id: [] for programme_id in programme_ids}
    if not programme_ids:
        return result
    for item in db.session.scalars(
        select(CurriculumItem)
        .where(CurriculumItem.programme_id.in_(programme_ids), CurriculumItem.semester <= up_to_semester)
        .order_by(CurriculumItem.semester, CurriculumItem.code)
    ):
        result[item.programme_id].append(item)
    return result


def _is_passed(item: CurriculumItem, codes: set[str], names: set[str]) -> bool:
    return item.code.strip().casefold() in codes or bool(
        {normalise(item.name_ru), normalise(item.name_kk), normalise(item.name_en)} & names
    )


def difference_for(targets: dict[int, tuple[int, int]]) -> dict[int, list[dict]]:
    """The academic difference per student id, for {student id: (target programme id, semesters completed)}.

    Each entry is {"code", "name_ru", "name_kk", "semester", "credits"}, by semester then code; two queries in all.
    """
    if not targets:
        return {}
    passed = passed_for(targets)
    curricula = _curricula(
        {programme for programme, _course in targets.values()},
        max(semesters for _programme, semesters in targets.values()),
    )
    result = {}
    for student_id, (programme_id, semesters) in targets.items():
        codes, names = passed[student_id]
        result[student_id] = [
            {
                "code": item.code,
                "name_ru": item.name_ru,
                "name_kk": item.name_kk,
                "semester": item.semester,
                "credits": item.credits,
            }
            for item in curricula[programme_id]
            if item.semester <= semesters and not _is_passed(item, codes, names)
        ]
    return result


def first_period_completed(programmes: dict[int, int]) -> dict[int, bool]:
    """Whether each student (id -> programme id studied) completed the first academic period.

    Completed means: a passing grade for every curriculum item of semester 1 of that programme (by code or
    normalised name); when the programme has no semester-1 curriculum on record, at least one passing grade of
    semester 1. Three queries in all.
    """
    if not programmes:
        return {}
    ids = list(programmes)
    passed = passed_for(ids)
    curricula = _curricula(set(programmes.values()), 1)
    with_first = set(
        db.session.scalars(
            select(Grade.student_id)
            .where(Grade.student_id.in_(ids), Grade.semester == 1, Grade.points >= pass_points(), _current())
            .distinct()
        )
    )
    result = {}
    for student_id, programme_id in programmes.items():
        items = curricula[programme_id]
        codes, names = passed[student_id]
        if items:
            result[student_id] = all(_is_passed(item, codes, names) for item in items)
        else:
            result[student_id] = student_id in with_first
    return result


def store_debts(rows: list[tuple[int, int, list[dict]]]) -> int:
    """Write the difference of each (student id, order line id, difference) as StudentDebt rows, in one insert;
    a discipline the student already owes is not written twice. Returns the number of rows written."""
    student_ids = [student_id for student_id, _line, items in rows if items]
    if not student_ids:
        return 0
    owed = set(
        db.session.execute(
            select(StudentDebt.student_id, StudentDebt.code).where(StudentDebt.student_id.in_(student_ids))
        ).tuples()
    )
    values = []
    for student_id, line_id, items in rows:
        for item in items:
            if (student_id, item["code"]) in owed:
                continue
            owed.add((student_id, item["code"]))
            values.append(
                {
                    "student_id": student_id,
                    "order_line_id": line_id,
                    "code": item["code"],
                    "name": item["name_ru"],
                    "semester": item["semester"],
                    "credits": item["credits"],
                }
            )
    if values:
        db.session.execute(insert(StudentDebt), values)
    return len(values)


def remove_debts(line_ids: list[int]) -> None:
    """Remove the debts these order lines wrote (their order was revoked), in one statement."""
    if line_ids:
        db.session.execute(delete(StudentDebt).where(StudentDebt.order_line_id.in_(line_ids)))


def clear_passed_debts(student_ids) -> int:
    """Mark cleared, as of today, the debts of these students whose discipline now has a passing grade (matched by
    code), in one UPDATE; returns how many were cleared. Called when grades arrive."""
    ids = list(set(student_ids))
    if not ids:
        return 0
    passed = exists().where(
        Grade.student_id == StudentDebt.student_id,
        Grade.discipline_code == StudentDebt.code,
        Grade.points >= pass_points(),
    )
    result = db.session.execute(
        update(StudentDebt)
        .where(StudentDebt.student_id.in_(ids), StudentDebt.cleared_on.is_(None), passed)
        .values(cleared_on=today())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def debts_of(student) -> list[StudentDebt]:
    """The student's academic difference still or once owed, by semester and code (for the student page)."""
    return list(
        db.session.scalars(
            select(StudentDebt)
            .where(StudentDebt.student_id == student.id)
            .order_by(StudentDebt.semester, StudentDebt.code)
        )
    )
