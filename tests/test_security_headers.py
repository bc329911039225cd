"""Every response carries the security headers; behind TLS the session cookie is Secure and HSTS is sent; behind a
proxy the client's scheme and address come from its X-Forwarded-* headers; no page needs inline script."""

import re
from pathlib import Path

from flask import request

from registrar.app import create_app
from tests.conftest import login

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_pages_forbid_framing_sniffing_and_foreign_content(client, uni):
    login(client, uni.clerk)
    response = client.get("/orders/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP in the embedded mode


def test_no_template_has_inline_script_handlers_or_styles():
    offending = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=\"|\sstyle=\"", path.read_text())
    ]
    assert offending == []


def test_behind_tls_and_a_proxy(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'tls.sqlite3'}",
            "BROKER_URL": "stub",
            "MAILBOX_DIR": str(tmp_path),
            "HTTPS": True,
            "PROXIES": 1,
        }
    )

    @app.route("/_seen")
    def seen():
        return {"scheme": request.scheme, "address": request.remote_addr}

    client = app.test_client()
    assert client.get("/health").status_code == 302  # plain HTTP is sent to https
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    response = client.get("/_seen", headers=headers)
    assert response.json == {"scheme": "https", "address": "203.0.113.7"}
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    login_page = client.post("/login", data={"username": "nobody", "password": "x"}, headers=headers)
    cookie = login_page.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie
