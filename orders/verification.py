"""Signed documents outsiders can check: every student's extract frozen per order line, and what the public page
`/verify/<token>` tells about a document and about a file someone uploads.

At signing (`freeze_extracts`) each line gets an `OrderExtract` row with its own words; the extract's DOCX is rendered
the first time anyone needs it (the student's e-mail, a download, the personal file) and frozen then, so every copy
handed out afterwards is the same bytes with the same SHA-256. An extract's QR code points to its order's page:
the page speaks for the whole order (number, status, revocation), an upload is compared with the order and every
extract of it, and signing a 10,000-line order does not mint 10,000 tokens.
"""

import hashlib
from dataclasses import dataclass
from typing import IO

from sqlalchemy import func, insert, or_, select, update

from core.db import db, utcnow, write_after_reads
from orders import documents
from orders.kind import OrderKind
from orders.models import DocumentPdf, Order, OrderDocument, OrderExtract, OrderLine
from orders.registry import get_kind

STORED_EXTRACT_RENDERER = "stored_extract"
LINE_EMAIL = "signed_line"  # an outbox row's `from`: the words of a student's e-mail, read from the signed line
ORDER_EMAIL = "signed_order"  # the same for the registrar office's e-mail about the signed order
CHUNK = 1 << 16


def freeze_extracts(
    order: Order, kind: OrderKind, lines: list[OrderLine], places: dict[int, documents.LinePlace]
) -> None:
    """One extract row per line, in one batched statement, inside the signing transaction. The file names carry
    `order.number_label` as it is now: the placeholder until the number is taken (`name_extracts`)."""
    rows = []
    for line in lines:
        item = documents.extract_item(kind, line, places[line.id])
        filename = documents.extract_filename({"number": order.number_label, **item})
        rows.append({"order_id": order.id, "order_line_id": line.id, "filename": filename, "context": item})
    if rows:
        db.session.execute(insert(OrderExtract), rows)


def name_extracts(order: Order, placeholder: str) -> None:
    """Put the order's number into its extracts' file names in place of `placeholder`: one set-based UPDATE."""
    db.session.execute(
        update(OrderExtract)
        .where(OrderExtract.order_id == order.id)
        .values(filename=func.replace(OrderExtract.filename, placeholder, documents.file_label(order.number_label)))
        .execution_options(synchronize_session=False)
    )


def line_email_context(context: dict) -> dict:
    """What a student's e-mail about a signed order reads at send time (the `signed_line` expander): the order's
    number and title, the item and university as frozen with the extract, and the stored extract attached."""
    row = db.session.execute(
        select(Order.number_label, Order.title, OrderExtract.filename, OrderExtract.context)
        .add_columns(OrderDocument.extract_common)
        .join(OrderExtract, OrderExtract.order_id == Order.id)
        .join(OrderDocument, OrderDocument.order_id == Order.id)
        .where(OrderExtract.order_line_id == context["order_line_id"])
    ).one_or_none()
    if row is None:
        raise LookupError(f"order line {context['order_line_id']} has no signed extract")
    common = row.extract_common or {}
    return {
        "order_label": row.number_label,
        "order_title": row.title,
        "item_ru": row.context.get("item_ru", ""),
        "item_kk": row.context.get("item_kk", ""),
        "university_ru": common.get("university_ru", ""),
        "university_kk": common.get("university_kk", ""),
        "attachments": [
            {
                "renderer": STORED_EXTRACT_RENDERER,
                "filename": row.filename,
                "mimetype": documents.DOCX_MIMETYPE,
                "context": {"order_line_id": context["order_line_id"]},
            }
        ],
    }


def order_email_context(context: dict) -> dict:
    """What the registrar office's e-mail about a signed order reads at send time (the `signed_order` expander):
    the order's number and title, and the signed order attached."""
    order = db.session.get(Order, context["order_id"])
    if order is None or order.number_label is None:
        raise LookupError(f"order {context['order_id']} is not signed")
    return {
        "order_label": order.number_label,
        "order_title": order.title,
        "attachments": [
            {
                "renderer": documents.ORDER_RENDERER,
                "filename": documents.filename(order),
                "mimetype": documents.DOCX_MIMETYPE,
                "context": {"order_id": order.id},
            }
        ],
    }


def extract_document(extract: OrderExtract) -> bytes:
    """The extract's DOCX: the frozen bytes, or rendered now from the frozen words and frozen for good. Two
    processes rendering at once both write only where nothing is frozen yet; the loser reads the winner's bytes."""
    if extract.content is not None:
        return extract.content
    common = db.session.scalar(select(OrderDocument.extract_common).where(OrderDocument.order_id == extract.order_id))
    content = documents.render_extract(common or {}, extract.context)
    freeze = (
        update(OrderExtract)
        .where(OrderExtract.id == extract.id, OrderExtract.content.is_(None))
        .values(content=content, sha256=documents.sha256(content), rendered_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    written = write_after_reads(freeze)
    if not written:
        content = db.session.scalar(select(OrderExtract.content).where(OrderExtract.id == extract.id))
    db.session.expire(extract)
    return content


def extract_of_line(line_id: int) -> OrderExtract | None:
    return db.session.scalar(select(OrderExtract).where(OrderExtract.order_line_id == line_id))


def stored_extract_content(context: dict) -> bytes:
    """The `stored_extract` attachment renderer: the e-mail attaches the very bytes the personal file keeps."""
    extract = extract_of_line(context["order_line_id"])
    if extract is None:
        raise LookupError(f"order line {context['order_line_id']} has no stored extract")
    return extract_document(extract)


# The public page ----------------------------------------------------------------------------------------------


def document_by_token(token: str) -> OrderDocument | None:
    if not token or len(token) > 32:
        return None
    return db.session.scalar(select(OrderDocument).where(OrderDocument.verify_token == token))


@dataclass(frozen=True, slots=True)
class Facts:
    """What the public page shows: no student's name or IIN, only what the order is and where it stands."""

    order: Order
    document: OrderDocument
    kind: str
    students: int
    signer_name: str
    signer_position: str
    pdf_sha256: str | None


def facts(document: OrderDocument) -> Facts:
    order = document.order
    students = db.session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order.id))
    pdf = db.session.scalar(
        select(DocumentPdf.sha256).where(DocumentPdf.docx_sha256 == document.sha256, DocumentPdf.status == "ready")
    )
    common = document.extract_common or {}
    signer = order.signed_by
    return Facts(
        order=order,
        document=document,
        kind=get_kind(order.kind).label(),
        students=students or 0,
        signer_name=common.get("signer_name") or (signer.full_name if signer else ""),
        signer_position=common.get("signer_position") or (signer.position or "" if signer else ""),
        pdf_sha256=pdf,
    )


@dataclass(frozen=True, slots=True)
class Match:
    """An uploaded file compared with an order's documents: `what` is order_docx, order_pdf, extract_docx,
    extract_pdf, or None when it is none of them byte for byte."""

    sha256: str
    what: str | None = None
    item_n: int | None = None
    appendix_n: int | None = None

    @property
    def genuine(self) -> bool:
        return self.what is not None


def file_sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def match(document: OrderDocument, digest: str) -> Match:
    """Whether `digest` is the SHA-256 of the signed order's DOCX, of its PDF, or of one of its extracts (frozen
    DOCX or its PDF). A few indexed queries, whatever the number of extracts."""
    if digest == document.sha256:
        return Match(digest, "order_docx")
    order_id = document.order_id
    extract_docx = select(OrderExtract.sha256).where(
        OrderExtract.order_id == order_id, OrderExtract.sha256.is_not(None)
    )
    pdf_of = db.session.scalar(
        select(DocumentPdf.docx_sha256).where(
            DocumentPdf.sha256 == digest,
            DocumentPdf.status == "ready",
            or_(DocumentPdf.docx_sha256 == document.sha256, DocumentPdf.docx_sha256.in_(extract_docx)),
        )
    )
    if pdf_of == document.sha256:
        return Match(digest, "order_pdf")
    docx_digest, what = (pdf_of, "extract_pdf") if pdf_of else (digest, "extract_docx")
    context = db.session.scalar(
        select(OrderExtract.context).where(OrderExtract.order_id == order_id, OrderExtract.sha256 == docx_digest)
    )
    if context is None:
        return Match(digest)
    return Match(digest, what, item_n=context.get("item_n"), appendix_n=context.get("appendix_n"))
