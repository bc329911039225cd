"""The web UI through the test client: the whole expulsion flow, scoping by faculty, the inbox, bad input."""

import re

import pytest
from sqlalchemy import func, select

from core.db import db
from orders.models import Order, OrderLine
from students.models import StudentMovement
from tests.builders import docx_text
from tests.conftest import login
from workflow.engine import fire
from workflow.models import AuditEvent, Visa


@pytest.fixture
def u(uni, make):
    """The university of `uni`, its users reading the UI in English, plus a dean of a faculty in no order."""
    uni.fc = make.faculty("FC")
    uni.dean_c = make.user("dean", uni.fc, username="dean_c")
    for user in (
        uni.clerk,
        uni.dean_a,
        uni.dean_b,
        uni.dean_c,
        uni.rector,
        uni.registrar,
        uni.lawyer,
        uni.finance,
        uni.admin,
    ):
        user.language = "en"
    db.session.flush()
    return uni


def page(response) -> str:
    return response.get_data(as_text=True)


def fresh(obj):
    db.session.refresh(obj)
    return obj


def order_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Order))


def line_count(order_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order_id))


def press(client, order_id: int, trigger: str, comment: str = ""):
    """Press an action button on the order page: it must be offered; the form posts the version it showed."""
    html = page(client.get(f"/orders/{order_id}"))
    assert f'data-trigger="{trigger}"' in html, f"no {trigger} button on the order page"
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    return client.post(f"/orders/{order_id}/fire/{trigger}", data={"version": version, "comment": comment})


def inbox_count(html: str) -> int:
    return int(re.search(r'data-testid="inbox-count">(\d+)<', html).group(1))


def draft(client, basis="Заявления обучающихся", effective_date="2026-12-01", reason="own_request"):
    response = client.post(
        "/orders/new/expulsion", data={"title": "", "reason": reason, "effective_date": effective_date, "basis": basis}
    )
    return response


# The whole flow ---------------------------------------------------------------------------------------------


def test_clerk_deans_registrar_lawyer_and_rector_complete_an_expulsion_in_the_browser(client, u, make):
    a = make.student(u.ga, surname="Абенова", name="Дана")
    b = make.student(u.ga, surname="Булатов", name="Ерлан")
    c = make.student(u.gb, surname="Ценко", name="Ольга", funding="paid")

    login(client, u.clerk)
    assert client.get("/orders/new/expulsion").status_code == 200
    created = draft(client)
    assert created.status_code == 302
    order_id = int(re.search(r"/orders/(\d+)$", created.headers["Location"]).group(1))
    shown = page(client.get(f"/orders/{order_id}"))
    assert "Draft created" in shown and "Заявления обучающихся" in shown

    found = page(client.get(f"/orders/{order_id}", query_string={"q": "Абенова"}))
    assert f'name="student_id" value="{a.id}"' in found and f'value="{b.id}"' not in found
    added = client.post(
        f"/orders/{order_id}/lines", data={"student_id": [str(a.id), str(b.id)], "iins": c.iin}, follow_redirects=True
    )
    assert "3 students added." in page(added)
    assert page(added).count("✓ eligible") == 3
    assert line_count(order_id) == 3

    assert press(client, order_id, "submit").status_code == 302
    order = fresh(db.session.get(Order, order_id))
    assert order.state == "review_dean"

    for dean in (u.dean_a, u.dean_b):
        login(client, dean)
        assert f"/orders/{order_id}" in page(client.get("/inbox"))
        approved = press(client, order_id, "approve", comment="Согласовано")
        assert approved.status_code == 302 and approved.headers["Location"].endswith("/inbox")
    assert fresh(order).state == "review_registrar"

    for approver, after in ((u.registrar, "review_lawyer"), (u.lawyer, "awaiting_signature")):
        login(client, approver)
        assert f"/orders/{order_id}" in page(client.get("/inbox"))
        approved = press(client, order_id, "approve", comment="Согласовано")
        assert approved.status_code == 302 and approved.headers["Location"].endswith("/inbox")
        assert fresh(order).state == after

    login(client, u.rector)
    signed = press(client, order_id, "sign")
    assert signed.status_code == 302
    assert "Done: the order is now “signed”." in page(client.get("/inbox"))
    assert fresh(order).state == "signed"
    label = order.number_label
    assert label == "1-С"

    for student in (a, b, c):
        html = page(client.get(f"/students/{student.id}"))
        assert 'class="status expelled" data-testid="student-status"' in html
        assert label in html and "01.12.2026" in html
        assert (
            len(db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id)).all()) == 1
        )

    order_page = page(client.get(f"/orders/{order_id}"))
    assert f'data-testid="order-number">{label}<' in order_page
    assert 'class="state signed"' in order_page
    assert 'data-trigger="' not in order_page, "a signed order offers no actions"

    download = client.get(f"/orders/{order_id}/document.docx")
    assert download.status_code == 200
    assert download.data[:2] == b"PK"
    assert "wordprocessingml" in download.headers["Content-Type"]
    text = docx_text(download.data)
    assert label in text
    for student in (a, b, c):
        assert student.iin in text
    for person in (u.dean_a, u.dean_b, u.registrar, u.lawyer, u.rector):
        assert person.full_name in text, "the approval sheet names everyone who gave a visa or signed"


# Faculty scope --------------------------------------------------------------------------------------------------


def test_dean_of_another_faculty_gets_403_on_page_fire_and_document(client, u, make):
    student = make.student(u.ga)
    order = make.order(u.clerk, [student])
    fire(order, "submit", u.clerk)
    login(client, u.dean_b)
    assert client.get(f"/orders/{order.id}").status_code == 403
    assert client.post(f"/orders/{order.id}/fire/approve", data={"comment": ""}).status_code == 403
    assert client.post(f"/orders/{order.id}/fire/reject", data={"comment": "Не наш"}).status_code == 403
    assert client.get(f"/orders/{order.id}/document.docx").status_code == 403
    assert client.get(f"/students/{student.id}").status_code == 403
    assert f"/orders/{order.id}" not in page(client.get("/orders/"))
    assert fresh(order).state == "review_dean"
    assert db.session.scalar(select(func.count()).select_from(Visa).where(Visa.order_id == order.id)) == 0


def test_dean_sees_only_own_faculty_lines_of_a_two_faculty_order(client, u, make):
    own = make.student(u.ga, surname="Свой", name="Студент")
    other = make.student(u.gb, surname="Чужой", name="Студент")
    order = make.order(u.clerk, [own, other])
    fire(order, "submit", u.clerk)
    login(client, u.dean_a)
    html = page(client.get(f"/orders/{order.id}"))
    assert own.iin in html and "Свой" in html
    assert other.iin not in html and "Чужой" not in html
    assert "and 1 of other faculties" in html
    login(client, u.clerk)
    html = page(client.get(f"/orders/{order.id}"))
    assert own.iin in html and other.iin in html


def test_inbox_lists_the_order_only_while_it_waits_for_that_person(client, u, make):
    order = make.order(u.clerk, [make.student(u.ga), make.student(u.gb)])
    link = f'href="/orders/{order.id}"'

    def inbox_of(user) -> tuple[bool, int]:
        login(client, user)
        html = page(client.get("/inbox"))
        return link in html, inbox_count(html)

    assert inbox_of(u.dean_a) == (False, 0)  # a draft waits for nobody
    fire(order, "submit", u.clerk)
    assert inbox_of(u.dean_a) == (True, 1)
    assert inbox_of(u.dean_b) == (True, 1)
    assert inbox_of(u.dean_c) == (False, 0)
    assert inbox_of(u.registrar) == (False, 0)
    assert inbox_of(u.rector) == (False, 0)

    login(client, u.dean_a)
    assert press(client, order.id, "approve").status_code == 302
    assert inbox_of(u.dean_a) == (False, 0)
    assert inbox_of(u.registrar) == (False, 0)
    assert inbox_of(u.dean_b) == (True, 1)
    assert press(client, order.id, "approve").status_code == 302  # dean_b is signed in now
    assert inbox_of(u.dean_b) == (False, 0)
    assert inbox_of(u.lawyer) == (False, 0)
    assert inbox_of(u.registrar) == (True, 1)
    assert press(client, order.id, "approve").status_code == 302  # the registrar is signed in now
    assert inbox_of(u.registrar) == (False, 0)
    assert inbox_of(u.rector) == (False, 0)
    assert inbox_of(u.lawyer) == (True, 1)
    assert press(client, order.id, "approve").status_code == 302  # the lawyer is signed in now
    assert inbox_of(u.lawyer) == (False, 0)
    assert inbox_of(u.finance) == (False, 0)
    assert inbox_of(u.rector) == (True, 1)
    assert press(client, order.id, "sign").status_code == 302
    assert inbox_of(u.rector) == (False, 0)


# Bad input changes nothing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("basis", "", "Name the basis of the order (applications, submissions, certificates)."),
        ("basis", "   ", "Name the basis of the order (applications, submissions, certificates)."),
        ("effective_date", "2026-13-45", "Give the effective date as YYYY-MM-DD."),
        ("effective_date", "", "Give the effective date as YYYY-MM-DD."),
        ("effective_date", "01.12.2026", "Give the effective date as YYYY-MM-DD."),
        (
            "reason",
            "pay_me",
            "Choose one of the reasons: own request (own_request), academic failure (academic_failure),",
        ),
    ],
)
def test_create_with_bad_input_rerenders_the_form_with_the_error(client, u, field, value, message):
    login(client, u.clerk)
    before = order_count()
    data = {"title": "", "reason": "own_request", "effective_date": "2026-12-01", "basis": "Заявления"}
    data[field] = value
    response = client.post("/orders/new/expulsion", data=data)
    assert response.status_code == 400
    html = page(response)
    assert 'class="field-error" role="alert"' in html and message in html
    if field != "basis":
        assert "Заявления</textarea>" in html, "the other fields keep what the clerk typed"
    assert order_count() == before


@pytest.mark.parametrize("iins", ["850714300907", "12345", "abc"])
def test_add_by_unknown_or_bad_iin_names_it_and_adds_nothing(client, u, make, iins):
    order = make.order(u.clerk, [])
    login(client, u.clerk)
    response = client.post(f"/orders/{order.id}/lines", data={"iins": iins}, follow_redirects=True)
    assert f"No student with IIN {iins}." in page(response)
    assert line_count(order.id) == 0


def test_one_bad_iin_among_good_ones_adds_none_of_them(client, u, make):
    good = make.student(u.ga)
    order = make.order(u.clerk, [])
    login(client, u.clerk)
    response = client.post(
        f"/orders/{order.id}/lines", data={"iins": f"{good.iin}, 850714300907"}, follow_redirects=True
    )
    assert "No student with IIN 850714300907." in page(response)
    assert line_count(order.id) == 0


def test_add_unknown_student_id_says_so_and_adds_nothing(client, u, make):
    order = make.order(u.clerk, [])
    login(client, u.clerk)
    response = client.post(f"/orders/{order.id}/lines", data={"student_id": "987654321"}, follow_redirects=True)
    assert "Unknown student id: 987654321." in page(response)
    assert line_count(order.id) == 0
    response = client.post(f"/orders/{order.id}/lines", data={}, follow_redirects=True)
    assert "Choose at least one student." in page(response)


def test_ineligible_student_is_added_with_the_reason_shown(client, u, make):
    graduated = make.student(u.ga, status="graduated")
    order = make.order(u.clerk, [])
    login(client, u.clerk)
    html = page(client.post(f"/orders/{order.id}/lines", data={"iins": graduated.iin}, follow_redirects=True))
    assert 'data-rule="expulsion.status"' in html
    assert "only active students or students on academic leave can be expelled" in html
    response = press(client, order.id, "submit")
    assert response.status_code == 302
    assert "only active students" in page(client.get(f"/orders/{order.id}"))
    assert fresh(order).state == "draft"


def test_return_without_comment_is_refused_and_changes_nothing(client, u, make):
    order = make.order(u.clerk, [make.student(u.ga)])
    fire(order, "submit", u.clerk)
    login(client, u.dean_a)
    response = client.post(f"/orders/{order.id}/fire/return", data={"comment": "  "}, follow_redirects=True)
    assert "A comment is required to return or reject an order." in page(response)
    order = fresh(order)
    assert order.state == "review_dean"
    assert db.session.scalar(select(func.count()).select_from(Visa).where(Visa.order_id == order.id)) == 0
    assert [e.trigger for e in db.session.scalars(select(AuditEvent).where(AuditEvent.order_id == order.id))] == [
        "submit"
    ]

    response = press(client, order.id, "return", comment="Приложите заявление")
    assert response.status_code == 302
    assert fresh(order).state == "draft"


def test_stale_form_is_refused(client, u, make):
    order = make.order(u.clerk, [make.student(u.ga)])
    fire(order, "submit", u.clerk)
    login(client, u.dean_a)
    response = client.post(
        f"/orders/{order.id}/fire/approve", data={"version": str(order.version - 1)}, follow_redirects=True
    )
    assert "The order has changed since you opened it" in page(response)
    assert fresh(order).state == "review_dean"


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, u, make):
    order = make.order(u.clerk, [make.student(u.ga)])
    login(client, u.clerk)
    before = order_count()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/orders/{order.id}/fire/submit", data={"version": str(order.version)})
        assert refused.status_code == 400
        assert "The form has expired or was not sent from this site" in page(refused)
        assert fresh(order).state == "draft"

        assert (
            client.post(
                "/orders/new/expulsion",
                data={"reason": "own_request", "effective_date": "2026-12-01", "basis": "Заявления"},
            ).status_code
            == 400
        )
        assert client.post(f"/orders/{order.id}/lines/{order.lines[0].id}/delete").status_code == 400
        assert order_count() == before and line_count(order.id) == 1

        # The same button with the token the page gave works: it was the missing token that was refused.
        html = page(client.get(f"/orders/{order.id}"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        accepted = client.post(
            f"/orders/{order.id}/fire/submit", data={"version": str(fresh(order).version), "csrf_token": token}
        )
        assert accepted.status_code == 302
        assert fresh(order).state == "review_dean"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# Signing in, language, phones -------------------------------------------------------------------------------------


def test_wrong_password_is_refused_with_a_message(client, u):
    response = client.post("/login", data={"username": u.clerk.username, "password": "wrong"})
    assert response.status_code == 400
    assert "Wrong username or password." in page(response)
    after = client.get("/orders/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]

    response = client.post("/login", data={"username": "nobody", "password": "secret"})
    assert response.status_code == 400 and "Wrong username or password." in page(response)


def test_login_and_logout(client, u):
    login(client, u.clerk)
    assert client.get("/orders/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/orders/").status_code == 302


def test_language_switch_to_kazakh(client, u):
    login(client, u.clerk)
    assert '<html lang="en">' in page(client.get("/orders/"))
    assert client.post("/language/kk").status_code == 302
    assert '<html lang="kk">' in page(client.get("/orders/"))
    assert fresh(u.clerk).language == "kk", "the choice is kept for the next sign-in"
    client.post("/language/ru")
    assert '<html lang="ru">' in page(client.get("/orders/"))


def test_language_switch_before_signing_in(client):
    assert '<html lang="en">' in page(client.get("/login"))
    assert client.post("/language/kk").status_code == 302
    assert '<html lang="kk">' in page(client.get("/login"))


@pytest.mark.parametrize("path", ["/login", "/orders/", "/inbox", "/students/"])
def test_pages_fit_a_phone(client, u, path):
    if path != "/login":
        login(client, u.clerk)
    html = page(client.get(path))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_students_are_found_by_name_in_any_case_by_iin_or_by_group(client, u, make):
    kazakh = make.student(u.ga, surname="Әбілқасымова", name="Жанар")
    russian = make.student(u.gb, surname="Ёлкин", name="Иван")
    login(client, u.clerk)

    def found(q: str) -> set[int]:
        html = page(client.get("/students/", query_string={"q": q}))
        return {s.id for s in (kazakh, russian) if s.iin in html}

    assert found("әбілқасымова") == {kazakh.id}
    assert found("ӘБІЛҚАСЫМОВА ЖАНАР") == {kazakh.id}
    assert found("ёлкин") == {russian.id}
    assert found(kazakh.iin) == {kazakh.id}
    assert found(u.gb.name) == {russian.id}
    assert found("Петров") == set()

    login(client, u.dean_a)  # a dean finds only students of own faculty
    assert found("ёлкин") == set()
    assert found("жанар") == {kazakh.id}
