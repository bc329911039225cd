"""The signed document and e-mails describe each student as the order found them, not as it left them."""

import io

import docx
from sqlalchemy import select

from core.db import db
from notifications.models import OutboxMessage
from notifications.references import full_context
from tests.conftest import sign


def test_document_and_email_name_the_grant_the_order_ends(make, uni):
    student = make.student(uni.ga, funding="grant")
    order = make.order(uni.clerk, [student])
    sign(order, uni)

    assert student.funding == "none"  # the grant ended with the expulsion
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(order.document.content)).paragraphs)
    assert "государственный грант" in text and "без финансирования" not in text
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == student.email))
    assert "государственный грант" in full_context(message.context)["item_ru"]
    assert "мемлекеттік грант" in full_context(message.context)["item_kk"]
