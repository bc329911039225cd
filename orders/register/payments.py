"""The scholarship register: who is paid how much, for which month and by which order — derived, never typed.

A signed order of a payment kind pays each of its lines whose params have `"outcome": "in"` (missing = in) the
amount `params["amount"]` (KZT, whole tenge) for each month in `params["months"]` ("YYYY-MM"). What is paid is
then cut by what happened to the student later, read from the movement history written by signed orders:

- academic leave on a ground not in rule("scholarship_kept_on_leave") suspends the payments from the leave's
  effective date; a return from leave (status back to active) resumes them from the return date, for the months
  of the order that remain;
- expulsion (any status other than active or on leave) stops them from its effective date, for good: a later
  restoration does not bring back the old order's payments;
- for the state scholarship, losing the grant (a funding change to paid, a repeat year on a paid basis, the
  grant ending with expulsion) stops them from its effective date, for good.

Pro rata rule: a month with a stop, suspension or resumption is paid for the calendar days on which the student
was entitled (a stop on the 10th: days 1-9), `amount × days paid / days in the month`, rounded to whole tenge
(half up). A one-off payment (travel compensation) is not split: it is paid in full when the student is entitled
on the line's effective date, and not at all otherwise.

Corrections: an order revoked as a whole pays nothing; the items an amendment excluded pay nothing; a movement
written by a line that a later correction reversed is void, and so is the correction's own movement (a revoked
leave order never suspended anything).

The register is set-based: two queries for any range of months, whatever the number of students.
"""

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import Select, String, cast, func, or_, select

from core.clock import today
from core.db import db
from core.errors import InvalidInput
from core.formatting import format_day
from core.labels import label
from core.models import User
from core.rules import rule
from core.scope import faculty_scope
from core.xlsx import workbook_bytes
from orders.kind import ONE_OFF
from orders.models import Order, OrderLine, lines_in_scope
from orders.registry import PAYING_NAMES, correction_kinds, get_kind
from orders.reversals import reversed_line_ids
from students.models import Faculty, Group, Student, StudentMovement

SEE_ALL_ROLES = ("finance", "registrar", "clerk", "rector")
READER_ROLES = (*SEE_ALL_ROLES, "dean")
MAX_MONTHS = 36  # the longest range of months one request covers

PAID, SUSPENDED, STOPPED = "paid", "suspended", "stopped"
REDUCED = "reduced"  # a month paid in part
STATUSES = (PAID, REDUCED, SUSPENDED, STOPPED)


class RegisterDenied(InvalidInput):
    """The actor may not read the register at all (403)."""

    def __init__(self):
        super().__init__({}, 403, "Only finance, registrar, clerk, rector and deans read the register.")


# Who sees what ----------------------------------------------------------------------------------------------


def register_scope(actor: User) -> set[int] | None:
    """None: the whole university (finance, registrar, clerk, rector); else the faculties of a dean (own and those
    of deans substituted today). Anyone else: RegisterDenied."""
    faculties = faculty_scope(actor, see_all=SEE_ALL_ROLES)
    if faculties is not None and not faculties:
        raise RegisterDenied
    return faculties


# Filters ----------------------------------------------------------------------------------------------------


@dataclass
class RegisterFilter:
    month_from: date  # first day of the first month
    month_to: date  # first day of the last month
    faculty_id: int | None = None
    kind: str | None = None
    text: str = ""
    status: str | None = None  # paid | reduced | suspended | stopped; None: every row

    @property
    def months(self) -> list[str]:
        return month_range(self.month_from, self.month_to)


def parse_month(text: str | None) -> date | None:
    """The first day of a month given as YYYY-MM; None when empty; ValueError when malformed."""
    text = (text or "").strip()
    if not text:
        return None
    year, _sep, month = text.partition("-")
    if len(year) != 4 or not year.isdigit() or not month.isdigit() or len(month) != 2:
        raise ValueError(text)
    return date(int(year), int(month), 1)


def month_range(first: date, last: date) -> list[str]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(f"{current:%Y-%m}")
        current += relativedelta(months=1)
    return months


def parse_filter(raw, allowed_faculties: set[int] | None) -> tuple[RegisterFilter, dict[str, str]]:
    """Filters from a query string (`month`, or `month_from` and `month_to`, `faculty_id`, `kind`, `q`,
    `status`): (filter, errors by field). Without months: the current month."""
    errors: dict[str, str] = {}
    values = {}
    for name in ("month", "month_from", "month_to"):
        try:
            values[name] = parse_month(raw.get(name))
        except ValueError:
            errors[name] = _("Give the month as YYYY-MM, e.g. 2027-03.")
            values[name] = None
    first = values["month_from"] or values["month"] or values["month_to"] or today().replace(day=1)
    last = values["month_to"] or values["month"] or first
    if values["month"] and not (values["month_from"] or values["month_to"]):
        first = last = values["month"]
    if last < first:
        errors["month_to"] = _("The last month comes before the first.")
        last = first
    if len(month_range(first, last)) > MAX_MONTHS:
        errors["month_to"] = ngettext(
            "Choose at most %(num)s month at once.", "Choose at most %(num)s months at once.", MAX_MONTHS
        )
        last = first
    faculty_id = None
    faculty_text = (raw.get("faculty_id") or "").strip()
    if faculty_text:
        if not faculty_text.isdigit():
            errors["faculty_id"] = _("Choose a faculty from the list.")
        else:
            faculty_id = int(faculty_text)
            if allowed_faculties is not None and faculty_id not in allowed_faculties:
                errors["faculty_id"] = _("You see only the register of your own faculty.")
                faculty_id = None
    kind = (raw.get("kind") or "").strip() or None
    if kind is not None and kind not in PAYING_NAMES:
        errors["kind"] = _("Choose one of: %(k)s.", k=", ".join(PAYING_NAMES))
        kind = None
    status = (raw.get("status") or "").strip() or None
    if status is not None and status not in STATUSES:
        errors["status"] = _("Choose one of: %(s)s.", s=", ".join(STATUSES))
        status = None
    text = " ".join((raw.get("q") or "").split())[:100]
    return RegisterFilter(first, last, faculty_id, kind, text, status), errors


# Rows -------------------------------------------------------------------------------------------------------


@dataclass
class PaymentRow:
    month: str
    student_id: int
    student: str
    iin: str
    faculty_id: int
    faculty: str
    group: str
    kind: str
    order_id: int
    order_label: str
    order_date: date | None
    line_id: int
    amount: int  # what the order pays for a full month (the one-off amount for a one-off payment)
    paid: int  # what is paid for this month
    status: str  # paid | reduced | suspended | stopped
    days_paid: int
    days: int
    note: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["order_date"] = self.order_date.isoformat() if self.order_date else None
        return data


@dataclass
class Register:
    rows: list[PaymentRow]
    filter: RegisterFilter
    totals: dict = field(default_factory=dict)  # paid (KZT), due (KZT), rows, students, by_month, by_kind


def _line_query(flt: RegisterFilter, faculties: set[int] | None) -> Select:
    """Lines of signed, not revoked payment orders that pay in one of the filter's months (one query)."""
    params_text = cast(OrderLine.params, String)
    query = (
        select(
            OrderLine.id,
            OrderLine.student_id,
            OrderLine.faculty_id,
            OrderLine.params,
            OrderLine.effective_date,
            Order.id.label("order_id"),
            Order.kind,
            Order.number_label,
            Order.order_date,
            Student.surname,
            Student.name,
            Student.patronymic,
            Student.iin,
            Student.status,
            Student.funding,
            Student.leave_ground,
            Group.name.label("group_name"),
            Faculty.name_ru,
            Faculty.name_kk,
            Faculty.name_en,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Student, Student.id == OrderLine.student_id)
        .join(Group, Group.id == Student.group_id)
        .join(Faculty, Faculty.id == OrderLine.faculty_id)
        .where(
            Order.kind.in_([flt.kind] if flt.kind else PAYING_NAMES),
            Order.state == "signed",
            or_(Order.superseded_as.is_(None), Order.superseded_as != "revoked"),
            OrderLine.id.not_in(reversed_line_ids()),
            # A cheap prefilter on the stored JSON; the exact month test is made on each row.
            or_(*[params_text.like(f'%"{month}"%') for month in flt.months]),
        )
    )
    query = query.where(lines_in_scope(faculties))
    if flt.faculty_id is not None:
        query = query.where(OrderLine.faculty_id == flt.faculty_id)
    if flt.text:
        if flt.text.isdigit():
            query = query.where(Student.iin.startswith(flt.text))
        else:
            for word in flt.text.lower().split():
                like = f"{word}%"
                query = query.where(
                    or_(
                        func.lower(Student.surname).like(like),
                        func.lower(Student.name).like(like),
                        func.lower(Student.patronymic).like(like),
                    )
                )
    return query


def _movements(lines_query: Select) -> dict[int, list]:
    """Every valid movement of the students of `lines_query`, oldest first (one query)."""
    students = lines_query.with_only_columns(OrderLine.student_id).distinct().scalar_subquery()
    reversed_ids = reversed_line_ids()
    rows = db.session.execute(
        select(
            StudentMovement.id,
            StudentMovement.student_id,
            StudentMovement.kind,
            StudentMovement.effective_date,
            StudentMovement.changes,
            StudentMovement.reason,
            StudentMovement.order_label,
        )
        .where(
            StudentMovement.student_id.in_(students),
            StudentMovement.kind.not_in(correction_kinds()),
            or_(StudentMovement.order_line_id.is_(None), StudentMovement.order_line_id.not_in(reversed_ids)),
        )
        .order_by(StudentMovement.student_id, StudentMovement.effective_date, StudentMovement.id)
    )
    history: dict[int, list] = {}
    for row in rows:
        changes = row.changes or {}
        if "status" in changes or "funding" in changes:
            history.setdefault(row.student_id, []).append(row)
    return history


def build_register(flt: RegisterFilter, faculties: set[int] | None, language: str = "ru") -> Register:
    """Every payment row of the filter's months that `faculties` (None: all) may see, with totals."""
    query = _line_query(flt, faculties)
    lines = db.session.execute(query).all()
    history = _movements(query) if lines else {}
    kept = set(rule("scholarship_kept_on_leave") or [])
    wanted = set(flt.months)
    rows: list[PaymentRow] = []
    for line in lines:
        params = line.params or {}
        if params.get("outcome", "in") != "in":
            continue
        months = [m for m in params.get("months") or [] if isinstance(m, str)]
        if not wanted.intersection(months):
            continue
        try:
            amount = int(params.get("amount") or 0)
            starts = sorted(parse_month(m) for m in months)
        except (TypeError, ValueError):
            continue
        timeline = Timeline(line, history.get(line.student_id, []), starts[0], kept)
        faculty = getattr(line, f"name_{language}", None) or line.name_ru
        student = " ".join(p for p in (line.surname, line.name, line.patronymic) if p)
        for month in sorted(wanted.intersection(months)):
            first = parse_month(month)
            if get_kind(line.kind).pays == ONE_OFF:
                paid_days, days, status, note = timeline.one_off(line.effective_date, first)
                paid = amount if status == PAID else 0
            else:
                paid_days, days, status, note = timeline.month(first)
                paid = prorate(amount, paid_days, days)
            if flt.status and status != flt.status:
                continue
            rows.append(
                PaymentRow(
                    month=month,
                    student_id=line.student_id,
                    student=student,
                    iin=line.iin,
                    faculty_id=line.faculty_id,
                    faculty=faculty,
                    group=line.group_name,
                    kind=line.kind,
                    order_id=line.order_id,
                    order_label=line.number_label or f"#{line.order_id}",
                    order_date=line.order_date,
                    line_id=line.id,
                    amount=amount,
                    paid=paid,
                    status=status,
                    days_paid=paid_days,
                    days=days,
                    note=note,
                )
            )
    rows.sort(key=lambda r: (r.month, r.faculty, r.student, r.order_date or date.min, r.line_id))
    return Register(rows=rows, filter=flt, totals=totals(rows))


def totals(rows: list[PaymentRow]) -> dict:
    by_month: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    for row in rows:
        by_month[row.month] = by_month.get(row.month, 0) + row.paid
        by_kind[row.kind] = by_kind.get(row.kind, 0) + row.paid
    return {
        "paid": sum(r.paid for r in rows),
        "due": sum(r.amount for r in rows),
        "rows": len(rows),
        "students": len({r.student_id for r in rows}),
        "by_month": by_month,
        "by_kind": by_kind,
    }


def prorate(amount: int, paid_days: int, days: int) -> int:
    """`amount` for `paid_days` of a `days`-long month, rounded to whole tenge, half up."""
    if paid_days >= days:
        return amount
    return (2 * amount * paid_days + days) // (2 * days)


# The timeline of one line ------------------------------------------------------------------------------------


@dataclass
class Segment:
    start: date
    state: str  # paid | suspended | stopped
    reason: str  # why this segment began (empty for the order's own start)


class Timeline:
    """When one payment line pays: the state at the first day of its first month (the student's record rebuilt
    from the history), then every later movement that suspends, resumes or stops it."""

    def __init__(self, line, movements: list, start: date, kept_grounds: set[str]):
        self.kind = line.kind
        self.grant_only = get_kind(line.kind).paid_only_on_grant  # paid only while on a state grant
        self.kept = kept_grounds
        self.notes: list[tuple[date, str]] = []  # events that change nothing but are worth showing
        record = {"status": line.status, "funding": line.funding, "leave_ground": line.leave_ground}
        for movement in reversed(movements):  # undo, newest first, everything effective from `start` on
            if movement.effective_date < start:
                break
            for name, change in (movement.changes or {}).items():
                if name in record and isinstance(change, list | tuple) and len(change) == 2:
                    record[name] = change[0]
        earlier = [m for m in movements if m.effective_date < start]
        state, reason = self._initial(record, earlier)
        self.segments = [Segment(start, state, reason)]
        for movement in movements:
            if movement.effective_date >= start:
                self._apply(movement)

    # Building

    def _initial(self, record: dict, earlier: list) -> tuple[str, str]:
        status = record["status"]
        if status == "academic_leave" and record["leave_ground"] not in self.kept:
            cause = _last_setting(earlier, "status", "academic_leave")
            return SUSPENDED, (
                self._leave_text(cause, record["leave_ground"])
                if cause
                else _("on academic leave (%(ground)s)", ground=label(record["leave_ground"] or ""))
            )
        if status not in ("active", "academic_leave"):
            cause = _last_setting(earlier, "status", status)
            return STOPPED, (
                self._status_text(cause, status) if cause else _("student is %(status)s", status=label(status))
            )
        if self.grant_only and record["funding"] != "grant":
            cause = _last_setting(earlier, "funding", record["funding"])
            return STOPPED, (
                self._funding_text(cause, record["funding"])
                if cause
                else _("no state grant (funding: %(funding)s)", funding=label(record["funding"] or ""))
            )
        return PAID, ""

    def _apply(self, movement) -> None:
        changes = movement.changes or {}
        current = self.segments[-1].state
        if current == STOPPED:
            return
        status = _after(changes.get("status"))
        if status == "academic_leave":
            ground = _after(changes.get("leave_ground"))
            if ground in self.kept:
                self.notes.append(
                    (
                        movement.effective_date,
                        _("%(leave)s: the scholarship continues", leave=self._leave_text(movement, ground)),
                    )
                )
            elif current == PAID:
                self._switch(movement.effective_date, SUSPENDED, self._leave_text(movement, ground))
        elif status == "active" and current == SUSPENDED:
            self._switch(movement.effective_date, PAID, self._return_text(movement))
        elif status is not None and status not in ("active", "academic_leave"):
            self._switch(movement.effective_date, STOPPED, self._status_text(movement, status))
            return
        funding = _after(changes.get("funding"))
        if self.grant_only and "funding" in changes and funding != "grant":
            self._switch(movement.effective_date, STOPPED, self._funding_text(movement, funding))

    def _switch(self, day: date, state: str, reason: str) -> None:
        if self.segments[-1].start == day:  # two movements on one day: the later one decides
            self.segments[-1] = Segment(day, state, reason)
            return
        self.segments.append(Segment(day, state, reason))

    # Reading

    def state_on(self, day: date) -> Segment:
        current = self.segments[0]
        for segment in self.segments:
            if segment.start <= day:
                current = segment
        return current

    def month(self, first: date) -> tuple[int, int, str, str]:
        """(days paid, days in the month, status, note) for the month starting on `first`."""
        days = calendar.monthrange(first.year, first.month)[1]
        last = first + timedelta(days=days - 1)
        paid_days = 0
        for index, segment in enumerate(self.segments):
            if segment.state != PAID:
                continue
            end = self.segments[index + 1].start - timedelta(days=1) if index + 1 < len(self.segments) else last
            low, high = max(segment.start, first), min(end, last)
            if high >= low:
                paid_days += (high - low).days + 1
        inside = [s.reason for s in self.segments if first < s.start <= last and s.reason]
        notes = [text for day, text in self.notes if first <= day <= last]
        if paid_days == days:
            return paid_days, days, PAID, "; ".join(inside + notes)
        if paid_days == 0:
            in_force = self.state_on(last)
            return 0, days, in_force.state, "; ".join(inside or [in_force.reason])
        return paid_days, days, REDUCED, "; ".join(inside + notes)

    def one_off(self, day: date, first: date) -> tuple[int, int, str, str]:
        """A one-off payment: all or nothing, by the state on its effective date."""
        days = calendar.monthrange(first.year, first.month)[1]
        segment = self.state_on(day)
        if segment.state == PAID:
            return days, days, PAID, ""
        return 0, days, segment.state, segment.reason

    # Wording

    @staticmethod
    def _when(movement) -> dict:
        return {"date": format_day(movement.effective_date), "order": movement.order_label or "—"}

    def _leave_text(self, movement, ground) -> str:
        return _(
            "academic leave (%(ground)s) from %(date)s, order %(order)s",
            ground=label(ground or ""),
            **self._when(movement),
        )

    def _return_text(self, movement) -> str:
        return _("return from academic leave on %(date)s, order %(order)s", **self._when(movement))

    def _status_text(self, movement, status: str) -> str:
        if status == "expelled":
            reason = _after((movement.changes or {}).get("expulsion_reason")) or movement.reason
            if reason:
                return _(
                    "expulsion (%(reason)s) from %(date)s, order %(order)s",
                    reason=label(reason),
                    **self._when(movement),
                )
            return _("expulsion from %(date)s, order %(order)s", **self._when(movement))
        return _("%(status)s from %(date)s, order %(order)s", status=label(status), **self._when(movement))

    def _funding_text(self, movement, funding) -> str:
        return _(
            "state grant ended (funding: %(funding)s) from %(date)s, order %(order)s",
            funding=label(funding or "none"),
            **self._when(movement),
        )


def _after(change):
    if isinstance(change, list | tuple) and len(change) == 2:
        return change[1]
    return None


def _last_setting(movements: list, name: str, value) -> object | None:
    for movement in reversed(movements):
        if _after((movement.changes or {}).get(name)) == value:
            return movement
    return None


# Export -----------------------------------------------------------------------------------------------------


def status_label(status: str) -> str:
    """A payment's status in the reader's words; "paid" here is a payment made, not the paid-tuition funding."""
    names = {
        PAID: pgettext("payment", "paid"),
        REDUCED: _("paid in part"),
        SUSPENDED: _("suspended"),
        STOPPED: _("stopped"),
    }
    return names.get(status, status)


def to_xlsx(register: Register) -> bytes:
    """The register's rows (all of them, not a page) as a workbook for the finance office."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Register")[:31]
    flt = register.filter
    sheet.append(
        [
            _(
                "Scholarship register, %(first)s to %(last)s",
                first=f"{flt.month_from:%m.%Y}",
                last=f"{flt.month_to:%m.%Y}",
            )
        ]
    )
    sheet["A1"].font = Font(bold=True)
    header = [
        _("Month"),
        _("Student"),
        _("IIN"),
        _("Faculty"),
        _("Group"),
        _("Kind"),
        _("Order"),
        _("Order date"),
        _("Amount per month, KZT"),
        _("Paid, KZT"),
        _("Days paid"),
        _("Status"),
        _("Why"),
    ]
    sheet.append(header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in register.rows:
        sheet.append(
            [
                row.month,
                row.student,
                row.iin,
                row.faculty,
                row.group,
                label(row.kind),
                row.order_label,
                row.order_date,
                row.amount,
                row.paid,
                f"{row.days_paid}/{row.days}",
                status_label(row.status),
                row.note,
            ]
        )
        sheet.cell(row=sheet.max_row, column=3).number_format = "@"  # an IIN keeps its leading zeros
        sheet.cell(row=sheet.max_row, column=8).number_format = "DD.MM.YYYY"
    sheet.append(
        [
            _("Total"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            register.totals.get("due", 0),
            register.totals.get("paid", 0),
        ]
    )
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEFGHIJKLM", (9, 34, 14, 28, 12, 22, 10, 11, 12, 12, 9, 12, 60), strict=True):
        sheet.column_dimensions[column].width = width
    return workbook_bytes(book)
