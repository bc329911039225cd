"""What the order document reads like: names in the case the sentence needs and words in the student's gender, bulk
orders as tables of students, and what a dean may download."""

import io
import re

import pytest
from docx import Document

from core.db import db
from core.models import issue_token
from orders import documents
from orders.registry import get_kind
from tests.builders import docx_text, stands_in
from tests.conftest import login, sign
from tests.orders.test_documents import assert_libreoffice_opens
from tests.orders.test_promotion import Cohort, draft, signed
from workflow.engine import fire


def test_an_expulsion_of_a_female_student_declines_her_name_and_the_participle(uni, make):
    student = make.student(uni.ga, surname="Байжанова", name="Айгерим")
    order = make.order(uni.clerk, [student], reason="own_request")
    sign(order, uni)
    text = docx_text(order.document.content)
    assert re.search(r"Отчислить обучающуюся \d курса образовательной программы", text)
    assert f"Байжанову Айгерим Сериковну (ИИН {student.iin})" in text
    assert "обучающегося" not in text
    assert f"Байжанова Айгерим Сериковна (ЖСН {student.iin})" in text and "оқудан шығарылсын" in text


def test_a_male_kazakh_student_is_declined_like_a_russian_name(uni, make):
    student = make.student(uni.ga, surname="Байжанов", name="Самат")
    order = make.order(uni.clerk, [student], reason="own_request")
    sign(order, uni)
    assert re.search(r"Отчислить обучающегося \d курса", docx_text(order.document.content))
    assert f"Байжанова Самата Сериковича (ИИН {student.iin})" in docx_text(order.document.content)


def test_a_substitute_signs_for_a_person_named_in_the_accusative_and_kazakh_genitive():
    assert documents._instead_of("Оспанов Ерлан") == "Оспанов Ерланның орнына / за Оспанова Ерлана"
    assert documents._instead_of("Ахметова Жанар") == "Ахметова Жанардың орнына / за Ахметову Жанар"


# Bulk orders as tables -------------------------------------------------------------------------------------------


def promotion_of(uni, make, per_group: list[int]):
    students = []
    for size in per_group:
        cohort = Cohort(make, uni.fa)
        students += [cohort.student(surname="Студентов", name="Арман") for _n in range(size)]
    order = signed(draft(uni, students), uni)
    return order, students


def test_a_bulk_promotion_prints_one_item_with_a_table_per_group(uni, make):
    order, students = promotion_of(uni, make, [8, 3])
    document = Document(io.BytesIO(order.document.content))
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    student_tables = [t for t in tables if len(t[0]) == 5 and t[0][2] in ("ИИН", "ЖСН")]
    assert len(student_tables) == 2, "one table in the Kazakh part and one in the Russian part"
    ru = next(t for t in student_tables if t[0][2] == "ИИН")
    assert ru[0] == ["№", "Ф.И.О.", "ИИН", "Группа", "Примечание"]
    assert [row[2] for row in ru[1:]] == [s.iin for s in students[:8]]
    assert ru[1][1] == students[0].full_name and ru[1][4].startswith("→ группа ")
    text = docx_text(order.document.content)
    assert "1. Перевести обучающихся 1 курса образовательной программы" in text and "по списку:" in text
    assert "тізімге сәйкес көшірілсін:" in text
    # the group of three below the threshold: an item each, numbered after the table
    for n, student in enumerate(students[8:], 2):
        assert re.search(rf"\n{n}\. Перевести обучающегося 1 курса .*\(ИИН {student.iin}\)", text)


def test_an_extract_of_a_student_in_a_table_quotes_the_tables_item_number(uni, make):
    order, students = promotion_of(uni, make, [6])
    places = documents.line_places(get_kind("promotion"), order.lines)
    assert {place.n for place in places.values()} == {1}


def test_the_152_student_promotion_fits_in_eight_pages(uni, make, tmp_path):
    order, students = promotion_of(uni, make, [26, 26, 25, 25, 25, 25])
    assert len(students) == 152
    text = docx_text(order.document.content)
    assert all(student.iin in text for student in students)
    pdf = assert_libreoffice_opens(order.document.content, "promotion.docx", tmp_path)
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    print(f"{pages} pages")
    assert 1 < pages <= 8, f"{pages} pages"


# What a dean may download ----------------------------------------------------------------------------------------


@pytest.fixture
def two_faculties(uni, make):
    ours = [make.student(uni.ga, surname=f"Нашев{n}", name="Ерлан") for n in range(7)]
    theirs = [make.student(uni.gb, surname="Чужова", name="Дана"), make.student(uni.gb, surname="Иной", name="Арман")]
    order = make.order(uni.clerk, ours + theirs, reason="own_request")
    fire(order, "submit", uni.clerk)
    fire(order, "approve", uni.dean_a)
    fire(order, "approve", uni.dean_b)
    fire(order, "approve", uni.registrar)
    fire(order, "approve", uni.lawyer)
    fire(order, "sign", uni.rector)
    db.session.flush()
    return order, ours, theirs


def test_a_deans_download_holds_only_the_own_faculty_and_the_rectors_all(client, uni, two_faculties):
    order, ours, theirs = two_faculties
    login(client, uni.dean_a)
    response = client.get(f"/orders/{order.id}/document.docx")
    assert response.status_code == 200
    text = docx_text(response.data)
    assert "ВЫПИСКА ИЗ ПРИКАЗА" in text
    assert all(student.iin in text for student in ours), "the own faculty's students, in a table"
    assert not any(student.iin in text for student in theirs)
    assert not any(student.surname in text for student in theirs)
    assert len(set(re.findall(r"(?<!\d)\d{12}(?!\d)", text)) - {s.iin for s in ours}) == 0
    headers = {"Authorization": f"Bearer {issue_token(uni.dean_a)}"}
    db.session.commit()
    api = client.get(f"/api/v1/orders/{order.id}/document", headers=headers)
    assert api.status_code == 200 and "X-Content-SHA256" not in api.headers
    assert not any(student.iin in docx_text(api.data) for student in theirs)

    login(client, uni.dean_b)
    text = docx_text(client.get(f"/orders/{order.id}/document.docx").data)
    assert all(student.iin in text for student in theirs) and not any(s.iin in text for s in ours)
    assert "Отчислить обучающуюся" in text and "Отчислить обучающегося" in text

    login(client, uni.rector)
    response = client.get(f"/orders/{order.id}/document.docx")
    assert response.data == order.document.content, "the whole order, byte for byte as signed"
    assert all(student.iin in docx_text(response.data) for student in ours + theirs)


def test_a_substitute_acting_for_a_dean_downloads_that_deans_extract(client, uni, make, two_faculties):
    order, ours, theirs = two_faculties
    vice = make.user("dean", make.faculty("FC"), username="vice_of_a")  # the dean of a third faculty stands in
    stands_in(uni.dean_a, vice, 7, "Отпуск")
    db.session.flush()
    login(client, vice)
    response = client.get(f"/orders/{order.id}/document.docx")
    assert response.status_code == 200
    text = docx_text(response.data)
    assert all(student.iin in text for student in ours)
    assert not any(student.iin in text for student in theirs)
