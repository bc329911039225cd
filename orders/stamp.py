"""What makes a rendered DOCX checkable and tidy: the verification QR code and address on every page, and honest
document properties.

The QR code (drawn by `segno`, pure Python) and the address under it go into the footer of every section, so Word
and LibreOffice repeat them on every page. The address is `<PUBLIC_BASE_URL>/verify/<token>`: the token is random
(`new_token`), stored with the document, and the short code printed beside the QR code is the token itself, for
typing into `/verify/`. The core properties say what the document is (title, subject, the university as author,
created = signing time) instead of the template's "python-docx" and 2013.
"""

import io
import logging
import secrets
from base64 import b32encode
from datetime import UTC, datetime

import segno
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.shared import Cm, Pt
from flask import current_app, has_request_context, request

log = logging.getLogger(__name__)
QR_SIZE = Cm(1.5)
FOOTER_DISTANCE = Cm(0.5)
TOKEN_BYTES = 10  # 80 random bits: 16 characters of base32


def new_token() -> str:
    """An unguessable verification token: 16 characters of lower-case base32 (no 0/1/8/9, nothing to confuse)."""
    return b32encode(secrets.token_bytes(TOKEN_BYTES)).decode().lower()


def normalise_token(text: str) -> str:
    """A code as a person may type it (spaces, dashes, capitals) back to the token."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def public_base_url() -> str:
    """Where outsiders reach this site: the PUBLIC_BASE_URL setting, else the address of the current request."""
    configured = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if configured:
        return configured
    if has_request_context():
        return request.host_url.rstrip("/")
    log.warning("PUBLIC_BASE_URL is not set and there is no request: the QR code points to http://localhost")
    return "http://localhost"


def verify_url(token: str, base: str | None = None) -> str:
    return f"{(base or public_base_url()).rstrip('/')}/verify/{token}"


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def add_verification(document: Document, url: str, token: str) -> None:
    """The QR code of `url` and the address in words, appended to the footer of every section (and its first-page
    and even-page footers where the section has them), so that every page carries them."""
    image = qr_png(url)
    for section in document.sections:
        # the footer starts lower, so the code below the text takes no more of the page than the template's margin
        section.footer_distance = min(section.footer_distance or FOOTER_DISTANCE, FOOTER_DISTANCE)
        footers = [section.footer]
        if section.different_first_page_header_footer:
            footers.append(section.first_page_footer)
        if document.settings.odd_and_even_pages_header_footer:
            footers.append(section.even_page_footer)
        for footer in footers:
            if footer.is_linked_to_previous and section is not document.sections[0]:
                continue
            _stamp_footer(footer, image, url, token)


def _stamp_footer(footer, image: bytes, url: str, token: str) -> None:
    """A borderless row under the footer's text: the QR code, and beside it what it is, the address and the code."""
    table = footer.add_table(1, 2, width=Cm(16.5))
    table.autofit = False
    picture, words = table.rows[0].cells
    picture.width, words.width = Cm(1.8), Cm(14.7)
    table.columns[0].width, table.columns[1].width = Cm(1.8), Cm(14.7)
    picture.paragraphs[0].add_run().add_picture(io.BytesIO(image), width=QR_SIZE, height=QR_SIZE)
    lines = [
        "Түпнұсқалығын тексеру / Проверка подлинности:",
        url,
        f"Код: {_grouped(token)}",
    ]
    paragraph = words.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
    for n, text in enumerate(lines):
        run = paragraph.add_run(text)
        run.font.size = Pt(8)
        if n < len(lines) - 1:
            run.add_break()


def _grouped(token: str) -> str:
    return "-".join(token[i : i + 4] for i in range(0, len(token), 4))


def set_properties(document: Document, *, title: str, subject: str, author: str, created: datetime | None) -> None:
    """Core properties of what the document is, replacing the template's ("python-docx", 2013)."""
    moment = (created or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    properties = document.core_properties
    properties.title = title[:255]
    properties.subject = subject[:255]
    properties.author = author[:255]
    properties.last_modified_by = author[:255]
    properties.created = moment
    properties.modified = moment
    properties.revision = 1
    properties.comments = ""
    properties.keywords = ""
    properties.category = ""
    properties.language = "kk-KZ, ru-RU"
    package = document.part.package  # the template's thumbnail shows another document: a viewer must not preview it
    for key, relationship in list(package.rels.items()):
        if relationship.reltype == RT.THUMBNAIL:
            del package.rels[key]
