"""The order DOCX and the per-student extract, read back as a registrar would read them."""

import io
import os
import shutil
import subprocess

import pytest
from docx import Document
from docxtpl import DocxTemplate
from sqlalchemy import select

from core.db import db
from notifications import attachments
from notifications.models import OutboxMessage
from notifications.references import full_context
from orders import documents
from orders.kinds.expulsion import REASONS
from tests.builders import stands_in
from tests.conftest import sign
from workflow.engine import fire


def _text(content: bytes) -> tuple[str, list[list[list[str]]]]:
    """All text of a DOCX (body paragraphs, table cells, footer) and its tables as rows of cell texts."""
    document = Document(io.BytesIO(content))
    tables = [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]
    parts = [p.text for p in document.paragraphs]
    parts += [cell for table in tables for row in table for cell in row]
    parts += [p.text for section in document.sections for p in section.footer.paragraphs]
    return "\n".join(parts), tables


def _approval_sheet(tables: list[list[list[str]]]) -> list[list[str]]:
    sheet = next(table for table in tables if any("Решение" in cell for cell in table[0]))
    return sheet[1:]


@pytest.fixture
def signed(uni, make):
    """An expulsion of two students of two faculties, visaed by both deans, the registrar office and the lawyer,
    and signed by the rector."""
    a = make.student(uni.ga, surname="Сейтқали", name="Әлия")
    b = make.student(uni.gb, surname="Иванова", name="Мария")
    order = make.order(uni.clerk, [a, b], reason="academic_failure", basis="Представления деканов факультетов FA и FB")
    fire(order, "submit", uni.clerk)
    fire(order, "approve", uni.dean_a, comment="Проверено, замечаний нет")
    fire(order, "approve", uni.dean_b)
    fire(order, "approve", uni.registrar, comment="Сведения о контингенте сверены")
    fire(order, "approve", uni.lawyer)
    fire(order, "sign", uni.rector)
    return order, a, b


def test_signed_order_document_says_what_the_order_decides(signed, uni):
    order, a, b = signed
    assert order.document is not None
    content = order.document.content
    assert order.document.sha256 == documents.sha256(content)
    assert order.document.template_version == documents.TEMPLATE_VERSION
    text, _tables = _text(content)

    assert "БҰЙРЫҚ / ПРИКАЗ" in text
    assert f"№ {order.number_label}" in text and order.number_label.endswith("-С")
    assert order.order_date.strftime("%d.%m.%Y") in text
    assert "Алматы" in text
    assert "Демо университет имени аль-Фараби" in text and "Әл-Фараби атындағы Демо университеті" in text
    assert "Об отчислении обучающихся" in text and "Білім алушыларды оқудан шығару туралы" in text
    assert "ПРИКАЗЫВАЮ:" in text and "БҰЙЫРАМЫН:" in text
    assert "Типовыми правилами" in text
    for student in (a, b):
        assert text.count(student.iin) == 2  # one item in Kazakh, one in Russian
        assert student.full_name in text
    _ru, ru_reason, kk_reason = REASONS["academic_failure"]
    assert ru_reason in text and kk_reason in text
    assert "Основание: Представления деканов факультетов FA и FB" in text
    assert "Негіздеме: Представления деканов факультетов FA и FB" in text
    assert "Контроль за исполнением настоящего приказа возложить на руководителя Офиса Регистратора." in text
    assert uni.rector.full_name in text
    assert "{{" not in text and "{%" not in text  # every tag of the template was filled


def test_items_are_numbered_in_both_languages(signed):
    order, a, b = signed
    paragraphs = [p.text for p in Document(io.BytesIO(order.document.content)).paragraphs]
    ru = [p for p in paragraphs if p.startswith(("1. Отчислить", "2. Отчислить"))]
    kk = [p for p in paragraphs if p.endswith("оқудан шығарылсын.")]
    assert [p[:2] for p in ru] == ["1.", "2."] and [p[:2] for p in kk] == ["1.", "2."]
    assert a.iin in ru[0] and b.iin in ru[1] and a.iin in kk[0] and b.iin in kk[1]


def test_approval_sheet_lists_every_visa_and_the_signature(signed, uni):
    order, _a, _b = signed
    _text_, tables = _text(order.document.content)
    rows = _approval_sheet(tables)
    # In the order of the route: the deans, the registrar office, the lawyer, then the rector's signature.
    assert [row[2] for row in rows] == [
        uni.dean_a.full_name,
        uni.dean_b.full_name,
        uni.registrar.full_name,
        uni.lawyer.full_name,
        uni.rector.full_name,
    ]
    by_name = {row[2]: row for row in rows}
    for approver in (uni.dean_a, uni.dean_b, uni.registrar, uni.lawyer):
        assert "Согласовано" in by_name[approver.full_name][3]
    assert by_name[uni.dean_a.full_name][4] == "Проверено, замечаний нет"
    assert by_name[uni.registrar.full_name][4] == "Сведения о контингенте сверены"
    assert "Подписано" in by_name[uni.rector.full_name][3]
    assert all(row[5] for row in rows)  # every decision is dated
    assert "Факультет FA" in by_name[uni.dean_a.full_name][1]
    assert "Факультет FB" in by_name[uni.dean_b.full_name][1]
    assert "Руководитель Офиса Регистратора" in by_name[uni.registrar.full_name][1]
    assert "Юрист" in by_name[uni.lawyer.full_name][1]
    assert "Ректор" in by_name[uni.rector.full_name][1]


def test_approval_sheet_names_whom_a_substitute_acted_for(uni, make):
    student = make.student(uni.ga)
    vice = make.user("dean", uni.fa, username="vice_a")
    stands_in(uni.dean_a, vice, 14, "Отпуск")
    order = make.order(uni.clerk, [student])
    fire(order, "submit", uni.clerk)
    fire(order, "approve", vice, acting_for=uni.dean_a)
    sign(order, uni)
    rows = _approval_sheet(_text(order.document.content)[1])
    assert [row[2] for row in rows] == [
        f"{vice.full_name} ({uni.dean_a.full_name} орнына / за {uni.dean_a.full_name})",
        uni.registrar.full_name,
        uni.lawyer.full_name,
        uni.rector.full_name,
    ]


def test_names_with_markup_characters_are_printed_as_written(uni, make):
    student = make.student(uni.ga, surname="O'Neil & <Co>", name="Джон")
    order = make.order(uni.clerk, [student], basis='Заявление "A & B" <вх. № 5>')
    sign(order, uni)
    text, _tables = _text(order.document.content)
    assert "O'Neil & <Co> Джон" in text
    assert 'Основание: Заявление "A & B" <вх. № 5>' in text


def test_extract_holds_only_its_own_students_item(signed):
    order, a, b = signed
    # The extract as the worker renders it: the attachment named by b's e-mail, from the context frozen at signing.
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == b.email))
    [spec] = attachments.specs(full_context(row.context))
    text, _tables = _text(attachments.render(spec, full_context(row.context)).content)
    assert "ВЫПИСКА ИЗ ПРИКАЗА" in text
    assert f"№ {order.number_label}" in text and order.order_date.strftime("%d.%m.%Y") in text
    assert "Об отчислении обучающихся" in text
    assert b.iin in text and b.full_name in text
    assert a.iin not in text and a.full_name not in text
    assert "2. Отчислить" in text  # the item keeps its number in the order
    assert "Выписка верна" in text
    assert "{{" not in text and "{%" not in text


def test_templates_use_only_the_tags_the_renderer_fills():
    common = {
        "university_kk",
        "university_ru",
        "city",
        "date",
        "number",
        "title_kk",
        "title_ru",
        "preamble_kk",
        "preamble_ru",
        "basis",
        "signer_position",
        "signer_name",
        "author_name",
    }
    order_tags = DocxTemplate(documents.ORDER_TEMPLATE).get_undeclared_template_variables()
    extract_tags = DocxTemplate(documents.EXTRACT_TEMPLATE).get_undeclared_template_variables()
    assert order_tags <= common | {
        "heading",
        "items_kk",
        "items_ru",
        "visas",
        "appendix_kk",
        "appendix_ru",
        "appendix_title_kk",
        "appendix_title_ru",
    }
    assert {"items_kk", "items_ru", "visas", "number", "date"} <= order_tags
    assert extract_tags <= common | {"item_n", "item_kk", "item_ru"}


def assert_libreoffice_opens(content: bytes, filename: str, tmp_path) -> bytes:
    """LibreOffice opens the DOCX and converts it to a PDF: the proof a registrar's Word will open it too."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        message = "LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    source = tmp_path / filename
    source.write_bytes(content)
    profile = (tmp_path / "lo-profile").as_uri()
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    pdf = source.with_suffix(".pdf")
    assert pdf.exists(), f"no PDF; soffice said: {result.stdout} {result.stderr}"
    assert pdf.stat().st_size > 1000
    assert pdf.read_bytes().startswith(b"%PDF")
    return pdf.read_bytes()


def test_libreoffice_opens_the_order_and_converts_it_to_pdf(signed, tmp_path):
    order, _a, _b = signed
    assert_libreoffice_opens(order.document.content, documents.filename(order), tmp_path)
