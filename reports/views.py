"""The reports' pages: the contingent on a date and the movement over a period, the lists behind their figures, and
their XLSX and CSV exports (`?format=xlsx` or `csv` on the same address); the state forms (`/reports/forms`)."""

import io
from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from core.clock import today
from core.errors import InvalidInput
from core.formatting import format_day
from core.permissions import roles_required
from reports import contingent, movement, query, state_forms
from reports.tables import (
    EXPORTS,
    FORM_ROLES,
    PER_PAGE,
    READER_ROLES,
    XLSX,
    Grid,
    day_option,
    page_of,
    report_scope,
    to_csv,
    to_xlsx,
)

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")


def _export(grid: Grid, name: str, fmt: str):
    if fmt == "xlsx":
        return send_file(io.BytesIO(to_xlsx(grid)), mimetype=XLSX, as_attachment=True, download_name=f"{name}.xlsx")
    return send_file(
        io.BytesIO(to_csv(grid)), mimetype="text/csv; charset=utf-8", as_attachment=True, download_name=f"{name}.csv"
    )


def _format() -> str | None:
    fmt = request.args.get("format") or None
    if fmt is not None and fmt not in EXPORTS:
        raise InvalidInput({"format": ", ".join(EXPORTS)}, 400, "format: xlsx or csv")
    return fmt


def _paged(fetch, everything: bool):
    """(total, rows, page, pages): every row for an export, else the page asked for (the last one when past it)."""
    if everything:
        total, rows = fetch(None, 0)
        return total, rows, 1, 1
    page = page_of(request.args)
    total, rows = fetch(PER_PAGE, (page - 1) * PER_PAGE)
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    if page > pages:
        page = pages
        total, rows = fetch(PER_PAGE, (page - 1) * PER_PAGE)
    return total, rows, page, pages


def _url(endpoint: str, **args) -> str:
    return url_for(endpoint) + "?" + urlencode({k: v for k, v in args.items() if v not in (None, "")})


def _filter_args(filters: dict) -> dict:
    """A cell's filters as the query-string arguments of the students' and steps' lists (f_<dimension>)."""
    return {f"f_{k}": v for k, v in filters.items()}


def _choices() -> dict:
    return {
        "dimensions": [(name, str(words)) for name, words in query.DIMENSIONS.items()],
        "populations": [(name, str(words)) for name, words in query.POPULATIONS.items()],
    }


def _report_page(template: str, endpoint: str, options, errors: dict, grid: Grid, name: str, fmt: str | None):
    """A report's page with its options, or the grid exported as `name` in the format asked for."""
    if fmt:
        return _export(grid, name, fmt)
    args = options.args()
    return render_template(
        template,
        options=options,
        errors=errors,
        grid=grid,
        exports={fmt: _url(endpoint, **args, format=fmt) for fmt in EXPORTS},
        **_choices(),
    ), (400 if errors else 200)


def _list_page(grid: Grid, paged: tuple, name: str, fmt: str | None, endpoint: str, args: dict, back: str):
    """The list behind a figure, a page at a time with `args` in its links, or all of it exported as `name`."""
    if fmt:
        return _export(grid, name, fmt)
    total, _rows, page, pages = paged
    return render_template(
        "reports/list.html",
        grid=grid,
        total=total,
        page=page,
        pages=pages,
        page_url=lambda n: _url(endpoint, **args, page=n),
        back=back,
        exports={fmt: _url(endpoint, **args, format=fmt) for fmt in EXPORTS},
    )


@bp.route("/")
@roles_required(*READER_ROLES)
def index():
    report_scope(current_user)
    return render_template("reports/index.html")


@bp.route("/contingent")
@roles_required(*READER_ROLES)
def contingent_page():
    faculties = report_scope(current_user)
    fmt = _format()
    options, errors = contingent.parse_options(request.args)
    if errors and fmt:
        raise InvalidInput(errors)
    args = options.args()

    def link(filters: dict) -> str:
        return _url("reports.contingent_students", **args, **_filter_args(filters))

    language = str(get_locale())
    grid = contingent.grid(options, contingent.counts(options, faculties) if not errors else {}, language, link)
    name = f"contingent-{options.day.isoformat()}"
    return _report_page("reports/contingent.html", "reports.contingent_page", options, errors, grid, name, fmt)


@bp.route("/contingent/students")
@roles_required(*READER_ROLES)
def contingent_students():
    faculties = report_scope(current_user)
    fmt = _format()
    options = contingent.parse_or_refuse(request.args)
    filters = query.parse_filters(request.args)
    paged = _paged(
        lambda limit, offset: query.contingent_students(
            options.day,
            filters,
            known_on=options.known_on,
            faculties=faculties,
            population=options.population,
            limit=limit,
            offset=offset,
        ),
        bool(fmt),
    )
    _total, rows, page, _pages = paged
    grid = contingent.students_grid(options, filters, rows, str(get_locale()), (page - 1) * PER_PAGE + 1)
    args = {**options.args(), **_filter_args(filters)}
    back = _url("reports.contingent_page", **options.args())
    name = f"students-{options.day.isoformat()}"
    return _list_page(grid, paged, name, fmt, "reports.contingent_students", args, back)


@bp.route("/movement")
@roles_required(*READER_ROLES)
def movement_page():
    faculties = report_scope(current_user)
    fmt = _format()
    options, errors = movement.parse_options(request.args)
    if errors and fmt:
        raise InvalidInput(errors)
    args = options.args()
    students_args = {k: v for k, v in args.items() if k in ("known_on", "population")}
    links = movement.Links(
        students=lambda day, filters: _url(
            "reports.contingent_students",
            day=day.isoformat(),
            **students_args,
            **_filter_args(filters),
        ),
        steps=lambda filters, bucket: _url("reports.movement_steps", **args, bucket=bucket, **_filter_args(filters)),
    )
    found = movement.counts(options, faculties) if not errors else query.MovementCounts(options.rows, {}, {}, {})
    grid = movement.grid(options, found, str(get_locale()), links)
    name = f"movement-{options.first.isoformat()}-{options.last.isoformat()}"
    return _report_page("reports/movement.html", "reports.movement_page", options, errors, grid, name, fmt)


@bp.route("/movement/steps")
@roles_required(*READER_ROLES)
def movement_steps():
    faculties = report_scope(current_user)
    fmt = _format()
    options = movement.parse_or_refuse(request.args)
    filters = query.parse_filters(request.args)
    which = request.args.get("bucket") or None
    bucket = query.Bucket.from_key(which) if which and which not in ("in", "out") else None
    direction = which if which in ("in", "out") else None
    common = {
        "bucket": bucket,
        "direction": direction,
        "known_on": options.known_on,
        "faculties": faculties,
        "population": options.population,
    }
    paged = _paged(
        lambda limit, offset: query.movement_steps(
            options.before, options.last, filters, **common, limit=limit, offset=offset
        ),
        bool(fmt),
    )
    _total, rows, page, _pages = paged
    grid = movement.steps_grid(options, filters, which, rows, str(get_locale()), (page - 1) * PER_PAGE + 1)
    args = {**options.args(), "bucket": which, **_filter_args(filters)}
    back = _url("reports.movement_page", **options.args())
    name = f"movements-{options.first.isoformat()}-{options.last.isoformat()}"
    return _list_page(grid, paged, name, fmt, "reports.movement_steps", args, back)


def _form_options(definitions: list, form: str, errors: dict[str, str]) -> tuple[int, date | None]:
    """`year` (default: the latest year whose form day has passed) and `known_on` (default: now)."""
    now = today()
    raw = (request.args.get("year") or "").strip()
    newest = state_forms.version_for(definitions, form, now.year, None)
    year = now.year if newest.day(now.year) <= now else now.year - 1
    if raw:
        if raw.isdigit() and 2000 <= int(raw) <= now.year + 1:
            year = int(raw)
        else:
            errors["year"] = _("Give the year as four digits, from 2000 to %(last)s.", last=now.year + 1)
    known_on = day_option(request.args, "known_on", None, errors)
    if known_on is not None and known_on > now:
        errors["known_on"] = _("“As known on” cannot be later than today.")
        known_on = None
    return year, known_on


@bp.route("/forms")
@roles_required(*FORM_ROLES)
def forms_index():
    return render_template("reports/forms.html", definitions=state_forms.load_all(), language=str(get_locale()))


@bp.route("/forms/<form>")
@roles_required(*FORM_ROLES)
def form_page(form: str):
    """A state form for a year as known on a day: the page, or `format=xlsx` laid out like the paper form."""
    fmt = request.args.get("format") or None
    if fmt not in (None, "xlsx"):
        raise InvalidInput({"format": "xlsx"}, 400, "format: xlsx")
    definitions = state_forms.load_all()
    if not any(d.form == form for d in definitions):
        raise InvalidInput({}, 404, _("There is no such form."))
    errors: dict[str, str] = {}
    year, known_on = _form_options(definitions, form, errors)
    version = request.args.get("version") or None
    definition = state_forms.version_for(definitions, form, year, version)
    if definition is None:
        errors["version"] = _("There is no such version of the form.")
        version, definition = None, state_forms.version_for(definitions, form, year, None)
    if errors and fmt:
        raise InvalidInput(errors)
    language = str(get_locale())
    filled = state_forms.fill(definition, year, known_on, language)
    words = _form_words(filled)
    if fmt:
        name = f"{definition.form}-{definition.version}-{year}.xlsx"
        data = state_forms.to_xlsx(filled, language, words)
        return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name)
    link = state_forms.links(
        filled,
        lambda **args: _url("reports.contingent_students", **args),
        lambda **args: _url("reports.movement_steps", **args),
    )
    args = {"year": year, "version": version, "known_on": known_on and known_on.isoformat()}
    return render_template(
        "reports/form.html",
        filled=filled,
        words=words,
        errors=errors,
        language=language,
        text=state_forms.text,
        link=link,
        header=lambda table: state_forms.header(table, language, words.row_heads),
        versions=[d for d in definitions if d.form == form],
        export=url_for("reports.form_page", form=form, **{k: v for k, v in args.items() if v}, format="xlsx"),
    ), (400 if errors else 200)


def _form_words(filled: state_forms.FilledForm) -> state_forms.FormWords:
    about = _(
        "As of %(day)s; movement from %(first)s to %(last)s",
        day=format_day(filled.day),
        first=format_day(filled.first),
        last=format_day(filled.last),
    )
    if filled.known_on:
        about += "; " + _("as known on %(day)s", day=format_day(filled.known_on))
    return state_forms.FormWords(about, (_("Code"), _("Row")), _("Not filled:"))
