"""The authorization matrix, generated from the route definitions and the URL map.

For every default route, each of its states, every kind of person (the author, another clerk, the dean of the
order's faculty and of another, the registrar, lawyer, finance officer, rector and admin, a substitute inside and
outside the date range) and every trigger: the web action `/orders/<id>/fire/<trigger>` and the API action
`/api/v1/orders/<id>/fire` succeed exactly where the rules derived below from the route (the step's roles and mode,
the author, the faculty) allow, answer 403 where permission is refused and 409 where the state has no such trigger
(the web form answers that one with a redirect back to the order and changes nothing). The order page and its API
read are checked for the same people, and offer exactly the triggers that would succeed.

Each test builds its state once; every request then runs inside a SAVEPOINT that is rolled back, so the next
trigger meets the same state.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.clock import today
from core.db import db
from core.models import Substitution, User, issue_token
from tests.conftest import login, sign, visa_until_signature
from workflow.engine import TRIGGERS, fire
from workflow.models import AuditEvent
from workflow.routes import DEFAULT_ROUTES, TERMINAL_STATES, Route

PEOPLE = (
    "author",
    "other_clerk",
    "dean_own",
    "dean_other",
    "registrar",
    "lawyer",
    "finance",
    "rector",
    "admin",
    "substitute_in",
    "substitute_out",
)
UNIVERSITY_ROLES = ("clerk", "registrar", "lawyer", "finance", "rector")  # see the whole university
READER_ROLES = (*UNIVERSITY_ROLES, "dean")  # may open orders and decide at all (admin never approves)
COMMENT = "Проверено"

# Which views the matrix covers; the URL map must hold them, so a renamed action cannot drop out unnoticed.
FIRE_WEB = "/orders/<int:order_id>/fire/<trigger>"
FIRE_API = "/api/v1/orders/<int(max=2147483647):order_id>/fire"
SHOW_WEB = "/orders/<int:order_id>"
SHOW_API = "/api/v1/orders/<int(max=2147483647):order_id>"


def cases() -> list[tuple[str, str]]:
    """(route, state) for every state of every default route."""
    return [(name, state) for name, route in DEFAULT_ROUTES.items() for state in route.states]


# The rules, derived from the route definition -----------------------------------------------------------------


def valid_triggers(route: Route, state: str) -> set[str]:
    """The triggers a state has at all (any other is a 409 for whoever may see the order)."""
    if state == "draft":
        return {"submit", "withdraw"}
    if state == "awaiting_signature":
        return {"sign", "return", "reject", "withdraw"}
    if route.step_for_state(state) is not None:
        return {"approve", "return", "reject", "withdraw"}
    assert state in TERMINAL_STATES
    return set()


def deciders(route: Route, state: str) -> tuple[set[str], set[str], bool]:
    """(triggers the deciders of `state` may fire, the roles that decide, one visa per faculty?)."""
    if state == "awaiting_signature":
        return {"sign", "return", "reject"}, {route.signer_role}, False
    step = route.step_for_state(state)
    if step is None:
        return set(), set(), False
    assert step.mode != "n_of_m" or step.n == 1, "the expected next state below assumes one visa ends the step"
    return {"approve", "return", "reject"}, set(step.roles), step.mode == "per_faculty"


def identity_may(route: Route, state: str, trigger: str, actor: User, principal: User | None, order) -> bool:
    """May `actor`, acting as themselves (principal None) or for `principal`, fire `trigger` now?"""
    who = principal or actor
    authors = order.author_id in {actor.id, who.id}
    if trigger == "submit":
        return principal is None and (authors or actor.has_role("clerk"))
    if trigger == "withdraw":
        return principal is None and authors
    triggers, roles, per_faculty = deciders(route, state)
    if authors or trigger not in triggers or not who.has_role(*roles):
        return False
    return not per_faculty or who.faculty_id in order.faculty_ids


def sees(people: list[User], order) -> bool:
    """A university role (own or of someone substituted today) sees every order; a dean those of own faculty."""
    return any(p.has_role(*UNIVERSITY_ROLES) for p in people) or any(
        p.has_role("dean") and p.faculty_id in order.faculty_ids for p in people
    )


def after(route: Route, state: str, trigger: str) -> str:
    return {
        "submit": route.first_state,
        "return": "draft",
        "reject": "rejected",
        "sign": "signed",
        "withdraw": "withdrawn",
    }.get(trigger) or route.state_after(state)


@dataclass
class Expected:
    status: str  # "ok", "403" or "409"
    acting_for: User | None = None
    state: str | None = None


def expect(route: Route, state: str, trigger: str, actor: User, principals: list[User], order) -> Expected:
    if not actor.has_role(*READER_ROLES) or not sees([actor, *principals], order):
        return Expected("403")
    if trigger not in valid_triggers(route, state):
        return Expected("409")
    for principal in [None, *principals]:  # own account first, then each person substituted today
        if identity_may(route, state, trigger, actor, principal, order):
            return Expected("ok", principal, after(route, state, trigger))
    return Expected("403")


# Building the state -------------------------------------------------------------------------------------------


@pytest.fixture
def people(uni, make) -> dict[str, tuple[User, list[User]]]:
    """Everyone in the matrix with the people they substitute today. Both substitutes are deans of a faculty in no
    order, named for every approver of the routes (dean A, registrar, lawyer, finance, rector): one for a range
    around today, one for a range that ended yesterday."""
    fc = make.faculty("FC")
    inside, outside = make.user("dean", fc, username="sub_in"), make.user("dean", fc, username="sub_out")
    principals = sorted([uni.dean_a, uni.registrar, uni.lawyer, uni.finance, uni.rector], key=lambda u: u.id)
    for p in principals:
        db.session.add(
            Substitution(
                principal_id=p.id,
                substitute_id=inside.id,
                starts_on=today() - timedelta(days=3),
                ends_on=today() + timedelta(days=10),
                reason="Отпуск",
            )
        )
        db.session.add(
            Substitution(
                principal_id=p.id,
                substitute_id=outside.id,
                starts_on=today() - timedelta(days=30),
                ends_on=today() - timedelta(days=1),
            )
        )
    db.session.flush()
    solo = {
        "author": uni.clerk,
        "other_clerk": make.user("clerk", username="clerk_other"),
        "dean_own": uni.dean_a,
        "dean_other": uni.dean_b,
        "registrar": uni.registrar,
        "lawyer": uni.lawyer,
        "finance": uni.finance,
        "rector": uni.rector,
        "admin": uni.admin,
        "substitute_out": outside,
    }
    return {**{k: (u, []) for k, u in solo.items()}, "substitute_in": (inside, principals)}


def build(route_name: str, state: str, uni, make):
    """An order of one FA student authored by uni.clerk, on `route_name`, taken to `state` by the real triggers."""
    order = make.order(uni.clerk, [make.student(uni.ga)])
    order.route_name = route_name  # the engine is generic: any order kind can travel any route
    db.session.flush()
    if state == "withdrawn":
        fire(order, "withdraw", uni.clerk)
    elif state != "draft":
        fire(order, "submit", uni.clerk)
        assert order.route_version == 1
        if state == "rejected":
            fire(order, "reject", uni.dean_a, comment="Не то основание")
        elif state == "signed":
            sign(order, uni)
        elif state == "awaiting_signature":
            visa_until_signature(order, uni)
        else:
            route = DEFAULT_ROUTES[route_name]
            while order.state != state:  # one visa per step: the order's only faculty is FA
                step = route.step_for_state(order.state)
                fire(
                    order,
                    "approve",
                    next(u for u in (uni.dean_a, uni.registrar, uni.lawyer, uni.finance) if u.has_role(*step.roles)),
                )
    assert order.state == state
    return order


# The matrix -----------------------------------------------------------------------------------------------------


def test_the_matrix_covers_the_actions_in_the_url_map(app):
    rules = {(rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods}
    for path, method in ((FIRE_WEB, "POST"), (FIRE_API, "POST"), (SHOW_WEB, "GET"), (SHOW_API, "GET")):
        assert (path, method) in rules, f"{method} {path} is gone from the URL map: update the matrix"
    triggers = {rule.rule for rule in app.url_map.iter_rules() if "/fire" in rule.rule}
    assert triggers == {FIRE_WEB, FIRE_API}, f"a new decision action must join the matrix: {triggers}"
    assert len(cases()) == sum(len(route.states) for route in DEFAULT_ROUTES.values())


def events(order_id: int) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.order_id == order_id))


@pytest.mark.parametrize(("route_name", "state"), cases())
def test_authorization_matrix(route_name, state, client, uni, make, people):
    """Every person and trigger on one state of one route (the state is built once; each request is undone)."""
    route = DEFAULT_ROUTES[route_name]
    order = build(route_name, state, uni, make)
    tokens = {person: issue_token(people[person][0]) for person in PEOPLE}
    db.session.commit()  # releases the test's SAVEPOINT only; the test's transaction is still rolled back at the end
    wrong: list[str] = []
    outcomes = {expect(route, state, t, *people[person], order).status for person in PEOPLE for t in TRIGGERS}
    assert outcomes >= ({"403", "409"} if state in TERMINAL_STATES else {"ok", "403", "409"}), outcomes
    for person in PEOPLE:
        actor, principals = people[person]
        login(client, actor)  # the admin too: the pages themselves must refuse
        problems = check_person(
            route, state, order, actor, principals, client, {"Authorization": f"Bearer {tokens[person]}"}
        )
        wrong += [f"{person}: {problem}" for problem in problems]
    assert wrong == [], f"{route_name} / {state}:\n" + "\n".join(wrong)


def check_person(route: Route, state: str, order, actor: User, principals: list[User], client, headers) -> list[str]:
    expected = {t: expect(route, state, t, actor, principals, order) for t in TRIGGERS}
    wrong = check_reading(order, actor, principals, expected, client, headers)
    # Deciding: each trigger through the web form and through the API, each on the same state.
    for trigger in TRIGGERS:
        for channel in ("web", "api"):
            wrong += check_decision(channel, trigger, expected[trigger], state, order, actor, client, headers)
    return wrong


def check_reading(order, actor: User, principals: list[User], expected: dict, client, headers) -> list[str]:
    """Reading: the page and the API answer 200 with exactly the legal triggers, or 403."""
    order_id = order.id
    offered = [t for t in TRIGGERS if expected[t].status == "ok"]
    wrong: list[str] = []
    readable = actor.has_role(*READER_ROLES) and sees([actor, *principals], order)
    page = client.get(f"/orders/{order_id}")
    api = client.get(f"/api/v1/orders/{order_id}", headers=headers)
    if readable:
        html = page.get_data(as_text=True)
        buttons = re.findall(r'data-trigger="(\w+)"', html)
        if page.status_code != 200 or buttons != offered:
            wrong.append(f"GET page: {page.status_code}, buttons {buttons}, expected {offered}")
        acting = {e.acting_for.full_name for e in expected.values() if e.acting_for is not None}
        if acting and not all(name in html for name in acting):
            wrong.append(f"GET page does not say whom the user acts for: {acting}")
        if api.status_code != 200 or api.get_json()["legal_triggers"] != offered:
            wrong.append(f"GET api: {api.status_code} {api.get_json().get('legal_triggers')}, expected {offered}")
    else:
        if page.status_code != 403:
            wrong.append(f"GET page: {page.status_code}, expected 403")
        if api.status_code != 403:
            wrong.append(f"GET api: {api.status_code}, expected 403")
    return wrong


def check_decision(
    channel: str, trigger: str, want: Expected, state: str, order, actor: User, client, headers
) -> list[str]:
    """One trigger through one channel, inside a SAVEPOINT rolled back afterwards: the outcome, the state reached,
    the audit event, and that a refusal changed nothing."""
    order_id, version = order.id, order.version
    before = events(order_id)
    savepoint = db.session.begin_nested()
    db.session.connection()  # emit the SAVEPOINT now, before the request works on the same connection
    try:
        if channel == "web":
            response = client.post(
                f"/orders/{order_id}/fire/{trigger}", data={"version": str(version), "comment": COMMENT}
            )
        else:
            response = client.post(
                f"/api/v1/orders/{order_id}/fire",
                headers=headers,
                json={"trigger": trigger, "comment": COMMENT, "version": version},
            )
        db.session.expire_all()
        now_state = db.session.scalar(select(type(order).state).where(type(order).id == order_id))
        last = db.session.scalars(
            select(AuditEvent).where(AuditEvent.order_id == order_id).order_by(AuditEvent.id.desc())
        ).first()
        got = _outcome(channel, response, order_id, events(order_id) > before)
        tag = f"{channel} {trigger}: got {got} ({response.status_code}), expected {want.status}"
        if got != want.status:
            return [f"{tag}; body {response.get_data(as_text=True)[:200]!r}"]
        if want.status == "ok":
            return _success_problems(tag, want, channel, response, now_state, last, actor)
        if now_state != state or events(order_id) != before:
            return [f"{tag}: a refused trigger changed the order ({now_state})"]
        if channel == "api" and want.status == "409":
            rules = [r["rule"] for r in response.get_json()["errors"].get("state", [])]
            if rules != ["state.invalid"]:
                return [f"{tag}: rules {rules}"]
        return []
    finally:
        savepoint.rollback()
        db.session.expire_all()


def _success_problems(tag: str, want: Expected, channel: str, response, now_state: str, last, actor: User) -> list[str]:
    """What is wrong with a trigger that succeeded: the state reached, whom the audit names, the API's answer."""
    wrong = []
    if now_state != want.state:
        wrong.append(f"{tag}: state {now_state}, expected {want.state}")
    if (last.actor_id, last.acting_for_id) != (actor.id, want.acting_for and want.acting_for.id):
        wrong.append(f"{tag}: audit says actor {last.actor_id} acting for {last.acting_for_id}")
    if channel == "api" and response.get_json()["state"] != want.state:
        wrong.append(f"{tag}: API answered state {response.get_json()['state']}")
    return wrong


def _outcome(channel: str, response, order_id: int, moved: bool) -> str:
    """ "ok", "403", "409", or the unexpected status. The web form answers a state refusal (409 in the engine) by
    redirecting back to the order page with the reason flashed; a success also redirects, and writes an event."""
    if response.status_code == 403:
        return "403"
    if channel == "api":
        return {200: "ok", 409: "409"}.get(response.status_code, str(response.status_code))
    if response.status_code != 302:
        return str(response.status_code)
    if moved:
        return "ok"
    return "409" if response.headers["Location"].endswith(f"/orders/{order_id}") else "302 elsewhere"


# User administration: admin only ------------------------------------------------------------------------------

USER_PAGES = (
    ("GET", "/admin/users", "/admin/users"),
    ("GET", "/admin/users/new", "/admin/users/new"),
    ("POST", "/admin/users/new", "/admin/users/new"),
    ("GET", "/admin/users/<int:user_id>", "/admin/users/{id}"),
    ("POST", "/admin/users/<int:user_id>", "/admin/users/{id}"),
    ("POST", "/admin/users/<int:user_id>/password", "/admin/users/{id}/password"),
    ("POST", "/admin/users/<int:user_id>/deactivate", "/admin/users/{id}/deactivate"),
    ("POST", "/admin/users/<int:user_id>/reactivate", "/admin/users/{id}/reactivate"),
)


def test_only_the_admin_administers_users(app, client, uni, make):
    rules = {(rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods}
    for method, rule, _url in USER_PAGES:
        assert (rule, method) in rules, f"{method} {rule} is gone from the URL map: update the matrix"
    pages = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/users")}
    assert pages == {rule for _method, rule, _url in USER_PAGES}, "a new user page must join the matrix"
    target = make.user("clerk")
    form = {"full_name": "Жаңа Қызметкер", "roles": ["clerk"], "username": "newbie", "password": "long enough pass"}
    db.session.commit()
    wrong = []
    for person in (uni.clerk, uni.dean_a, uni.registrar, uni.lawyer, uni.finance, uni.rector, uni.admin):
        login(client, person)
        for method, _rule, url in USER_PAGES:
            savepoint = db.session.begin_nested()
            db.session.connection()
            try:
                path = url.format(id=target.id)
                response = client.get(path) if method == "GET" else client.post(path, data=form)
            finally:
                savepoint.rollback()
                db.session.expire_all()
            refused = response.status_code == 403
            if refused == person.has_role("admin") or response.status_code >= 500:
                wrong.append(f"{person.username} {method} {path}: {response.status_code}")
    assert wrong == []
