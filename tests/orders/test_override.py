"""The registrar head accepts a line a rule refuses, with a written justification: audit log, order page, approval
sheet; nobody else may, and an eligible line or a thin justification is refused with nothing changed."""

import io

import docx
import pytest
from flask_babel import force_locale
from sqlalchemy import select

from core.db import db
from core.models import issue_token
from orders import operations
from orders.operations import InvalidInput
from tests.conftest import login, sign
from workflow.engine import Refused, fire
from workflow.models import AuditEvent

WHY = "Студент восстановлен решением суда, выписка приложена"


@pytest.fixture(autouse=True)
def english(session):
    with force_locale("en"):
        yield


@pytest.fixture
def refused(uni, make):
    """A draft whose only line is refused: the student graduated already."""
    student = make.student(uni.ga, status="graduated", surname="Омарова", name="Дана")
    order = make.order(uni.clerk, [student])
    db.session.flush()  # the web requests read the rows
    assert [r["rule"] for r in order.lines[0].eligibility] == ["expulsion.status"]
    return order


def docx_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_a_refused_line_blocks_submission_until_the_registrar_head_accepts_it(refused, uni):
    with pytest.raises(Refused) as error:
        fire(refused, "submit", uni.clerk)
    assert "expulsion.status" in [r.rule for r in error.value.refusals]

    (line,) = refused.lines
    operations.override_line(refused, line.id, WHY, uni.registrar)

    assert line.overridden and line.override_by_id == uni.registrar.id
    assert [r["rule"] for r in line.eligibility] == ["expulsion.status"]  # still shown, no longer blocking
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.order_id == refused.id, AuditEvent.trigger == "override")
    )
    assert event.actor_id == uni.registrar.id and event.comment == WHY
    assert event.data["rules"] == ["expulsion.status"] and event.data["student"] == line.student.full_name
    assert fire(refused, "submit", uni.clerk) == "review_dean"


def test_the_signed_document_names_the_override_in_the_approval_sheet(refused, uni):
    operations.override_line(refused, refused.lines[0].id, WHY, uni.registrar)
    sign(refused, uni)
    db.session.expire_all()
    text = docx_text(refused.document.content)
    assert "Допущено в порядке исключения: Омарова Дана Серикович" in text
    assert WHY in text
    assert refused.lines[0].student.status == "expelled"


@pytest.mark.parametrize("role", ["clerk", "dean", "rector", "lawyer"])
def test_only_the_registrar_head_may_override(refused, uni, role):
    who = {"clerk": uni.clerk, "dean": uni.dean_a, "rector": uni.rector, "lawyer": uni.lawyer}[role]
    with pytest.raises(InvalidInput) as error:
        operations.override_line(refused, refused.lines[0].id, WHY, who)
    assert error.value.status == 403
    assert not refused.lines[0].overridden


@pytest.mark.parametrize("justification", ["", "   ", "too short"])
def test_a_missing_or_thin_justification_is_refused(refused, uni, justification):
    with pytest.raises(InvalidInput) as error:
        operations.override_line(refused, refused.lines[0].id, justification, uni.registrar)
    assert error.value.errors == {"justification": "Write why the rule may be set aside (at least 10 characters)."}
    assert not refused.lines[0].overridden


def test_an_eligible_line_has_nothing_to_override(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    with pytest.raises(InvalidInput) as error:
        operations.override_line(order, order.lines[0].id, WHY, uni.registrar)
    assert error.value.status == 409
    assert "passes every rule" in error.value.errors["justification"]


def test_a_closed_order_cannot_be_overridden(refused, uni):
    fire(refused, "withdraw", uni.clerk)
    with pytest.raises(InvalidInput) as error:
        operations.override_line(refused, refused.lines[0].id, WHY, uni.registrar)
    assert error.value.status == 409


def test_the_order_page_offers_the_override_to_the_registrar_and_shows_it_after(client, refused, uni):
    line = refused.lines[0]
    login(client, uni.clerk)
    assert f'data-testid="override-{line.id}"' not in client.get(f"/orders/{refused.id}").get_data(as_text=True)
    assert client.post(f"/orders/{refused.id}/lines/{line.id}/override", data={"justification": WHY}).status_code == 403

    login(client, uni.registrar)
    assert f'data-testid="override-{line.id}"' in client.get(f"/orders/{refused.id}").get_data(as_text=True)
    response = client.post(
        f"/orders/{refused.id}/lines/{line.id}/override", data={"justification": "short"}, follow_redirects=True
    )
    assert "at least 10 characters" in response.get_data(as_text=True)
    db.session.refresh(line)
    assert not line.overridden

    response = client.post(
        f"/orders/{refused.id}/lines/{line.id}/override", data={"justification": WHY}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert 'data-testid="override-note"' in html and WHY in html
    assert f"Accepted by {uni.registrar.full_name}" in html


def test_the_api_override_is_for_the_registrar_head_only(client, refused, uni):
    line = refused.lines[0]
    tokens = {user.username: issue_token(user) for user in (uni.clerk, uni.registrar)}
    db.session.commit()
    url = f"/api/v1/orders/{refused.id}/lines/{line.id}/override"
    denied = client.post(url, json={"justification": WHY}, headers={"Authorization": f"Bearer {tokens['clerk_t']}"})
    assert denied.status_code == 403
    registrar = {"Authorization": f"Bearer {tokens['registrar_t']}"}
    thin = client.post(url, json={"justification": "short"}, headers=registrar)
    assert thin.status_code == 422 and "justification" in thin.get_json()["errors"]
    response = client.post(url, json={"justification": WHY}, headers=registrar)
    assert response.status_code == 200
    (shown,) = response.get_json()["lines"]
    assert shown["override_justification"] == WHY and shown["override_by"]["username"] == "registrar_t"
