"""The one place that counts the contingent and its movement: set-based SQL over the students' timeline.

Every figure a report shows (and the state forms build on) comes from here: a fixed number of SQL statements per
answer, whatever the number of students; the database groups and counts, Python only lays the counts out.

Terms:

- A student's *state* on day D as known on K is the record the timeline gives (`students/history.py`): status,
  course, group, funding, expulsion reason, plus the leave ground of the movement that set an academic leave.
- The *population* is who counts: "contingent" (studying or on academic leave, the default) or "studying" (a
  leave is then a way out of the count and a return a way in).
- A *breakdown* is a list of dimensions (`DIMENSIONS`); a *cell* is a tuple of their values (strings). Every
  dimension is a property of the state on the day (the age band: of the student's age on the report's day; in the
  movement report, on its last day, so a birthday moves nobody between cells).
- *Movement* over [D1, D2]: the timeline's changes effective on D2' in (D1, D2] are folded per student and day
  into *steps* from the state before to the state after; a step that changes the student's cell (or takes them into
  or out of the population) is an "in" of the new cell and an "out" of the old one. So for every cell
  on D1 + ins - outs = on D2 exactly (the steps of one student telescope). Each step is put in a *bucket*
  (`Bucket`): its direction, whether the student stays in the population (`moved`: a move between cells, such as
  a course promotion or a change of funding), the kind of the order behind it (the movement's stored kind; an
  enrolment without an order is `ENROLMENT`), and for a way out its detail (the expulsion reason, the leave
  ground, else the new status). Several movements of one student effective on the same day are one step, put
  under the latest of them.
- Faculty scope (`core.scope`): a cell is seen when its faculty is; a student moving to a faculty not seen leaves
  the seen cells as a move.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from core.db import db
from core.errors import InvalidInput
from core.labels import label
from orders.models import OrderLine
from students.history import known_bound
from students.models import TIMELINE_FIELDS, Faculty, Group, Programme, RecordChange, Student, StudentMovement

DIMENSIONS: dict[str, LazyString] = {
    "faculty": _l("Faculty"),
    "programme": _l("Programme"),
    "programme_group": _l("Group of programmes"),
    "course": _l("Course"),
    "study_form": _l("Study form"),
    "language": _l("Language of instruction"),
    "funding": _l("Funding"),
    "status": _l("Status"),
    "sex": _l("Sex"),
    "age": _l("Age"),
}
POPULATIONS: dict[str, LazyString] = {
    "contingent": _l("studying and on academic leave"),
    "studying": _l("studying only: a leave is a way out, a return a way in"),
}
POPULATION_STATUSES = {"contingent": ("active", "academic_leave"), "studying": ("active",)}
ENROLMENT = "enrolment"  # a step into the timeline that no order wrote (an import, the demo seed)
MAX_DIMENSIONS = 4
LEAVE_PREFIX = "academic_leave:"
# (code, lowest age, highest age): the age bands, by completed years on the day
AGE_BANDS = (
    ("17-", 0, 17),
    ("18-19", 18, 19),
    ("20-21", 20, 21),
    ("22-24", 22, 24),
    ("25-29", 25, 29),
    ("30-34", 30, 34),
    ("35+", 35, 200),
)
WORDS: dict[str, LazyString] = {
    "male": _l("male"),
    "female": _l("female"),
    ENROLMENT: _l("enrolment without an order (import)"),
}


@dataclass(frozen=True, order=True)
class Bucket:
    """Where a step is counted: `direction` "in" or "out"; `moved`: the student stays in the population (a move
    between cells); `kind`: the order kind of the movement (or `ENROLMENT`); `detail`: for a way out, the expulsion
    reason, the leave ground or the new status, else ""."""

    direction: str
    moved: bool
    kind: str
    detail: str = ""

    @property
    def key(self) -> str:
        """The bucket as one URL-safe token: `in.0.transfer_in.` (direction, moved, kind, detail)."""
        return f"{self.direction}.{int(self.moved)}.{self.kind}.{self.detail}"

    @classmethod
    def from_key(cls, key: str) -> "Bucket":
        parts = (key or "").split(".")
        if len(parts) != 4 or parts[0] not in ("in", "out") or parts[1] not in ("0", "1") or not parts[2]:
            raise InvalidInput({"bucket": _("Unknown movement column.")})
        return cls(parts[0], parts[1] == "1", parts[2], parts[3])

    def title(self) -> str:
        """The column's heading for a person: "in: restoration", "out: expulsion: academic failure", "moved in:
        promotion"."""
        kind = str(WORDS.get(self.kind) or label(self.kind))
        if self.detail:
            detail = value_word("status", self.detail) if ":" in self.detail else str(label(self.detail))
            if detail != kind:
                kind = f"{kind}: {detail}"
        if self.direction == "in":
            return _("moved in: %(kind)s", kind=kind) if self.moved else _("in: %(kind)s", kind=kind)
        return _("moved out: %(kind)s", kind=kind) if self.moved else _("out: %(kind)s", kind=kind)


@dataclass
class MovementCounts:
    """The movement report's figures: per cell, the count on the first and on the last day, and per cell and
    bucket the number of steps. For every cell: on_start + sum(ins) - sum(outs) == on_end."""

    dimensions: list[str]
    on_start: dict[tuple, int]
    on_end: dict[tuple, int]
    flows: dict[tuple[tuple, Bucket], int]

    def cells(self) -> list[tuple]:
        return sorted({*self.on_start, *self.on_end, *(cell for cell, _bucket in self.flows)})

    def buckets(self) -> list[Bucket]:
        return sorted({bucket for _cell, bucket in self.flows}, key=lambda b: (b.direction != "in", b.moved, b.key))


# Input -------------------------------------------------------------------------------------------------------


def parse_dimensions(text: str | None, field: str = "rows") -> list[str]:
    """A comma-separated list of dimension names, each once; InvalidInput naming `field` otherwise."""
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown:
        raise InvalidInput(
            {
                field: _(
                    "Unknown breakdown %(names)s; choose from: %(known)s.",
                    names=", ".join(unknown),
                    known=", ".join(DIMENSIONS),
                )
            }
        )
    if len(set(names)) != len(names):
        raise InvalidInput({field: _("Each breakdown may be chosen once.")})
    return names


def check_breakdown(rows: list[str], columns: list[str]) -> None:
    """Rows and columns together: no dimension twice, at most MAX_DIMENSIONS."""
    if set(rows) & set(columns):
        raise InvalidInput({"columns": _("A breakdown cannot be both a row and a column.")})
    if len(rows) + len(columns) > MAX_DIMENSIONS:
        raise InvalidInput({"columns": _("Choose at most %(n)s breakdowns in all.", n=MAX_DIMENSIONS)})


def parse_population(text: str | None) -> str:
    if not text:
        return "contingent"
    if text not in POPULATIONS:
        raise InvalidInput(
            {"population": _("Unknown population; choose from: %(known)s.", known=", ".join(POPULATIONS))}
        )
    return text


def parse_filters(args, prefix: str = "f_") -> dict[str, str]:
    """The cell a list is about, from `f_<dimension>=<value>` arguments."""
    filters = {}
    for key, value in args.items():
        if key.startswith(prefix):
            name = key[len(prefix) :]
            if name not in DIMENSIONS:
                raise InvalidInput(
                    {
                        key: _(
                            "Unknown breakdown %(names)s; choose from: %(known)s.",
                            names=name,
                            known=", ".join(DIMENSIONS),
                        )
                    }
                )
            filters[name] = value
    return filters


# The SQL -----------------------------------------------------------------------------------------------------


def _known(until: date, known_on: date | datetime | None) -> list:
    """Timeline rows effective by `until` and known on `known_on` (and not voided as then known)."""
    conditions = [RecordChange.effective_date <= until]
    bound = known_bound(known_on)
    if bound is None:
        conditions.append(RecordChange.voided_at.is_(None))
    else:
        conditions += [
            RecordChange.known_since < bound,
            or_(RecordChange.voided_at.is_(None), RecordChange.voided_at >= bound),
        ]
    return conditions


def _fields(dimensions, *more: str) -> tuple[str, ...]:
    """The timeline fields a breakdown reads: status and group always (who counts, and the faculty for the scope),
    course and funding when they are dimensions, and `more`."""
    wanted = {"status", "group_id", *more} | ({"course", "funding"} & set(dimensions))
    return tuple(field for field in TIMELINE_FIELDS if field in wanted)


def _pivot(ranked, keys: list, fields: tuple[str, ...], *, steps: bool, leave: bool) -> Select:
    """Rows ranked per (keys, field) pivoted to one row per keys: each field's value; for `steps` also whether each
    field is set and the latest movement; for `leave` the movement that set the status (its leave ground)."""
    columns = [func.max(case((ranked.c.field == field, ranked.c.value))).label(field) for field in fields]
    if steps:
        columns += [func.max(case((ranked.c.field == field, 1), else_=0)).label(f"set_{field}") for field in fields]
        columns.append(func.max(ranked.c.movement_id).label("movement_id"))
    if leave:
        columns.append(func.max(case((ranked.c.field == "status", ranked.c.movement_id))).label("status_movement_id"))
    return select(*keys, *columns).where(ranked.c.rank == 1).group_by(*keys)


def states_on(
    day: date,
    known_on: date | datetime | None = None,
    fields: tuple[str, ...] = TIMELINE_FIELDS,
    leave: bool = True,
) -> Select:
    """One row per student with a record on `day` as known on `known_on`: student_id, the timeline `fields` (text)
    and, with `leave`, status_movement_id (the movement that set the status). One window function over the
    timeline."""
    changes = RecordChange
    ranked = (
        select(
            changes.student_id,
            changes.field,
            changes.value,
            changes.movement_id,
            func.row_number()
            .over(
                partition_by=(changes.student_id, changes.field),
                order_by=(changes.effective_date.desc(), changes.id.desc()),
            )
            .label("rank"),
        )
        .where(*_known(day, known_on), changes.field.in_(fields))
        .subquery("ranked")
    )
    return _pivot(ranked, [ranked.c.student_id], fields, steps=False, leave=leave)


def _age(iin, on: date):
    """Completed years on `on` from the IIN: digits 1-6 YYMMDD, digit 7 the century."""
    century = case(
        (func.substr(iin, 7, 1).in_(("1", "2")), 18000000),
        (func.substr(iin, 7, 1).in_(("3", "4")), 19000000),
        else_=20000000,
    )
    born = cast(func.substr(iin, 1, 6), Integer) + century
    return (literal(on.year * 10000 + on.month * 100 + on.day) - born) // 10000


def _age_band(iin, on: date):
    age = _age(iin, on)
    return case(*[(age <= high, code) for code, _low, high in AGE_BANDS[:-1]], else_=AGE_BANDS[-1][0])


class _Facts:
    """The dimension values of the states in `state` (a subquery with student_id and the timeline fields), and the
    joins they need; `age_on` is the day ages are counted on."""

    def __init__(self, state, age_on: date, prefix: str = ""):
        self.state = state
        self.group = aliased(Group, name=f"{prefix}g")
        self.programme = aliased(Programme, name=f"{prefix}p")
        self.student = aliased(Student, name=f"{prefix}s")
        self.leave = aliased(StudentMovement, name=f"{prefix}lm")
        self.age_on = age_on

    def ground(self):
        return self.leave.changes[("leave_ground", 1)].as_string()

    def status(self):
        state = self.state.c
        return case(
            (state.status == "academic_leave", literal(LEAVE_PREFIX) + func.coalesce(self.ground(), "")),
            else_=state.status,
        )

    def column(self, name: str):
        state, programme, group = self.state.c, self.programme, self.group
        return {
            "faculty": lambda: cast(programme.faculty_id, String),
            "programme": lambda: cast(programme.id, String),
            "programme_group": lambda: func.substr(programme.code, 1, 4),
            "course": lambda: state.course,
            "study_form": lambda: group.study_form,
            "language": lambda: group.language,
            "funding": lambda: state.funding,
            "status": self.status,
            "sex": lambda: case((func.substr(self.student.iin, 7, 1).in_(("1", "3", "5")), "male"), else_="female"),
            "age": lambda: _age_band(self.student.iin, self.age_on),
        }[name]()

    def join(self, query: Select, *, student: bool, leave: bool) -> Select:
        query = query.join(self.group, self.group.id == cast(self.state.c.group_id, Integer)).join(
            self.programme, self.programme.id == self.group.programme_id
        )
        if student:
            query = query.join(self.student, self.student.id == self.state.c.student_id)
        if leave:
            query = query.outerjoin(self.leave, self.leave.id == self.state.c.status_movement_id)
        return query


def _needs(names) -> dict:
    names = set(names)
    return {"student": bool(names & {"sex", "age"}), "leave": "status" in names}


def _scope(column, faculties: set[int] | None):
    if faculties is None:
        return true()
    if not faculties:
        return false()
    return column.in_(faculties)


def _contingent_facts(day, known_on, names, faculties, population, *, student=False) -> tuple[Select, _Facts]:
    state = states_on(day, known_on, _fields(names), leave=_needs(names)["leave"]).subquery("state")
    facts = _Facts(state, day)
    columns = [facts.column(name).label(name) for name in names]
    query = select(state.c.student_id, *columns).select_from(state)
    needs = _needs(names)
    query = facts.join(query, student=needs["student"] or student, leave=needs["leave"])
    query = query.where(
        state.c.status.in_(POPULATION_STATUSES[population]), _scope(facts.programme.faculty_id, faculties)
    )
    return query, facts


def contingent_counts(
    day: date,
    dimensions: list[str],
    *,
    known_on: date | datetime | None = None,
    faculties: set[int] | None = None,
    population: str = "contingent",
    filters: dict[str, str] | None = None,
) -> dict[tuple, int]:
    """The number of students on `day` (as known on `known_on`) per cell of `dimensions`: {cell: count}; the cell
    is a tuple of strings in the order of `dimensions` (() for the total). `faculties`: the scope (None: the whole
    university); `filters`: only the students of that {dimension: value}. One SQL statement (GROUP BY)."""
    filters = filters or {}
    names = list(dict.fromkeys([*dimensions, *filters]))
    inner, _facts = _contingent_facts(day, known_on, names, faculties, population)
    facts = inner.subquery("facts")
    query = select(*[facts.c[name] for name in dimensions], func.count().label("n")).select_from(facts)
    query = query.where(*[facts.c[name] == value for name, value in filters.items()])
    if dimensions:
        query = query.group_by(*[facts.c[name] for name in dimensions])
    return {tuple(row[:-1]): row[-1] for row in db.session.execute(query) if row[-1]}


def contingent_students(
    day: date,
    filters: dict[str, str],
    *,
    known_on: date | datetime | None = None,
    faculties: set[int] | None = None,
    population: str = "contingent",
    limit: int | None = None,
    offset: int = 0,
) -> tuple[int, list]:
    """The students behind a count: (how many, one page of rows ordered by name) with student_id, iin, full name
    parts, group name, course, funding, status (as the dimension shows it), faculty_id, programme code. Two
    statements (count, page)."""
    names = list(dict.fromkeys([*filters, "status", "course", "funding"]))
    inner, facts = _contingent_facts(day, known_on, names, faculties, population, student=True)
    inner = inner.add_columns(
        facts.student.iin,
        facts.student.surname,
        facts.student.name.label("first_name"),
        facts.student.patronymic,
        facts.group.name.label("group_name"),
        facts.programme.code.label("programme_code"),
        facts.programme.faculty_id,
    )
    rows = inner.subquery("facts")
    condition = and_(true(), *[rows.c[name] == value for name, value in filters.items()])
    total = db.session.scalar(select(func.count()).select_from(rows).where(condition))
    page = (
        select(rows)
        .where(condition)
        .order_by(rows.c.surname, rows.c.first_name, rows.c.student_id)
        .offset(offset)
        .limit(limit)
    )
    return total, list(db.session.execute(page))


# Movement ----------------------------------------------------------------------------------------------------


def _steps(start: date, end: date, known_on, dimensions: list[str], population: str):
    """The subquery of steps: one row per student and day (the start, then each day in (start, end] with a change),
    the state after it and the one before it (`prev_*`), whether each is in the population, the movement behind the
    step, and `last` (1 on the student's last row)."""
    changes = RecordChange
    fields = _fields(dimensions, "expulsion_reason")
    # the leave ground: for the status dimension, or for the detail of a leave that takes a student out
    leave = "status" in dimensions or "academic_leave" not in POPULATION_STATUSES[population]
    day = case((changes.effective_date <= start, literal(start)), else_=changes.effective_date).label("day")
    ranked = (
        select(
            changes.student_id,
            day,
            changes.field,
            changes.value,
            changes.movement_id,
            func.row_number()
            .over(
                partition_by=(changes.student_id, changes.field, day),
                order_by=(changes.effective_date.desc(), changes.id.desc()),
            )
            .label("rank"),
        )
        .where(*_known(end, known_on), changes.field.in_(fields))
        .subquery("ranked")
    )
    daily = _pivot(ranked, [ranked.c.student_id, ranked.c.day], fields, steps=True, leave=leave).subquery("daily")
    order = (daily.c.day,)
    numbered = select(
        daily,
        *[
            func.sum(daily.c[f"set_{field}"])
            .over(partition_by=daily.c.student_id, order_by=order, rows=(None, 0))
            .label(f"run_{field}")
            for field in fields
        ],
    ).subquery("numbered")
    filled = select(
        numbered.c.student_id,
        numbered.c.day,
        numbered.c.movement_id,
        *[
            func.max(numbered.c[field])
            .over(partition_by=(numbered.c.student_id, numbered.c[f"run_{field}"]))
            .label(field)
            for field in fields
        ],
        *(
            [
                func.max(numbered.c.status_movement_id)
                .over(partition_by=(numbered.c.student_id, numbered.c.run_status))
                .label("status_movement_id")
            ]
            if leave
            else []
        ),
    ).subquery("state")
    facts = _Facts(filled, end)
    statuses = POPULATION_STATUSES[population]
    inside = case((filled.c.status.in_(statuses), 1), else_=0)
    detail = case(
        (filled.c.status == "expelled", func.coalesce(filled.c.expulsion_reason, "")),
        (filled.c.status == "academic_leave", facts.status() if leave else literal(LEAVE_PREFIX)),
        else_=filled.c.status,
    )
    current = {name: facts.column(name) for name in dimensions}
    by_student = {"partition_by": filled.c.student_id, "order_by": filled.c.day}
    query = select(
        filled.c.student_id,
        filled.c.day,
        filled.c.movement_id,
        inside.label("inside"),
        detail.label("detail"),
        facts.programme.faculty_id.label("faculty_id"),
        *[column.label(f"cur_{name}") for name, column in current.items()],
        func.lag(inside).over(**by_student).label("prev_inside"),
        func.lag(facts.programme.faculty_id).over(**by_student).label("prev_faculty_id"),
        *[func.lag(column).over(**by_student).label(f"prev_{name}") for name, column in current.items()],
        func.row_number().over(partition_by=filled.c.student_id, order_by=filled.c.day.desc()).label("last"),
    ).select_from(filled)
    needs = _needs(dimensions)
    query = facts.join(query, student=needs["student"], leave=leave)
    return query.cte("steps")  # a CTE: the balance reads it four times, the database computes it once


def _changed(steps, dimensions: list[str]):
    if not dimensions:
        return false()
    return or_(*[steps.c[f"cur_{name}"].is_distinct_from(steps.c[f"prev_{name}"]) for name in dimensions])


def movement_counts(
    start: date,
    end: date,
    dimensions: list[str],
    *,
    known_on: date | datetime | None = None,
    faculties: set[int] | None = None,
    population: str = "contingent",
) -> MovementCounts:
    """The balance of [start, end] per cell of `dimensions`: the counts at the end of `start` and of `end`, and the
    steps in between per bucket. One SQL statement (four GROUP BYs over the steps, UNION ALL)."""
    if end < start:
        raise InvalidInput({"end": _("The period's end is before its start.")})
    steps = _steps(start, end, known_on, dimensions, population)
    kind = func.coalesce(StudentMovement.kind, ENROLMENT)
    was_inside = func.coalesce(steps.c.prev_inside, 0) == 1
    later = steps.c.day > start
    changed = _changed(steps, dimensions)
    cur = [steps.c[f"cur_{name}"] for name in dimensions]
    prev = [steps.c[f"prev_{name}"] for name in dimensions]

    def part(name: str, cells: list, kind_column, moved, detail, condition, scope_column):
        columns = [literal(name).label("part"), *[c.label(f"d{i}") for i, c in enumerate(cells)]]
        columns += [kind_column.label("kind"), moved.label("moved"), detail.label("detail"), func.count().label("n")]
        query = (
            select(*columns)
            .select_from(steps)
            .outerjoin(StudentMovement, StudentMovement.id == steps.c.movement_id)
            .where(condition, _scope(scope_column, faculties))
        )
        return query.group_by(*cells, kind_column, moved, detail)

    empty = literal("")
    zero = literal(0)
    parts = [
        part("start", cur, empty, zero, empty, and_(steps.c.day == start, steps.c.inside == 1), steps.c.faculty_id),
        part("end", cur, empty, zero, empty, and_(steps.c.last == 1, steps.c.inside == 1), steps.c.faculty_id),
        part(
            "in",
            cur,
            kind,
            case((was_inside, 1), else_=0),
            empty,
            and_(later, steps.c.inside == 1, or_(~was_inside, changed)),
            steps.c.faculty_id,
        ),
        part(
            "out",
            prev,
            kind,
            steps.c.inside,
            case((steps.c.inside == 1, ""), else_=steps.c.detail),
            and_(later, was_inside, or_(steps.c.inside == 0, changed)),
            steps.c.prev_faculty_id,
        ),
    ]
    result = MovementCounts(list(dimensions), {}, {}, {})
    for row in db.session.execute(union_all(*parts)):
        cell = tuple(row[1 : 1 + len(dimensions)])
        n = row[-1]
        if row.part == "start":
            result.on_start[cell] = n
        elif row.part == "end":
            result.on_end[cell] = n
        else:
            bucket = Bucket(row.part, bool(row.moved), row.kind, row.detail or "")
            result.flows[(cell, bucket)] = result.flows.get((cell, bucket), 0) + n
    return result


def movement_steps(
    start: date,
    end: date,
    filters: dict[str, str],
    bucket: Bucket | None = None,
    *,
    direction: str | None = None,
    known_on: date | datetime | None = None,
    faculties: set[int] | None = None,
    population: str = "contingent",
    limit: int | None = None,
    offset: int = 0,
) -> tuple[int, list]:
    """The steps behind a movement figure: those of `bucket` (None: every step in or out) for the cell `filters`
    ({dimension: value}; the cell the student entered for an "in", left for an "out"); without a bucket, those of
    `direction` ("in", "out"; None: both). (how many, one page of rows)
    with student_id, iin, names, day, direction, kind, detail, moved, order_id, order_label, and the cell values
    before and after (`prev_<dimension>`, `cur_<dimension>`). Two statements."""
    if end < start:
        raise InvalidInput({"end": _("The period's end is before its start.")})
    dimensions = list(filters)
    steps = _steps(start, end, known_on, dimensions, population)
    was_inside = func.coalesce(steps.c.prev_inside, 0) == 1
    changed = _changed(steps, dimensions)
    kind = func.coalesce(StudentMovement.kind, ENROLMENT)
    into = and_(
        steps.c.inside == 1,
        or_(~was_inside, changed),
        _scope(steps.c.faculty_id, faculties),
        *[steps.c[f"cur_{name}"] == value for name, value in filters.items()],
    )
    out_of = and_(
        was_inside,
        or_(steps.c.inside == 0, changed),
        _scope(steps.c.prev_faculty_id, faculties),
        *[steps.c[f"prev_{name}"] == value for name, value in filters.items()],
    )
    if bucket is None:
        condition = {"in": into, "out": out_of}.get(direction, or_(into, out_of))
        direction = case((into, "in"), else_="out")
    elif bucket.direction == "in":
        direction = literal("in")
        condition = and_(into, kind == bucket.kind, was_inside if bucket.moved else ~was_inside)
    else:
        direction = literal("out")
        moved = steps.c.inside == 1
        condition = and_(out_of, kind == bucket.kind, moved if bucket.moved else ~moved)
        if not bucket.moved:
            condition = and_(condition, steps.c.detail == bucket.detail)
    rows = (
        select(
            steps.c.student_id,
            Student.iin,
            Student.surname,
            Student.name.label("first_name"),
            Student.patronymic,
            steps.c.day,
            direction.label("direction"),
            kind.label("kind"),
            steps.c.detail,
            steps.c.inside,
            StudentMovement.order_label,
            OrderLine.order_id,
            *[steps.c[f"prev_{name}"] for name in dimensions],
            *[steps.c[f"cur_{name}"] for name in dimensions],
        )
        .select_from(steps)
        .join(Student, Student.id == steps.c.student_id)
        .outerjoin(StudentMovement, StudentMovement.id == steps.c.movement_id)
        .outerjoin(OrderLine, OrderLine.id == StudentMovement.order_line_id)
        .where(steps.c.day > start, condition)
        .subquery("found")
    )
    total = db.session.scalar(select(func.count()).select_from(rows))
    page = (
        select(rows)
        .order_by(rows.c.day, rows.c.surname, rows.c.first_name, rows.c.student_id)
        .offset(offset)
        .limit(limit)
    )
    return total, list(db.session.execute(page))


# Words -------------------------------------------------------------------------------------------------------


def value_word(dimension: str, value: str | None) -> str:
    """A cell value as a person reads it, for the dimensions whose values are codes (not faculty or programme)."""
    if value is None:
        return ""
    if dimension == "status" and value.startswith(LEAVE_PREFIX):
        ground = value[len(LEAVE_PREFIX) :]
        return f"{label('academic_leave')}: {label(ground)}" if ground else str(label("academic_leave"))
    if dimension in ("course", "programme_group"):
        return value
    if dimension == "age":
        return {"17-": "≤ 17", "35+": "≥ 35"}.get(value, value.replace("-", "–"))
    return str(WORDS.get(value) or label(value))


def value_words(dimension: str, values, language: str) -> dict[str, str]:
    """{value: words} for the values of one dimension; faculties and programmes by name (one query each)."""
    values = {v for v in values if v is not None}
    if dimension == "faculty" and values:
        rows = db.session.scalars(select(Faculty).where(Faculty.id.in_([int(v) for v in values])))
        return {str(f.id): f.name(language) for f in rows}
    if dimension == "programme" and values:
        rows = db.session.scalars(select(Programme).where(Programme.id.in_([int(v) for v in values])))
        return {str(p.id): f"{p.code} {p.name(language)}" for p in rows}
    return {value: value_word(dimension, value) for value in values}


def sort_key(dimension: str, value: str | None, words: dict[str, str]):
    """Cells in a natural order: courses and ages by number, the rest by their words."""
    if value is None:
        return (1, "")
    if dimension == "course":
        return (0, int(value) if value.isdigit() else 0, "")
    if dimension == "age":
        codes = [code for code, _low, _high in AGE_BANDS]
        return (0, codes.index(value) if value in codes else len(codes), "")
    return (0, 0, words.get(value, value))
