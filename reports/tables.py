"""What the contingent and movement pages share: who may read them, the options they parse, and the grid (the table a
page shows) written as XLSX or CSV, so that an export holds exactly what the page shows."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask import url_for
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from core.clock import today
from core.errors import InvalidInput
from core.formatting import parse_date
from core.models import User
from core.scope import faculty_scope
from core.xlsx import workbook_bytes
from reports import query

READER_ROLES = ("clerk", "registrar", "rector", "dean")  # the registrar office, the rector, deans (own faculty)
SEE_ALL_ROLES = ("clerk", "registrar", "rector")
FORM_ROLES = SEE_ALL_ROLES  # a state form is one university-wide document: the registrar office and the rector
PER_PAGE = 100
EXPORTS = ("xlsx", "csv")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_scope(actor: User) -> set[int] | None:
    """None: the whole university; else the faculties of a dean (own and those substituted today). Anyone else may
    not read the reports (403)."""
    faculties = faculty_scope(actor, see_all=SEE_ALL_ROLES)
    if faculties is not None and not faculties:
        raise InvalidInput({}, 403, _("Only the registrar office, the rector and deans read the reports."))
    return faculties


@dataclass
class Cell:
    """One cell of a grid: its value (text or a number), the list behind it, and whether it is a heading."""

    value: str | int
    link: str | None = None
    heading: bool = False


def with_common_args(found: dict[str, str], known_on: date | None, population: str) -> dict[str, str]:
    """A report's query-string arguments `found` plus known_on and population where they are not the defaults."""
    if known_on:
        found["known_on"] = known_on.isoformat()
    if population != "contingent":
        found["population"] = population
    return found


def headings(*texts: str) -> list[Cell]:
    """A row of heading cells."""
    return [Cell(text, heading=True) for text in texts]


def filters_about(filters: dict[str, str], words: dict) -> str:
    """The filters of a list, in words: "Faculty: IT, Course: 2"."""
    return ", ".join(f"{query.DIMENSIONS[name]}: {words[name].get(value, value)}" for name, value in filters.items())


@dataclass
class Grid:
    title: str
    rows: list[list[Cell]] = field(default_factory=list)
    header_rows: int = 1

    def values(self) -> list[list[str | int]]:
        return [[cell.value for cell in row] for row in self.rows]


def day_option(args, name: str, default: date | None, errors: dict[str, str]) -> date | None:
    """A YYYY-MM-DD date from the query string (empty: `default`); a message in `errors` otherwise."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    day = parse_date(raw)
    if day is None:
        errors[name] = _("Give the date as YYYY-MM-DD, e.g. 2026-09-01.")
    return day


def period_option(args, errors: dict[str, str]) -> tuple[date | None, date | None]:
    """date_from and date_to of a search (each may be empty); an end before the start is an error on date_to."""
    first, last = day_option(args, "date_from", None, errors), day_option(args, "date_to", None, errors)
    if first and last and first > last:
        errors["date_to"] = _("The end of the period is before its start.")
    return first, last


def listed(args, name: str) -> str | None:
    """A list option given as repeated arguments (a multiple select) or comma-separated; None when absent."""
    if name not in args:
        return None
    values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
    return ",".join(value for value in values if value)


def common_options(args, errors: dict[str, str]) -> dict:
    """known_on, population and the row dimensions every report takes."""
    options = {"known_on": day_option(args, "known_on", None, errors)}
    if options["known_on"] is not None and options["known_on"] > today():
        errors["known_on"] = _("“As known on” cannot be later than today.")
    for name, parse in (("population", query.parse_population), ("rows", query.parse_dimensions)):
        try:
            options[name] = parse(listed(args, name) if name == "rows" else args.get(name))
        except InvalidInput as refused:
            errors.update({r.field: r.message for r in refused.refusals})
            options[name] = [] if name == "rows" else "contingent"
    return options


def words_for(dimensions: list[str], cells, language: str) -> dict[str, dict[str, str]]:
    """{dimension: {value: words}} for every value the cells hold (one query for faculties, one for programmes)."""
    return {name: query.value_words(name, {cell[i] for cell in cells}, language) for i, name in enumerate(dimensions)}


def ordered(dimensions: list[str], cells, words) -> list[tuple]:
    def key(cell):
        return [query.sort_key(name, cell[i], words[name]) for i, name in enumerate(dimensions)]

    return sorted(cells, key=key)


def cell_words(dimensions: list[str], cell: tuple, words) -> list[str]:
    return [words[name].get(value, value or "") for name, value in zip(dimensions, cell, strict=True)]


def to_xlsx(grid: Grid) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = grid.title[:31].replace("/", "-") or "Report"
    for row in grid.rows:
        sheet.append([cell.value for cell in row])
        for cell, written in zip(row, sheet[sheet.max_row], strict=False):
            if cell.heading:
                written.font = Font(bold=True)
    return workbook_bytes(book)


def to_csv(grid: Grid) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Kazakh and Russian words as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in grid.rows:
        writer.writerow([_csv_text(cell.value) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_text(value: str | int) -> str | int:
    """A text cell a spreadsheet would read as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def student_rows(rows, more_cells: Callable | None = None, first: int = 1) -> list[list[Cell]]:
    """The common columns of a list of students."""
    found = []
    for n, row in enumerate(rows, first):
        name = " ".join(p for p in (row.surname, row.first_name, row.patronymic) if p)
        found.append(
            [
                Cell(n),
                Cell(name, url_for("students.show", student_id=row.student_id)),
                Cell(row.iin),
                *(more_cells(row) if more_cells else []),
            ]
        )
    return found


def page_of(args) -> int:
    return max(args.get("page", 1, type=int) or 1, 1)
