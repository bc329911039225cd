"""Revocation and amendment of a signed order: drafting from the target, the rules, the reversal, history, wording.

`revoke_and_check(order, uni)` is the shared check every kind can join: add a builder to `BUILDERS`.
"""

from datetime import date

import pytest
from sqlalchemy import select

from core.db import db
from core.models import issue_token
from orders import operations
from orders.kinds.transfer_in.incoming import add_incoming
from orders.models import Order
from orders.operations import InvalidInput
from orders.registry import record_neutral_kinds
from students.academic import StudentDebt
from students.history import record_on
from students.models import Group, Student, StudentMovement
from tests.builders import document_text, signed
from tests.conftest import enrol_again, login, take_effect_by
from tests.orders import test_academic_leave as leave_tests
from tests.orders import test_leave_return as return_tests
from tests.orders import test_promotion as promotion_tests
from tests.orders import test_repeat_year as repeat_tests
from tests.orders import test_transfer as transfer_tests
from tests.orders import test_transfer_in as transfer_in_tests
from tests.orders import test_transfer_out as transfer_out_tests
from tests.students.test_difference import grade, item

SKIPPED = ("id", "created_at")
MARRIAGE = {"document_type": "marriage", "document_number": "55", "document_date": "2026-06-01"}


pytestmark = pytest.mark.usefixtures("english")


def snapshot(student: Student) -> dict:
    db.session.refresh(student)
    return {c.name: getattr(student, c.name) for c in Student.__table__.columns if c.name not in SKIPPED}


def draft_correction(kind_name, author, target, basis, *, exclude=None, effective_date=None) -> Order:
    """A revocation (or, with the item numbers to `exclude`, an amendment) of `target` (an Order, its number label or
    its id), drafted as the order form and the API draft one: `operations.create_order` with the form's fields."""
    raw = {
        "target": target.id if isinstance(target, Order) else target,
        "basis": basis,
        "effective_date": effective_date.isoformat() if effective_date else None,
    }
    if exclude is not None:
        raw["exclude"] = exclude
    return operations.create_order(kind_name, author, raw)


def revoke(order, uni, **kwargs):
    return draft_correction("revocation", uni.clerk, order.number_label, "Представление юриста", **kwargs)


def debts(student_id: int) -> list[tuple]:
    """The student's academic debts (the difference a transfer or restoration stored), as comparable tuples."""
    return [
        (d.code, d.semester, d.credits, d.cleared_on, d.order_line_id)
        for d in db.session.scalars(
            select(StudentDebt).where(StudentDebt.student_id == student_id).order_by(StudentDebt.code)
        )
    ]


DIFFERENCE_KINDS = ("restoration", "transfer_within", "transfer_in")  # signing stores the difference as debts


def revoke_and_check(order, uni, before: dict[int, dict] | None = None) -> Order:
    """Sign `order` (when still a draft), then sign a revocation of it, and assert every student's record equals
    the record before `order` was signed, that history keeps both movements and that `order` is marked revoked.
    The debts signing stored (the academic difference) are gone again.
    For an order signed already, give the records before it as `before` ({student id: snapshot})."""
    debts_before = None
    if order.state != "signed":
        before = {line.student_id: snapshot(line.student) for line in order.lines}
        debts_before = {line.student_id: debts(line.student_id) for line in order.lines}
        signed(order, uni)
    assert before is not None, "give the records before the signed order"
    line_ids = {line.id for line in order.lines}
    if order.kind in DIFFERENCE_KINDS and debts_before is not None:
        assert all(any(d[-1] in line_ids for d in debts(line.student_id)) for line in order.lines), (
            "signing stored no academic difference: the builder should give every student one"
        )
    revocation = revoke(order, uni)
    assert [line.student_id for line in revocation.lines] == [line.student_id for line in order.lines]
    assert all(line.eligible for line in revocation.lines), [line.eligibility for line in revocation.lines]
    signed(revocation, uni)
    for line in order.lines:
        assert snapshot(line.student) == before[line.student_id]
        kinds = [
            m.kind
            for m in db.session.scalars(
                select(StudentMovement)
                .where(StudentMovement.student_id == line.student_id)
                .order_by(StudentMovement.id)
            )
            if m.kind not in record_neutral_kinds()
        ]  # payments in between change no record
        assert kinds[-2:] == [order.kind, "revocation"]
        assert not [d for d in debts(line.student_id) if d[-1] in line_ids]
        if debts_before is not None:
            assert debts(line.student_id) == debts_before[line.student_id]
    assert (order.superseded_as, order.superseded_by_id) == ("revoked", revocation.id)
    return revocation


# Builders of a draft order of each kind, for the shared check ---------------------------------------------------


def expulsion(uni, make):
    students = [make.student(uni.ga), make.student(uni.gb, status="academic_leave", funding="paid")]
    return make.order(uni.clerk, students, reason="academic_failure")


def funding_change(uni, make):
    order = operations.create_order(
        "funding_change",
        uni.clerk,
        {"direction": "to_grant", "ground": "решение совета № 7", "effective_date": "2026-12-01", "basis": "Совет"},
    )
    operations.add_students(order, [make.student(uni.ga, funding="paid").id], uni.clerk)
    return order


def personal_data(uni, make):
    order = operations.create_order("personal_data", uni.clerk, {"effective_date": "2026-12-01", "basis": "Заявление"})
    operations.add_students(order, [make.student(uni.ga, surname="Иванова", name="Анна").id], uni.clerk)
    operations.update_line(order, order.lines[0].id, {**MARRIAGE, "surname": "Петрова", "patronymic": "-"}, uni.clerk)
    return order


def academic_leave(uni, make):
    students = [make.student(uni.ga), make.student(uni.gb, funding="paid")]
    for student in students:
        student.status_since = date(2025, 9, 1)
    order = leave_tests.leave_order(uni, students)
    for line in order.lines:
        leave_tests.with_document(order, uni, line)
    return order


def leave_return(uni, make):
    """One back to the group left from, one into another group of the same course."""
    stays, moves = return_tests.on_leave(make, uni.ga), return_tests.on_leave(make, uni.gb, funding="paid")
    return_tests.sibling_group(uni.gb, "ВОЗ-25-2")
    order = return_tests.return_order(uni, [stays, moves])
    operations.update_line(order, order.lines[1].id, {"group": "ВОЗ-25-2"}, uni.clerk)
    return order


def promotion(uni, make):
    """One into next year's existing group, one into a group signing creates (it stays after the revocation)."""
    existing = promotion_tests.Cohort(make, uni.fa)
    created = promotion_tests.Cohort(make, uni.fb, courses=(1,))
    return promotion_tests.draft(uni, [existing.student(points=80), created.student(points=90, funding="paid")])


def repeat_year(uni, make):
    """A grant student loses the grant and stays in the group; a paid one changes group."""
    cohort = promotion_tests.Cohort(make, uni.fa)
    loses_grant, moves = cohort.student(points=62), cohort.student(points=62, funding="paid")
    other = Group(name="ПОВ-1b", programme_id=cohort.programme.id, course=1, language="kk", study_form="full_time")
    db.session.add(other)
    db.session.flush()
    order = repeat_tests.draft(uni, [loses_grant, moves])
    operations.update_line(order, order.lines[1].id, {"group": other.name, "effective_date": "2026-09-01"}, uni.clerk)
    return order


def restoration(uni, make):
    """Expelled years ago after semester 1: restored into course 2 with a difference to clear."""
    transfer_tests.calendar()
    item(uni.ga.programme, 1, "MAT101", "Математика")
    item(uni.ga.programme, 2, "PHY102", "Физика", credits=4)
    item(uni.ga.programme, 3, "PRG201", "Программирование", credits=6)
    student = make.student(uni.ga, status="expelled", funding="none", surname="Серикова", name="Асель")
    student.expulsion_reason, student.status_since = "academic_failure", date(2019, 2, 1)
    enrol_again(student)
    grade(student, "MAT101", "Математика", 77, year="2018-2019")
    return transfer_tests.draft(uni, "restoration", [student])


def transfer_within(uni, make):
    """A programme change in the winter holidays, to course 2 of another faculty's programme with a difference."""
    transfer_tests.calendar()
    student = make.student(uni.ga, surname="Жумабаев", name="Ерлан")
    item(uni.ga.programme, 1, "MAT101", "Математика")
    grade(student, "MAT101", "Математика", 81)
    target = make.group(uni.fb, course=3, language="kk")
    item(target.programme, 1, "MAT-1", "математика")
    item(target.programme, 2, "ECO102", "Экономика", credits=4)
    item(target.programme, 3, "LAW201", "Право", credits=3)
    order = transfer_tests.draft(uni, "transfer_within", [student])
    transfer_tests.set_target(order, order.lines[0], target)
    return order


def transfer_in(uni, make):
    """An incoming student created with the draft: the revocation makes the student incoming again."""
    transfer_tests.calendar()
    item(uni.ga.programme, 1, "MAT101", "Математика")
    item(uni.ga.programme, 2, "PHY102", "Физика", credits=4)
    item(uni.ga.programme, 3, "HIS201", "История Казахстана", credits=3)
    order = transfer_tests.draft(uni, "transfer_in", [])
    add_incoming(order, transfer_in_tests.incoming(uni.ga), uni.clerk)
    return order


def transfer_out(uni, make):
    return transfer_out_tests.draft(uni, [make.student(uni.ga), make.student(uni.gb, funding="paid")])


BUILDERS = [
    expulsion,
    funding_change,
    personal_data,
    academic_leave,
    leave_return,
    promotion,
    repeat_year,
    restoration,
    transfer_within,
    transfer_in,
    transfer_out,
]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda build: build.__name__)
def test_revocation_restores_every_students_record(build, uni, make):
    order = build(uni, make)
    assert order.lines and all(line.eligible for line in order.lines), [line.eligibility for line in order.lines]
    revoke_and_check(order, uni)


# The reversal of an expulsion, in detail ------------------------------------------------------------------------


def test_revoked_expulsion_restores_the_exact_record_and_history_answers_for_every_date(uni, make):
    student = make.student(uni.ga, funding="grant")
    student.status_since = date(2025, 9, 1)
    expelled = signed(make.order(uni.clerk, [student], reason="own_request", effective_date="2026-12-01"), uni)
    assert (student.status, student.funding, student.expulsion_reason) == ("expelled", "none", "own_request")

    revocation = revoke(expelled, uni, effective_date=date(2027, 1, 15))
    (line,) = revocation.lines
    assert line.params == {"item": 1, "target_line_id": expelled.lines[0].id}
    assert str(line.effective_date) == "2027-01-15"
    assert operations.effects_preview(revocation)[line.id] == {
        "status": ["expelled", "active"],
        "funding": ["none", "grant"],
        "expulsion_reason": ["own_request", None],
        "status_since": ["2026-12-01", "2025-09-01"],
    }
    signed(revocation, uni)

    assert (student.status, student.funding, student.expulsion_reason, student.status_since) == (
        "active",
        "grant",
        None,
        date(2025, 9, 1),
    )
    movements = list(
        db.session.scalars(
            select(StudentMovement).where(StudentMovement.student_id == student.id).order_by(StudentMovement.id)
        )
    )
    assert [(m.kind, m.order_label, str(m.effective_date)) for m in movements] == [
        ("expulsion", expelled.number_label, "2026-12-01"),
        ("revocation", revocation.number_label, "2027-01-15"),
    ]
    assert movements[1].changes["status"] == ["expelled", "active"]
    # As known now the expulsion never was; as known before the revocation it was, from its effective date.
    for day, status, funding, reason in (
        (date(2026, 11, 30), "active", "grant", None),
        (date(2026, 12, 15), "active", "grant", None),
        (date(2027, 2, 1), "active", "grant", None),
    ):
        record = record_on(student, day)
        assert (record["status"], record["funding"], record["expulsion_reason"]) == (status, funding, reason), day
    for day, status, funding, reason in (
        (date(2026, 11, 30), "active", "grant", None),
        (date(2026, 12, 15), "expelled", "none", "own_request"),
        (date(2027, 2, 1), "expelled", "none", "own_request"),
    ):
        record = record_on(student, day, known_on=expelled.signed_at)
        assert (record["status"], record["funding"], record["expulsion_reason"]) == (status, funding, reason), day
    assert (expelled.superseded_as, expelled.superseded_by_id) == ("revoked", revocation.id)
    assert revocation.target_order_id == expelled.id
    assert revocation.route_name == "legal"
    assert revocation.title == (
        f"Об отмене приказа № {expelled.number_label} от {expelled.order_date:%d.%m.%Y} «Об отчислении обучающихся»"
    )


def test_revocation_takes_effect_no_earlier_than_the_revoked_item(uni, make):
    expelled = signed(make.order(uni.clerk, [make.student(uni.ga)], effective_date="2027-03-01"), uni)
    revocation = revoke(expelled, uni, effective_date=date(2026, 12, 1))
    assert str(revocation.lines[0].effective_date) == "2027-03-01"


def test_amendment_excludes_one_item_and_leaves_the_other(uni, make):
    kept, excluded = make.student(uni.ga, surname="Абенова"), make.student(uni.gb, surname="Булатов")
    before = snapshot(excluded)
    order = signed(make.order(uni.clerk, [kept, excluded]), uni)
    amendment = draft_correction("amendment", uni.clerk, order.number_label, "Решение суда", exclude="2")
    assert [(line.student_id, line.params["item"]) for line in amendment.lines] == [(excluded.id, 2)]
    signed(amendment, uni)
    assert snapshot(excluded) == before
    assert kept.status == "expelled"
    assert (order.superseded_as, order.superseded_by_id) == ("amended", amendment.id)
    text = document_text(amendment)
    assert (
        f"Внести изменения в приказ № {order.number_label} от {order.order_date:%d.%m.%Y} «Об отчислении "
        f"обучающихся», исключив пункт 2 в отношении обучающегося "
    ) in text
    assert "Булатова Нурлана Сериковича (ИИН" in text
    assert (
        "бұйрығына өзгерістер енгізілсін, 2-тармақ алып тасталсын: " in text and "Булатов Нурлан Серикович (ЖСН" in text
    )


@pytest.mark.parametrize(
    ("exclude", "message"),
    [
        ("", "Choose the items of the order to exclude, e.g. 1, 3."),
        ("3", "The order has items 1 to 2; 3 is not one of them."),
        ("1, x", "The order has items 1 to 2; x is not one of them."),
    ],
)
def test_amendment_names_existing_items(exclude, message, uni, make):
    order = signed(make.order(uni.clerk, [make.student(uni.ga), make.student(uni.ga)]), uni)
    with pytest.raises(InvalidInput) as error:
        draft_correction("amendment", uni.clerk, order.number_label, "Суд", exclude=exclude)
    assert error.value.errors == {"exclude": message}


# Rules ----------------------------------------------------------------------------------------------------------


def test_a_later_movement_blocks_the_revocation_and_is_named(uni, make):
    student = make.student(uni.ga, surname="Иванова", name="Анна")
    first = operations.create_order("personal_data", uni.clerk, {"effective_date": "2026-12-01", "basis": "Заявление"})
    operations.add_students(first, [student.id], uni.clerk)
    operations.update_line(first, first.lines[0].id, {**MARRIAGE, "surname": "Сидорова"}, uni.clerk)
    signed(first, uni)
    take_effect_by("2026-12-01")
    renamed = operations.create_order(
        "personal_data", uni.clerk, {"effective_date": "2026-12-10", "basis": "Заявление"}
    )
    operations.add_students(renamed, [student.id], uni.clerk)
    line = operations.update_line(renamed, renamed.lines[0].id, {**MARRIAGE, "surname": "Петрова"}, uni.clerk)
    assert line.eligible
    signed(renamed, uni)
    take_effect_by("2026-12-10")

    revocation = revoke(first, uni)
    (line,) = revocation.lines
    with pytest.raises(InvalidInput) as error:
        operations.override_line(revocation, line.id, "Суд отменил приказ полностью", uni.registrar)
    assert error.value.errors["justification"].startswith("This rule cannot be waived: Петрова Анна")
    assert line.eligibility == [
        {
            "rule": "revocation.later_movement",
            "message": f"Петрова Анна Сериковна has a later movement: order {renamed.number_label} (change of personal "
            f"data, effective 10.12.2026) came after order {first.number_label}. Revoke order "
            f"{renamed.number_label} first.",
            "data": {
                "order_label": renamed.number_label,
                "kind": "personal_data",
                "movement_id": line.eligibility[0]["data"]["movement_id"],
            },
            "absolute": True,
        }
    ]


def test_a_revoked_order_cannot_be_revoked_again(uni, make):
    order = signed(make.order(uni.clerk, [make.student(uni.ga)]), uni)
    revocation = signed(revoke(order, uni), uni)
    with pytest.raises(InvalidInput) as error:
        revoke(order, uni)
    assert error.value.errors == {
        "target": f"Order {order.number_label} is already revoked by order "
        f"{revocation.number_label}; it cannot be corrected again."
    }
    with pytest.raises(InvalidInput) as error:
        draft_correction("amendment", uni.clerk, order.number_label, "Суд", exclude="1")
    assert "already revoked" in error.value.errors["target"]


def test_a_revocation_itself_cannot_be_revoked(uni, make):
    order = signed(make.order(uni.clerk, [make.student(uni.ga)]), uni)
    revocation = signed(revoke(order, uni), uni)
    with pytest.raises(InvalidInput) as error:
        revoke(revocation, uni)
    assert error.value.errors["target"] == (
        f"Order {revocation.number_label} is itself a correction of order {order.number_label} and cannot be "
        f"revoked or amended; to restore what it undid, draft that measure again as a new order."
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "Name the signed order to correct: its number (e.g. 12-С) or its id (e.g. #57)."),
        ("99-С", "There is no signed order number 99-С."),
        ("#999999", "There is no order with id 999999."),
    ],
)
def test_the_target_must_exist(target, message, uni):
    with pytest.raises(InvalidInput) as error:
        draft_correction("revocation", uni.clerk, target, "Основание")
    assert error.value.errors == {"target": message}


def test_a_draft_cannot_be_revoked(uni, make):
    draft = make.order(uni.clerk, [make.student(uni.ga)])
    with pytest.raises(InvalidInput) as error:
        draft_correction("revocation", uni.clerk, draft, "Основание")
    assert error.value.errors["target"] == (
        f"Order #{draft.id} is not signed (draft): only a signed order is "
        "revoked or amended; a draft is edited or withdrawn instead."
    )


def test_two_open_orders_for_the_same_student_conflict(uni, make):
    student = make.student(uni.ga)
    order = signed(make.order(uni.clerk, [student]), uni)
    first = revoke(order, uni)
    second = revoke(order, uni)
    assert [r["rule"] for r in second.lines[0].eligibility] == ["line.open_order"]
    assert second.lines[0].eligibility[0]["data"]["order_id"] == first.id


def test_a_student_added_by_hand_is_not_an_item_of_the_target(uni, make):
    order = signed(make.order(uni.clerk, [make.student(uni.ga)]), uni)
    revocation = revoke(order, uni)
    stranger = make.student(uni.ga, surname="Чужой", name="Студент")
    (line,) = operations.add_students(revocation, [stranger.id], uni.clerk)
    assert [r["rule"] for r in line.eligibility] == ["revocation.not_in_target"]
    assert line.eligibility[0]["message"].startswith(
        f"Чужой Студент Серикович is not an item of order {order.number_label}"
    )


# The document ---------------------------------------------------------------------------------------------------


def test_revocation_document_wording_in_russian_and_kazakh(uni, make):
    order = signed(make.order(uni.clerk, [make.student(uni.ga, surname="Сапарова", name="Айгерим")]), uni)
    revocation = signed(revoke(order, uni), uni)
    text = document_text(revocation)
    when = f"{order.order_date:%d.%m.%Y}"
    assert (
        f"Отменить приказ № {order.number_label} от {when} «Об отчислении обучающихся» в части пункта 1 в отношении "
        "обучающейся "
    ) in text
    assert "Сапаровой Айгерим Сериковны (ИИН" in text
    assert (
        f"{when} ж. № {order.number_label} «Білім алушыларды оқудан шығару туралы» бұйрығының 1-тармағының "
        "күші жойылсын: "
    ) in text
    assert "Сапарова Айгерим Сериковна (ЖСН" in text


# The UI and the API ---------------------------------------------------------------------------------------------


def test_clerk_revokes_from_the_signed_orders_page(client, uni, make):
    order = signed(make.order(uni.clerk, [make.student(uni.ga), make.student(uni.ga, surname="Булатов")]), uni)
    login(client, uni.dean_a)
    assert 'data-testid="corrections"' not in client.get(f"/orders/{order.id}").get_data(as_text=True)
    login(client, uni.clerk)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="revoke"' in page and 'data-testid="amend"' in page
    form = client.get(f"/orders/new/amendment?target=%23{order.id}&exclude=2").get_data(as_text=True)
    assert f'value="#{order.id}"' in form and 'value="2"' in form
    assert f"Order {order.number_label} of {order.order_date:%d.%m.%Y}" in form
    response = client.post(
        "/orders/new/amendment",
        data={"target": f"#{order.id}", "exclude": "2", "title": "", "effective_date": "", "basis": "Решение суда"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    amendment = db.session.scalars(select(Order).where(Order.kind == "amendment")).one()
    assert [line.params["item"] for line in amendment.lines] == [2]
    page = client.get(f"/orders/{amendment.id}").get_data(as_text=True)
    assert 'data-testid="target-order"' in page and order.number_label in page

    response = client.post(
        "/orders/new/revocation", data={"target": "77-С", "title": "", "effective_date": "", "basis": "Представление"}
    )
    assert response.status_code == 400
    assert "There is no signed order number 77-С." in response.get_data(as_text=True)


def test_superseded_order_page_shows_the_marker_and_no_correction_actions(client, uni, make):
    order = signed(make.order(uni.clerk, [make.student(uni.ga)]), uni)
    revocation = signed(revoke(order, uni), uni)
    login(client, uni.clerk)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="superseded"' in page and revocation.number_label in page
    assert 'data-testid="corrections"' not in page


def test_api_drafts_a_revocation_with_its_lines(client, uni, make):
    order = signed(make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)]), uni)
    headers = {"Authorization": f"Bearer {issue_token(uni.clerk)}"}
    db.session.commit()  # releases the test's SAVEPOINT only: the rows survive an API error's rollback
    response = client.post(
        "/api/v1/orders",
        headers=headers,
        json={"kind": "revocation", "basis": "Представление юриста", "params": {"target": order.number_label}},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "revocation"
    assert [line["params"]["item"] for line in body["lines"]] == [1, 2]
    assert all(line["eligible"] for line in body["lines"])
    assert body["lines"][0]["preview"]["status"] == ["expelled", "active"]

    response = client.post(
        "/api/v1/orders",
        headers=headers,
        json={"kind": "amendment", "basis": "Суд", "params": {"target": order.number_label, "exclude": "9"}},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"]["params.exclude"] == "The order has items 1 to 2; 9 is not one of them."


# Payments change no record: they neither block a reversal nor other orders -------------------------------------


def test_a_later_payment_does_not_block_revoking_the_movement_before_it(uni, make):
    from tests.orders.test_travel_compensation import draft as travel_draft

    renamed = personal_data(uni, make)
    student = renamed.lines[0].student
    before = {student.id: snapshot(student)}
    signed(renamed, uni)
    signed(travel_draft(uni, [student], effective_date="2027-01-20"), uni)
    revocation = revoke_and_check(renamed, uni, before=before)
    assert revocation.state == "signed"


def test_an_open_payment_order_does_not_block_an_expulsion_of_the_same_student(uni, make):
    from tests.orders.test_travel_compensation import draft as travel_draft

    student = make.student(uni.ga, funding="grant")
    travel = travel_draft(uni, [student])
    assert travel.lines[0].eligible
    expulsion_order = make.order(uni.clerk, [student])
    assert expulsion_order.lines[0].eligible, expulsion_order.lines[0].eligibility
