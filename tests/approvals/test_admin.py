"""Routes admin (web, CLI, API) and substitutes (web, API)."""

from datetime import date, timedelta

import pytest
import yaml
from sqlalchemy import func, select

from approvals.admin import SubstitutionError, create_substitution
from core.clock import today
from core.db import db
from core.models import Substitution, User, issue_token
from registrar.cli import main
from tests.conftest import login
from workflow.models import RouteVersion
from workflow.routes import get_route, latest_version

LEGAL_V2 = """
name: legal
description: Expulsions with two lawyers
signer_role: rector
steps:
  - {name: dean, roles: [dean], mode: per_faculty, due_days: 3}
  - {name: registrar, roles: [registrar], due_days: 2}
  - {name: lawyer, roles: [lawyer], mode: n_of_m, n: 2, due_days: 4, escalate_after_days: 1}
"""


def versions() -> int:
    return db.session.scalar(select(func.count(RouteVersion.id)))


# --- routes: web ----------------------------------------------------------------------------------------------------


def test_routes_list_shows_versions_and_kinds(client, uni):
    login(client, uni.admin)
    page = client.get("/admin/routes").get_data(as_text=True)
    for name in ("movement", "legal", "money"):
        assert f"/admin/routes/{name}" in page
    assert "v1" in page and "built-in default" in page
    assert "expulsion" in page.lower() or "Expulsion" in page


def test_admin_saves_a_new_version_from_yaml(client, uni):
    login(client, uni.admin)
    page = client.get("/admin/routes/legal").get_data(as_text=True)
    assert "per_faculty" in page and "Save as version 2" in page
    response = client.post("/admin/routes/legal", data={"definition": LEGAL_V2})
    assert response.status_code == 302
    assert latest_version("legal") == 2
    route = get_route("legal")
    assert route.steps[2].mode == "n_of_m" and route.steps[2].n == 2 and route.description.startswith("Expulsions")
    assert get_route("legal", 1).steps[2].mode == "one"  # version 1 is untouched
    page = client.get("/admin/routes").get_data(as_text=True)
    assert "v2" in page and uni.admin.full_name in page


@pytest.mark.parametrize(
    "definition, message",
    [
        ("name: legal\nsteps: [\n", "not valid YAML (line"),
        ("- just a list", "must be a YAML mapping"),
        ("name: legal\nsteps:\n  - {name: dean, roles: [wizard]}\n", "roles must be some of"),
        ("name: legal\nsteps:\n  - {name: dean, roles: [dean], due_days: 0}\n", "due_days must be a whole number"),
        ("name: movement\nsteps: []\n", "The name in the definition must stay legal"),
    ],
)
def test_a_bad_definition_is_explained_and_nothing_is_saved(client, uni, definition, message):
    login(client, uni.admin)
    response = client.post("/admin/routes/legal", data={"definition": definition})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-testid="route-error"' in page and message in page.replace("&#39;", "'")
    assert versions() == 0 and latest_version("legal") == 1


def test_only_the_admin_may_see_or_change_routes(client, uni):
    for user in (uni.dean_a, uni.registrar, uni.clerk, uni.rector):
        login(client, user)
        assert client.get("/admin/routes").status_code == 403
        assert client.get("/admin/routes/legal").status_code == 403
        assert client.post("/admin/routes/legal", data={"definition": LEGAL_V2}).status_code == 403
    assert versions() == 0
    login(client, uni.admin)
    assert client.get("/admin/routes/nope").status_code == 404


def test_routes_api(client, uni):
    admin = {"Authorization": f"Bearer {issue_token(uni.admin)}"}
    dean = {"Authorization": f"Bearer {issue_token(uni.dean_a)}"}
    db.session.commit()
    listed = client.get("/api/v1/routes", headers=admin).get_json()
    legal = next(r for r in listed if r["name"] == "legal")
    assert legal["latest"] == 1 and "expulsion" in legal["kinds"] and legal["versions"][0]["builtin"] is True
    assert client.get("/api/v1/routes", headers=dean).status_code == 403
    body = yaml.safe_load(LEGAL_V2)
    assert client.post("/api/v1/routes/legal/versions", headers=dean, json=body).status_code == 403
    bad = client.post("/api/v1/routes/legal/versions", headers=admin, json={"steps": [{"name": "x", "roles": []}]})
    assert bad.status_code == 422 and "roles must be" in bad.get_json()["errors"]["definition"]
    saved = client.post("/api/v1/routes/legal/versions", headers=admin, json=body)
    assert saved.status_code == 201 and saved.get_json()["version"] == 2
    assert client.get("/api/v1/routes/legal?version=1", headers=admin).get_json()["steps"][2]["mode"] == "one"
    assert client.get("/api/v1/routes/legal", headers=admin).get_json()["steps"][2]["n"] == 2


# --- routes: CLI ----------------------------------------------------------------------------------------------------


def test_routes_dump_and_load_round_trip(cli_app, tmp_path):
    app, runner = cli_app
    dumped = runner.invoke(main, ["routes", "dump"])
    assert dumped.exit_code == 0, dumped.output
    data = yaml.safe_load(dumped.output)
    assert [r["name"] for r in data["routes"]] == ["legal", "money", "movement"]

    same = tmp_path / "same.yaml"
    same.write_text(dumped.output)
    result = runner.invoke(main, ["routes", "load", str(same)])
    assert result.exit_code == 0 and "unchanged movement" in result.output

    data["routes"][2]["steps"][0]["due_days"] = 5
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True))
    result = runner.invoke(main, ["routes", "load", str(changed)])
    assert result.exit_code == 0, result.output
    assert "saved movement version 2" in result.output and "unchanged legal" in result.output
    again = yaml.safe_load(runner.invoke(main, ["routes", "dump", "movement"]).output)
    assert again["routes"] == [data["routes"][2]]
    with app.app_context():
        assert latest_version("movement") == 2 and latest_version("legal") == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("routes: [\n", "not valid YAML"),
        (
            "routes:\n- name: movement\n  steps: [{name: a, roles: [dean], mode: one}]\n"
            "- name: legal\n  steps: [{name: b, roles: [pope]}]\n",
            "route 2 (legal)",
        ),
        ("routes:\n- name: nowhere\n  steps: []\n", "there is no route nowhere"),
        ("42\n", "must hold `routes:`"),
    ],
)
def test_a_bad_routes_file_changes_nothing(cli_app, tmp_path, text, message):
    app, runner = cli_app
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = runner.invoke(main, ["routes", "load", str(bad)])
    assert result.exit_code == 1
    assert message in result.output and "Nothing was saved" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(RouteVersion.id))) == 0


def test_the_example_file_is_the_defaults(cli_app):
    _app, runner = cli_app
    result = runner.invoke(main, ["routes", "load", "workflow/routes.yaml"])
    assert result.exit_code == 0 and "saved" not in result.output, result.output


def test_scheduler_once(cli_app):
    _app, runner = cli_app
    result = runner.invoke(main, ["scheduler", "--once"])
    assert result.exit_code == 0 and "'checked': 0" in result.output


# --- substitutes ----------------------------------------------------------------------------------------------------


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def test_a_dean_names_a_substitute_for_themselves(client, uni, make):
    vice = make.user("clerk", username="vice_a")
    login(client, uni.dean_a)
    page = client.get("/substitutes").get_data(as_text=True)
    assert "vice_a" in page and "admin_t" not in page
    response = client.post(
        "/substitutes",
        data={
            "substitute_id": vice.id,
            "principal_id": uni.dean_b.id,
            "starts_on": day(0),
            "ends_on": day(7),
            "reason": "отпуск",
        },
    )
    assert response.status_code == 302
    row = db.session.scalar(select(Substitution))
    assert (row.principal_id, row.substitute_id, row.created_by_id) == (uni.dean_a.id, vice.id, uni.dean_a.id)
    assert "отпуск" in client.get("/substitutes").get_data(as_text=True)

    login(client, vice)
    banner = client.get("/orders/").get_data(as_text=True)
    assert f"You act for {uni.dean_a.full_name} until {(today() + timedelta(days=7)):%d.%m.%Y}" in banner
    login(client, uni.dean_b)
    assert "You act for" not in client.get("/inbox").get_data(as_text=True)


@pytest.mark.parametrize(
    "start, end, who, message",
    [
        (3, 1, "vice", "The last day must not be before the first day."),
        (-1, 3, "vice", "A substitution cannot start in the past."),
        (0, 3, "self", "Nobody can be their own substitute."),
        (0, 3, "admin", "cannot be a substitute"),
        (0, 500, "vice", "at most a year"),
    ],
)
def test_substitution_validation(client, uni, make, start, end, who, message):
    vice = make.user("clerk", username="vice_a")
    substitute = {"vice": vice, "self": uni.dean_a, "admin": uni.admin}[who]
    login(client, uni.dean_a)
    response = client.post(
        "/substitutes", data={"substitute_id": substitute.id, "starts_on": day(start), "ends_on": day(end)}
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert db.session.scalar(select(func.count(Substitution.id))) == 0


def test_overlapping_substitution_is_refused(uni, make):
    vice = make.user("clerk", username="vice_a")
    create_substitution(uni.dean_a, uni.dean_a, vice, today(), today() + timedelta(days=5))
    with pytest.raises(SubstitutionError, match="already substitutes"):
        create_substitution(uni.dean_a, uni.dean_a, vice, today() + timedelta(days=3), today() + timedelta(days=9))


def test_admin_names_a_substitute_for_another_even_backdated(client, uni, make):
    vice = make.user("clerk", username="vice_b")
    login(client, uni.admin)
    assert uni.dean_b.full_name in client.get("/substitutes").get_data(as_text=True)
    response = client.post(
        "/substitutes",
        data={"principal_id": uni.dean_b.id, "substitute_id": vice.id, "starts_on": day(-2), "ends_on": day(3)},
    )
    assert response.status_code == 302
    row = db.session.scalar(select(Substitution))
    assert row.principal_id == uni.dean_b.id and row.created_by_id == uni.admin.id


def test_cancel_future_and_current_substitutions(client, uni, make):
    vice = make.user("clerk", username="vice_a")
    future = create_substitution(uni.admin, uni.dean_a, vice, today() + timedelta(days=3), today() + timedelta(9))
    current = create_substitution(
        uni.admin, uni.dean_a, uni.registrar, today() - timedelta(days=2), today() + timedelta(days=2)
    )
    future_id, current_id = future.id, current.id
    login(client, uni.dean_b)
    assert client.post(f"/substitutes/{future_id}/cancel").status_code == 403
    login(client, uni.dean_a)
    assert client.post(f"/substitutes/{future_id}/cancel").status_code == 302
    assert client.post(f"/substitutes/{current_id}/cancel").status_code == 302
    db.session.expire_all()
    assert db.session.get(Substitution, future_id) is None
    assert db.session.get(Substitution, current_id).ends_on == today() - timedelta(days=1)
    assert client.post(f"/substitutes/{current_id}/cancel").status_code == 403  # over already


def test_substitutes_page_is_for_approvers_and_admins(client, uni):
    login(client, uni.clerk)
    assert client.get("/substitutes").status_code == 403


def test_substitutions_api(client, uni, make):
    vice = make.user("clerk", username="vice_a")
    dean = {"Authorization": f"Bearer {issue_token(uni.dean_a)}"}
    admin = {"Authorization": f"Bearer {issue_token(uni.admin)}"}
    clerk = {"Authorization": f"Bearer {issue_token(uni.clerk)}"}
    db.session.commit()
    body = {"substitute_id": vice.id, "starts_on": day(1), "ends_on": day(5), "reason": "командировка"}
    created = client.post("/api/v1/substitutions", headers=dean, json=body)
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert item["principal"]["id"] == uni.dean_a.id and item["substitute"]["username"] == "vice_a"
    assert (
        client.post("/api/v1/substitutions", headers=dean, json={**body, "principal_id": uni.dean_b.id}).status_code
        == 403
    )
    bad = client.post("/api/v1/substitutions", headers=dean, json={**body, "starts_on": day(6)})
    assert bad.status_code == 422 and "ends_on" in bad.get_json()["errors"]
    assert client.post("/api/v1/substitutions", headers=clerk, json=body).status_code == 403
    for_b = client.post(
        "/api/v1/substitutions", headers=admin, json={**body, "principal_id": uni.dean_b.id, "starts_on": day(-1)}
    )
    assert for_b.status_code == 201
    mine = client.get("/api/v1/substitutions", headers=dean).get_json()
    assert [s["id"] for s in mine] == [item["id"]]
    assert len(client.get("/api/v1/substitutions", headers=admin).get_json()) == 2
    assert client.delete(f"/api/v1/substitutions/{for_b.get_json()['id']}", headers=dean).status_code == 403
    assert client.delete(f"/api/v1/substitutions/{item['id']}", headers=dean).status_code == 204
    assert client.get("/api/v1/substitutions", headers=dean).get_json() == []
    assert client.delete("/api/v1/substitutions/999999", headers=dean).status_code == 404


def test_principal_must_be_an_approver(uni, make):
    vice = make.user("clerk", username="vice_a")
    with pytest.raises(SubstitutionError, match="gives no visas"):
        create_substitution(uni.admin, uni.clerk, vice, date.today(), date.today())


def test_the_form_asks_to_choose_rather_than_guessing(client, uni, make):
    vice = make.user("clerk", username="vice_a")
    login(client, uni.admin)
    response = client.post(
        "/substitutes", data={"principal_id": 0, "substitute_id": vice.id, "starts_on": day(0), "ends_on": day(1)}
    )
    assert response.status_code == 400 and "Choose whom the substitute acts for." in response.get_data(as_text=True)
    login(client, uni.dean_a)
    response = client.post("/substitutes", data={"substitute_id": 0, "starts_on": day(0), "ends_on": day(1)})
    assert response.status_code == 400 and "Choose the substitute." in response.get_data(as_text=True)


def test_demo_has_a_lawyer_and_a_finance_officer(cli_app):
    app, runner = cli_app
    result = runner.invoke(main, ["seed-demo", "--students", "10"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        assert users["lawyer"].has_role("lawyer") and users["lawyer"].position == "Юрист"
        assert users["finance"].has_role("finance") and users["finance"].position == "Финансовый отдел"
        assert users["lawyer"].check_password("demo") and users["finance"].check_password("demo")
