"""The admin's user pages: create, roles and faculty, deactivate and reactivate, reset a password (the user must then
choose a new one), the password policy, and every change in the audit log."""

import pytest
from sqlalchemy import select

from core.db import db
from core.models import User, issue_token, user_for_token
from core.users import password_problem
from registrar.cli import main
from tests.conftest import login
from workflow.models import AuditEvent


def _events(user: User) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.subject == f"user:{user.id}").order_by("id")))


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1", "at least 10 characters"),
        ("12345678901", "not only digits"),
        ("my-aigerim-pass", "must not contain the username"),
        ("Password123", "most common"),
        ("три слова вместе", None),
    ],
)
def test_the_password_policy(app, password, problem):
    with app.test_request_context():
        found = password_problem(password, "aigerim")
    assert (found is None) if problem is None else (problem in found)


def test_an_admin_creates_a_user_who_must_choose_a_password_at_first_sign_in(client, uni):
    login(client, uni.admin)
    page = client.get("/admin/users/new")
    assert page.status_code == 200 and "At least 10 characters" in page.get_data(as_text=True)
    weak = client.post(
        "/admin/users/new",
        data={"username": "aigerim", "full_name": "Сейтова Айгерим", "roles": ["dean"], "password": "aigerim12345"},
    )
    html = weak.get_data(as_text=True)
    assert weak.status_code == 400 and "A dean needs a faculty." in html
    weak = client.post(
        "/admin/users/new",
        data={"username": "aigerim", "full_name": "Сейтова Айгерим", "roles": ["clerk"], "password": "aigerim12345"},
    )
    assert weak.status_code == 400 and "must not contain the username" in weak.get_data(as_text=True)
    created = client.post(
        "/admin/users/new",
        data={
            "username": "aigerim",
            "full_name": "Сейтова Айгерим",
            "roles": ["dean", "clerk"],
            "faculty_id": str(uni.fa.id),
            "email": "aigerim@uni.kz",
            "password": "temporary-pass-7",
        },
    )
    assert created.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "aigerim"))
    assert user.roles == {"dean", "clerk"} and user.faculty_id == uni.fa.id and user.must_change_password
    [event] = _events(user)
    assert (event.action, event.actor_id, event.data["roles"]) == ("user.created", uni.admin.id, ["clerk", "dean"])
    user.language = "en"  # the test reads English pages
    db.session.commit()

    signed_in = client.post("/logout") and client.post(
        "/login", data={"username": "aigerim", "password": "temporary-pass-7"}
    )
    assert signed_in.headers["Location"].endswith("/password")
    assert client.get("/orders/").headers["Location"].endswith("/password")  # nothing else until the change
    refused = client.post(
        "/password", data={"current": "temporary-pass-7", "new": "1234567890", "confirm": "1234567890"}
    )
    assert refused.status_code == 400 and "not only digits" in refused.get_data(as_text=True)
    changed = client.post(
        "/password",
        data={"current": "temporary-pass-7", "new": "степь и горы 2026", "confirm": "степь и горы 2026"},
    )
    assert changed.status_code == 302
    db.session.expire_all()
    assert not user.must_change_password and user.check_password("степь и горы 2026")
    assert client.get("/orders/").status_code == 200
    assert [e.action for e in _events(user)] == ["user.created", "user.password_changed"]


def test_roles_faculty_deactivation_and_reset_are_audited(client, uni):
    dean = uni.dean_a
    token = issue_token(dean)
    login(client, uni.admin)
    assert uni.dean_a.username in client.get("/admin/users").get_data(as_text=True)
    edited = client.post(
        f"/admin/users/{dean.id}",
        data={"full_name": "Новый Декан", "roles": ["dean", "registrar"], "faculty_id": str(uni.fb.id)},
    )
    assert edited.status_code == 302
    db.session.expire_all()
    assert dean.roles == {"dean", "registrar"} and dean.faculty_id == uni.fb.id and dean.full_name == "Новый Декан"

    assert client.post(f"/admin/users/{dean.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert not dean.is_active_user and user_for_token(token) is None
    assert client.post(f"/admin/users/{dean.id}/reactivate").status_code == 302
    weak = client.post(f"/admin/users/{dean.id}/password", data={"password": "qwerty"})
    assert weak.status_code == 400 and "at least 10 characters" in weak.get_data(as_text=True)
    assert client.post(f"/admin/users/{dean.id}/password", data={"password": "new-temporary-9"}).status_code == 302
    db.session.expire_all()
    assert dean.is_active_user and dean.must_change_password and dean.check_password("new-temporary-9")
    events = _events(dean)
    assert [e.action for e in events] == [
        "user.updated",
        "user.deactivated",
        "user.reactivated",
        "user.password_reset",
    ]
    assert events[0].data["changed"]["roles"] == [["dean"], ["dean", "registrar"]]
    assert all(e.actor_id == uni.admin.id and e.order_id is None for e in events)


def test_an_admin_cannot_lock_themselves_out(client, uni):
    login(client, uni.admin)
    client.post(f"/admin/users/{uni.admin.id}/deactivate")
    kept = client.post(f"/admin/users/{uni.admin.id}", data={"full_name": "Admin", "roles": ["clerk"]})
    db.session.expire_all()
    assert uni.admin.is_active_user and uni.admin.has_role("admin")
    assert "You cannot remove your own admin role." in kept.get_data(as_text=True)


def test_the_cli_applies_the_password_policy(cli_app):
    app, runner = cli_app
    weak = runner.invoke(main, ["create-user", "bolat", "--password", "bolat", "--full-name", "B", "--role", "clerk"])
    assert weak.exit_code != 0 and "at least 10 characters" in weak.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "bolat")) is None
