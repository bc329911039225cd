"""The reports in the JSON API: the same figures as the pages, with the options of the pages as query arguments."""

import marshmallow as ma
from flask import request
from flask_babel import get_locale
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.permissions import roles_required
from reports import contingent, movement, query
from reports.tables import READER_ROLES, report_scope

bp = Blueprint(
    "api_reports",
    __name__,
    url_prefix="/api/v1/reports",
    description="The contingent on a date and its movement over a period, counted from the students' timeline.",
)
DIMENSION_LIST = {
    "description": "comma-separated breakdowns, each once, from: " + ", ".join(query.DIMENSIONS),
    "example": "faculty,course",
}
MAX_PER_PAGE = 5000


class CommonArgs(ma.Schema):
    known_on = fields.Str(
        load_default=None, metadata={"description": "YYYY-MM-DD: the answer as known at the end of that day"}
    )
    population = fields.Str(
        load_default="contingent",
        metadata={"enum": list(query.POPULATIONS), "description": "studying and on leave (default), or studying"},
    )
    rows = fields.Str(load_default=None, metadata=DIMENSION_LIST)


class ContingentArgs(CommonArgs):
    day = fields.Str(load_default=None, metadata={"description": "YYYY-MM-DD (default: today)"})
    columns = fields.Str(load_default=None, metadata=DIMENSION_LIST)


class MovementArgs(CommonArgs):
    first = fields.Str(load_default=None, metadata={"description": "YYYY-MM-DD: the period's first day"})
    last = fields.Str(load_default=None, metadata={"description": "YYYY-MM-DD: the period's last day"})


class ListArgs(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE  # f_<dimension>=<value>: the cell

    page = fields.Int(load_default=1, validate=validate.Range(1, 10**6))
    per_page = fields.Int(load_default=500, validate=validate.Range(1, MAX_PER_PAGE))


class StudentListArgs(ContingentArgs, ListArgs):
    pass


class StepListArgs(MovementArgs, ListArgs):
    bucket = fields.Str(
        load_default=None, metadata={"description": "a column's key from /movement (`in`, `out`: every way in, out)"}
    )


class ReportContingentSchema(ma.Schema):
    options = fields.Dict()
    dimensions = fields.List(fields.Str())
    cells = fields.List(fields.Dict(), metadata={"description": "{values: [..], words: [..], count}"})
    total = fields.Int()
    grid = fields.List(fields.List(fields.Raw()), metadata={"description": "the page's table, as the exports hold it"})


class ReportMovementSchema(ma.Schema):
    options = fields.Dict()
    dimensions = fields.List(fields.Str())
    columns = fields.List(
        fields.Dict(), metadata={"description": "{key, direction, moved, kind, detail, title}: each way in or out"}
    )
    cells = fields.List(
        fields.Dict(), metadata={"description": "{values, words, at_start, flows: {column key: n}, at_end}"}
    )
    grid = fields.List(fields.List(fields.Raw()))


class ReportListSchema(ma.Schema):
    total = fields.Int()
    page = fields.Int()
    per_page = fields.Int()
    rows = fields.List(fields.Dict())


def _words(dimensions, cells) -> dict:
    return {
        name: query.value_words(name, {cell[i] for cell in cells}, str(get_locale()))
        for i, name in enumerate(dimensions)
    }


def _described(dimensions, cell, words) -> dict:
    return {"values": list(cell), "words": [words[d].get(v, v) for d, v in zip(dimensions, cell, strict=True)]}


@bp.route("/contingent")
@roles_required(*READER_ROLES)
@bp.arguments(ContingentArgs, location="query")
@bp.response(200, ReportContingentSchema)
@bp.alt_response(403, response="FORBIDDEN")
def contingent_report(_args):
    """The number of students on a day per cell of `rows` × `columns` (a dean: own faculty). Bad options: 422 with
    the field."""
    faculties = report_scope(current_user)
    options = contingent.parse_or_refuse(request.args)
    found = contingent.counts(options, faculties)
    dimensions = [*options.rows, *options.columns]
    words = _words(dimensions, found)
    grid = contingent.grid(options, found, str(get_locale()), None)
    return {
        "options": options.args(),
        "dimensions": dimensions,
        "cells": [{**_described(dimensions, cell, words), "count": n} for cell, n in sorted(found.items())],
        "total": sum(found.values()),
        "grid": grid.values(),
    }


@bp.route("/contingent/students")
@roles_required(*READER_ROLES)
@bp.arguments(StudentListArgs, location="query")
@bp.response(200, ReportListSchema)
@bp.alt_response(403, response="FORBIDDEN")
def contingent_list(args):
    """The students behind a count: the cell as `f_<dimension>=<value>` arguments."""
    faculties = report_scope(current_user)
    options = contingent.parse_or_refuse(request.args)
    page, per_page = args["page"], args["per_page"]
    total, rows = query.contingent_students(
        options.day,
        query.parse_filters(request.args),
        known_on=options.known_on,
        faculties=faculties,
        population=options.population,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return {"total": total, "page": page, "per_page": per_page, "rows": [dict(row._mapping) for row in rows]}


@bp.route("/movement")
@roles_required(*READER_ROLES)
@bp.arguments(MovementArgs, location="query")
@bp.response(200, ReportMovementSchema)
@bp.alt_response(403, response="FORBIDDEN")
def movement_report(_args):
    """The balance of [first, last] per cell of `rows`: at the start of `first` + ways in - ways out = at the end
    of `last`, exactly, in every cell (a dean: own faculty)."""
    faculties = report_scope(current_user)
    options = movement.parse_or_refuse(request.args)
    found = movement.counts(options, faculties)
    cells = found.cells()
    words = _words(options.rows, cells)
    flows: dict[tuple, dict] = {}
    for (cell, bucket), n in found.flows.items():
        flows.setdefault(cell, {})[bucket.key] = n
    return {
        "options": options.args(),
        "dimensions": options.rows,
        "columns": [
            {
                "key": b.key,
                "direction": b.direction,
                "moved": b.moved,
                "kind": b.kind,
                "detail": b.detail,
                "title": b.title(),
            }
            for b in found.buckets()
        ],
        "cells": [
            {
                **_described(options.rows, cell, words),
                "at_start": found.on_start.get(cell, 0),
                "flows": flows.get(cell, {}),
                "at_end": found.on_end.get(cell, 0),
            }
            for cell in cells
        ],
        "grid": movement.grid(options, found, str(get_locale()), None).values(),
    }


@bp.route("/movement/steps")
@roles_required(*READER_ROLES)
@bp.arguments(StepListArgs, location="query")
@bp.response(200, ReportListSchema)
@bp.alt_response(403, response="FORBIDDEN")
def movement_list(args):
    """The steps (student, day, order) behind a movement figure: the cell as `f_<dimension>=<value>`, the column as
    `bucket`."""
    faculties = report_scope(current_user)
    options = movement.parse_or_refuse(request.args)
    which = args["bucket"]
    page, per_page = args["page"], args["per_page"]
    total, rows = query.movement_steps(
        options.before,
        options.last,
        query.parse_filters(request.args),
        query.Bucket.from_key(which) if which and which not in ("in", "out") else None,
        direction=which if which in ("in", "out") else None,
        known_on=options.known_on,
        faculties=faculties,
        population=options.population,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return {
        "total": total,
        "page": page,
        "per_page": per_page,
        "rows": [{**row._mapping, "day": row.day.isoformat()} for row in rows],
    }
