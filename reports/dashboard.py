"""The dashboard of the registrar head and the rector (their home page): the contingent now and on 1 October of the
last five years, this month's movements by kind, the orders waiting at each approval step with the overdue ones,
and the scholarship payments of the last twelve months.

Every figure is read in a few set-based statements whatever the number of students: the contingent on each date is
one GROUP BY over the timeline's window function (`students.history.latest_values`), the five years one UNION ALL
of them; movements and waiting orders one GROUP BY each; payments come from the scholarship register's own totals.
"""

from dataclasses import dataclass
from datetime import date

from babel.numbers import format_compact_decimal
from dateutil.relativedelta import relativedelta
from flask import Blueprint, render_template
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from sqlalchemy import Integer, case, cast, func, literal, select, union_all

from core.clock import now, today
from core.db import db
from core.formatting import format_day, format_money
from core.labels import label
from core.permissions import roles_required
from orders.models import Order
from orders.register.payments import RegisterFilter, build_register
from orders.registry import record_neutral_kinds
from reports import charts
from students.history import latest_values
from students.models import Faculty, Group, Programme, StudentMovement
from workflow.routes import TERMINAL_STATES

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")
READERS = ("registrar", "rector")
IN_CONTINGENT = ("active", "academic_leave")  # who counts as a student on a date (not expelled, not arriving)
YEARS = 5
MONTHS = 12
STEP_ORDER = ("review_dean", "review_registrar", "review_lawyer", "review_finance")


def census_day(day: date) -> date:
    """The last 1 October on or before `day`: the date the state statistics count the contingent on."""
    return date(day.year if (day.month, day.day) >= (10, 1) else day.year - 1, 10, 1)


def contingent_by_faculty(day: date) -> list[tuple[int, int, int]]:
    """(faculty id, students, of them on academic leave) on `day`, as known now: one statement."""
    values = latest_values(day).subquery("record")
    group_id = cast(values.c.group_id, Integer)
    return [
        tuple(row)
        for row in db.session.execute(
            select(
                Programme.faculty_id,
                func.count(),
                func.sum(case((values.c.status == "academic_leave", 1), else_=0)),
            )
            .select_from(values)
            .join(Group, Group.id == group_id)
            .join(Programme, Programme.id == Group.programme_id)
            .where(values.c.status.in_(IN_CONTINGENT))
            .group_by(Programme.faculty_id)
        )
    ]


def contingent_trend(days: list[date]) -> dict[date, int]:
    """The number of students on each of `days`, as known now: one UNION ALL statement."""
    parts = []
    for index, day in enumerate(days):
        values = latest_values(day).subquery(f"record{index}")
        parts.append(
            select(literal(index).label("position"), func.count().label("students"))
            .select_from(values)
            .where(values.c.status.in_(IN_CONTINGENT))
        )
    counts = dict(db.session.execute(union_all(*parts)).all()) if parts else {}
    return {day: int(counts.get(index, 0)) for index, day in enumerate(days)}


def movements_by_kind(first: date, last: date) -> list[tuple[str, int]]:
    """(kind, movements) effective in [first, last], signed and not voided by a correction, of the kinds that change
    the record (payments are not movements): one GROUP BY, most frequent first."""
    rows = db.session.execute(
        select(StudentMovement.kind, func.count())
        .where(
            StudentMovement.effective_date >= first,
            StudentMovement.effective_date <= last,
            StudentMovement.voided_at.is_(None),
            StudentMovement.kind.not_in(record_neutral_kinds()),
        )
        .group_by(StudentMovement.kind)
    ).all()
    return sorted(((kind, int(count)) for kind, count in rows), key=lambda row: (-row[1], row[0]))


def waiting_orders() -> list[tuple[str, int, int]]:
    """(state, orders waiting in it, of them past their step's deadline) for every open approval step: one GROUP BY,
    in the order of the route (the signature last)."""
    moment = now()
    rows = db.session.execute(
        select(
            Order.state,
            func.count(),
            func.sum(case((Order.due_at <= moment, 1), else_=0)),
        )
        .where(Order.state.not_in(("draft", *TERMINAL_STATES)))
        .group_by(Order.state)
    ).all()

    def position(state: str) -> tuple[int, str]:
        if state == "awaiting_signature":
            return (len(STEP_ORDER) + 1, state)
        return (STEP_ORDER.index(state) if state in STEP_ORDER else len(STEP_ORDER), state)

    return sorted(((state, int(count), int(late or 0)) for state, count, late in rows), key=lambda r: position(r[0]))


def payments_by_month(last_month: date) -> list[tuple[str, int]]:
    """(YYYY-MM, tenge paid) for the twelve months up to `last_month`, from the scholarship register."""
    first = last_month - relativedelta(months=MONTHS - 1)
    register = build_register(RegisterFilter(month_from=first, month_to=last_month), None)
    by_month = register.totals["by_month"]
    return [(month, int(by_month.get(month, 0))) for month in register.filter.months]


@dataclass
class Dashboard:
    day: date
    total: int
    on_leave: int
    faculties: list[charts.Bar]
    trend: list[charts.Bar]
    movements: list[charts.Bar]
    month_first: date
    waiting: list[charts.Bar]
    payments: list[charts.Bar]
    payments_total: int


def build(day: date, language: str) -> Dashboard:
    """Every figure of the dashboard as of `day` (today), labelled in `language`."""
    names = {faculty.id: faculty for faculty in db.session.scalars(select(Faculty).order_by(Faculty.code))}
    by_faculty = contingent_by_faculty(day)
    counted = {faculty_id: (count, leave) for faculty_id, count, leave in by_faculty}
    faculties = [
        charts.Bar(
            f"{faculty.code} · {faculty.name(language)}",
            counted[faculty_id][0],
            format_decimal(counted[faculty_id][0]),
        )
        for faculty_id, faculty in names.items()
        if faculty_id in counted
    ]
    latest = census_day(day)
    days = [latest.replace(year=latest.year - offset) for offset in range(YEARS - 1, -1, -1)]
    trend = [
        charts.Bar(format_day(when), count, format_decimal(count)) for when, count in contingent_trend(days).items()
    ]
    month_first = day.replace(day=1)
    movements = [
        charts.Bar(label(kind).capitalize(), count, format_decimal(count))
        for kind, count in movements_by_kind(month_first, month_first + relativedelta(months=1, days=-1))
    ]
    waiting = [
        charts.Bar(label(state).capitalize(), count, format_decimal(count), late, format_decimal(late))
        for state, count, late in waiting_orders()
    ]
    paid = payments_by_month(month_first)
    payments = [
        charts.Bar(
            f"{month[5:]}.{month[2:4]}",
            amount,
            format_money(amount),
            short=format_compact_decimal(amount, format_type="short", fraction_digits=1, locale=language),
        )
        for month, amount in paid
    ]
    return Dashboard(
        day=day,
        total=sum(count for _id, count, _leave in by_faculty),
        on_leave=sum(int(leave or 0) for _id, _count, leave in by_faculty),
        faculties=faculties,
        trend=trend,
        movements=movements,
        month_first=month_first,
        waiting=waiting,
        payments=payments,
        payments_total=sum(amount for _month, amount in paid),
    )


def render_charts(board: Dashboard) -> dict:
    """The dashboard's pictures, each with its title and description for screen readers."""
    return {
        "faculties": charts.bar_rows(
            "chart-faculties",
            _("Students by faculty"),
            _("Students studying or on academic leave on %(day)s, by faculty.", day=format_day(board.day)),
            board.faculties,
            empty=_("No students yet."),
        ),
        "trend": charts.line(
            "chart-trend",
            _("The contingent on 1 October"),
            _("Students studying or on academic leave on 1 October of each of the last five years."),
            board.trend,
            empty=_("No students yet."),
        ),
        "movements": charts.bar_rows(
            "chart-movements",
            _("Movements this month"),
            _("Student movements effective this month, by order kind."),
            board.movements,
            empty=_("No movement this month."),
        ),
        "waiting": charts.bar_rows(
            "chart-waiting",
            _("Orders waiting"),
            _("Orders waiting at each approval step; the red part is overdue."),
            board.waiting,
            empty=_("No order is waiting."),
            part_name=_("overdue"),
        ),
        "payments": charts.columns(
            "chart-payments",
            _("Scholarship payments"),
            _("Tenge paid each month of the last twelve months, from the scholarship register."),
            board.payments,
            empty=_("No payment in these months."),
        ),
    }


@bp.route("")
@roles_required(*READERS)
def index():
    board = build(today(), str(get_locale()))
    return render_template("reports/dashboard.html", board=board, charts=render_charts(board))
