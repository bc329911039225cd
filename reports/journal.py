"""The order journal: every order the person may see, with its number, date, kind, title, state, author,
faculties, number of students and effective dates; searched by number, kind, state, dates, faculty and student;
paged, and exported to XLSX. It is the orders list (`/orders/`) as well: one page, also at `/reports/journal`.

A dean sees the orders with a line of own faculty (`orders_in_scope`), and a student search finds only lines of
that faculty. Each page costs a fixed number of queries: the page of orders with its count, then the lines'
counts, effective dates and faculties of those orders grouped in SQL.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, union

from core.db import db
from core.formatting import local_time, start_of_day
from core.labels import label
from core.models import User
from core.paging import paginate
from core.permissions import roles_required
from core.scope import UNIVERSITY_ROLES, faculty_scope
from core.xlsx import back_to_search, refused_if_too_many, sheet_download
from orders.models import TARGET_GROUP_ID, Order, OrderLine, lines_in_scope, numbered, orders_in_scope
from orders.registry import KINDS, new_order_links
from reports.tables import period_option
from students.models import Faculty, Group, Programme, Student
from students.operations import name_or_iin
from workflow.routes import DEFAULT_ROUTES, TERMINAL_STATES

bp = Blueprint("journal", __name__)
READERS = (*UNIVERSITY_ROLES, "dean")
BATCH = 1000


def state_choices() -> list[str]:
    """Every state an order can be in on the routes, in the order of a route, and any other an order is in now
    (a step of an edited route)."""
    steps = [state for route in DEFAULT_ROUTES.values() for state in route.states if state.startswith("review_")]
    present = set(db.session.scalars(select(Order.state).distinct()))
    steps += sorted(state for state in present if state.startswith("review_"))
    return ["draft", *dict.fromkeys(steps), "awaiting_signature", *TERMINAL_STATES]


def on_or_after(day: date) -> ColumnElement[bool]:
    """The order's date is `day` or later: the signing date once signed, the local day a draft was created before."""
    return or_(Order.order_date >= day, and_(Order.order_date.is_(None), Order.created_at >= start_of_day(day)))


def on_or_before(day: date) -> ColumnElement[bool]:
    return or_(
        Order.order_date <= day,
        and_(Order.order_date.is_(None), Order.created_at < start_of_day(day + timedelta(days=1))),
    )


@dataclass
class Search:
    """The journal's search as the user filled it in, and what was wrong with it."""

    number: str = ""
    kind: str = ""
    state: str = ""
    date_from: date | None = None
    date_to: date | None = None
    faculty_id: int | None = None
    student: str = ""
    errors: dict[str, str] | None = None

    @classmethod
    def from_args(cls, args, states: list[str]) -> "Search":
        errors = {}
        found = cls(
            number=args.get("number", "")[:40].strip(),
            kind=args.get("kind", "") if args.get("kind", "") in KINDS else "",
            state=args.get("state", "") if args.get("state", "") in states else "",
            student=" ".join(args.get("student", "")[:100].split()),
        )
        found.date_from, found.date_to = period_option(args, errors)
        faculty = args.get("faculty", "").strip()
        if faculty.isdigit() and int(faculty) < 2**31:
            found.faculty_id = int(faculty)
        elif faculty:
            errors["faculty"] = _("Choose a faculty from the list.")
        found.errors = errors
        return found

    def query(self, actor: User) -> Select:
        """The orders `actor` sees that match, newest first."""
        scope = faculty_scope(actor)
        query = select(Order).where(orders_in_scope(scope))
        if self.number:
            query = query.where(numbered(self.number))
        if self.kind:
            query = query.where(Order.kind == self.kind)
        if self.state:
            query = query.where(Order.state == self.state)
        if self.date_from:
            query = query.where(on_or_after(self.date_from))
        if self.date_to:
            query = query.where(on_or_before(self.date_to))
        if self.faculty_id is not None:
            chosen = {self.faculty_id} if scope is None else {self.faculty_id} & scope  # never past the scope
            query = query.where(orders_in_scope(chosen))
        student = name_or_iin(self.student)
        if student is not None:
            their_lines = (
                select(OrderLine.order_id)
                .join(Student, Student.id == OrderLine.student_id)
                .where(student, lines_in_scope(scope))
            )
            query = query.where(Order.id.in_(their_lines))
        return query.order_by(Order.id.desc())


@dataclass
class Row:
    order: Order
    day: date
    students: int
    faculties: list[str]
    effective_from: date | None
    effective_to: date | None


def rows_of(orders: list[Order]) -> list[Row]:
    """The journal's rows for `orders`: two grouped queries whatever their number."""
    ids = [order.id for order in orders]
    counts = {
        order_id: (count, first, last)
        for order_id, count, first, last in db.session.execute(
            select(
                OrderLine.order_id,
                func.count(OrderLine.id),
                func.min(OrderLine.effective_date),
                func.max(OrderLine.effective_date),
            )
            .where(OrderLine.order_id.in_(ids))
            .group_by(OrderLine.order_id)
        )
    }
    own = select(OrderLine.order_id, OrderLine.faculty_id.label("faculty_id")).where(OrderLine.order_id.in_(ids))
    target = (
        select(OrderLine.order_id, Programme.faculty_id.label("faculty_id"))
        .join(Group, Group.id == TARGET_GROUP_ID)
        .join(Programme, Programme.id == Group.programme_id)
        .where(OrderLine.order_id.in_(ids))
    )
    pairs = union(own, target).subquery()
    names: dict[int, list[str]] = {}
    for order_id, name in db.session.execute(
        select(pairs.c.order_id, Faculty.code)
        .join(Faculty, Faculty.id == pairs.c.faculty_id)
        .order_by(pairs.c.order_id, Faculty.code)
    ):
        names.setdefault(order_id, []).append(name)
    rows = []
    for order in orders:
        count, first, last = counts.get(order.id, (0, None, None))
        day = order.order_date or local_time(order.created_at).date()
        rows.append(Row(order, day, count, names.get(order.id, []), first, last))
    return rows


def faculty_choices(actor: User, language: str) -> list[tuple[int, str]]:
    scope = faculty_scope(actor)
    query = select(Faculty).order_by(Faculty.code)
    if scope is not None:
        query = query.where(Faculty.id.in_(scope))
    return [(faculty.id, f"{faculty.code} — {faculty.name(language)}") for faculty in db.session.scalars(query)]


@bp.route("/reports/journal")
@bp.route("/orders/")  # registered first (decorators apply bottom up): url_for builds this address
@roles_required(*READERS)
def index():
    states = state_choices()
    search = Search.from_args(request.args, states)
    language = str(get_locale())
    page = None
    if not search.errors:
        page = paginate(search.query(current_user), request.args.get("page"))
        page.items = rows_of(page.items)
    return render_template(
        "reports/journal.html",
        search=search,
        page=page,
        states=states,
        kinds=sorted(KINDS.values(), key=lambda kind: kind.label()),
        faculties=faculty_choices(current_user, language),
        new_order_links=new_order_links(),
    ), (400 if search.errors else 200)


HEADERS = (
    "Number",
    "Date",
    "Kind",
    "Title",
    "State",
    "Author",
    "Faculties",
    "Students",
    "Effective from",
    "Effective to",
)


def headers() -> list[str]:
    words = {
        "Number": _("Number"),
        "Date": _("Date"),
        "Kind": _("Kind"),
        "Title": _("Title"),
        "State": _("State"),
        "Author": _("Author"),
        "Faculties": _("Faculties"),
        "Students": _("Students"),
        "Effective from": _("Effective from"),
        "Effective to": _("Effective to"),
    }
    return [words[name] for name in HEADERS]


def cells(row: Row) -> list:
    """A row as the spreadsheet holds it (and as the page shows it, dates aside)."""
    return [
        row.order.label,
        row.day,
        label(row.order.kind),
        row.order.title,
        label(row.order.state),
        row.order.author.full_name,
        ", ".join(row.faculties),
        row.students,
        row.effective_from,
        row.effective_to,
    ]


@bp.route("/orders/journal.xlsx")
@roles_required(*READERS)
def export():
    search = Search.from_args(request.args, state_choices())
    if search.errors:
        return back_to_search(" ".join(search.errors.values()))
    query = search.query(current_user)
    if refused := refused_if_too_many(
        query, _("%(total)s orders match; a spreadsheet holds at most %(limit)s. Narrow the search (dates, kind).")
    ):
        return refused
    ids = list(db.session.scalars(query.with_only_columns(Order.id)))
    dates = {column: "yyyy-mm-dd" for column in ("B", "I", "J")}
    return sheet_download(_("Order journal"), headers(), _batched_cells(ids), "orders", dates)


def _batched_cells(ids: list[int]) -> Iterator[list]:
    """The export's rows of the orders `ids`, newest first, read BATCH orders at a time."""
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        orders = db.session.scalars(select(Order).where(Order.id.in_(chunk)).order_by(Order.id.desc())).all()
        for row in rows_of(list(orders)):
            yield cells(row)
