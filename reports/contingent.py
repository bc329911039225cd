"""The contingent on a date: counts per cell of the rows and columns a person picks, with totals, each a link to the
students behind it; the same grid as a page, API answer, XLSX and CSV."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

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
    listed,
    ordered,
    student_rows,
    with_common_args,
    words_for,
)


@dataclass
class ContingentOptions:
    day: date
    known_on: date | None
    rows: list[str]
    columns: list[str]
    population: str

    def args(self) -> dict[str, str]:
        """The options as query-string arguments (for links and exports)."""
        found = {"day": self.day.isoformat(), "rows": ",".join(self.rows), "columns": ",".join(self.columns)}
        return with_common_args(found, self.known_on, self.population)


def parse_options(args) -> tuple[ContingentOptions, dict[str, str]]:
    """The options from a query string, and the messages for those that are wrong (defaults in their place):
    `day` (today), `known_on` (now), `rows` (faculty), `columns` (course), `population` (contingent)."""
    errors: dict[str, str] = {}
    day = day_option(args, "day", today(), errors) or today()
    common = common_options(args, errors)
    rows = common["rows"] if "rows" in args else ["faculty"]
    columns = []
    try:
        columns = query.parse_dimensions(listed(args, "columns"), "columns")
        if "rows" not in args and "columns" not in args:
            columns = ["course"]
        query.check_breakdown(rows, columns)
    except InvalidInput as refused:
        errors.update({r.field: r.message for r in refused.refusals})
        columns = [c for c in ([] if "columns" in errors else columns) if c not in rows]
    return ContingentOptions(day, common["known_on"], rows, columns, common["population"]), errors


def parse_or_refuse(args) -> ContingentOptions:
    options, errors = parse_options(args)
    if errors:
        raise InvalidInput(errors)
    return options


def counts(options: ContingentOptions, faculties: set[int] | None) -> dict[tuple, int]:
    return query.contingent_counts(
        options.day,
        [*options.rows, *options.columns],
        known_on=options.known_on,
        faculties=faculties,
        population=options.population,
    )


def grid(
    options: ContingentOptions, found: dict[tuple, int], language: str, link: Callable[[dict], str] | None
) -> Grid:
    """The table: one heading row per column dimension, one row per row cell, a total column and a total row."""
    rows, columns = options.rows, options.columns
    dims = [*rows, *columns]
    words = words_for(dims, found, language)
    row_cells = ordered(rows, {cell[: len(rows)] for cell in found}, words)
    col_cells = ordered(columns, {cell[len(rows) :] for cell in found}, words)
    title = _("Contingent on %(day)s", day=format_day(options.day))
    if options.known_on:
        title += " " + _("(as known on %(day)s)", day=format_day(options.known_on))
    table = Grid(title, header_rows=max(len(columns), 1))

    def number(n: int, filters: dict) -> Cell:
        return Cell(n, link(filters) if link and n else None)

    lead = [Cell(str(query.DIMENSIONS[name]), heading=True) for name in rows] or [Cell("", heading=True)]
    if columns:
        for level, name in enumerate(columns):
            heading = [Cell("", heading=True) for _cell in lead]
            heading[-1] = Cell(str(query.DIMENSIONS[name]), heading=True)
            if level == len(columns) - 1:
                heading[: len(rows)] = [Cell(str(query.DIMENSIONS[r]), heading=True) for r in rows]
                corner = [str(query.DIMENSIONS[r]) for r in rows[-1:]] + [str(query.DIMENSIONS[name])]
                heading[-1] = Cell(" / ".join(corner), heading=True)
            values = [Cell(cell_words(columns, cell, words)[level], heading=True) for cell in col_cells]
            total = Cell(_("Total") if level == len(columns) - 1 else "", heading=True)
            table.rows.append([*heading, *values, total])
    else:
        table.rows.append([*lead, Cell(_("Students"), heading=True)])
    col_totals = {cell: 0 for cell in col_cells}
    for row_cell in row_cells if rows else [()]:
        row_filters = dict(zip(rows, row_cell, strict=True))
        line = [Cell(text, heading=True) for text in cell_words(rows, row_cell, words)] or [
            Cell(_("Total"), heading=True)
        ]
        total = 0
        for col_cell in col_cells:
            n = found.get(row_cell + col_cell, 0)
            total += n
            col_totals[col_cell] += n
            if columns:
                line.append(number(n, {**row_filters, **dict(zip(columns, col_cell, strict=True))}))
        line.append(number(total, row_filters))
        table.rows.append(line)
    if rows:
        line = [Cell(_("Total"), heading=True)] + [Cell("", heading=True) for _name in rows[1:]]
        if columns:
            line += [number(col_totals[c], dict(zip(columns, c, strict=True))) for c in col_cells]
        line.append(number(sum(found.values()), {}))
        table.rows.append(line)
    return table


def students_grid(options: ContingentOptions, filters: dict[str, str], rows, language: str, first: int = 1) -> Grid:
    """The list behind a count (one page of it, or all of it for an export)."""
    words = words_for(list(filters), [tuple(filters.values())], language)
    about = filters_about(filters, words)
    title = _("Students on %(day)s", day=format_day(options.day)) + (f" — {about}" if about else "")
    table = Grid(title)
    table.rows.append(headings("№", _("Student"), _("IIN"), _("Group"), _("Course"), _("Funding"), _("Status")))
    table.rows += student_rows(
        rows,
        lambda row: [
            Cell(row.group_name),
            Cell(int(row.course)),
            Cell(query.value_word("funding", row.funding)),
            Cell(query.value_word("status", row.status)),
        ],
        first,
    )
    return table
