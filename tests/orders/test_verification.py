"""A third party checks a signed document: the QR code on every page leads to the public page, which tells the order's
facts and status without any student's data, and says whether an uploaded file is the signed document or one of its
extracts, byte for byte. Also: the stored extract is what the e-mail attaches, the DOCX properties, the PDF."""

import io
import re
import zipfile
from datetime import UTC

import pytest
from docx import Document
from sqlalchemy import select

from core.db import db
from core.extensions import limiter
from core.models import issue_token
from notifications import attachments
from notifications.models import OutboxMessage
from notifications.references import full_context
from orders import documents, pdf, verification
from orders.models import OrderExtract
from tests.conftest import login, sign
from tests.orders.test_documents import assert_libreoffice_opens, signed  # noqa: F401 (the fixture)
from tests.orders.test_revocation import revoke
from tests.qr import decode_png, footer_images

BASE = "https://registrar.example.kz"


@pytest.fixture(autouse=True)
def fresh_limits(app):
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def public_base(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE)


@pytest.fixture
def order_ab(public_base, signed):  # noqa: F811
    return signed


def upload(client, url: str, content: bytes, name: str = "order.docx"):
    return client.post(url, data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def verdict(response) -> str:
    match = re.search(r'data-genuine="(yes|no)"', response.text)
    return match.group(1) if match else ""


def student_extract(order, student) -> OrderExtract:
    line = next(line for line in order.lines if line.student_id == student.id)
    return verification.extract_of_line(line.id)


def test_the_qr_code_leads_an_outsider_to_the_page_which_recognises_the_signed_file(order_ab, client):
    order, a, b = order_ab
    document = order.document
    token = document.verify_token
    assert token and len(token) == 16 and str(order.id) not in token.lstrip("abcdefghijklmnopqrstuvwxyz")
    [image] = footer_images(document.content)  # the one footer every page repeats
    url = decode_png(image)
    assert url == f"{BASE}/verify/{token}"
    [section] = Document(io.BytesIO(document.content)).sections
    footer = "\n".join(cell.text for table in section.footer.tables for cell in table._cells)
    assert url in footer and "-".join(token[i : i + 4] for i in range(0, 16, 4)) in footer  # in words too

    path = url.removeprefix(BASE)
    page = client.get(path)  # nobody signed in
    assert page.status_code == 200
    assert order.number_label in page.text and order.title in page.text
    assert document.sha256 in page.text
    assert "Signed and not revoked" in page.text
    assert ">2<" in page.text  # two students
    for student in (a, b):
        assert student.iin not in page.text and student.surname not in page.text

    genuine = upload(client, path, document.content)
    assert genuine.status_code == 200 and verdict(genuine) == "yes"
    assert f"signed order No. {order.number_label} (DOCX)" in genuine.text

    changed = bytearray(document.content)
    changed[len(changed) // 2] ^= 1
    forged = upload(client, path, bytes(changed))
    assert verdict(forged) == "no" and "Not genuine" in forged.text


def test_an_extract_carries_the_orders_qr_code_and_is_recognised_as_its_extract(order_ab, client):
    order, a, b = order_ab
    # The e-mail to b attaches the stored extract: rendering it freezes it, and it is the same bytes every time.
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == b.email))
    [spec] = attachments.specs(full_context(row.context))
    emailed = attachments.render(spec, full_context(row.context)).content
    extract = student_extract(order, b)
    assert extract.content == emailed and extract.sha256 == verification.documents.sha256(emailed)
    assert attachments.render(spec, full_context(row.context)).content == emailed

    [image] = footer_images(emailed)
    url = decode_png(image)
    assert url == f"{BASE}/verify/{order.document.verify_token}"
    answer = upload(client, url.removeprefix(BASE), emailed, "extract.docx")
    assert verdict(answer) == "yes"
    assert f"genuine extract of order No. {order.number_label} (item 2)" in answer.text

    other = student_extract(order, a)
    assert other.content is None  # not rendered yet: nobody can hold a copy
    assert verdict(upload(client, url.removeprefix(BASE), verification.extract_document(other))) == "yes"


def _parts(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_every_extract_is_the_document_the_whole_template_pass_gives(order_ab):
    """Extracts after an order's first come from its prepared package; each must be what docxtpl alone would make,
    also for words with markup characters, quotes or a line break, and for a line listed in an appendix."""
    order, a, b = order_ab
    common = order.document.extract_common
    for student in (a, b):
        extract = student_extract(order, student)
        content = verification.extract_document(extract)
        assert _parts(content) == _parts(documents.render_extract_context({**common, **extract.context}))
        assert extract.context["item_ru"] in "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    own = student_extract(order, b).context
    for words in ('O\'Neil & <Co> "Ltd"', "Иванова\nМария", "Tab\there", "Ω > α & β"):
        for variant in ({**own, "item_ru": words}, {"item_n": None, "appendix_n": 2, "item_ru": words, "item_kk": "x"}):
            documents.render_extract(common, variant)  # the first of a shape prepares it
            content = documents.render_extract(common, {**variant, "item_kk": words})
            assert _parts(content) == _parts(documents.render_extract_context({**common, **variant, "item_kk": words}))
            text = "".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
            assert re.sub(r"\s", "", words) in re.sub(r"\s", "", text)  # a break or tab is a run of its own


def test_libreoffice_opens_an_extract_made_from_the_prepared_package(order_ab, tmp_path):
    order, a, b = order_ab
    verification.extract_document(student_extract(order, a))  # the order's first: prepared and checked
    extract = student_extract(order, b)
    content = verification.extract_document(extract)
    pdf_bytes = assert_libreoffice_opens(content, extract.filename, tmp_path)
    pypdf = pytest.importorskip("pypdf")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages)
    assert b.iin in text and a.iin not in text


def test_a_revoked_order_says_so_on_its_page(order_ab, client, uni):
    order, _a, _b = order_ab
    db.session.expire_all()
    revocation = revoke(order, uni)
    sign(revocation, uni)
    db.session.expire_all()
    page = client.get(f"/verify/{order.document.verify_token}")
    assert "Revoked by order No. " + revocation.number_label in page.text
    assert verdict(upload(client, f"/verify/{order.document.verify_token}", order.document.content)) == "yes"


def test_an_unknown_code_is_not_found_and_the_code_form_leads_to_the_page(order_ab, client):
    order, _a, _b = order_ab
    assert client.get("/verify/aaaaaaaaaaaaaaaa").status_code == 404
    assert "No signed document has this code" in client.get("/verify/aaaaaaaaaaaaaaaa").text
    token = order.document.verify_token
    typed = "-".join(token[i : i + 4] for i in range(0, 16, 4)).upper()
    answer = client.get("/verify/", query_string={"code": typed})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/verify/{token}")


def test_uploads_are_rate_limited_and_need_the_forms_token(order_ab, client, app, monkeypatch):
    order, _a, _b = order_ab
    path = f"/verify/{order.document.verify_token}"
    monkeypatch.setitem(app.config, "VERIFY_UPLOAD_LIMIT", "3 per minute")
    for _ in range(3):
        assert upload(client, path, b"not the order").status_code == 200
    refused = upload(client, path, b"not the order")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts" in refused.text
    limiter.reset()
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert upload(client, path, order.document.content).status_code == 400  # no CSRF token: nothing checked
    assert upload(client, path, b"").status_code == 400  # no file chosen


def test_the_docx_properties_say_what_the_document_is(order_ab, app):
    order, _a, _b = order_ab
    properties = Document(io.BytesIO(order.document.content)).core_properties
    assert order.number_label in properties.title and order.title in properties.title
    assert properties.subject.startswith("Бұйрық / Приказ № " + order.number_label)
    assert properties.author == app.config["UNIVERSITY_RU"] == properties.last_modified_by
    signed_at = order.signed_at.astimezone(UTC).replace(microsecond=0)
    assert properties.created == signed_at and properties.modified == signed_at
    with zipfile.ZipFile(io.BytesIO(order.document.content)) as archive:
        meta = archive.read("docProps/core.xml").decode() + archive.read("docProps/app.xml").decode()
        assert not [name for name in archive.namelist() if "thumbnail" in name]  # the template's, of another document
    assert "python-docx" not in meta and "2013" not in meta


def test_students_extracts_are_listed_and_a_dean_downloads_only_own_faculty(order_ab, client, uni):
    order, a, b = order_ab
    login(client, uni.dean_a)
    page = client.get(f"/students/{a.id}")
    assert page.status_code == 200 and 'data-testid="personal-file"' in page.text and order.number_label in page.text
    own, other = student_extract(order, a), student_extract(order, b)
    download = client.get(f"/orders/extracts/{own.id}.docx")
    assert download.status_code == 200 and a.iin in "\n".join(
        p.text for p in Document(io.BytesIO(download.data)).paragraphs
    )
    assert client.get(f"/orders/extracts/{other.id}.docx").status_code == 403


def test_without_libreoffice_no_pdf_button_and_the_download_answers_503(order_ab, client, uni, app, monkeypatch):
    order, _a, _b = order_ab
    monkeypatch.setitem(app.config, "SOFFICE", "no-such-program-here")
    login(client, uni.rector)
    assert 'data-testid="download-pdf"' not in client.get(f"/orders/{order.id}").text
    answer = client.get(f"/orders/{order.id}/document.pdf")
    assert answer.status_code == 503 and "LibreOffice is not installed" in answer.text
    login(client, uni.dean_a)  # the own faculty's extract is converted per download: no LibreOffice, no PDF either
    assert 'data-testid="download-pdf"' not in client.get(f"/orders/{order.id}").text
    answer = client.get(f"/orders/{order.id}/document.pdf")
    assert answer.status_code == 503 and "LibreOffice is not installed" in answer.text


def pdf_text(content: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


@pytest.mark.skipif(not pdf.shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_a_deans_pdf_is_the_own_faculty_extract_and_the_rectors_the_whole_order(order_ab, client, uni, make):
    order, a, b = order_ab
    login(client, uni.dean_a)
    page = client.get(f"/orders/{order.id}").text
    assert "PDF (your faculty's extract)" in page and "Download your faculty's extract (DOCX)" in page
    download = client.get(f"/orders/{order.id}/document.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    text = pdf_text(download.data)
    assert "ВЫПИСКА ИЗ ПРИКАЗА" in text and a.iin in text and order.number_label in text
    assert b.iin not in text and b.surname not in text  # never another faculty's student
    assert pdf.cached(order.document.sha256) is None  # cut and converted per download: the order's PDF is not made

    headers = {"Authorization": f"Bearer {issue_token(uni.dean_a)}"}
    db.session.commit()
    api = client.get(f"/api/v1/orders/{order.id}/document.pdf", headers=headers)
    assert api.status_code == 200 and "X-Content-SHA256" not in api.headers
    assert a.iin in pdf_text(api.data) and b.iin not in pdf_text(api.data)

    stranger = make.user("dean", make.faculty("FC"), username="dean_c")  # no student of FC in the order
    login(client, stranger)
    assert client.get(f"/orders/{order.id}/document.docx").status_code == 403
    assert client.get(f"/orders/{order.id}/document.pdf").status_code == 403

    login(client, uni.rector)
    assert 'data-testid="download-pdf">PDF<' in client.get(f"/orders/{order.id}").text
    assert client.get(f"/orders/{order.id}/document.pdf").status_code == 202  # the worker converts the whole order
    assert pdf.convert_and_store(order.document.sha256) == "ready"
    text = pdf_text(client.get(f"/orders/{order.id}/document.pdf").data)
    assert a.iin in text and b.iin in text and "ВЫПИСКА" not in text


@pytest.mark.skipif(not pdf.shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_the_pdf_is_converted_by_the_worker_holds_every_iin_and_is_recognised(order_ab, client, uni):
    pypdf = pytest.importorskip("pypdf")
    order, a, b = order_ab
    login(client, uni.rector)
    assert 'data-testid="download-pdf"' in client.get(f"/orders/{order.id}").text
    pending = client.get(f"/orders/{order.id}/document.pdf")
    assert pending.status_code == 202 and "being prepared" in pending.text
    assert pdf.cached(order.document.sha256).status == "pending"
    assert pdf.convert_and_store(order.document.sha256) == "ready"  # what the actor does in the worker

    download = client.get(f"/orders/{order.id}/document.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(download.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert a.iin in text and b.iin in text and order.number_label in text
    assert all(page.images for page in reader.pages)  # the QR code on every page
    assert client.get(f"/orders/{order.id}/document.pdf").data == download.data  # cached: the same bytes

    client.post("/logout")
    answer = upload(client, f"/verify/{order.document.verify_token}", download.data, "order.pdf")
    assert verdict(answer) == "yes" and "PDF of the signed order" in answer.text


def test_the_api_gives_the_pdf_or_says_it_is_being_prepared_or_that_there_is_no_libreoffice(
    order_ab, client, uni, app, monkeypatch
):
    order, _a, _b = order_ab
    url = f"/api/v1/orders/{order.id}/document.pdf"
    headers = {"Authorization": f"Bearer {issue_token(uni.rector)}"}
    dean_headers = {"Authorization": f"Bearer {issue_token(uni.dean_a)}"}
    db.session.flush()
    monkeypatch.setitem(app.config, "SOFFICE", "no-such-program-here")
    refused = client.get(url, headers=headers)
    assert refused.status_code == 503 and "LibreOffice is not installed" in refused.get_json()["message"]
    dean = client.get(url, headers=dean_headers)
    assert dean.status_code == 503 and "LibreOffice is not installed" in dean.get_json()["message"]  # no extract
    monkeypatch.setitem(app.config, "SOFFICE", "true")  # a program that exists: the conversion is asked for
    pending = client.get(url, headers=headers)
    assert pending.status_code == 202 and pending.get_json()["status"] == "pending"
    assert pdf.cached(order.document.sha256).status == "pending"
