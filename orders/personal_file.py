"""The student's personal file (pre-archive storage): the extract of every signed order concerning the student and
the basis documents uploaded on the order lines, one by one or as one ZIP.

Extracts are those `orders.verification` keeps (`OrderExtract`): the words of each line's extract frozen at signing
(with the order document's `extract_common`, which names the template versions), the DOCX frozen the first time it
is rendered; the personal file serves those very bytes, the same the e-mail attached and the verification page
recognises, whatever changed in the record since. Basis documents are kept in the database
(`LineFile`): PDF, JPEG, PNG or DOCX recognised by their content (magic bytes), up to `BASIS_FILE_MAX_BYTES`; they
may be added and removed by the registrar office while the order is a draft (also when returned), and are part of
the record for good once it is signed.
"""

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import defer

from core.db import db
from core.errors import InvalidInput
from core.models import User
from orders import documents, verification
from orders.filing import DOCUMENT_TYPES, LineFile
from orders.models import Order, OrderExtract, OrderLine
from orders.operations import can_edit
from students.models import Student

DOCX_MIME = documents.DOCX_MIMETYPE
# What a file is, read from its first bytes: (signature, type, extension). A DOCX is a ZIP holding word/document.xml.
SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Entry:
    """One document of the personal file, as the student page lists it."""

    key: str  # extract-<OrderExtract id> or file-<file id>
    ref: int  # the OrderExtract's or the LineFile's id
    kind: str  # "extract" or the document type
    filename: str
    order_id: int
    order_label: str
    order_state: str
    when: datetime | None
    size: int | None


def sniff(content: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) of an accepted file by its content, or None."""
    for signature, mimetype, extension in SIGNATURES:
        if content.startswith(signature):
            return mimetype, extension
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                if "word/document.xml" in archive.namelist():
                    return DOCX_MIME, "docx"
        except zipfile.BadZipFile:
            return None
    return None


def _safe_name(name: str, extension: str) -> str:
    stem = _UNSAFE.sub("_", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" ._")
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return f"{(stem or 'document')[:150]}.{extension}"


def upload_file(order: Order, line_id: int, document_type: str, filename: str, content: bytes, actor: User) -> LineFile:
    """Keep a basis document on a line of a draft order; refused with the reason and nothing kept otherwise."""
    if order.state != "draft":
        raise InvalidInput(
            {"file": _("Documents are added while the order is a draft; a signed order's file is closed.")}, status=409
        )
    if not can_edit(order, actor):
        raise InvalidInput({"file": _("You may not change this order.")}, status=403)
    line = next((line for line in order.lines if line.id == line_id), None)
    if line is None:
        raise InvalidInput({"line": _("No such line in this order.")}, status=404)
    errors = {}
    if document_type not in DOCUMENT_TYPES:
        errors["document_type"] = _("Choose the type of the document.")
    limit = current_app.config["BASIS_FILE_MAX_BYTES"]
    found = sniff(content) if content else None
    if not content:
        errors["file"] = _("Choose a file.")
    elif len(content) > limit:
        errors["file"] = _(
            "The file is %(size)s MB; at most %(limit)s MB is accepted. Scan at a lower resolution or split it.",
            size=f"{len(content) / 1048576:.1f}",
            limit=f"{limit / 1048576:g}",
        )
    elif found is None:
        errors["file"] = _("Only PDF, JPEG, PNG or DOCX files are accepted; this file's content is none of them.")
    if errors:
        raise InvalidInput(errors)
    mimetype, extension = found
    stored = LineFile(
        line_id=line.id,
        order_id=order.id,
        student_id=line.student_id,
        document_type=document_type,
        filename=_safe_name(filename, extension),
        mimetype=mimetype,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by_id=actor.id,
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def delete_file(order: Order, file_id: int, actor: User) -> None:
    """Remove a basis document uploaded by mistake: only while the order is a draft, never after signing."""
    stored = db.session.get(LineFile, file_id)
    if stored is None or stored.order_id != order.id:
        raise InvalidInput({"file": _("No such document.")}, status=404)
    if order.state != "draft":
        raise InvalidInput({"file": _("Only a draft's documents can be removed; this one is part of the record.")}, 409)
    if not can_edit(order, actor):
        raise InvalidInput({"file": _("You may not change this order.")}, status=403)
    db.session.delete(stored)
    db.session.flush()


def line_files(order: Order) -> dict[int, list[LineFile]]:
    """The documents of each line of `order`, by line id, without their content. One query."""
    rows = db.session.scalars(
        select(LineFile).where(LineFile.order_id == order.id).options(defer(LineFile.content)).order_by(LineFile.id)
    )
    found: dict[int, list[LineFile]] = {}
    for row in rows:
        found.setdefault(row.line_id, []).append(row)
    return found


def entries(student: Student) -> list[Entry]:
    """Every document concerning the student, newest order first: extracts of signed orders, then uploads. Two
    queries. The caller has checked the student is visible."""
    extracts = db.session.execute(
        select(
            OrderExtract.id.label("extract_id"),
            OrderExtract.filename,
            Order.id,
            Order.number_label,
            Order.state,
            Order.signed_at,
        )
        .join(OrderLine, OrderLine.id == OrderExtract.order_line_id)
        .join(Order, Order.id == OrderExtract.order_id)
        .where(OrderLine.student_id == student.id)
        .order_by(Order.signed_at.desc(), OrderExtract.id.desc())
    ).all()
    found = [
        Entry(
            key=f"extract-{row.extract_id}",
            ref=row.extract_id,
            kind="extract",
            filename=row.filename,
            order_id=row.id,
            order_label=row.number_label or "",
            order_state=row.state,
            when=row.signed_at,
            size=None,
        )
        for row in extracts
    ]
    files = db.session.execute(
        select(LineFile.id, LineFile.document_type, LineFile.filename, LineFile.size, LineFile.uploaded_at, Order)
        .join(Order, Order.id == LineFile.order_id)
        .where(LineFile.student_id == student.id)
        .order_by(Order.id.desc(), LineFile.id)
    ).all()
    found += [
        Entry(
            key=f"file-{row.id}",
            ref=row.id,
            kind=row.document_type,
            filename=row.filename,
            order_id=row.Order.id,
            order_label=row.Order.number_label or row.Order.title,
            order_state=row.Order.state,
            when=row.uploaded_at,
            size=row.size,
        )
        for row in files
    ]
    return found


def extract_content(student: Student, extract_id: int) -> tuple[str, bytes]:
    """(file name, DOCX) of the student's extract of a signed order: the stored bytes (`verification`)."""
    extract = db.session.scalar(
        select(OrderExtract)
        .join(OrderLine, OrderLine.id == OrderExtract.order_line_id)
        .where(OrderExtract.id == extract_id, OrderLine.student_id == student.id)
    )
    if extract is None:
        raise InvalidInput({"document": _("No such document in this personal file.")}, status=404)
    return extract.filename, verification.extract_document(extract)


def file_of(student: Student, file_id: int) -> LineFile:
    stored = db.session.get(LineFile, file_id)
    if stored is None or stored.student_id != student.id:
        raise InvalidInput({"document": _("No such document in this personal file.")}, status=404)
    return stored


def archive(student: Student) -> bytes:
    """The whole personal file as one ZIP: `extracts/` and `documents/`, each name prefixed by its order."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for entry in entries(student):
            if entry.kind == "extract":
                name, content = extract_content(student, entry.ref)
                path = f"extracts/{name}"
            else:
                stored = file_of(student, entry.ref)
                name, content = stored.filename, stored.content
                path = f"documents/{entry.order_id}-{stored.id}-{stored.document_type}-{name}"
            while path in used:
                path = f"{path.rsplit('.', 1)[0]}-1.{path.rsplit('.', 1)[-1]}"
            used.add(path)
            zipped.writestr(path, content)
    return buffer.getvalue()


def archive_name(student: Student) -> str:
    return f"personal-file-{student.iin}.zip"
