"""The simulated people of the load test (`python -m bench.load` runs this file with `locust --headless`).

Deans, the registrar office, the lawyer and the rector work in the browser: they sign in through the login form
(its CSRF token read from the page), read their inbox, open an order waiting for them and give their visa (the
rector signs) through the order page's form. Clerks work through the API with a bearer token (`registrar
create-token`), as an integration or a script would: search a group's active students, draft an expulsion with two
of them, add a third, submit. Every clerk takes students no other clerk of this run has taken, so drafts never
collide on a student; two people of the same account may still open the same order at once, as in real life, and
the second visa is refused (a redirect with a message, never an error).

Settings come from the environment the load command sets: LOAD_SETUP (JSON: usernames, clerk tokens, groups).
"""

import itertools
import json
import os
import random
import re

from locust import HttpUser, between, task

SETUP = json.loads(os.environ.get("LOAD_SETUP", "{}"))
PASSWORD = "bench"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')
ORDER_LINK = re.compile(r'href="/orders/(\d+)"')
GROUPS = itertools.cycle(SETUP.get("groups", []))
TAKEN: set[int] = set(
    SETUP.get("taken", [])
)  # students already put in a draft during this run (one locust process: a plain set)
_people = itertools.count()
# CONNECTION: every request on a new connection. In production nginx stands between the people and gunicorn and
# retries a GET whose kept-alive upstream connection gunicorn closed at that instant (gthread closes idle keep-alive
# connections after `keepalive` seconds); talking to gunicorn directly, a reused connection can meet that close as
# "Connection reset by peer", a race of the test set-up rather than a failure of the application.


def _pick(names: list[str]) -> str:
    """Spread the simulated users over the accounts of their role, round-robin."""
    return names[next(_people) % len(names)]


class BrowserUser(HttpUser):
    """Signs in through the form; reads the inbox; opens an order waiting for it and fires `trigger` on it."""

    abstract = True
    wait_time = between(1, 3)
    accounts_key = ""
    trigger = "approve"

    def on_start(self) -> None:
        self.client.headers["Connection"] = "close"  # see CONNECTION below
        self.username = _pick(SETUP[self.accounts_key])
        page = self.client.get("/login", name="/login")
        token = CSRF.search(page.text)
        with self.client.post(
            "/login",
            data={"csrf_token": token.group(1) if token else "", "username": self.username, "password": PASSWORD},
            name="/login",
            catch_response=True,
        ) as response:
            if response.ok and response.url.endswith("/login"):
                response.failure(f"{self.username} was not signed in")
        self.waiting: list[int] = []

    @task(3)
    def read_inbox(self) -> None:
        response = self.client.get("/inbox?view=waiting", name="/inbox")
        main = response.text[response.text.find("<main") :] if "<main" in response.text else response.text
        self.waiting = list(dict.fromkeys(int(i) for i in ORDER_LINK.findall(main)))

    @task(2)
    def decide(self) -> None:
        if not self.waiting:
            return
        order_id = self.waiting.pop(random.randrange(len(self.waiting)))  # noqa: S311 - not for security
        page = self.client.get(f"/orders/{order_id}", name="/orders/[id]")
        if f"/fire/{self.trigger}" not in page.text:
            return  # someone of the same account was quicker
        token, version = CSRF.search(page.text), VERSION.search(page.text)
        self.client.post(
            f"/orders/{order_id}/fire/{self.trigger}",
            data={"csrf_token": token.group(1) if token else "", "version": version.group(1) if version else ""},
            name=f"/orders/[id]/fire/{self.trigger}",
        )


def browser_person(name: str, weight: int, accounts_key: str, trigger: str = "approve") -> type[BrowserUser]:
    """A kind of person working in the browser: how many of the simulated people (weight), whose accounts, what
    they fire on the orders waiting for them."""
    attributes = {"weight": weight, "accounts_key": accounts_key, "trigger": trigger, "__module__": __name__}
    return type(name, (BrowserUser,), attributes)


Dean = browser_person("Dean", 40, "deans")
Registrar = browser_person("Registrar", 8, "registrars")
Lawyer = browser_person("Lawyer", 8, "lawyers")
Rector = browser_person("Rector", 8, "rectors", trigger="sign")


class Clerk(HttpUser):
    """Drafts and submits expulsions through the API."""

    weight = 36
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.headers["Connection"] = "close"
        self.client.headers["Authorization"] = f"Bearer {_pick(SETUP['clerk_tokens'])}"

    def _students(self, group: str, want: int) -> list[int]:
        response = self.client.get(
            "/api/v1/students", params={"q": group, "status": "active", "limit": 50}, name="/api/v1/students?q=[group]"
        )
        found = [s["id"] for s in response.json() if s["id"] not in TAKEN] if response.ok else []
        chosen = found[:want]
        TAKEN.update(chosen)
        return chosen

    @task
    def draft_and_submit(self) -> None:
        students = self._students(next(GROUPS), 3)
        if len(students) < 3:
            return
        created = self.client.post(
            "/api/v1/orders",
            json={
                "kind": "expulsion",
                "basis": "Докладная записка деканата (нагрузочный тест)",
                "params": {"reason": "attendance", "effective_date": SETUP["effective_date"]},
                "student_ids": students[:2],
            },
            name="/api/v1/orders",
        )
        if not created.ok:
            return
        order_id = created.json()["id"]
        self.client.post(
            f"/api/v1/orders/{order_id}/lines", json={"student_ids": students[2:]}, name="/api/v1/orders/[id]/lines"
        )
        self.client.post(
            f"/api/v1/orders/{order_id}/fire", json={"trigger": "submit"}, name="/api/v1/orders/[id]/fire submit"
        )
