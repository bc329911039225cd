"""The inbox with N orders in the database: the page and the API, for a dean and for the rector.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/registrar_bench_inbox \\
        python -m bench.inbox --orders 100000 [--repeat 50] [--warmup 5] [--explain] [--keep] [--http]

The database is wiped and migrated. A university (bench.generate) gets N expulsion orders (route `legal`: deans per
faculty, registrar, lawyer, rector) in every state, most of them signed, with 1-5 lines each and the visas their state
implies, all written by set-based `INSERT ... SELECT ... FROM generate_series` (no ORM per row), and the open approval
slots by the backfill of migration 0006; then VACUUM ANALYZE.

Then, through the WSGI app (Flask test client): `GET /inbox` with a logged-in session and `GET /api/v1/inbox` with a
bearer token, for the dean of the first faculty and for the rector, `--warmup` requests then `--repeat` timed ones
each: median and p95, and the SQL statements per request (a `before_cursor_execute` listener). The API is also asked
with page_size 10 and 100, the page with page_size 10 and 100 (ignored if the page does not take it): the query
count must not change with the page size, nor with N (run at two sizes).

The lower bound: one hand-written SQL query returning the same first page (the summary columns, the author's name,
the line count and the total count) for the same person, on a connection of the app's own engine, run once after
each timed request of the page and API cases (interleaved: on a shared machine both see the same load).
With `--http` the same inbox requests go through gunicorn instead (deploy/gunicorn.conf.py, HTTP, one at a time), once
at the server's own planner settings and once with random_page_cost 1.1 (PGOPTIONS); its last line is
{"bench": "inbox_http", "p95_ms_default": ..., "p95_ms_rpc_1.1": ...}.

The last line printed is one JSON object: {"bench": "inbox", "n": N, "p95_ms": ..., "queries": ..., "bound_p95_ms":
..., "ratio": ..., "cases": {...}}.
"""

import argparse
import http.cookiejar
import importlib.util
import json
import os
import re
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import event, text

from bench.generate import database_url, ensure_database, generate, reset_schema
from bench.load import BIN, start, stop, wait_ready
from core.db import db
from core.models import User, create_user, issue_token
from orders.kinds.expulsion import Expulsion
from registrar.app import create_app

# State mix (share of all orders): most signed, a few in every open state.
STATE_MIX = [
    ("signed", 0.85),
    ("rejected", 0.03),
    ("withdrawn", 0.03),
    ("draft", 0.03),
    ("review_dean", 0.025),
    ("review_registrar", 0.01),
    ("review_lawyer", 0.01),
    ("awaiting_signature", 0.015),
]
# Steps of the route `legal`, in order; `reached` counts the steps done in the current round (4 = signed).
REACHED = {"review_dean": 0, "review_registrar": 1, "review_lawyer": 2, "awaiting_signature": 3, "signed": 4}
TITLE = "Об отчислении обучающихся"
BASIS = "Личные заявления обучающихся"


def _state_case() -> str:
    """SQL CASE picking a state from the uniform random value `r` by the shares of STATE_MIX."""
    parts, edge = [], 0.0
    for state, share in STATE_MIX[:-1]:
        edge += share
        parts.append(f"WHEN r < {edge:.4f} THEN '{state}'")
    return f"CASE {' '.join(parts)} ELSE '{STATE_MIX[-1][0]}' END"


FILL_SQL = [
    # One row per order: state, round (10% of submitted orders were returned once and are in round 2; 30% of
    # drafts were returned and are back with the author in round 1), how far the current round got, clerk.
    "SELECT setseed(0.2026)",
    f"""CREATE TEMP TABLE plan AS
    SELECT g AS id, s.state,
           CASE WHEN s.state = 'draft' THEN (CASE WHEN r2 < 0.3 THEN 1 ELSE 0 END)
                ELSE (CASE WHEN r2 < 0.1 THEN 2 ELSE 1 END) END AS round,
           CASE WHEN s.state IN ('rejected', 'withdrawn') THEN floor(r3 * 4)::int
                ELSE coalesce(({
        " ".join(["CASE s.state"] + [f"WHEN '{k}' THEN {v}" for k, v in REACHED.items()] + ["END"])
    }), 0) END AS reached,
           CASE WHEN s.state IN ('signed', 'rejected', 'withdrawn')
                THEN now() - interval '30 days' - (r4 * interval '4 years')
                ELSE now() - (r4 * interval '25 days') END AS created_at,
           (CAST(:clerks AS int[]))[1 + floor(r5 * :clerk_count)::int] AS author_id,
           1 + floor(r6 * 5)::int AS lines,
           floor(r7 * :students)::int AS first_student
    FROM (SELECT g, random() AS r, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6,
                 random() AS r7 FROM generate_series(1, :n) g) x
    CROSS JOIN LATERAL (SELECT {_state_case()} AS state) s""",
    """ALTER TABLE plan ADD PRIMARY KEY (id)""",
    # Orders. Signed ones get gapless numbers per year; open ones a due time (some overdue).
    """INSERT INTO orders (id, kind, state, version, round, route_name, route_version, series, year, number,
                           number_label, order_date, title, basis, params, author_id, signed_by_id, created_at,
                           updated_at, signed_at, step_entered_at, due_at)
    SELECT p.id, CAST(:kind AS text), p.state, 1 + p.round * 3 + p.reached, p.round, 'legal', 1, CAST(:series AS text),
           n.year, n.number, CASE WHEN n.number IS NOT NULL THEN n.number || '-' || CAST(:series AS text) END,
           CAST(p.created_at + interval '6 days' AS date), :title, :basis,
           json_build_object('reason', 'own_request', 'effective_date',
                             to_char(p.created_at + interval '7 days', 'YYYY-MM-DD')),
           p.author_id, CASE WHEN p.state = 'signed' THEN CAST(:rector AS int) END, p.created_at,
           p.created_at + (1 + p.reached) * interval '1 day' + (p.id % 997) * interval '1 second',
           CASE WHEN p.state = 'signed' THEN p.created_at + interval '6 days' END,
           CASE WHEN p.state NOT IN ('signed', 'rejected', 'withdrawn', 'draft')
                THEN p.created_at + (1 + p.reached) * interval '1 day' END,
           CASE WHEN p.state NOT IN ('signed', 'rejected', 'withdrawn', 'draft')
                THEN p.created_at + (4 + p.reached) * interval '1 day' END
    FROM plan p LEFT JOIN (
        SELECT id, CAST(extract(year FROM created_at + interval '6 days') AS int) AS year,
               CAST(row_number() OVER (PARTITION BY extract(year FROM created_at + interval '6 days') ORDER BY id)
                    AS int) AS number
        FROM plan WHERE state = 'signed') n ON n.id = p.id""",
    # 1-5 lines per order, distinct students (strided), each line's faculty from the student's programme.
    """INSERT INTO order_lines (order_id, student_id, faculty_id, position, params, effective_date, eligibility,
                                applied_changes)
    SELECT p.id, s.id, pr.faculty_id, k, json_build_object('reason', 'own_request'),
           CAST(p.created_at + interval '7 days' AS date), '[]',
           CASE WHEN p.state = 'signed' THEN json_build_object('status', json_build_array('active', 'expelled')) END
    FROM plan p CROSS JOIN LATERAL generate_series(1, p.lines) k
    JOIN students s ON s.id = (:first_id + (p.first_student + k * (:students / 5)) % :students)
    JOIN groups g ON g.id = s.group_id JOIN programmes pr ON pr.id = g.programme_id""",
    # The faculties of each order, with the last one (a review_dean order always misses that dean's visa).
    """CREATE TEMP TABLE order_faculties AS
    SELECT order_id, faculty_id, max(faculty_id) OVER (PARTITION BY order_id) AS last_faculty
    FROM (SELECT DISTINCT order_id, faculty_id FROM order_lines) f""",
    # A returned round: every dean approved, the registrar returned it (round 1 of round-2 orders, and drafts
    # back with the author in round 1).
    """INSERT INTO visas (order_id, round, step, role, faculty_id, decided_by_id, decision, comment, decided_at)
    SELECT f.order_id, 1, 'dean', 'dean', f.faculty_id, d.user_id, 'approved', '', p.created_at
    FROM order_faculties f JOIN plan p ON p.id = f.order_id
    JOIN (SELECT unnest(CAST(:dean_faculties AS int[])) AS faculty_id, unnest(CAST(:dean_users AS int[])) AS user_id) d
         ON d.faculty_id = f.faculty_id
    WHERE p.round = 2 OR (p.state = 'draft' AND p.round = 1)""",
    """INSERT INTO visas (order_id, round, step, role, decided_by_id, decision, comment, decided_at)
    SELECT p.id, 1, 'registrar', 'registrar', :registrar, 'returned', 'Приложите заявления', p.created_at
    FROM plan p WHERE p.round = 2 OR (p.state = 'draft' AND p.round = 1)""",
    # The current round: the steps done are approved; a rejected order has a rejection at the step it reached.
    """INSERT INTO visas (order_id, round, step, role, faculty_id, decided_by_id, decision, comment, decided_at)
    SELECT f.order_id, p.round, 'dean', 'dean', f.faculty_id, d.user_id,
           CASE WHEN p.state = 'rejected' AND p.reached = 0 THEN 'rejected' ELSE 'approved' END,
           CASE WHEN p.state = 'rejected' AND p.reached = 0 THEN 'Нет оснований' ELSE '' END,
           p.created_at + interval '1 day'
    FROM order_faculties f JOIN plan p ON p.id = f.order_id
    JOIN (SELECT unnest(CAST(:dean_faculties AS int[])) AS faculty_id, unnest(CAST(:dean_users AS int[])) AS user_id) d
         ON d.faculty_id = f.faculty_id
    WHERE p.state <> 'draft' AND (
        p.reached >= 1 AND p.state <> 'rejected'
        OR p.state = 'rejected' AND (p.reached >= 1 OR f.faculty_id = f.last_faculty)
        OR p.state = 'review_dean' AND f.faculty_id <> f.last_faculty AND (f.order_id + f.faculty_id) % 2 = 0)""",
    """INSERT INTO visas (order_id, round, step, role, decided_by_id, decision, comment, decided_at)
    SELECT p.id, p.round, st.step, st.role, st.user_id,
           CASE WHEN p.state = 'rejected' AND p.reached = st.position THEN 'rejected'
                WHEN st.step = 'signature' THEN 'signed' ELSE 'approved' END,
           CASE WHEN p.state = 'rejected' AND p.reached = st.position THEN 'Нет оснований' ELSE '' END,
           p.created_at + (1 + st.position) * interval '1 day'
    FROM plan p JOIN (VALUES (1, 'registrar', 'registrar', CAST(:registrar AS int)),
                             (2, 'lawyer', 'lawyer', CAST(:lawyer AS int)),
                             (3, 'signature', 'rector', CAST(:rector AS int))) st(position, step, role, user_id)
         ON p.reached > st.position OR p.state = 'rejected' AND p.reached = st.position
    WHERE p.state <> 'draft'""",
    "SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))",
    """INSERT INTO order_sequences (year, series, last_number)
    SELECT year, series, max(number) FROM orders WHERE number IS NOT NULL GROUP BY year, series""",
]

# The lower bound: the same first page (and the total) by one hand-written query for the route this data uses.
BOUND_SELECT = """SELECT o.id, o.kind, o.state, o.version, o.round, o.title, o.series, o.year, o.number,
       o.number_label, o.order_date, o.created_at, o.updated_at, o.signed_at, u.id AS author_id, u.username,
       u.full_name, (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) AS line_count,
       count(*) OVER () AS total
FROM orders o JOIN users u ON u.id = o.author_id
WHERE o.author_id <> :me AND o.route_name = 'legal' AND o.route_version = 1 AND {where}
  AND NOT EXISTS (SELECT 1 FROM visas v WHERE v.order_id = o.id AND v.round = o.round
                  AND (v.decided_by_id = :me OR v.acting_for_id = :me{own_visa}))
ORDER BY o.updated_at, o.id LIMIT :limit"""
BOUND_DEAN = BOUND_SELECT.format(
    where="o.state = 'review_dean' AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id "
    "AND l.faculty_id = :faculty)",
    own_visa=" OR v.step = 'dean' AND v.decision = 'approved' AND v.faculty_id = :faculty",
)
BOUND_RECTOR = BOUND_SELECT.format(where="o.state = 'awaiting_signature'", own_visa="")


class QueryCounter:
    """Counts cursor executions (round trips) while active."""

    def __init__(self) -> None:
        self.count = 0
        self.active = False
        event.listen(db.engine, "before_cursor_execute", self._count)

    def _count(self, *args) -> None:
        if self.active:
            self.count += 1

    def measure(self, call: Callable[[], object]) -> tuple[float, int, object]:
        self.count, self.active = 0, True
        try:
            started = time.perf_counter()
            result = call()
            elapsed = time.perf_counter() - started
        finally:
            self.active = False
        return elapsed, self.count, result


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def fill(n: int) -> dict:
    """A university and N orders; returns the users the benchmark acts as."""
    students = max(1000, min(20_000, n // 5))
    uni = generate(students)
    registrar = create_user(
        "registrar", "bench", "Ахметова Динара Канатовна", ["registrar"], position="Офис регистратора"
    )
    lawyer = create_user("lawyer", "bench", "Нургалиев Ерлан Маратович", ["lawyer"], position="Юрист")
    more_clerks = [create_user(f"clerk{i}", "bench", f"Специалист {i}", ["clerk"]) for i in (2, 3)]
    db.session.commit()
    clerks = [uni.clerk_id, *(clerk.id for clerk in more_clerks)]
    first_id = min(min(cohort) for cohort in uni.cohorts)
    faculties = sorted(uni.dean_ids)
    values = {
        "n": n,
        "students": students,
        "first_id": first_id,
        "clerks": clerks,
        "clerk_count": len(clerks),
        "series": "С",
        "kind": Expulsion.name,
        "title": TITLE,
        "basis": BASIS,
        "rector": uni.rector_id,
        "registrar": registrar.id,
        "lawyer": lawyer.id,
        "dean_faculties": faculties,
        "dean_users": [uni.dean_ids[f] for f in faculties],
    }
    with db.engine.begin() as connection:
        for sql in FILL_SQL:
            names = set(re.findall(r"(?<!:):(\w+)", sql))
            connection.execute(text(sql), {k: v for k, v in values.items() if k in names})
        connection.execute(
            text("SELECT setval(pg_get_serial_sequence('order_lines', 'id'), (SELECT max(id) FROM order_lines))")
        )
        backfill_slots(connection)
    # End the session's read transaction first: its snapshot (idle in transaction since the users were read back)
    # would keep VACUUM from marking the new rows all-visible, and every index-only scan would visit the heap.
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))  # what autovacuum does soon after a bulk load
    dean_faculty = faculties[0]
    return {"dean": uni.dean_ids[dean_faculty], "dean_faculty": dean_faculty, "rector": uni.rector_id}


def backfill_slots(connection) -> None:
    """The open approval slots of the orders just written by SQL (fire() keeps them for orders moved by the app):
    the backfill of migration 0006 itself, the same set-based SQL an upgrade runs on a live database."""
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0006_approval_slots.py"
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration._backfill(connection)


def counts() -> dict:
    rows = db.session.execute(text("SELECT state, count(*) FROM orders GROUP BY state ORDER BY 2 DESC")).all()
    return dict(rows)


def bench_app(url: str, random_page_cost: float | None = None) -> Flask:
    """The app on the benchmark database. `random_page_cost` is set on every connection when given: PostgreSQL's
    default (4) models spinning disks; on SSDs 1.1 is the usual production setting (README, Production), and with
    it the planner probes the visas index per open order instead of hashing a person's whole visa history."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "BROKER_URL": "stub", "WTF_CSRF_ENABLED": False})
    if random_page_cost is not None:
        with app.app_context():

            @event.listens_for(db.engine, "connect")
            def _tune(dbapi_connection, _record) -> None:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute(f"SET random_page_cost = {float(random_page_cost)}")
                dbapi_connection.commit()  # a SET inside a transaction that is rolled back would be undone

    return app


def login(app: Flask, username: str):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": "bench"})
    if response.status_code not in (302, 303):
        raise SystemExit(f"login as {username} failed: {response.status_code}")
    return client


SORT = "sort=updated&direction=asc"  # longest waiting first, as the bound orders them
ORDER_LINK = re.compile(r'href="/orders/(\d+)"')


def run_case(
    counter: QueryCounter,
    request: Callable[[], object],
    check: Callable[[object], list[int]],
    warmup: int,
    repeat: int,
    bound: "Bound | None" = None,
) -> dict:
    """Time `request`; when a bound is given, run it once after each request too (interleaved, so that both see
    the same load on a shared machine)."""
    for _ in range(warmup):
        check(request())
        if bound:
            bound.once(record=False)
    times, queries = [], []
    ids: list[int] = []
    for _ in range(repeat):
        elapsed, count, response = counter.measure(request)
        times.append(elapsed * 1000)
        queries.append(count)
        ids = check(response)
        if bound:
            bound.once()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95(times), 2),
        "queries": max(queries),
        "queries_min": min(queries),
        "rows": len(ids),
        "ids": ids,
    }


def api_check(response) -> list[int]:
    if response.status_code != 200:
        raise SystemExit(f"API inbox answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return [item["id"] for item in response.get_json()["items"]]


def page_check(response) -> list[int]:
    if response.status_code != 200:
        raise SystemExit(f"inbox page answered {response.status_code}")
    html = response.get_data(as_text=True)
    main = html[html.find("<main") :] if "<main" in html else html
    return list(dict.fromkeys(int(i) for i in ORDER_LINK.findall(main)))


class Bound:
    """The hand-written query, on one pooled connection of the app's engine, timed like a request."""

    def __init__(self, app: Flask, sql: str, params: dict):
        with app.app_context():
            self.connection = db.engine.connect()
        self.statement, self.params = text(sql), params
        self.times: list[float] = []
        self.rows: list = []

    def once(self, record: bool = True) -> None:
        started = time.perf_counter()
        with self.connection.begin():
            self.rows = self.connection.execute(self.statement, self.params).all()
        if record:
            self.times.append((time.perf_counter() - started) * 1000)

    def result(self) -> dict:
        self.connection.close()
        return {
            "median_ms": round(statistics.median(self.times), 2),
            "p95_ms": round(p95(self.times), 2),
            "rows": len(self.rows),
            "total": self.rows[0].total if self.rows else 0,
            "ids": [row.id for row in self.rows],
        }


def slowest_statements(app: Flask, request: Callable[[], object], top: int = 2) -> list[tuple[float, str]]:
    """Run `request` once, recording every statement it sends with its time; EXPLAIN ANALYZE the slowest `top`.
    Returns (milliseconds, plan text) pairs."""
    recorded: list[list] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        recorded.append([time.perf_counter(), statement, parameters])

    def after(conn, cursor, statement, parameters, context, executemany):
        recorded[-1][0] = time.perf_counter() - recorded[-1][0]

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        try:
            request()
        finally:
            event.remove(db.engine, "before_cursor_execute", before)
            event.remove(db.engine, "after_cursor_execute", after)
        plans = []
        for elapsed, statement, parameters in sorted(recorded, key=lambda r: -r[0])[:top]:
            rows = db.session.connection().exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            plans.append((elapsed * 1000, f"{statement}\n{parameters}\n" + "\n".join(row[0] for row in rows)))
        db.session.rollback()
        db.session.remove()
    return plans


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def http_login(base: str, username: str) -> urllib.request.OpenerDirector:
    """A browser's cookie jar signed in through the login form (the CSRF token read from the page)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{base}/login") as response:  # nosec B310 - loopback
        token = CSRF.search(response.read().decode())
    form = urllib.parse.urlencode(
        {"csrf_token": token.group(1) if token else "", "username": username, "password": "bench"}
    ).encode()
    with opener.open(f"{base}/login", data=form) as response:  # nosec B310 - loopback
        if response.url.endswith("/login"):
            raise SystemExit(f"login as {username} failed")
    return opener


def http_time(opener: urllib.request.OpenerDirector, request: urllib.request.Request, warmup: int, repeat: int) -> dict:
    """Wall time of `request` through the opener, one at a time (concurrency 1): median and p95 in ms."""
    times = []
    for i in range(warmup + repeat):
        started = time.perf_counter()
        with opener.open(request) as response:  # nosec B310 - loopback
            response.read()
            if response.status != 200:
                raise SystemExit(f"{request.full_url} answered {response.status}")
        if i >= warmup:
            times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(times), 2), "p95_ms": round(p95(times), 2)}


def http_cases(url: str, usernames: dict, tokens: dict, warmup: int, repeat: int, port: int = 8741) -> dict:
    """The inbox through gunicorn (deploy/gunicorn.conf.py, 2 workers), once at the server's own planner settings
    and once with random_page_cost 1.1 on every connection of the app (PGOPTIONS, read by libpq)."""
    base = f"http://127.0.0.1:{port}"
    results: dict[str, dict] = {}
    for setting, options in (("default", ""), ("rpc_1.1", "-c random_page_cost=1.1")):
        work = Path(tempfile.mkdtemp(prefix="registrar-inbox-http-"))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "PGOPTIONS": options,
            "REGISTRAR_SECRET_KEY": "inbox-bench-" + "0" * 52,
            "REGISTRAR_LOG_LEVEL": "WARNING",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
        }
        web = start("web", [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "registrar.wsgi:app"], env, work)
        try:
            wait_ready(base, [web])
            for role in ("dean", "rector"):
                browser = http_login(base, usernames[role])
                page = urllib.request.Request(f"{base}/inbox?{SORT}")
                results[f"{setting}_{role}_page"] = http_time(browser, page, warmup, repeat)
                api = urllib.request.Request(
                    f"{base}/api/v1/inbox?{SORT}", headers={"Authorization": f"Bearer {tokens[role]}"}
                )
                results[f"{setting}_{role}_api"] = http_time(urllib.request.build_opener(), api, warmup, repeat)
        finally:
            stop([web])
    return results


def print_http(n: int, results: dict) -> None:
    print(f"\n{'case (through gunicorn)':<28}{'median ms':>10}{'p95 ms':>10}")
    for name, case in results.items():
        print(f"{name:<28}{case['median_ms']:>10.2f}{case['p95_ms']:>10.2f}")
    worst = {s: max(v["p95_ms"] for k, v in results.items() if k.startswith(s)) for s in ("default", "rpc_1.1")}
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(
        json.dumps(
            {
                "bench": "inbox_http",
                "n": n,
                "p95_ms_default": worst["default"],
                "p95_ms_rpc_1.1": worst["rpc_1.1"],
                "target_ms": 50,
                "load_avg": load,
                "cases": results,
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000, help="orders in the database (N)")
    parser.add_argument("--repeat", type=int, default=50, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per case first")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the inbox queries")
    parser.add_argument("--keep", action="store_true", help="reuse the data already in the database (no refill)")
    parser.add_argument(
        "--random-page-cost",
        type=float,
        default=1.1,
        help="PostgreSQL random_page_cost for every connection (SSD: 1.1; 0 keeps the server's)",
    )
    parser.add_argument(
        "--http",
        action="store_true",
        help="measure through gunicorn (HTTP, one request at a time) at the server's planner settings and at 1.1",
    )
    args = parser.parse_args(argv)
    n, repeat, warmup = args.orders, args.repeat, args.warmup
    url = database_url()
    ensure_database(url)
    app = bench_app(url, args.random_page_cost or None)
    print(f"random_page_cost {args.random_page_cost or 'server default'} (ours and the bound alike)")
    with app.app_context():
        if args.keep:
            dean = db.session.scalar(
                text("SELECT u.id FROM users u WHERE u.username LIKE 'dean\\_%' ORDER BY u.faculty_id LIMIT 1")
            )
            people = {
                "dean": dean,
                "dean_faculty": db.session.get(User, dean).faculty_id,
                "rector": db.session.scalar(text("SELECT id FROM users WHERE username = 'rector'")),
            }
            n = db.session.scalar(text("SELECT count(*) FROM orders"))
        else:
            reset_schema()
            started = time.perf_counter()
            people = fill(n)
            print(
                f"fill        {time.perf_counter() - started:8.2f} s  ({n} orders, "
                f"{db.session.scalar(text('SELECT count(*) FROM order_lines'))} lines, "
                f"{db.session.scalar(text('SELECT count(*) FROM visas'))} visas, then VACUUM ANALYZE)"
            )
        print("states      " + ", ".join(f"{state} {count}" for state, count in counts().items()))
        tokens = {}
        for role in ("dean", "rector"):
            tokens[role] = issue_token(db.session.get(User, people[role]))
        usernames = {role: db.session.get(User, people[role]).username for role in ("dean", "rector")}
        db.session.commit()
        db.session.remove()
    if args.http:
        print_http(n, http_cases(url, usernames, tokens, warmup, repeat))
        return

    with app.app_context():
        counter = QueryCounter()
    cases: dict[str, dict] = {}
    bounds = {}
    for role, sql in (("dean", BOUND_DEAN), ("rector", BOUND_RECTOR)):
        bound = Bound(app, sql, {"me": people[role], "faculty": people["dean_faculty"], "limit": 50})
        client = login(app, usernames[role])
        api = app.test_client()
        headers = {"Authorization": f"Bearer {tokens[role]}"}

        def api_inbox(a=api, h=headers):
            return a.get(f"/api/v1/inbox?{SORT}", headers=h)

        cases[f"{role}_page"] = run_case(
            counter, lambda c=client: c.get(f"/inbox?{SORT}"), page_check, warmup, repeat, bound
        )
        cases[f"{role}_api"] = run_case(counter, api_inbox, api_check, warmup, repeat, bound)
        bounds[role] = bound.result()
        if bounds[role]["ids"] != cases[f"{role}_api"]["ids"]:
            print(
                f"WARNING: the bound's first page for the {role} differs from the API's: "
                f"{bounds[role]['ids'][:5]}... vs {cases[f'{role}_api']['ids'][:5]}..."
            )
        if args.explain:
            for elapsed, plan in slowest_statements(app, api_inbox):
                print(f"\nslowest statement of the {role}'s API inbox ({elapsed:.1f} ms), EXPLAIN ANALYZE:\n{plan}\n")
        for size in (10, 100):
            cases[f"{role}_api_size{size}"] = run_case(
                counter,
                lambda a=api, h=headers, s=size: a.get(f"/api/v1/inbox?{SORT}&page_size={s}", headers=h),
                api_check,
                2,
                10,
            )
            cases[f"{role}_page_size{size}"] = run_case(
                counter, lambda c=client, s=size: c.get(f"/inbox?{SORT}&page_size={s}"), page_check, 2, 10
            )

    print(f"\n{'case':<22}{'median ms':>10}{'p95 ms':>10}{'queries':>9}{'rows':>6}")
    for name, case in cases.items():
        print(f"{name:<22}{case['median_ms']:>10.2f}{case['p95_ms']:>10.2f}{case['queries']:>9}{case['rows']:>6}")
    for role, bound in bounds.items():
        print(
            f"{'bound_' + role:<22}{bound['median_ms']:>10.2f}{bound['p95_ms']:>10.2f}{1:>9}{bound['rows']:>6}"
            f"   (total waiting: {bound['total']})"
        )
    main_cases = [f"{role}_{kind}" for role in ("dean", "rector") for kind in ("page", "api")]
    slowest = max(main_cases, key=lambda name: cases[name]["p95_ms"])
    bound_p95 = bounds[slowest.split("_")[0]]["p95_ms"]
    ratios = {name: round(cases[name]["p95_ms"] / bounds[name.split("_")[0]]["p95_ms"], 1) for name in main_cases}
    print("ratios      " + ", ".join(f"{name} {ratio}" for name, ratio in ratios.items()))
    details = {name: {k: v for k, v in case.items() if k != "ids"} for name, case in cases.items()}
    details.update({f"bound_{role}": {k: v for k, v in b.items() if k != "ids"} for role, b in bounds.items()})
    print(
        json.dumps(
            {
                "bench": "inbox",
                "n": n,
                "p95_ms": cases[slowest]["p95_ms"],
                "queries": max(case["queries"] for case in cases.values()),
                "bound_p95_ms": bound_p95,
                "ratio": round(cases[slowest]["p95_ms"] / bound_p95, 1),
                "slowest": slowest,
                "ratios": ratios,
                "cases": details,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
