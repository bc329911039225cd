"""The movement of the contingent over a period: per cell of the rows a person picks, the count at the start, every
way in (by order kind) and out (by kind and reason), and the count at the end, which always reconcile; each figure a
link to the students and orders behind it. The same grid as a page, API answer, XLSX and CSV.

The period [first, last] counts the movements effective on its days: "at the start" is the count at the end of the
day before `first` (what the morning of `first` found), "at the end" the count at the end of `last`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from flask import url_for
from flask_babel import gettext as _

from core.clock import today
from core.errors import InvalidInput
from core.formatting import format_day
from reports import query
from reports.tables import (
    Cell,
    Grid,
    cell_words,
    common_options,
    day_option,
    filters_about,
    headings,
    ordered,
    student_rows,
    with_common_args,
    words_for,
)

MAX_DAYS = 366 * 10


@dataclass
class MovementOptions:
    first: date
    last: date
    known_on: date | None
    rows: list[str]
    population: str

    @property
    def before(self) -> date:
        """The day whose end is the period's start."""
        return self.first - timedelta(days=1)

    def args(self) -> dict[str, str]:
        found = {"first": self.first.isoformat(), "last": self.last.isoformat(), "rows": ",".join(self.rows)}
        return with_common_args(found, self.known_on, self.population)


def parse_options(args) -> tuple[MovementOptions, dict[str, str]]:
    """`first` (default: the first day of this month), `last` (today), `known_on`, `rows` (faculty), `population`;
    and the messages for the options that are wrong."""
    errors: dict[str, str] = {}
    now = today()
    first = day_option(args, "first", now.replace(day=1), errors) or now.replace(day=1)
    last = day_option(args, "last", now, errors) or now
    if "first" not in errors and "last" not in errors:
        if last < first:
            errors["last"] = _("The period ends before it starts: give a last day on or after the first.")
        elif (last - first).days > MAX_DAYS:
            errors["last"] = _("A period of at most ten years, please.")
    if "first" in errors or "last" in errors:
        first, last = now.replace(day=1), now
    common = common_options(args, errors)
    rows = common["rows"] if "rows" in args else ["faculty"]
    try:
        query.check_breakdown(rows, [])
    except InvalidInput as refused:
        errors["rows"] = " ".join(r.message for r in refused.refusals)
        rows = rows[: query.MAX_DIMENSIONS]
    return MovementOptions(first, last, common["known_on"], rows, common["population"]), errors


def parse_or_refuse(args) -> MovementOptions:
    options, errors = parse_options(args)
    if errors:
        raise InvalidInput(errors)
    return options


def counts(options: MovementOptions, faculties: set[int] | None) -> query.MovementCounts:
    return query.movement_counts(
        options.before,
        options.last,
        options.rows,
        known_on=options.known_on,
        faculties=faculties,
        population=options.population,
    )


@dataclass
class Links:
    """How a figure links to what is behind it: the students on a day, or the steps of a bucket."""

    students: Callable[[date, dict], str]
    steps: Callable[[dict, str | None], str]


def title_of(options: MovementOptions) -> str:
    title = _("Movement from %(first)s to %(last)s", first=format_day(options.first), last=format_day(options.last))
    if options.known_on:
        title += " " + _("(as known on %(day)s)", day=format_day(options.known_on))
    return title


def grid(options: MovementOptions, found: query.MovementCounts, language: str, links: Links | None) -> Grid:
    """Rows: the cells, and a total. Columns: at the start, each way in, total in, each way out, total out, at the
    end."""
    rows = options.rows
    words = words_for(rows, found.cells(), language)
    cells = ordered(rows, found.cells(), words) if rows else [()]
    buckets = found.buckets()
    ins = [b for b in buckets if b.direction == "in"]
    outs = [b for b in buckets if b.direction == "out"]
    table = Grid(title_of(options))
    lead = [Cell(str(query.DIMENSIONS[name]), heading=True) for name in rows] or [Cell("", heading=True)]
    table.rows.append(
        [
            *lead,
            Cell(_("At the start of %(day)s", day=format_day(options.first)), heading=True),
            *[Cell(bucket.title(), heading=True) for bucket in ins],
            Cell(_("Total in"), heading=True),
            *[Cell(bucket.title(), heading=True) for bucket in outs],
            Cell(_("Total out"), heading=True),
            Cell(_("At the end of %(day)s", day=format_day(options.last)), heading=True),
        ]
    )

    def number(n: int, href: str | None) -> Cell:
        return Cell(n, href if links and n else None)

    def figures(cell_filter: dict, start: int, end: int, flows: dict) -> list[Cell]:
        line = [number(start, links and links.students(options.before, cell_filter))]
        line += [number(flows.get(b, 0), links and links.steps(cell_filter, b.key)) for b in ins]
        line.append(number(sum(flows.get(b, 0) for b in ins), links and links.steps(cell_filter, "in")))
        line += [number(flows.get(b, 0), links and links.steps(cell_filter, b.key)) for b in outs]
        line.append(number(sum(flows.get(b, 0) for b in outs), links and links.steps(cell_filter, "out")))
        line.append(number(end, links and links.students(options.last, cell_filter)))
        return line

    by_cell: dict[tuple, dict] = {}
    totals: dict = {}
    for (cell, bucket), n in found.flows.items():
        by_cell.setdefault(cell, {})[bucket] = n
        totals[bucket] = totals.get(bucket, 0) + n
    for cell in cells:
        line = [Cell(text, heading=True) for text in cell_words(rows, cell, words)] or [Cell(_("Total"), heading=True)]
        start, end = found.on_start.get(cell, 0), found.on_end.get(cell, 0)
        table.rows.append(line + figures(dict(zip(rows, cell, strict=True)), start, end, by_cell.get(cell, {})))
    if rows:
        line = [Cell(_("Total"), heading=True)] + [Cell("", heading=True) for _name in rows[1:]]
        start, end = sum(found.on_start.values()), sum(found.on_end.values())
        table.rows.append(line + figures({}, start, end, totals))
    return table


def steps_grid(
    options: MovementOptions, filters: dict[str, str], which: str | None, rows, language: str, first: int = 1
) -> Grid:
    """The steps behind a figure: who, when, from which cell to which, by which order."""
    dims = list(filters)
    values = [tuple(getattr(row, f"prev_{d}") for d in dims) for row in rows]
    values += [tuple(getattr(row, f"cur_{d}") for d in dims) for row in rows] + [tuple(filters.values())]
    words = words_for(dims, values, language)
    about = filters_about(filters, words)
    what = query.Bucket.from_key(which).title() if which and which not in ("in", "out") else ""
    if which == "in":
        what = _("Total in")
    elif which == "out":
        what = _("Total out")
    title = " — ".join(part for part in (title_of(options), about, what) if part)
    table = Grid(title)
    table.rows.append(
        headings(
            "№",
            _("Student"),
            _("IIN"),
            _("Effective date"),
            _("In or out"),
            _("Movement"),
            _("From"),
            _("To"),
            _("Order"),
        )
    )

    def extra(row) -> list[Cell]:
        bucket = query.Bucket(
            row.direction,
            bool(row.inside) if row.direction == "out" else False,
            row.kind,
            "" if row.inside else (row.detail or ""),
        )
        before = tuple(getattr(row, f"prev_{d}") for d in dims)
        after = tuple(getattr(row, f"cur_{d}") for d in dims)
        return [
            Cell(format_day(row.day)),
            Cell(_("in") if row.direction == "in" else _("out")),
            Cell(bucket.title() if row.direction == "out" else query.Bucket("in", False, row.kind).title()),
            Cell(", ".join(cell_words(dims, before, words)) if any(v is not None for v in before) else "—"),
            Cell(", ".join(cell_words(dims, after, words)) if row.inside else "—"),
            Cell(row.order_label or "—", order_link(row.order_id) if row.order_id else None),
        ]

    table.rows += student_rows(rows, extra, first)
    return table


def order_link(order_id: int) -> str:
    return url_for("orders.show", order_id=order_id)
