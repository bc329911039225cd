"""The student search page: filters by faculty, course, status and funding, pages, and the XLSX export."""

import re

import pytest

from tests.conftest import login
from tests.reports.helpers import sheet_rows, table_rows


@pytest.fixture
def people(uni, make):
    third_a = make.group(uni.fa, course=3)
    return {
        "a2": make.student(uni.ga, surname="Абаев"),
        "a2_paid": make.student(uni.ga, surname="Бекова", funding="paid"),
        "a3": make.student(third_a, surname="Ванов"),
        "a3_leave": make.student(third_a, surname="Габит", status="academic_leave"),
        "b2": make.student(uni.gb, surname="Дауров"),
    }


def names(client, **args) -> list[str]:
    response = client.get("/students/", query_string=args)
    assert response.status_code == 200, response.text[:300]
    return [row[0] for row in table_rows(response.text)] if "<table" in response.text else []


def test_each_filter_narrows_the_list(client, uni, people):
    login(client, uni.clerk)
    full = {key: student.full_name for key, student in people.items()}
    assert names(client) == [full[k] for k in ("a2", "a2_paid", "a3", "a3_leave", "b2")]
    assert names(client, faculty=uni.fb.id) == [full["b2"]]
    assert names(client, course=3) == [full["a3"], full["a3_leave"]]
    assert names(client, status="academic_leave") == [full["a3_leave"]]
    assert names(client, funding="paid") == [full["a2_paid"]]
    assert names(client, faculty=uni.fa.id, course=2, funding="grant") == [full["a2"]]
    assert names(client, q="Ванов", course=2) == []
    assert names(client, q=people["b2"].iin) == [full["b2"]]


def test_a_dean_sees_and_exports_own_faculty_only(client, uni, people):
    login(client, uni.dean_b)
    assert names(client) == [people["b2"].full_name]
    assert names(client, faculty=uni.fa.id) == []
    assert [row[0] for row in sheet_rows(client.get("/students/students.xlsx").data)] == [people["b2"].full_name]


def test_the_export_reads_back_as_the_page(client, uni, people):
    login(client, uni.clerk)
    page = table_rows(client.get(f"/students/?faculty={uni.fa.id}").text)
    rows = sheet_rows(client.get(f"/students/students.xlsx?faculty={uni.fa.id}").data)
    assert len(rows) == len(page) == 4
    for shown, (name, iin, faculty, _programme, group, course, status, funding) in zip(page, rows, strict=True):
        assert shown == [name, iin, faculty, group, str(course), status, funding]


def test_the_list_no_longer_stops_silently_at_50(client, uni, make):
    for n in range(57):
        make.student(uni.ga, surname=f"Фамилия{n:02d}")
    login(client, uni.clerk)
    first = client.get("/students/?q=Фамилия").text
    assert len(table_rows(first)) == 50 and "Page 1 of 2" in first and "1–50 of 57" in first
    second = table_rows(client.get("/students/?q=Фамилия&page=2").text)
    assert [row[0].split()[0] for row in second] == [f"Фамилия{n}" for n in range(50, 57)]
    assert len(sheet_rows(client.get("/students/students.xlsx?q=Фамилия").data)) == 57
    assert "There is no page 5" in client.get("/students/?q=Фамилия&page=5").text


def test_a_bad_filter_says_why(client, uni):
    login(client, uni.clerk)
    response = client.get("/students/?course=first")
    assert response.status_code == 400 and "Choose a course from the list." in response.text
    assert re.search("No students found|<table", client.get("/students/?status=nonsense").text)
