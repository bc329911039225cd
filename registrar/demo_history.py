"""The demo university's past: five academic years of signed movements, made by the real operations.

Every student enters the timeline when admitted (the first of September; the system's first year imports everyone
studying then), and from then on only signed orders move them, each drafted by the clerk, visaed along its route and
signed by the rector on a day in the past: medical leaves in October and the returns in April, expulsions by reason
in November and June (own request, non-payment, absences, discipline, academic failure), restorations in the winter
holidays, graduation at the end of June and the course promotion on the first of July; and last year's state
scholarship for both semesters, so the register and the dashboard have payments to show. The students of today end
exactly where the demo has always put them (course, group, funding); the graduates and the students who left are
extra rows, so the contingent of today is still the `students` the demo was asked for.

Back-dating: the operations take the time from `core.clock.now()`, which reads the app's `CLOCK_NOW` (the setting the
tests use to move time). `clock_at` sets it for the duration of one historic step and restores it after, so an
order's date, number year, visas, signing time and the timeline's known-since are all that day's. Nothing else
back-dates: the audit log keeps the real moment each event was written. This is for the seeder only, on a database
nobody else is using (`seed-demo` runs before the server starts). The e-mails those signings queued would have gone
out years ago: the seeder drops them from the outbox.
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from flask import current_app
from sqlalchemy import delete, func, insert, select

from core.clock import today
from core.db import db
from core.formatting import local_zone
from core.models import User
from notifications.models import OutboxMessage
from orders import operations
from orders.models import Order
from students.grades import grade_values
from students.models import Group, Programme, Student
from students.timeline import enrol
from workflow.engine import fire, legal_triggers, pending_approvals

YEARS = 5  # academic years of history before the current one
NOVEMBER_REASONS = ("own_request", "non_payment", "attendance", "discipline")


def academic_start(day: date) -> int:
    """The year the academic year of `day` started in (it starts on 1 September)."""
    return day.year if day.month >= 9 else day.year - 1


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """The application's clock stopped at `moment` (the `CLOCK_NOW` setting) while the block runs."""
    config = current_app.config
    saved = config.get("CLOCK_NOW")
    config["CLOCK_NOW"] = moment
    try:
        yield
    finally:
        config["CLOCK_NOW"] = saved


def at(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock local time on `day`, as a UTC moment."""
    return datetime.combine(day, time(hour), tzinfo=local_zone()).astimezone(UTC)


@dataclass
class Person:
    """A demo student's life: admitted in `admitted` (start year), on the timeline from `enters` at `course`, and
    when not one of today's students, when and why they leave."""

    row: dict
    programme: Programme
    language: str
    admitted: int
    enters: int
    course: int
    last_course: int  # the course of their last grades
    leaves: tuple[str, date] | None = None  # (expulsion reason, day)
    id: int = 0


@dataclass
class History:
    """Who does what in which year, decided before anything is written."""

    people: list[Person] = field(default_factory=list)
    leave: dict[int, list[Person]] = field(default_factory=dict)  # start year -> medical leave in October
    restore: dict[int, list[Person]] = field(default_factory=dict)  # start year -> expelled Nov, restored Jan


class Seeder:
    """Plays a `History` out with the real operations, each step on its own day."""

    def __init__(self, this_year: int):
        self.this_year = this_year
        self.first = this_year - YEARS
        users = {u.username: u for u in db.session.scalars(select(User))}
        self.clerk, self.rector = users["clerk"], users["rector"]
        self.people = [u for name, u in users.items() if name not in ("clerk", "admin")]

    # Signing ---------------------------------------------------------------------------------------------------

    def sign(self, kind: str, params: dict, student_ids: list[int], day: date | None, details=None) -> Order | None:
        """Draft, visa and sign an order of `kind` for these students on `day` (local 10:00; None: now)."""
        if not student_ids:
            return None
        with clock_at(at(day)) if day else nullcontext():
            order = operations.create_order(kind, self.clerk, params)
            lines = operations.add_students(order, student_ids, self.clerk)
            for line in lines if details else ():
                operations.update_line(order, line.id, details, self.clerk)
            refused = [line for line in order.lines if not line.eligible]
            for line in refused:  # a student the rules refuse stays out, as a clerk would leave them
                current_app.logger.warning(
                    "demo: %s on %s leaves out %s: %s", kind, day, line.student_id, line.eligibility
                )
                operations.remove_line(order, line.id, self.clerk)
            if not order.lines:
                db.session.delete(order)
                return None
            fire(order, "submit", self.clerk)
            while order.state.startswith("review_"):
                before = (order.state, len(pending_approvals(order)))
                for person in self.people:
                    if "approve" in legal_triggers(order, person):
                        fire(order, "approve", person)
                        break
                if (order.state, len(pending_approvals(order))) == before:
                    raise RuntimeError(f"nobody of the demo can visa {order.kind} at {order.state}")
            fire(order, "sign", self.rector)
            # like the end of a request: the next step reads the records signing wrote with bulk UPDATEs afresh
            db.session.flush()
            db.session.expire_all()
        return order

    def enrol(self, people: list[Person], day: date) -> None:
        with clock_at(at(day, 9)):
            enrol([p.id for p in people], on=day)

    def active(self, ids: set[int], funding: str | None = None, **where) -> list[int]:
        """Of `ids`, those active now (their current record), optionally of one `funding`, below their programme's
        final course (`below_final=True`) or in it (`below_final=False`)."""
        query = select(Student.id).where(Student.id.in_(ids), Student.status == "active")
        if funding is not None:
            query = query.where(Student.funding == funding)
        below = where.get("below_final")
        if below is not None:
            query = query.join(Group, Group.id == Student.group_id).join(Programme, Programme.id == Group.programme_id)
            query = query.where(
                Student.course < Programme.duration_years if below else Student.course >= Programme.duration_years
            )
        return list(db.session.scalars(query.order_by(Student.id)))

    # The years ---------------------------------------------------------------------------------------------------

    def run(self, history: History) -> int:
        """Play the years out; returns the number of orders signed."""
        marker = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
        orders = 0
        on_timeline: set[int] = set()
        by_year: dict[int, list[Person]] = {}
        for person in history.people:
            by_year.setdefault(person.enters, []).append(person)
        leaving: dict[tuple[str, date], list[int]] = {}
        for person in history.people:
            if person.leaves:
                leaving.setdefault(person.leaves, []).append(person.id)
        for year in range(self.first, self.this_year + 1):
            admitted = by_year.get(year, [])
            self.enrol(admitted, date(year, 9, 1))
            on_timeline |= {p.id for p in admitted}
            if year == self.this_year:
                break
            if year == self.this_year - 1:  # last year's state scholarship, autumn: by the summer session
                orders += bool(self._scholarship(year, 1, on_timeline, date(year, 9, 5)))
            leave = [p.id for p in history.leave.get(year, [])]
            orders += bool(
                self.sign(
                    "academic_leave",
                    {
                        "ground": "medical",
                        "leave_start": f"{year}-10-15",
                        "leave_end": f"{year + 1}-04-15",
                        "basis": "Заявления обучающихся, заключения ВКК",
                    },
                    leave,
                    date(year, 10, 15),
                    details={"document_no": f"ВКК-{year}", "document_date": f"{year}-10-10"},
                )
            )
            restored = [p.id for p in history.restore.get(year, [])]
            november = date(year, 11, 20)
            for reason in NOVEMBER_REASONS:
                ids = leaving.get((reason, november), []) + (restored if reason == "own_request" else [])
                orders += bool(self._expel(reason, ids, november))
            orders += bool(
                self.sign(
                    "restoration",
                    {"effective_date": f"{year + 1}-01-25", "basis": "Заявления обучающихся"},
                    restored,
                    date(year + 1, 1, 25),
                )
            )
            if year == self.this_year - 1:  # and spring: by the winter session, to June with July and August
                orders += bool(self._scholarship(year, 2, on_timeline, date(year + 1, 2, 3)))
            orders += bool(
                self.sign(
                    "leave_return",
                    {"effective_date": f"{year + 1}-04-16", "basis": "Заявления обучающихся"},
                    leave,
                    date(year + 1, 4, 16),
                )
            )
            june = date(year + 1, 6, 30)
            orders += bool(self._expel("academic_failure", leaving.get(("academic_failure", june), []), june))
            orders += bool(self._expel("graduation", self.active(on_timeline, below_final=False), june))
            orders += bool(
                self.sign(
                    "promotion",
                    {
                        "academic_year": f"{year}-{year + 1}",
                        "effective_date": f"{year + 1}-07-01",
                        "basis": "Итоги экзаменационной сессии, представления деканов",
                    },
                    self.active(on_timeline, below_final=True),
                    date(year + 1, 7, 1),
                )
            )
        # this month: the few who left since its first day (signed today, effective on the first)
        first = today().replace(day=1)
        for reason in NOVEMBER_REASONS:
            orders += bool(self._expel(reason, leaving.get((reason, first), []), None, effective=first))
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id > marker))
        return orders

    def _scholarship(self, year: int, semester: int, ids: set[int], day: date) -> Order | None:
        params = {
            "academic_year": f"{year}-{year + 1}",
            "semester": semester,
            "effective_date": day.isoformat(),
            "basis": "Итоги экзаменационной сессии, протокол стипендиальной комиссии",
        }
        return self.sign("state_scholarship", params, self.active(ids, funding="grant"), day)

    def _expel(self, reason: str, ids: list[int], day: date | None, effective: date | None = None) -> Order | None:
        basis = "Выписка из протокола ГАК" if reason == "graduation" else "Представления деканов, заявления"
        return self.sign(
            "expulsion",
            {"reason": reason, "effective_date": (effective or day or today()).isoformat(), "basis": basis},
            ids,
            day,
        )


def plan(
    current: list[dict],
    extra_rows,
    programmes: list[Programme],
    groups: list[Group],
    this_year: int,
    rng: random.Random,
) -> History:
    """Who is who: today's students (their rows as the demo makes them) admitted in their first course's year, and
    extra students (rows from `extra_rows(groups, count)`) who graduated or left during the five years."""
    first_year = this_year - YEARS
    by_id = {g.id: g for g in groups}
    programme_of = {p.id: p for p in programmes}
    group_of = {(g.programme_id, g.language, g.course): g for g in groups}
    history = History()
    for row in current:
        group = by_id[row["group_id"]]
        admitted = this_year - group.course + 1
        row.update(group_id=group_of[(group.programme_id, group.language, 1)].id, course=1)  # as admitted
        history.people.append(
            Person(row, programme_of[group.programme_id], group.language, admitted, admitted, 1, group.course)
        )
    # Graduates: every programme's cohorts that finished during the five years, two thirds of today's per group (the
    # university has grown).
    first_groups = [g for g in groups if g.course == 1]
    per_group = max(len(current) * 2 // 3 // max(len(groups), 1), 0)
    cohorts = []
    for group in first_groups:
        years = programme_of[group.programme_id].duration_years
        for admitted in range(first_year - years + 1, this_year - years + 1):
            cohorts += [(group, admitted, years)] * per_group
    if not cohorts:  # a tiny demo still gets one graduate per programme
        for group in first_groups[:: max(len(first_groups) // len(programmes), 1)]:
            years = programme_of[group.programme_id].duration_years
            cohorts.append((group, this_year - years, years))
    leavers = []  # (group of course 1, admitted, reason, day)
    per_year = max(len(current) // 60, 1)
    reasons = (*NOVEMBER_REASONS, "academic_failure")
    for year in range(first_year, this_year + 1):
        for index in range(per_year if year < this_year else max(per_year // 4, 1)):
            group = first_groups[(year * 7 + index * 5) % len(first_groups)]
            reason = reasons[(year + index) % len(reasons)]
            if year == this_year:
                reason, day = NOVEMBER_REASONS[index % 2], today().replace(day=1)
            elif reason == "academic_failure":
                day = date(year + 1, 6, 30)
            else:
                day = date(year, 11, 20)
            leavers.append((group, year, reason, day))
    rows = extra_rows([(group, admitted) for group, admitted, _years in cohorts] + [(g, y) for g, y, _r, _d in leavers])
    for row, (group, admitted, years) in zip(rows, cohorts, strict=False):
        enters = max(admitted, first_year)
        course = enters - admitted + 1
        start = group_of[(group.programme_id, group.language, course)]
        row.update(group_id=start.id, course=course)
        history.people.append(
            Person(row, programme_of[group.programme_id], group.language, admitted, enters, course, years)
        )
    for row, (group, admitted, reason, day) in zip(rows[len(cohorts) :], leavers, strict=True):
        row.update(group_id=group.id, course=1)
        history.people.append(
            Person(row, programme_of[group.programme_id], group.language, admitted, admitted, 1, 1, (reason, day))
        )
    # Paid students now and then left in November and came back in the winter holidays; others took a medical leave
    # from October to April. Each returns to the same group and goes on with the course (and graduates on time).
    count = max(len(current) // 200, 1)
    for year in range(first_year, this_year):
        studying = [
            p for p in history.people if p.leaves is None and p.enters <= year <= p.admitted + p.last_course - 1
        ]
        paid = [p for p in studying if p.row["funding"] == "paid"]
        chosen = rng.sample(paid, min(count, len(paid)))
        history.restore[year] = chosen
        others = [p for p in studying if p not in chosen]
        history.leave[year] = rng.sample(others, min(count, len(others)))
    return history


def grade_rows(people: list[Person], curriculum: dict[int, dict[int, list[tuple]]], rng: random.Random) -> list[dict]:
    """Passing grades (C+ and up) of every semester the extra students studied, in the year they studied it."""
    rows = []
    for person in people:
        for semester in range(1, 2 * person.last_course + 1):
            year = person.admitted + (semester + 1) // 2 - 1
            for code, name in curriculum[person.programme.id][semester]:
                points = rng.randint(70, 98)
                rows.append(
                    {"student_id": person.id, **grade_values(code, name, semester, f"{year}-{year + 1}", points)}
                )
    return rows


def insert_people(people: list[Person]) -> None:
    """Insert the students (today's first, in the demo's order) and note their ids."""
    ids = db.session.scalars(
        insert(Student).returning(Student.id, sort_by_parameter_order=True), [p.row for p in people]
    ).all()
    for person, student_id in zip(people, ids, strict=True):
        person.id = student_id
