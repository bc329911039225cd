"""The reports' pages: the contingent on a date and the movement over a period, the lists behind their figures, and
their XLSX and CSV exports (`?format=xlsx` or `csv` on the same address)."""

import io
from urllib.parse import urlencode

from flask import Blueprint, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user

from core.errors import InvalidInput
from core.permissions import roles_required
from reports import contingent, movement, query
from reports.tables import EXPORTS, PER_PAGE, READER_ROLES, XLSX, Grid, page_of, report_scope, to_csv, to_xlsx

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


def _choices() -> dict:
    return {
        "dimensions": [(name, str(words)) for name, words in query.DIMENSIONS.items()],
        "populations": [(name, str(words)) for name, words in query.POPULATIONS.items()],
    }


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
        return _url("reports.contingent_students", **args, **{f"f_{k}": v for k, v in filters.items()})

    language = str(get_locale())
    grid = contingent.grid(options, contingent.counts(options, faculties) if not errors else {}, language, link)
    if fmt:
        return _export(grid, f"contingent-{options.day.isoformat()}", fmt)
    return render_template(
        "reports/contingent.html",
        options=options,
        errors=errors,
        grid=grid,
        exports={fmt: _url("reports.contingent_page", **args, format=fmt) for fmt in EXPORTS},
        **_choices(),
    ), (400 if errors else 200)


@bp.route("/contingent/students")
@roles_required(*READER_ROLES)
def contingent_students():
    faculties = report_scope(current_user)
    fmt = _format()
    options = contingent.parse_or_refuse(request.args)
    filters = query.parse_filters(request.args)
    total, rows, page, pages = _paged(
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
    grid = contingent.students_grid(options, filters, rows, str(get_locale()), (page - 1) * PER_PAGE + 1)
    if fmt:
        return _export(grid, f"students-{options.day.isoformat()}", fmt)
    args = {**options.args(), **{f"f_{k}": v for k, v in filters.items()}}
    return render_template(
        "reports/list.html",
        grid=grid,
        total=total,
        page=page,
        pages=pages,
        page_url=lambda n: _url("reports.contingent_students", **args, page=n),
        back=_url("reports.contingent_page", **options.args()),
        exports={fmt: _url("reports.contingent_students", **args, format=fmt) for fmt in EXPORTS},
    )


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
            **{f"f_{k}": v for k, v in filters.items()},
        ),
        steps=lambda filters, bucket: _url(
            "reports.movement_steps", **args, bucket=bucket, **{f"f_{k}": v for k, v in filters.items()}
        ),
    )
    found = movement.counts(options, faculties) if not errors else query.MovementCounts(options.rows, {}, {}, {})
    grid = movement.grid(options, found, str(get_locale()), links)
    if fmt:
        return _export(grid, f"movement-{options.first.isoformat()}-{options.last.isoformat()}", fmt)
    return render_template(
        "reports/movement.html",
        options=options,
        errors=errors,
        grid=grid,
        exports={fmt: _url("reports.movement_page", **args, format=fmt) for fmt in EXPORTS},
        **_choices(),
    ), (400 if errors else 200)


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
    total, rows, page, pages = _paged(
        lambda limit, offset: query.movement_steps(
            options.before, options.last, filters, **common, limit=limit, offset=offset
        ),
        bool(fmt),
    )
    grid = movement.steps_grid(options, filters, which, rows, str(get_locale()), (page - 1) * PER_PAGE + 1)
    if fmt:
        return _export(grid, f"movements-{options.first.isoformat()}-{options.last.isoformat()}", fmt)
    args = {**options.args(), "bucket": which, **{f"f_{k}": v for k, v in filters.items()}}
    return render_template(
        "reports/list.html",
        grid=grid,
        total=total,
        page=page,
        pages=pages,
        page_url=lambda n: _url("reports.movement_steps", **args, page=n),
        back=_url("reports.movement_page", **options.args()),
        exports={fmt: _url("reports.movement_steps", **args, format=fmt) for fmt in EXPORTS},
    )
