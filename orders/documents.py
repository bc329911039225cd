"""Rendering the order DOCX and per-student extracts. (Initial version; replaced by the template renderer.)"""

import hashlib
import io

from docx import Document

from orders.kinds import get_kind
from orders.models import Order, OrderLine

TEMPLATE_VERSION = "plain-1"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def filename(order: Order) -> str:
    return f"order-{order.number_label or order.id}.docx".replace("/", "-")


def render_order(order: Order) -> bytes:
    kind = get_kind(order.kind)
    document = Document()
    document.add_paragraph("БҰЙРЫҚ / ПРИКАЗ")
    document.add_paragraph(f"№ {order.number_label}")
    document.add_paragraph(order.title)
    for number, line in enumerate(order.lines, 1):
        document.add_paragraph(f"{number}. {kind.item_text(line, 'ru')}")
    for visa in order.visas:
        document.add_paragraph(f"{visa.role} {visa.decided_by.full_name} {visa.decision} {visa.decided_at:%d.%m.%Y}")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_extract(order: Order, line: OrderLine) -> bytes:
    kind = get_kind(order.kind)
    document = Document()
    document.add_paragraph(f"{order.number_label} {kind.item_text(line, 'ru')}")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
