"""Spreadsheets the system hands out: every text is written as text, never as a formula."""

import io

from openpyxl import Workbook


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
