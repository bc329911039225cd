"""The state reporting forms (3-NK, the contingent movement) as data: each version of a form is a YAML file in
`reports/forms/`, read and checked here, filled from the counting layer (`reports.query`) and laid out as a table
with row and column codes, grouped headings and the list of the cells the system cannot fill.

A definition names only the query layer's terms: a column *counts* the population on the form's day or sums a
movement *bucket* over its period, each with dimension filters; a row adds its own filters, or is repeated for
each value a dimension holds (`each`); a row or column the data cannot answer is declared `unknown: <why>` and is
left empty, never estimated. The schema and an example of each cell are in README.md ("State forms").
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from core.labels import LABELS
from core.xlsx import workbook_bytes
from orders.registry import KINDS
from reports import query
from students.models import FUNDINGS, LANGUAGES, STATUSES, STUDY_FORMS

FORMS_DIR = Path(__file__).parent / "forms"
TEXT_LANGUAGES = ("kk", "ru")  # every text of a definition is given in both; "en" is optional
FIXED_VALUES: dict[str, tuple[str, ...]] = {
    "funding": FUNDINGS,
    "study_form": STUDY_FORMS,
    "language": LANGUAGES,
    "sex": ("male", "female"),
    "age": tuple(code for code, _low, _high in query.AGE_BANDS),
}
BY_ID = ("faculty", "programme")  # their values are this installation's ids: a form may only repeat rows over them


class FormDefinitionError(ValueError):
    """A definition file that cannot be used; the message names the file and the place in it."""


@dataclass(frozen=True)
class DayRule:
    """A day relative to the form's year: `month`/`day` of the year plus `year` (0: the chosen year, -1: the one
    before)."""

    month: int
    day: int
    year: int = 0

    def on(self, year: int) -> date:
        return date(year + self.year, self.month, self.day)


@dataclass(frozen=True)
class Measure:
    """What a column counts: the population on the form's day (`bucket` None) or the steps of a bucket over the
    period, with `filters`; or nothing the data holds (`unknown`, the reason)."""

    filters: dict[str, str] = field(default_factory=dict)
    population: str = "contingent"
    bucket: query.Bucket | None = None
    unknown: dict[str, str] | None = None  # why the records cannot tell it, per language
    at_start: bool = False  # count at the period's start (the end of the day before its first day), not on the day


@dataclass(frozen=True)
class Line:
    """A row or a column: its code, its label per language, and its part of the cell's definition. For a row,
    `each` repeats it for every value of that dimension; for a column, `head` is the grouped heading above it."""

    code: str
    label: dict[str, str]
    measure: Measure
    each: str = ""
    head: dict[str, str] | None = None


@dataclass(frozen=True)
class Table:
    code: str
    title: dict[str, str]
    rows: list[Line]
    columns: list[Line]


@dataclass(frozen=True)
class FormDefinition:
    path: Path
    form: str
    version: str
    valid_from: date
    title: dict[str, str]
    as_of: DayRule
    rule: dict[str, str]
    first: DayRule
    last: DayRule
    tables: list[Table]

    @property
    def file(self) -> str:
        return f"reports/forms/{self.path.name}"

    def day(self, year: int) -> date:
        return self.as_of.on(year)

    def period(self, year: int) -> tuple[date, date]:
        return self.first.on(year), self.last.on(year)


def text(words: dict[str, str] | None, language: str) -> str:
    """A definition's text in `language` (Russian when it has none in that language)."""
    if not words:
        return ""
    return words.get(language) or words.get("ru") or ""


# Reading and checking ------------------------------------------------------------------------------------------


class _Reader:
    """Checks one file, naming the file and the place of every mistake."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str) -> FormDefinitionError:
        return FormDefinitionError(f"reports/forms/{self.path.name}: {where}: {message}" if where else message)

    def mapping(self, value, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, "expected a mapping")
        unknown = sorted(set(value) - set(required) - set(optional))
        if unknown:
            allowed = ", ".join(required + optional)
            raise self.fail(where, f"unknown key {', '.join(map(str, unknown))}; allowed: {allowed}")
        missing = [key for key in required if key not in value]
        if missing:
            raise self.fail(where, f"missing {', '.join(missing)}")
        return value

    def words(self, value, where: str) -> dict[str, str]:
        found = self.mapping(value, where, TEXT_LANGUAGES, ("en",))
        if not all(isinstance(v, str) and v.strip() for v in found.values()):
            raise self.fail(where, "every language needs a text")
        return dict(found)

    def day_rule(self, value, where: str) -> DayRule:
        found = self.mapping(value, where, ("month", "day"), ("year",))
        try:
            rule = DayRule(int(found["month"]), int(found["day"]), int(found.get("year", 0)))
            rule.on(2024)  # a leap year: 29 February is a day
        except (TypeError, ValueError) as error:
            raise self.fail(where, f"not a day of the year ({error})") from None
        return rule

    def value(self, dimension: str, value, where: str) -> str:
        if dimension not in query.DIMENSIONS:
            raise self.fail(where, f"unknown dimension {dimension!r}; known: {', '.join(query.DIMENSIONS)}")
        if dimension in BY_ID:
            raise self.fail(where, f"{dimension!r} is told by this installation's ids: repeat the row with each")
        value = str(value)
        if dimension in FIXED_VALUES:
            ok = value in FIXED_VALUES[dimension]
        elif dimension == "course":
            ok = value.isdigit() and 1 <= int(value) <= 9 and value == str(int(value))
        elif dimension == "programme_group":
            ok = re.fullmatch(r"[0-9A-ZА-Я]{4}", value) is not None
        else:  # status
            ground = value.removeprefix(query.LEAVE_PREFIX)
            ok = value in STATUSES or (value != ground and ground in LABELS)
        if not ok:
            raise self.fail(where, f"unknown value {value!r} of {dimension!r}")
        return value

    def filters(self, value, where: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, "filters: expected a mapping {dimension: value}")
        return {str(name): self.value(str(name), v, where) for name, v in value.items()}

    def bucket(self, value, where: str) -> query.Bucket:
        found = self.mapping(value, where, ("direction", "kind"), ("moved", "detail"))
        direction, kind, detail = found["direction"], str(found["kind"]), str(found.get("detail") or "")
        moved = found.get("moved", False)
        if direction not in ("in", "out"):
            raise self.fail(where, f"unknown direction {direction!r}: in or out")
        if kind not in KINDS and kind != query.ENROLMENT:
            raise self.fail(where, f"unknown order kind {kind!r}; known: {', '.join([query.ENROLMENT, *KINDS])}")
        if not isinstance(moved, bool):
            raise self.fail(where, "moved: true or false")
        if detail and (direction == "in" or moved):
            raise self.fail(where, "only a way out of the population has a detail")
        if detail and detail not in STATUSES and detail not in LABELS:
            ground = detail.removeprefix(query.LEAVE_PREFIX)
            if detail == ground or ground not in LABELS:
                raise self.fail(where, f"unknown detail {detail!r} (an expulsion reason, a leave ground or a status)")
        return query.Bucket(direction, moved, kind, detail)

    def line(self, value, where: str, column: bool) -> Line:
        keys = ("filters", "unknown") + (("count", "movement", "head", "at_start") if column else ("each",))
        found = self.mapping(value, where, ("code", "label"), keys)
        where = f"{where} (code {found['code']})"
        label = self.words(found["label"], where)
        filters = self.filters(found.get("filters"), where)
        unknown = None
        if "unknown" in found:
            why = found["unknown"]
            if isinstance(why, str) and why.strip():
                unknown = dict.fromkeys(("kk", "ru", "en"), why.strip())
            elif isinstance(why, dict):
                unknown = self.words(why, f"{where}, unknown")
            else:
                raise self.fail(where, "unknown: say why the records cannot tell it")
        each = str(found.get("each") or "")
        if each and each not in query.DIMENSIONS:
            raise self.fail(where, f"unknown dimension {each!r}; known: {', '.join(query.DIMENSIONS)}")
        if each in filters:
            raise self.fail(where, f"a row repeated for each {each} cannot also filter on it")
        population, bucket = "contingent", None
        if column:
            given = [key for key in ("count", "movement", "unknown") if key in found]
            if len(given) != 1:
                raise self.fail(where, "a column needs exactly one of count, movement, unknown")
            if "count" in found:
                population = str(found["count"])
                if population not in query.POPULATIONS:
                    raise self.fail(where, f"count: one of {', '.join(query.POPULATIONS)}")
            if "movement" in found:
                bucket = self.bucket(found["movement"], where)
        at_start = found.get("at_start", False)
        if not isinstance(at_start, bool) or (at_start and "count" not in found):
            raise self.fail(where, "at_start: true or false, and only for a count")
        head = self.words(found["head"], where) if found.get("head") else None
        return Line(str(found["code"]), label, Measure(filters, population, bucket, unknown, at_start), each, head)

    def table(self, value, where: str) -> Table:
        found = self.mapping(value, where, ("code", "title", "rows", "columns"))
        where = f"table {found['code']}"
        rows, columns = found["rows"], found["columns"]
        if not isinstance(rows, list) or not rows or not isinstance(columns, list) or not columns:
            raise self.fail(where, "rows and columns: non-empty lists")
        table = Table(
            str(found["code"]),
            self.words(found["title"], where),
            [self.line(row, f"{where}, row {n}", column=False) for n, row in enumerate(rows, 1)],
            [self.line(column, f"{where}, column {n}", column=True) for n, column in enumerate(columns, 1)],
        )
        for kind, lines in (("row", table.rows), ("column", table.columns)):
            codes = [line.code for line in lines]
            if len(set(codes)) != len(codes):
                raise self.fail(where, f"two {kind}s have one code")
        for row in table.rows:
            for column in table.columns:
                both = set(row.measure.filters) & set(column.measure.filters)
                clash = [d for d in both if row.measure.filters[d] != column.measure.filters[d]]
                if clash or row.each in column.measure.filters:
                    raise self.fail(
                        f"{where}, cell {row.code}:{column.code}",
                        f"the row and the column filter {', '.join(clash or [row.each])} differently",
                    )
        return table

    def read(self) -> FormDefinition:
        try:
            raw = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise self.fail("", f"reports/forms/{self.path.name}: not readable YAML ({error})") from None
        found = self.mapping(
            raw, "top level", ("form", "version", "valid_from", "title", "as_of", "rule", "period", "tables")
        )
        form = str(found["form"])
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", form):
            raise self.fail("form", "lowercase letters, digits and dashes")
        valid_from = found["valid_from"]
        if isinstance(valid_from, datetime) or not isinstance(valid_from, date):
            raise self.fail("valid_from", "a date, YYYY-MM-DD")
        period = self.mapping(found["period"], "period", ("first", "last"))
        tables = found["tables"]
        if not isinstance(tables, list) or not tables:
            raise self.fail("tables", "a non-empty list")
        definition = FormDefinition(
            self.path,
            form,
            str(found["version"]),
            valid_from,
            self.words(found["title"], "title"),
            self.day_rule(found["as_of"], "as_of"),
            self.words(found["rule"], "rule"),
            self.day_rule(period["first"], "period.first"),
            self.day_rule(period["last"], "period.last"),
            [self.table(table, f"table {n}") for n, table in enumerate(tables, 1)],
        )
        if len({table.code for table in definition.tables}) != len(definition.tables):
            raise self.fail("tables", "two tables have one code")
        return definition


def load(path: Path) -> FormDefinition:
    """One definition, checked; FormDefinitionError naming the file and the place otherwise."""
    return _Reader(path).read()


def load_all(folder: Path = FORMS_DIR) -> list[FormDefinition]:
    """Every definition in the folder, ordered by form and validity; two files of one form and version refused."""
    found = sorted((load(path) for path in folder.glob("*.yaml")), key=lambda d: (d.form, d.valid_from, d.version))
    seen = set()
    for definition in found:
        if (definition.form, definition.version) in seen:
            raise FormDefinitionError(f"{definition.file}: form {definition.form} version {definition.version} twice")
        seen.add((definition.form, definition.version))
    return found


def version_for(definitions: list[FormDefinition], form: str, year: int, version: str | None) -> FormDefinition | None:
    """The version asked for, else the latest valid on the form's day of `year` (the earliest when none is)."""
    versions = [d for d in definitions if d.form == form]
    if version:
        return next((d for d in versions if d.version == version), None)
    valid = [d for d in versions if d.valid_from <= d.day(year)]
    return (valid or versions[:1] or [None])[-1]


# Filling ---------------------------------------------------------------------------------------------------------


@dataclass
class FilledCell:
    """A cell's figure (None: unknown), the filters and measure behind it (for its link)."""

    value: int | None
    filters: dict[str, str]
    measure: Measure


@dataclass
class FilledRow:
    code: str
    label: str
    cells: list[FilledCell]


@dataclass
class FilledTable:
    table: Table
    rows: list[FilledRow]
    unknown: list[str]  # "column 9 (of them with disabilities): why", for the "not filled" list


@dataclass
class FilledForm:
    definition: FormDefinition
    year: int
    day: date
    first: date
    last: date
    known_on: date | None
    tables: list[FilledTable]


def _dimensions(filters: dict[str, str], each: str) -> tuple[str, ...]:
    return tuple(sorted({*filters, *([each] if each else [])}))


def _group(measure: Measure) -> tuple:
    """Measures whose figures add up over a finer breakdown share one query: the counts of a population on one day,
    and the ways into or out of the population (a step is one student's, in one cell whatever the breakdown). A
    move between cells (`moved`) depends on the breakdown, so it is asked with its own dimensions."""
    moved = measure.bucket is not None and measure.bucket.moved
    return (measure.population, measure.bucket is not None, measure.at_start, moved)


class _Filler:
    """Fills one form: one counting query per group of measures (`_group`) with every dimension the group's cells
    use, summed in Python to each cell's dimensions; a few statements per form whatever the number of students."""

    def __init__(self, definition: FormDefinition, year: int, known_on: date | None, language: str):
        self.day = definition.day(year)
        self.first, self.last = definition.period(year)
        self.known_on = known_on
        self.language = language
        self.wanted: dict[tuple, set[str]] = {}
        for table in definition.tables:
            for row in table.rows:
                for column in table.columns:
                    dimensions = _dimensions({**row.measure.filters, **column.measure.filters}, row.each)
                    self.wanted.setdefault(_group(column.measure), set()).update(dimensions)
        self.counted: dict[tuple, dict] = {}
        self.projected: dict[tuple, dict] = {}

    def _count(self, measure: Measure, dimensions: tuple[str, ...]) -> dict:
        """{cell: n} or {(cell, bucket): n} from the counting layer."""
        before = self.first - timedelta(days=1)
        common = {"known_on": self.known_on, "population": measure.population}
        if measure.bucket is None:
            day = before if measure.at_start else self.day
            return query.contingent_counts(day, list(dimensions), **common)
        return query.movement_counts(before, self.last, list(dimensions), **common).flows

    def figures(self, measure: Measure, dimensions: tuple[str, ...]) -> dict:
        """The measure's figures per cell of `dimensions` (keyed as the counting layer keys them)."""
        group = _group(measure)
        if group[-1]:  # a move between cells: asked with exactly these dimensions (none: nobody moves)
            if not dimensions:
                return {}
            key = (*group[:-1], dimensions)  # the same answer holds the ways in and out, if asked alike
            if key not in self.counted:
                self.counted[key] = self._count(measure, dimensions)
            return self.counted[key]
        everything = tuple(sorted(self.wanted.get(group, set()) | set(dimensions)))
        if (*group[:-1], everything) not in self.counted:
            self.counted[(*group[:-1], everything)] = self._count(measure, everything)
        key = (*group[:-1], everything, dimensions)
        if key not in self.projected:
            positions = [everything.index(name) for name in dimensions]
            found: dict = {}
            for cell, n in self.counted[(*group[:-1], everything)].items():
                if measure.bucket is None:
                    part = tuple(cell[i] for i in positions)
                else:
                    part = (tuple(cell[0][i] for i in positions), cell[1])
                found[part] = found.get(part, 0) + n
            self.projected[key] = found
        return self.projected[key]

    def value(self, measure: Measure, filters: dict[str, str]) -> int:
        dimensions = _dimensions(filters, "")
        cell = tuple(filters[name] for name in dimensions)
        return self.figures(measure, dimensions).get(cell if measure.bucket is None else (cell, measure.bucket), 0)

    def expansions(self, table: Table, row: Line) -> list[tuple[dict[str, str], str, str]]:
        """(extra filter, label, code) of each row a row definition stands for: itself, or one per value of its
        `each` dimension that any of the table's columns holds."""
        label = text(row.label, self.language)
        if not row.each:
            return [({}, label, row.code)]
        values = set()
        for column in table.columns:
            if column.measure.unknown or row.measure.unknown:
                continue
            filters = {**row.measure.filters, **column.measure.filters}
            dimensions = _dimensions(filters, row.each)
            for key in self.figures(column.measure, dimensions):
                if column.measure.bucket is not None:
                    if key[1] != column.measure.bucket:
                        continue
                    key = key[0]
                found = dict(zip(dimensions, key, strict=True))
                if found[row.each] is not None and all(found[k] == v for k, v in filters.items()):
                    values.add(found[row.each])
        words = query.value_words(row.each, values, self.language)
        ordered = sorted(values, key=lambda v: query.sort_key(row.each, v, words))
        return [({row.each: v}, f"{label}: {words.get(v, v)}", f"{row.code}.{n}") for n, v in enumerate(ordered, 1)]

    def table(self, table: Table) -> FilledTable:
        unknown = [
            (_("column %(code)s", code=line.code) if place == "column" else _("row %(code)s", code=line.code))
            + f" ({text(line.label, self.language)}): {text(line.measure.unknown, self.language)}"
            for place, lines in (("column", table.columns), ("row", table.rows))
            for line in lines
            if line.measure.unknown
        ]
        rows = []
        for row in table.rows:
            for extra, label, code in self.expansions(table, row):
                cells = []
                for column in table.columns:
                    filters = {**row.measure.filters, **column.measure.filters, **extra}
                    known = not (row.measure.unknown or column.measure.unknown)
                    figure = self.value(column.measure, filters) if known else None
                    cells.append(FilledCell(figure, filters, column.measure))
                rows.append(FilledRow(code, label, cells))
        return FilledTable(table, rows, unknown)


def fill(definition: FormDefinition, year: int, known_on: date | None, language: str) -> FilledForm:
    """The form's figures for `year` as known on `known_on` (None: now), the whole university. One counting query
    per distinct (measure, dimensions) of the definition, whatever the number of students."""
    filler = _Filler(definition, year, known_on, language)
    tables = [filler.table(table) for table in definition.tables]
    return FilledForm(definition, year, filler.day, filler.first, filler.last, known_on, tables)


# Layout ----------------------------------------------------------------------------------------------------------


@dataclass
class HeadCell:
    """A heading of the layout: its text and how many columns and header rows it spans (0: covered by another)."""

    text: str
    colspan: int = 1
    rowspan: int = 1


def header(table: Table, language: str, row_words: tuple[str, str]) -> list[list[HeadCell]]:
    """Three heading rows like the paper form: the grouped headings (a column without a group spans two rows), the
    column labels, and the column codes; the first two columns are the row's code and label."""
    top: list[HeadCell] = [HeadCell(row_words[0], rowspan=2), HeadCell(row_words[1], rowspan=2)]
    second: list[HeadCell] = []
    columns = table.columns
    n = 0
    while n < len(columns):
        head = columns[n].head
        if head is None:
            top.append(HeadCell(text(columns[n].label, language), rowspan=2))
            n += 1
            continue
        span = 1
        while n + span < len(columns) and columns[n + span].head == head:
            span += 1
        top.append(HeadCell(text(head, language), colspan=span))
        second += [HeadCell(text(column.label, language)) for column in columns[n : n + span]]
        n += span
    return [top, second, [HeadCell("А"), HeadCell("Б")] + [HeadCell(column.code) for column in columns]]


def links(filled: FilledForm, students: Callable[..., str], steps: Callable[..., str]) -> Callable[[FilledCell], str]:
    """The address of the list behind a filled cell: the students on the form's day, or the steps of its bucket."""

    def link(cell: FilledCell) -> str:
        filters = {f"f_{name}": value for name, value in cell.filters.items()}
        known = {"known_on": filled.known_on.isoformat()} if filled.known_on else {}
        population = {"population": cell.measure.population} if cell.measure.population != "contingent" else {}
        if cell.measure.bucket is None:
            day = filled.first - timedelta(days=1) if cell.measure.at_start else filled.day
            return students(day=day.isoformat(), **known, **population, **filters)
        return steps(
            first=filled.first.isoformat(),
            last=filled.last.isoformat(),
            bucket=cell.measure.bucket.key,
            **known,
            **population,
            **filters,
        )

    return link


# The spreadsheet -------------------------------------------------------------------------------------------------

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNKNOWN = PatternFill("solid", fgColor="DDDDDD")  # a cell the records cannot tell


@dataclass
class FormWords:
    """The translated words a filled form shows around its definition's own texts."""

    about: str
    row_heads: tuple[str, str]
    not_filled: str


def to_xlsx(filled: FilledForm, language: str, words: FormWords) -> bytes:
    """The form as the paper lays it out: one sheet per table, the title and the day above, three merged heading
    rows, row and column codes, borders, the figures (the unknown cells empty) and the list of what is not filled."""
    book = Workbook()
    book.remove(book.active)
    definition = filled.definition
    for filled_table in filled.tables:
        table = filled_table.table
        sheet = book.create_sheet(f"{definition.form} {table.code}"[:31])
        width = 2 + len(table.columns)
        lines = [text(definition.title, language), f"{table.code}. {text(table.title, language)}", words.about]
        for n, line in enumerate(lines, 1):
            sheet.cell(n, 1, line).font = Font(bold=n < 3)
            sheet.merge_cells(start_row=n, start_column=1, end_row=n, end_column=width)
        top = len(lines) + 2
        for r, heading_row in enumerate(header(table, language, words.row_heads)):
            column = 1
            taken = {c for c in range(1, width + 1) if sheet.cell(top + r, c).coordinate in sheet.merged_cells}
            for heading in heading_row:
                while column in taken:
                    column += 1
                cell = sheet.cell(top + r, column, heading.text)
                cell.font = Font(bold=True)
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
                if heading.colspan > 1 or heading.rowspan > 1:
                    sheet.merge_cells(
                        start_row=top + r,
                        start_column=column,
                        end_row=top + r + heading.rowspan - 1,
                        end_column=column + heading.colspan - 1,
                    )
                column += heading.colspan
        body = top + 3
        for r, row in enumerate(filled_table.rows):
            sheet.cell(body + r, 1, row.code)
            sheet.cell(body + r, 2, row.label)
            for c, cell in enumerate(row.cells, 3):
                written = sheet.cell(body + r, c, cell.value)
                if cell.value is None:
                    written.fill = UNKNOWN
        for row in sheet.iter_rows(min_row=top, max_row=body + len(filled_table.rows) - 1, max_col=width):
            for cell in row:
                cell.border = BOX
        sheet.column_dimensions["B"].width = 40
        if filled_table.unknown:
            below = body + len(filled_table.rows) + 1
            sheet.cell(below, 1, words.not_filled).font = Font(bold=True)
            for n, line in enumerate(filled_table.unknown, 1):
                sheet.cell(below + n, 1, line)
    return workbook_bytes(book)
