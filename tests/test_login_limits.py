"""Sign-in is rate-limited per account and per address (failed attempts only), answers 429 with Retry-After, and an
unknown username costs the same password hashing as a known one."""

import pytest

from core import auth
from core.extensions import limiter


@pytest.fixture(autouse=True)
def fresh_limits(app):
    limiter.reset()
    yield
    limiter.reset()


def attempt(client, username: str, password: str):
    client.post("/logout")
    return client.post("/login", data={"username": username, "password": password})


def test_ten_wrong_passwords_lock_the_account_even_for_the_right_one(client, make):
    user = make.user("clerk", username="clerk_locked")
    for _ in range(10):
        assert attempt(client, user.username, "wrong").status_code == 400
    locked = attempt(client, user.username, "secret")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many attempts" in locked.text
    other = make.user("clerk", username="clerk_other")
    assert attempt(client, other.username, "secret").status_code == 302  # another account is not locked


def test_successful_sign_ins_do_not_count(client, make):
    user = make.user("clerk", username="clerk_often")
    for _ in range(15):
        assert attempt(client, user.username, "secret").status_code == 302


def test_thirty_failures_from_one_address_block_it(client, make):
    for n in range(30):
        assert attempt(client, f"nobody{n}", "wrong").status_code == 400
    assert attempt(client, "nobody-else", "wrong").status_code == 429
    user = make.user("clerk", username="clerk_same_address")
    assert attempt(client, user.username, "secret").status_code == 429


def test_an_unknown_username_is_hashed_like_a_known_one(client, make, monkeypatch):
    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda *args: checked.append(args) or real(*args))
    assert attempt(client, "no-such-user", "whatever").status_code == 400
    assert len(checked) == 1  # the dummy hash, so the answer takes as long as for a real account
    assert "Wrong username or password." in attempt(client, "no-such-user", "whatever").text
