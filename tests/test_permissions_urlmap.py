"""Every URL needs a signed-in user (or, under /api/, a bearer token) unless its view is marked public."""

import pytest

from tests.conftest import login

CHECKED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def is_public(app, rule) -> bool:
    return rule.endpoint == "static" or getattr(app.view_functions[rule.endpoint], "is_public", False)


def url_of(rule) -> str:
    """The rule's path with every argument filled with 1."""
    return rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]


def protected(app, api: bool) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if is_public(app, rule) or rule.rule.startswith("/api/") != api:
            continue
        found += [(method, url_of(rule), rule.endpoint) for method in CHECKED_METHODS if method in rule.methods]
    return sorted(found)


def redirects_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].split("?")[0].endswith("/login")


def test_the_map_has_the_pages_we_expect(app):
    pages = {endpoint for _method, _url, endpoint in protected(app, api=False)}
    assert {
        "journal.index",
        "journal.export",
        "audit_log.index",
        "audit_log.export",
        "orders.show",
        "orders.new",
        "orders.add_lines",
        "approvals.decide",
        "approvals.inbox_page",
        "students.show",
        "orders.document",
        "doc_templates.index",
        "doc_templates.upload",
        "order_files.preview",
        "order_files.upload_file",
        "order_files.archive",
    } <= pages
    public = {rule.endpoint for rule in app.url_map.iter_rules() if is_public(app, rule)}
    assert public <= {
        "static",
        "auth.login",
        "auth.set_language",
        "home",
        "health",
        "health.ready",
        "metrics.metrics",  # guarded by the metrics token, or open to this machine only
        "api-docs.openapi_json",
        "verify.start",  # a third party checks a signed document: facts without students' data, rate-limited
        "verify.show",
    }, "only sign-in, language, the health and metrics checks, the API description and verification may be public"


def test_every_page_view_names_who_may_use_it(app):
    """Deny by default: every non-public page is wrapped by roles_required or any_user."""
    missing = sorted(
        {
            endpoint
            for _m, _u, endpoint in protected(app, api=False)
            if not getattr(app.view_functions[endpoint], "required_roles", None)
        }
    )
    assert missing == []


def test_anonymous_get_of_every_page_is_sent_to_login(app, client):
    wrong = []
    for method, url, endpoint in protected(app, api=False):
        if method != "GET":
            continue
        response = client.get(url)
        if not (redirects_to_login(response) or response.status_code == 401):
            wrong.append(f"GET {url} ({endpoint}): {response.status_code} {response.headers.get('Location')}")
    assert wrong == []


def test_anonymous_post_to_every_form_is_refused(app, client):
    wrong = []
    for method, url, endpoint in protected(app, api=False):
        if method == "GET":
            continue
        response = client.open(url, method=method, data={"comment": "x", "basis": "x", "iins": "850714300907"})
        if not (redirects_to_login(response) or response.status_code in (400, 401)):
            wrong.append(f"{method} {url} ({endpoint}): {response.status_code}")
    assert wrong == []


def test_anonymous_post_with_csrf_on_is_refused_too(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for method, url, endpoint in protected(app, api=False):
            if method == "POST":
                assert client.post(url).status_code in (302, 400, 401), endpoint
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_api_without_a_token_answers_401_json(app, client):
    rules = protected(app, api=True)
    assert rules, "the API has endpoints"
    wrong = []
    for method, url, endpoint in rules:
        response = client.open(url, method=method, json={})
        body = response.get_json(silent=True)
        if response.status_code != 401 or not body or body.get("code") != 401 or not body.get("message"):
            wrong.append(f"{method} {url} ({endpoint}): {response.status_code} {response.data[:80]!r}")
    assert wrong == []


def test_api_ignores_a_browser_session_and_a_bad_token(client, uni):
    login(client, uni.clerk)
    assert client.get("/orders/").status_code == 200
    assert client.get("/api/v1/inbox").status_code == 401
    assert client.get("/api/v1/inbox", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_api_description_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["info"]["title"]


@pytest.mark.parametrize("path", ["/orders/", "/students/", "/inbox", "/orders/new/expulsion"])
def test_admin_cannot_open_student_or_order_pages(client, uni, path):
    login(client, uni.admin)
    assert client.get(path).status_code == 403


def test_admin_reads_the_mailbox_and_a_clerk_does_not(client, uni):
    login(client, uni.admin)
    assert client.get("/admin/mailbox/").status_code == 200
    login(client, uni.clerk)
    assert client.get("/admin/mailbox/").status_code == 403
