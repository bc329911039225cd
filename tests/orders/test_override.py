"""The registrar head accepts a line a rule refuses, with a written justification: audit log, order page, approval
sheet; nobody else may, and an eligible line or a thin justification is refused with nothing changed."""

from datetime import date

import pytest
from sqlalchemy import select

from approvals.inbox import waiting_for
from core.db import db
from core.models import User, create_user, issue_token
from orders import operations
from orders.models import Order
from orders.operations import InvalidInput
from tests.builders import docx_text
from tests.conftest import login, sign
from workflow.engine import Refused, fire, legal_triggers
from workflow.models import AuditEvent

WHY = "Студент восстановлен решением суда, выписка приложена"


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def refused(uni, make):
    """A draft whose only line is refused by a rule an override may pass: expelled for non-return from an academic
    leave that ends only on the effective date."""
    student = make.student(uni.ga, status="academic_leave", surname="Омарова", name="Дана")
    student.leave_start, student.leave_end = date(2025, 9, 1), date(2026, 12, 1)
    order = make.order(uni.clerk, [student], reason="non_return", effective_date="2026-12-01")
    db.session.flush()  # the web requests read the rows
    assert [r["rule"] for r in order.lines[0].eligibility] == ["expulsion.non_return"]
    return order


def test_a_refused_line_blocks_submission_until_the_registrar_head_accepts_it(refused, uni):
    with pytest.raises(Refused) as error:
        fire(refused, "submit", uni.clerk)
    assert "expulsion.non_return" in [r.rule for r in error.value.refusals]

    (line,) = refused.lines
    operations.override_line(refused, line.id, WHY, uni.registrar)

    assert line.overridden and line.override_by_id == uni.registrar.id
    assert [r["rule"] for r in line.eligibility] == ["expulsion.non_return"]  # still shown, no longer blocking
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.order_id == refused.id, AuditEvent.trigger == "override")
    )
    assert event.actor_id == uni.registrar.id and event.comment == WHY
    assert event.data["rules"] == ["expulsion.non_return"] and event.data["student"] == line.student.full_name
    assert fire(refused, "submit", uni.clerk) == "review_dean"


def staff(uni) -> list[User]:
    """The `uni` people and a second member of the registrar office, who gives its visa on an overridden order."""
    people = [getattr(uni, name) for name in dir(uni) if isinstance(getattr(uni, name), User)]
    return [*people, create_user("registrar_2", "secret", "Registrar Two", ["registrar"], language="en")]


def test_the_signed_document_names_the_override_in_the_approval_sheet(refused, uni):
    operations.override_line(refused, refused.lines[0].id, WHY, uni.registrar)
    sign(refused, staff(uni))
    db.session.expire_all()
    text = docx_text(refused.document.content)
    assert "Допущено в порядке исключения: Омарова Дана Сериковна" in text
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


# Rules no override passes -----------------------------------------------------------------------------------------


def override_refused(order, uni) -> str:
    """Try to override the order's only line; the refusal's message (nothing is changed)."""
    line = order.lines[0]
    with pytest.raises(InvalidInput) as error:
        operations.override_line(order, line.id, WHY, uni.registrar)
    assert error.value.status == 422
    assert not line.overridden
    return error.value.errors["justification"]


def draft(kind: str, uni, students, **params):
    order = operations.create_order(kind, uni.clerk, {"basis": "Заявления", **params})
    operations.add_students(order, [student.id for student in students], uni.clerk)
    return order


def test_a_student_expelled_on_death_cannot_be_restored_by_override(uni, make):
    student = make.student(uni.ga, status="expelled", surname="Ахметов", name="Болат")
    student.expulsion_reason = "death"
    order = draft("restoration", uni, [student], effective_date="2027-01-10")
    assert "restoration.death" in [r["rule"] for r in order.lines[0].eligibility]
    message = override_refused(order, uni)
    assert message.startswith("This rule cannot be waived: Ахметов Болат Серикович was expelled on death")


def test_no_order_but_a_correction_names_a_student_expelled_on_death(uni, make):
    student = make.student(uni.ga, status="expelled", surname="Ахметов", name="Болат")
    student.expulsion_reason = "death"
    order = draft("personal_data", uni, [student], effective_date="2026-12-01")
    refusal = next(r for r in order.lines[0].eligibility if r["rule"] == "personal_data.death")
    assert refusal["absolute"] is True
    assert "cannot be waived" in override_refused(order, uni)


def test_a_status_precondition_cannot_be_overridden(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga, status="graduated", surname="Омарова", name="Дана")])
    assert [r["rule"] for r in order.lines[0].eligibility] == ["expulsion.status"]
    assert override_refused(order, uni) == (
        "This rule cannot be waived: Омарова Дана Сериковна is graduated: only active students or students on "
        "academic leave can be expelled."
    )


def test_an_overridden_line_an_absolute_rule_refuses_still_blocks(refused, uni):
    line = refused.lines[0]
    operations.override_line(refused, line.id, WHY, uni.registrar)
    line.student.status = "graduated"  # the record changed after the override
    with pytest.raises(Refused) as error:
        fire(refused, "submit", uni.clerk)
    assert [r.rule for r in error.value.refusals] == ["expulsion.status"]


def test_the_web_and_the_api_say_the_rule_cannot_be_waived(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga, status="graduated")])
    line = order.lines[0]
    token = issue_token(uni.registrar)
    db.session.commit()
    response = client.post(
        f"/api/v1/orders/{order.id}/lines/{line.id}/override",
        json={"justification": WHY},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert "cannot be waived" in response.get_json()["errors"]["justification"]
    login(client, uni.registrar)
    response = client.post(
        f"/orders/{order.id}/lines/{line.id}/override", data={"justification": WHY}, follow_redirects=True
    )
    assert "This rule cannot be waived" in response.get_data(as_text=True)
    db.session.refresh(line)
    assert not line.overridden


# The visa of the registrar office ---------------------------------------------------------------------------------


def test_who_overrode_a_line_gives_no_registrar_visa_on_that_order(refused, uni):
    operations.override_line(refused, refused.lines[0].id, WHY, uni.registrar)
    fire(refused, "submit", uni.clerk)
    fire(refused, "approve", uni.dean_a)
    assert refused.state == "review_registrar"
    assert "approve" not in legal_triggers(refused, uni.registrar)
    with pytest.raises(Refused) as error:
        fire(refused, "approve", uni.registrar)
    assert error.value.status == 403
    assert [r.rule for r in error.value.refusals] == ["permission.overrider"]
    assert "another member of the registrar office" in error.value.message

    other = create_user("registrar_2", "secret", "Registrar Two", ["registrar"], language="en")
    db.session.flush()
    assert refused.id in db.session.scalars(waiting_for(other).with_only_columns(Order.id)).all()
    assert fire(refused, "approve", other) == "review_lawyer"
