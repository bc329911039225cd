"""Signing out ends the session at once (a copied cookie stops working too); deactivating a user ends every session
and revokes every token; tokens expire, record their last use, and are listed and revoked from the CLI."""

from datetime import timedelta

from sqlalchemy import select

from core.db import db, utcnow
from core.models import ApiToken, issue_token, user_for_token
from registrar.cli import main
from tests.conftest import login


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def test_a_session_cookie_copied_before_sign_out_no_longer_works(app, client, make):
    user = make.user("clerk", username="clerk_out")
    login(client, user)
    copied = cookie_of(client)
    assert client.get("/orders/").status_code == 200
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/orders/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_deactivation_ends_sessions_and_tokens_at_once(app, client, make):
    user = make.user("dean", make.faculty("FX"), username="dean_gone")
    login(client, user)
    token = issue_token(user, name="faculty dashboard")
    db.session.flush()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/orders", headers=headers).status_code == 200
    result = app.test_cli_runner().invoke(main, ["deactivate-user", "dean_gone"])
    assert result.exit_code == 0, result.output
    assert client.get("/inbox").status_code == 302  # the open browser session is over
    assert client.get("/api/v1/orders", headers=headers).status_code == 401
    assert client.post("/login", data={"username": "dean_gone", "password": "secret"}).status_code == 400


def test_tokens_expire_record_their_use_and_are_revoked_from_the_cli(app, client, make):
    user = make.user("clerk", username="clerk_api")
    token = issue_token(user, name="student card printer", days=30)
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.last_used_at is None and row.state == "active"
    assert (
        timedelta(days=29) < row.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None) <= timedelta(days=30)
    )
    assert user_for_token(token) == user and row.last_used_at is not None

    runner = app.test_cli_runner()
    listed = runner.invoke(main, ["tokens", "clerk_api"]).output
    assert f"{row.id}\tclerk_api\tstudent card printer\t" in listed and listed.rstrip().endswith("active")
    assert runner.invoke(main, ["revoke-token", str(row.id)]).exit_code == 0
    assert user_for_token(token) is None
    assert runner.invoke(main, ["tokens", "clerk_api"]).output.rstrip().endswith("revoked")

    old = issue_token(user, name="old")
    db.session.scalar(select(ApiToken).where(ApiToken.name == "old")).expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert user_for_token(old) is None
    response = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401


def test_the_admin_lists_and_revokes_tokens_on_a_page(client, uni, make):
    issue_token(uni.clerk, name="timetable sync")
    db.session.flush()
    row = db.session.scalar(select(ApiToken).where(ApiToken.name == "timetable sync"))
    for user in (uni.clerk, uni.registrar, uni.rector):
        login(client, user)
        assert client.get("/admin/tokens").status_code == 403
        assert client.post(f"/admin/tokens/{row.id}/revoke").status_code == 403
    login(client, uni.admin)
    page = client.get("/admin/tokens").text
    assert "timetable sync" in page and uni.clerk.full_name in page and "works" in page
    done = client.post(f"/admin/tokens/{row.id}/revoke", follow_redirects=True)
    assert done.status_code == 200 and "is revoked" in done.text
    db.session.refresh(row)
    assert row.state == "revoked"
    assert client.post("/admin/tokens/999999/revoke").status_code == 404
