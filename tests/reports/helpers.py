"""Reading a list page's table and an export back, to compare them."""

import io

from lxml import html
from openpyxl import load_workbook


def table_rows(page: str, css_class: str | None = None) -> list[list[str]]:
    """The text of every cell of the page's first table (of `css_class`), row by row, without the header."""
    tree = html.fromstring(page)
    tables = tree.xpath(f"//table[contains(@class, '{css_class}')]" if css_class else "//table")
    return [[" ".join(td.text_content().split()) for td in tr.xpath("td")] for tr in tables[0].xpath(".//tbody/tr")]


def sheet_rows(data: bytes) -> list[list]:
    """The rows of the first sheet, without the header."""
    sheet = load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
