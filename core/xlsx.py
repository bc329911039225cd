"""Spreadsheets the system hands out: every text is written as text, never as a formula."""

import io
from collections.abc import Iterable
from datetime import datetime

from flask import Response, flash, redirect, request, send_file, url_for
from openpyxl import Workbook
from sqlalchemy import Select, func, select

from core.db import db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_LIMIT = 50_000  # rows in one exported spreadsheet; more is refused with a request to narrow the search


def workbook_bytes(book: Workbook) -> bytes:
    """`book` saved as XLSX bytes, with every text cell kept as text.

    openpyxl stores a string beginning with "=" as a formula, so a surname or a title such as
    `=HYPERLINK("http://...")` would run in the reader's Excel (formula injection). Our exports hold no formulas:
    each such cell is turned back into a string, marked with Excel's quote prefix so editing it keeps it text.
    """
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
                    cell.quotePrefix = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def count_of(query: Select) -> int:
    """How many rows `query` finds, counted before an export reads them."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def back_to_search(message: str) -> Response:
    """An export refused: `message` shown on the search page it came from, with the same filters."""
    flash(message, "error")
    return redirect(url_for(".index", **request.args))


def refused_if_too_many(query: Select, message: str) -> Response | None:
    """The export refused when `query` finds more than EXPORT_LIMIT rows; `message` names %(total)s and %(limit)s."""
    total = count_of(query)
    if total > EXPORT_LIMIT:
        return back_to_search(message % {"total": total, "limit": EXPORT_LIMIT})
    return None


def sheet_download(
    title: str, headers: list, rows: Iterable[list], name: str, formats: dict[str, str] | None = None
) -> Response:
    """A one-sheet workbook sent as `<name>-<YYYYmmdd-HHMM>.xlsx`; `formats`: a column letter to its number format."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    for column, number_format in (formats or {}).items():
        for cell in sheet[column][1:]:
            cell.number_format = number_format
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return send_file(
        io.BytesIO(workbook_bytes(book)), mimetype=XLSX, as_attachment=True, download_name=f"{name}-{stamp}.xlsx"
    )
