"""Editable templates (upload validated by a sample render, versions kept, an order keeps its version, the DRAFT
preview) and the student's personal file (extracts and basis documents, one by one and as one ZIP, by visibility)."""

import html
import io
import shutil
import zipfile

import pytest
from docx import Document
from sqlalchemy import func, select

from core.db import db
from core.errors import InvalidInput
from orders.filing import BUILT_IN, LineFile, TemplateVersion
from orders.models import OrderDocument, OrderExtract, OrderSequence
from orders.template_admin import DRAFT_MARK, placeholders, validate
from tests.conftest import login, sign

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs]
    return "\n".join(parts)


def _template_with(paragraph: str, part: str = "order") -> bytes:
    """The built-in template with one more paragraph at the end."""
    document = Document(io.BytesIO(BUILT_IN[part]))
    document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _upload_template(client, content: bytes, kind: str = "*", part: str = "order"):
    return client.post(
        "/admin/templates/",
        data={"kind": kind, "part": part, "note": "test", "file": (io.BytesIO(content), "order.docx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def _extract_url(line) -> str:
    """Where the student page links the line's frozen extract (`orders.verification`)."""
    extract_id = db.session.scalar(select(OrderExtract.id).where(OrderExtract.order_line_id == line.id))
    return f"/orders/extracts/{extract_id}.docx"


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _versions() -> int:
    return db.session.scalar(select(func.count()).select_from(TemplateVersion))


def test_the_placeholders_are_those_the_renderer_fills(session):
    # the order's heading and the verification stamp's fields (the extract shares them), the bulk table on an item
    assert {"heading", "verify_url", "signed_at", "items_ru", "visas"} <= set(placeholders("order"))
    assert {"verify_url", "signed_at", "item_ru", "item_n"} <= set(placeholders("extract"))
    validate(
        "*",
        "order",
        _template_with("{{ heading }} {{ signed_at }} {% for item in items_ru %}{{ item.table }}{% endfor %}"),
    )
    validate("*", "extract", _template_with("{{ verify_url }} {{ signed_at }}", "extract"))
    with pytest.raises(InvalidInput, match="Unknown placeholder"):
        validate("*", "order", _template_with("{{ rector_phone }}"))


def test_the_built_in_templates_pass_their_own_check(session):
    for part in ("order", "extract"):
        validate("*", part, BUILT_IN[part])
        assert {"number", "date", "title_ru", "basis"} <= set(placeholders(part))
    assert {"items_ru", "visas"} <= set(placeholders("order"))
    assert {"item_ru", "item_kk"} <= set(placeholders("extract"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda: _template_with("Подпись: {{ signer_secret_name }}"), "{{ signer_secret_name }}"),
        (lambda: _template_with("{% for x in %}{% endfor %}"), "The template's tags are broken"),
        (lambda: b"MZ\x90\x00 not a document", "This is not a Word document"),
        (lambda: _template_with("{{ number.nonexistent_method() }}"), "Rendering a sample order"),
    ],
)
def test_a_broken_template_is_refused_with_the_reason_and_nothing_saved(client, uni, content, message):
    login(client, uni.admin)
    response = _upload_template(client, content())
    assert response.status_code == 200
    assert message in _page(response)
    assert _versions() == 0


def test_the_template_page_lists_the_placeholders_and_is_the_office_s(client, uni):
    login(client, uni.registrar)
    page = _page(client.get("/admin/templates/"))
    assert "{{ items_ru }}" in page and "{{ signer_name }}" in page
    login(client, uni.clerk)
    assert client.get("/admin/templates/").status_code == 403
    assert _upload_template(client, _template_with("x")).status_code == 403
    assert _versions() == 0


def test_a_new_version_is_used_by_the_next_order_and_an_older_order_keeps_its_own(client, uni, make):
    earlier = make.order(uni.clerk, [make.student(uni.ga)])
    sign(earlier, uni)
    earlier_bytes = earlier.document.content
    assert earlier.document.template_id is None  # version 0, the built-in file

    login(client, uni.admin)
    response = _upload_template(client, _template_with("Нұсқа 2 / Редакция 2, приказ № {{ number }}"))
    assert "Version 1 is saved and active" in _page(response)
    version = db.session.scalar(select(TemplateVersion))
    assert version.active and version.version == 1 and version.kind == "*" and version.part == "order"

    later = make.order(uni.clerk, [make.student(uni.gb)])
    sign(later, uni)
    assert later.document.template_id == version.id
    assert f"Редакция 2, приказ № {later.number_label}" in _docx_text(later.document.content)
    db.session.expire_all()
    kept = db.session.get(OrderDocument, earlier.document.id)
    assert kept.content == earlier_bytes and "Редакция 2" not in _docx_text(kept.content)

    # every version stays downloadable; going back to the built-in file makes the next order use it again
    assert client.get(f"/admin/templates/{version.id}.docx").data == version.content
    assert client.get("/admin/templates/built-in/order.docx").data == BUILT_IN["order"]
    client.post("/admin/templates/activate", data={"kind": "*", "part": "order"})
    third = make.order(uni.clerk, [make.student(uni.ga)])
    sign(third, uni)
    assert third.document.template_id is None and "Редакция 2" not in _docx_text(third.document.content)


def test_a_kind_s_own_version_wins_over_the_one_for_every_kind(client, uni, make):
    login(client, uni.admin)
    _upload_template(client, _template_with("Для всех видов"))
    _upload_template(client, _template_with("Только отчисление"), kind="expulsion")
    order = make.order(uni.clerk, [make.student(uni.ga)])
    sign(order, uni)
    text = _docx_text(order.document.content)
    assert "Только отчисление" in text and "Для всех видов" not in text


def test_the_draft_preview_is_marked_and_changes_nothing(client, uni, make):
    student = make.student(uni.ga)
    order = make.order(uni.clerk, [student])
    sequences = db.session.scalar(select(func.count()).select_from(OrderSequence))
    login(client, uni.clerk)
    page = _page(client.get(f"/orders/{order.id}"))
    assert 'data-testid="preview-docx"' in page
    response = client.get(f"/orders/{order.id}/preview.docx")
    assert response.status_code == 200
    text = _docx_text(response.data)
    assert DRAFT_MARK in text and student.full_name in text
    db.session.expire_all()
    assert order.state == "draft" and order.number is None and order.number_label is None
    assert db.session.scalar(select(func.count()).select_from(OrderDocument)) == 0
    assert db.session.scalar(select(func.count()).select_from(OrderSequence)) == sequences
    login(client, uni.dean_a)  # a dean reads only own faculty's lines: no whole-order preview
    assert client.get(f"/orders/{order.id}/preview.docx").status_code == 403


def _upload_basis(client, order, line, content: bytes, filename: str = "application.pdf", kind: str = "application"):
    return client.post(
        f"/orders/{order.id}/lines/{line.id}/files",
        data={"document_type": kind, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_the_personal_file_zip_holds_the_extracts_and_the_uploads(client, uni, make):
    student = make.student(uni.ga, surname="Сейтқали", name="Әлия")
    first = make.order(uni.clerk, [student], reason="own_request")
    login(client, uni.clerk)
    line = first.lines[0]
    assert "Document added" in _page(_upload_basis(client, first, line, PDF))
    assert "Document added" in _page(_upload_basis(client, first, line, PNG, "certificate.png", "medical_certificate"))
    sign(first, uni)

    page = _page(client.get(f"/students/{student.id}"))
    assert "Personal file" in page and "application.pdf" in page and "certificate.png" in page
    assert "medical certificate" in page and "Extract from the order" in page
    response = client.get(f"/students/{student.id}/file.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        extracts = [name for name in names if name.startswith("extracts/")]
        uploads = sorted(name for name in names if name.startswith("documents/"))
        assert len(extracts) == 1 and len(uploads) == 2
        text = _docx_text(archive.read(extracts[0]))
        assert "ВЫПИСКА" in text.upper() and student.full_name in text and first.number_label in text
        by_ending = {name.rsplit(".", 1)[-1]: archive.read(name) for name in uploads}
        assert by_ending["pdf"] == PDF and by_ending["png"] == PNG
        zipped_extract = archive.read(extracts[0])

    # one by one: the extract (the very bytes stored for the e-mail and the verification page), and an upload
    one = client.get(_extract_url(line))
    assert one.status_code == 200 and student.iin in _docx_text(one.data)
    frozen = db.session.scalar(select(OrderExtract).where(OrderExtract.order_line_id == line.id))
    assert one.data == zipped_extract == frozen.content
    stored = db.session.scalars(select(LineFile).order_by(LineFile.id)).first()
    assert client.get(f"/students/{student.id}/file/documents/{stored.id}").data == PDF

    # signed: the file is part of the record, nothing can be added or removed
    assert "a signed order's file is closed" in _page(_upload_basis(client, first, line, PDF))
    response = client.post(f"/orders/{first.id}/files/{stored.id}/delete", follow_redirects=True)
    assert "this one is part of the record" in _page(response)
    assert db.session.scalar(select(func.count()).select_from(LineFile)) == 2


def test_the_extract_keeps_the_words_frozen_at_signing(client, uni, make):
    student = make.student(uni.ga, surname="Оспанов", name="Ерлан")
    order = make.order(uni.clerk, [student])
    sign(order, uni)
    student.surname = "Жаңаев"
    db.session.flush()
    login(client, uni.clerk)
    text = _docx_text(client.get(_extract_url(order.lines[0])).data)
    assert "Оспанов" in text and "Жаңаев" not in text


def test_an_exe_named_pdf_is_refused_by_its_content(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    login(client, uni.clerk)
    response = _upload_basis(client, order, order.lines[0], b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100, "scan.pdf")
    assert "Only PDF, JPEG, PNG or DOCX files are accepted" in _page(response)
    assert db.session.scalar(select(func.count()).select_from(LineFile)) == 0


def test_a_file_over_the_size_limit_is_refused_with_the_limit(client, app, uni, make, monkeypatch):
    monkeypatch.setitem(app.config, "BASIS_FILE_MAX_BYTES", 1024 * 1024)
    order = make.order(uni.clerk, [make.student(uni.ga)])
    login(client, uni.clerk)
    response = _upload_basis(client, order, order.lines[0], PDF + b"0" * (1024 * 1024 + 10))
    assert "at most 1 MB is accepted" in _page(response)
    assert db.session.scalar(select(func.count()).select_from(LineFile)) == 0


def test_only_the_office_uploads(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    login(client, uni.dean_a)
    assert _upload_basis(client, order, order.lines[0], PDF).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(LineFile)) == 0


def test_a_dean_of_another_faculty_gets_403_on_the_personal_file(client, uni, make):
    student = make.student(uni.ga)
    order = make.order(uni.clerk, [student])
    login(client, uni.clerk)
    _upload_basis(client, order, order.lines[0], PDF)
    sign(order, uni)
    stored = db.session.scalar(select(LineFile))
    urls = [
        f"/students/{student.id}/file.zip",
        _extract_url(order.lines[0]),
        f"/students/{student.id}/file/documents/{stored.id}",
        f"/orders/{order.id}/files/{stored.id}",
    ]
    login(client, uni.dean_b)
    assert [client.get(url).status_code for url in urls] == [403, 403, 403, 403]
    login(client, uni.dean_a)
    assert [client.get(url).status_code for url in urls] == [200, 200, 200, 200]


def test_an_extract_template_version_is_kept_with_the_order_s_extracts(client, uni, make):
    login(client, uni.admin)
    response = _upload_template(client, _template_with("Выписка по форме 2 {{ item_n }}", "extract"), part="extract")
    assert "Version 1 is saved and active" in _page(response)
    student = make.student(uni.ga)
    order = make.order(uni.clerk, [student])
    sign(order, uni)
    client.post("/admin/templates/activate", data={"kind": "*", "part": "extract"})  # back to the built-in
    login(client, uni.clerk)
    text = _docx_text(client.get(_extract_url(order.lines[0])).data)
    assert "Выписка по форме 2 1" in text  # the version the order was signed with, not the active one


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_the_draft_preview_as_pdf(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    login(client, uni.clerk)
    response = client.get(f"/orders/{order.id}/preview.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.mimetype == "application/pdf"


def test_removing_a_draft_line_removes_its_documents(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.ga)])
    login(client, uni.clerk)
    line = order.lines[0]
    _upload_basis(client, order, line, PDF)
    assert db.session.scalar(select(func.count()).select_from(LineFile)) == 1
    response = client.post(f"/orders/{order.id}/lines/{line.id}/delete", follow_redirects=True)
    assert "Line removed." in _page(response)
    assert db.session.scalar(select(func.count()).select_from(LineFile)) == 0
