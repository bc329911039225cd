"""An import file is read within fixed limits: a workbook's declared size is not trusted, oversized files and cells
are refused with a message, and nothing is written."""

import io
import re
import tracemalloc
import zipfile

from sqlalchemy import func, select

from core.db import db
from students import imports
from students.imports import plan_import
from students.models import Student
from tests.conftest import login
from tests.students.test_imports import STUDENT_HEADER, csv_bytes, iins, student_rows, upload, upload_dir, xlsx_bytes

__all__ = ["upload_dir"]  # the fixture, used by the web test below


def declaring(data: bytes, ref: str) -> bytes:
    """`data` (an XLSX) with its first sheet claiming the cell range `ref`, as a crafted file can."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>'.encode(), content)
                assert ref.encode() in content
            out.writestr(item, content)
    return target.getvalue()


def students() -> int:
    return db.session.scalar(select(func.count()).select_from(Student))


def test_a_workbook_declaring_a_huge_sheet_is_read_by_its_cells(make):
    group = make.group()
    numbers = iins(2, 7600)
    # Two students, a stray space in row 400 and a declared size of the whole sheet: a reader padding every row to the
    # declared 16,384 columns held 6.5 million cells for this 6 KB file (and over 100 GB for a million rows).
    rows = student_rows(group.name, numbers) + [[]] * 396 + [[" "]]
    data = declaring(xlsx_bytes(STUDENT_HEADER, rows), "A1:XFD1048576")
    tracemalloc.start()
    try:
        plan = plan_import("students", "students.xlsx", data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plan.ok, plan.errors
    assert plan.counts["created"] == 2
    assert peak < 20 * 1024 * 1024


def test_too_many_rows_columns_or_characters_are_refused_with_a_message(make, monkeypatch):
    group = make.group()
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    plan = plan_import("students", "s.csv", csv_bytes(STUDENT_HEADER, student_rows(group.name, iins(3, 7700))))
    assert [str(error) for error in plan.errors] == [
        "row 1: The file has more than 3 rows; split it into smaller files."
    ]
    plan = plan_import("students", "s.xlsx", xlsx_bytes(STUDENT_HEADER, student_rows(group.name, iins(3, 7700))))
    assert "more than 3 rows" in plan.errors[0].reason

    wide = xlsx_bytes(STUDENT_HEADER + [""] * 41 + ["extra"], [])  # a 51st column
    assert "Row 1 has more than 50 columns" in plan_import("students", "s.xlsx", wide).errors[0].reason
    long_name = student_rows(group.name, iins(1, 7800))
    long_name[0][1] = "Ы" * 1001
    plan = plan_import("students", "s.csv", csv_bytes(STUDENT_HEADER, long_name))
    assert "Row 2 has a cell longer than 1,000 characters" in plan.errors[0].reason


def test_a_csv_field_over_the_csv_module_limit_is_a_message_not_a_500(make, client, upload_dir):
    login(client, make.user("clerk", username="clerk_limits"))
    before = students()
    data = ",".join(STUDENT_HEADER).encode() + b'\n"' + b"x" * 140_000 + b'"\n'
    response = upload(client, "students", "s.csv", data)
    assert response.status_code == 422
    assert "cannot be read as CSV" in response.text
    assert students() == before


def test_a_file_with_many_bad_rows_lists_the_first_100_and_counts_the_rest_and_is_not_kept(make, client, upload_dir):
    group = make.group()
    login(client, make.user("clerk", username="clerk_many"))
    bad = [["123", "Ким", f"Ольга{i}", "", "", group.name, "paid", ""] for i in range(250)]
    response = upload(client, "students", "bad.csv", csv_bytes(STUDENT_HEADER, bad))
    assert response.status_code == 422
    assert response.text.count("IIN must be exactly 12 digits") == 100
    assert "The first 100 of 250 bad rows are shown" in response.text
    assert not list(upload_dir.glob("*.upload"))
