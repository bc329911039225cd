"""The production topology under a load of simulated people, then checks that nothing was lost or applied twice.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_load \\
        python -m bench.load [--students 2000] [--users 100] [--run-time 60] [--broker amqp://guest:guest@127.0.0.1:5672/]

Needs the `bench` extra (`pip install -c constraints.txt -e '.[bench]'`: locust and aiosmtpd). The database named by
DATABASE_URL is **wiped** (created when missing; PostgreSQL only) and filled by `bench.generate` with a university of
N students, plus a registrar-office user, a lawyer, more clerks and an API token per clerk.

On this machine it then starts what `deploy/` runs: gunicorn with `deploy/gunicorn.conf.py` and 4 workers, two
`registrar worker` processes and one `registrar scheduler`, on that database and the broker (RabbitMQ by default;
REGISTRAR_BROKER_URL is how the app picks it), with an SMTP sink (aiosmtpd) in this process as the mail server.
When `/ready` answers, `locust --headless` runs `bench/load_users.py` for `--run-time` seconds with `--users`
simulated people (deans, registrar office, lawyer and rector in the browser; clerks through the API). Then it waits
for the outbox to drain (every row sent, with a timeout), stops every process and checks:

- no request failed (HTTP 4xx/5xx or a connection error), per locust;
- every signed order was applied exactly once: each of its lines has exactly one movement and its student is
  expelled; no line of an order not signed has a movement; no student expelled without a signed line;
- no e-mail lost: one outbox row per line of a signed order whose student has an address, every row `sent`, and
  every such message received by the SMTP sink.

It prints requests per second, median/p95/p99 per endpoint, the checks, and as its last line one JSON object.
"""

import argparse
import csv
import json
import os
import signal
import subprocess  # nosec B404 - starts this project's own processes
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import text

from bench.generate import University, database_url, ensure_database, generate, make_app, reset_schema
from core.clock import today
from core.db import db
from core.models import User, create_user, issue_token
from orders.kinds.expulsion import Expulsion
from orders.operations import create_order_with_students
from students.models import Group
from workflow.engine import fire

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/"


class Sink:
    """An SMTP server that keeps the recipients of every message it is given (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.recipients: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.recipients.update(envelope.rcpt_tos)
        return "250 OK"


# Where the backlog's orders stop: each is fired up to the state named, through the route `legal`.
BACKLOG_STATES = ("review_dean", "review_registrar", "review_lawyer", "awaiting_signature")


def backlog(per_state: int, uni: University, office: list[User], student_ids: list[int]) -> list[int]:
    """Orders already on their way when the load starts, `per_state` in each open state, so that every role has
    work from the first second (as on a working day). Through the real code, each step committed. Returns the
    students they took (the clerks leave them alone)."""
    clerk = db.session.get(User, uni.clerk_id)
    taken: list[int] = []
    for position, state in enumerate(BACKLOG_STATES):
        for _ in range(per_state):
            ids, student_ids = student_ids[:3], student_ids[3:]
            taken += ids
            raw = {"reason": "attendance", "effective_date": today().isoformat(), "basis": "Докладные записки"}
            order = create_order_with_students(Expulsion.name, clerk, raw, ids, [])
            db.session.commit()
            fire(order, "submit", clerk)
            if position >= 1:
                for faculty_id in sorted(order.faculty_ids):
                    fire(order, "approve", db.session.get(User, uni.dean_ids[faculty_id]))
            for approver in office[: max(0, position - 1)]:
                fire(order, "approve", approver)
            db.session.commit()
            if order.state != state:
                raise SystemExit(f"backlog order {order.id} is {order.state}, not {state}")
    return taken


def prepare(students: int, per_state: int) -> dict:
    """Wipe and fill the database; the accounts and tokens the simulated people use."""
    uni = generate(students)
    office = [
        create_user("registrar", "bench", "Ахметова Динара Канатовна", ["registrar"], position="Офис регистратора"),
        create_user("lawyer", "bench", "Нургалиев Ерлан Маратович", ["lawyer"], position="Юрист"),
    ]
    clerks = [db.session.get(User, uni.clerk_id)]
    clerks += [create_user(f"clerk{i}", "bench", f"Специалист {i}", ["clerk"]) for i in (2, 3, 4)]
    db.session.flush()
    setup = {
        "deans": sorted(db.session.get(User, user_id).username for user_id in uni.dean_ids.values()),
        "registrars": ["registrar"],
        "lawyers": ["lawyer"],
        "rectors": ["rector"],
        "clerk_tokens": [issue_token(clerk, name="load test") for clerk in clerks],
        "groups": [db.session.get(Group, group_id).name for group_id in uni.group_ids],
        "effective_date": today().isoformat(),
    }
    db.session.commit()
    setup["taken"] = backlog(per_state, uni, office, list(reversed(uni.cohorts[0])))
    return setup


def environment(url: str, broker: str, port: int, smtp_port: int, metrics_dir: str) -> dict:
    """What /etc/registrar/registrar.env would hold for this machine, plus the gunicorn settings of deploy/."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REGISTRAR_BROKER_URL": broker,
        "REGISTRAR_SECRET_KEY": "load-test-" + "0" * 54,
        "REGISTRAR_MAIL_TRANSPORT": "smtp",
        "REGISTRAR_SMTP_HOST": "127.0.0.1",
        "REGISTRAR_SMTP_PORT": str(smtp_port),
        "REGISTRAR_LOG_LEVEL": "WARNING",
        "GUNICORN_WORKERS": "4",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
    }


def start(name: str, command: list[str], env: dict, logs: Path) -> subprocess.Popen:
    log = (logs / f"{name}.log").open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # nosec B603


def wait_ready(base: str, processes: list[subprocess.Popen], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a process of the topology exited before /ready; see the logs")
        try:
            with urllib.request.urlopen(f"{base}/ready", timeout=5) as response:  # nosec B310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"{base}/ready did not answer 200 within {timeout:.0f} s")


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM (gunicorn and the workers finish what they hold), then wait; SIGKILL whatever hangs."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def drain(timeout: float) -> tuple[float, int]:
    """Wait until no outbox row is pending; returns the seconds waited and the rows still pending."""
    started = time.monotonic()
    while True:
        pending = db.session.scalar(text("SELECT count(*) FROM outbox_messages WHERE status = 'pending'"))
        db.session.rollback()
        if pending == 0 or time.monotonic() - started > timeout:
            return time.monotonic() - started, pending
        time.sleep(1)


CHECKS_SQL = {
    "orders_signed": "SELECT count(*) FROM orders WHERE state = 'signed'",
    "orders_by_state": "SELECT state, count(*) FROM orders GROUP BY state ORDER BY state",
    "signed_lines": "SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.state = 'signed'",
    # lines of signed orders without exactly one movement, or whose student is not expelled
    "signed_lines_not_applied_once": """
        SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN students s ON s.id = l.student_id
        WHERE o.state = 'signed'
          AND ((SELECT count(*) FROM student_movements m WHERE m.order_line_id = l.id) <> 1 OR s.status <> 'expelled')
    """,
    "unsigned_lines_with_movements": """
        SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id
        WHERE o.state <> 'signed' AND EXISTS (SELECT 1 FROM student_movements m WHERE m.order_line_id = l.id)
    """,
    "expelled_without_signed_line": """
        SELECT count(*) FROM students s WHERE s.status = 'expelled' AND NOT EXISTS (
            SELECT 1 FROM order_lines l JOIN orders o ON o.id = l.order_id
            WHERE l.student_id = s.id AND o.state = 'signed')
    """,
    "emails_expected": """
        SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN students s ON s.id = l.student_id
        WHERE o.state = 'signed' AND coalesce(s.email, '') <> ''
    """,
    "outbox_students": "SELECT count(*) FROM outbox_messages WHERE template = 'expulsion_student'",
    "outbox_by_status": "SELECT status, count(*) FROM outbox_messages GROUP BY status ORDER BY status",
}


def check(sink: Sink) -> dict:
    """The checks after the run, on the database the topology wrote."""
    one = {k: db.session.scalar(text(sql)) for k, sql in CHECKS_SQL.items() if "_by_" not in k}
    states = dict(db.session.execute(text(CHECKS_SQL["orders_by_state"])).all())
    statuses = dict(db.session.execute(text(CHECKS_SQL["outbox_by_status"])).all())
    addresses = [
        row[0]
        for row in db.session.execute(
            text(
                "SELECT s.email FROM order_lines l JOIN orders o ON o.id = l.order_id "
                "JOIN students s ON s.id = l.student_id WHERE o.state = 'signed' AND coalesce(s.email, '') <> ''"
            )
        )
    ]
    with sink.lock:
        received = Counter(sink.recipients)
    not_received = sum(max(0, n - received[a]) for a, n in Counter(addresses).items())
    not_sent = sum(n for status, n in statuses.items() if status != "sent")
    lost = max(0, one["emails_expected"] - one["outbox_students"]) + not_sent + not_received
    db.session.rollback()
    return {
        **one,
        "orders_by_state": states,
        "outbox_by_status": statuses,
        "sink_messages": sum(received.values()),
        "emails_not_received": not_received,
        "emails_lost": lost,
    }


def read_stats(prefix: Path) -> tuple[list[dict], dict]:
    """locust's `--csv` statistics: one row per endpoint and the aggregated row."""
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    endpoints = [r for r in rows if r["Name"] != "Aggregated"]
    total = next(r for r in rows if r["Name"] == "Aggregated")
    return endpoints, total


def stat(row: dict) -> dict:
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": round(float(row["Requests/s"]), 2),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_locust(args: argparse.Namespace, base: str, setup: dict, prefix: Path, logs: Path) -> int:
    command = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "load_users.py"),
        "--headless",
        "--host",
        base,
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{args.run_time}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--only-summary",
    ]
    env = {**os.environ, "LOAD_SETUP": json.dumps(setup)}
    with (logs / "locust.log").open("w") as log:
        return subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode  # nosec B603


def report(endpoints: list[dict], total: dict) -> None:
    print(f"\n{'endpoint':<42}{'requests':>9}{'fail':>6}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for row in sorted(endpoints, key=lambda r: r["Name"]) + [total]:
        s = stat(row)
        name = f"{row['Type']} {row['Name']}" if row["Type"] else row["Name"]
        print(
            f"{name[:41]:<42}{s['requests']:>9}{s['failures']:>6}{s['rps']:>8.2f}"
            f"{s['p50_ms']:>8.0f}{s['p95_ms']:>8.0f}{s['p99_ms']:>8.0f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=2000, help="students in the generated university")
    parser.add_argument("--backlog", type=int, default=10, help="orders waiting in each open state at the start")
    parser.add_argument("--users", type=int, default=100, help="simulated people")
    parser.add_argument("--spawn-rate", type=float, default=10, help="people started per second")
    parser.add_argument("--run-time", type=int, default=60, help="seconds of load")
    parser.add_argument("--broker", default=os.environ.get("REGISTRAR_BROKER_URL", DEFAULT_BROKER))
    parser.add_argument("--port", type=int, default=8731, help="gunicorn's port on 127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=8732, help="the SMTP sink's port on 127.0.0.1")
    parser.add_argument("--drain-timeout", type=float, default=180, help="seconds to wait for the outbox")
    args = parser.parse_args(argv)

    url = database_url()
    ensure_database(url)
    app = make_app(url)
    with app.app_context():
        reset_schema()
        started = time.perf_counter()
        setup = prepare(args.students, args.backlog)
        print(
            f"generated {args.students} students, {len(setup['groups'])} groups "
            f"in {time.perf_counter() - started:.1f} s"
        )

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=args.smtp_port)
    controller.start()
    work = Path(tempfile.mkdtemp(prefix="registrar-load-"))
    metrics = work / "metrics"
    metrics.mkdir()
    env = environment(url, args.broker, args.port, args.smtp_port, str(metrics))
    base = f"http://127.0.0.1:{args.port}"
    processes = []
    try:
        processes.append(
            start("web", [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "registrar.wsgi:app"], env, work)
        )
        for i in (1, 2):
            processes.append(start(f"worker{i}", [str(BIN / "registrar"), "worker"], env, work))
        processes.append(start("scheduler", [str(BIN / "registrar"), "scheduler"], env, work))
        wait_ready(base, processes)
        print(
            f"topology up: gunicorn x4 on {base}, 2 workers, scheduler, broker {args.broker.split('@')[-1]}, "
            f"SMTP sink 127.0.0.1:{args.smtp_port}; logs in {work}"
        )
        load_before = load_average()
        code = run_locust(args, base, setup, work / "load", work)
        load_after = load_average()
        print(f"locust exited with {code}; load average before {load_before}, after {load_after}")
        with app.app_context():
            waited, pending = drain(args.drain_timeout)
            print(f"outbox drained in {waited:.1f} s ({pending} still pending)")
    finally:
        stop(processes)
        controller.stop()
    endpoints, total = read_stats(work / "load")
    report(endpoints, total)
    with app.app_context():
        checks = check(sink)
    aggregated = stat(total)
    ok = (
        aggregated["failures"] == 0
        and checks["signed_lines_not_applied_once"] == 0
        and checks["unsigned_lines_with_movements"] == 0
        and checks["expelled_without_signed_line"] == 0
        and checks["emails_lost"] == 0
    )
    print("\nchecks      " + json.dumps(checks, ensure_ascii=False))
    print("result      " + ("OK" if ok else "FAILED"))
    print(
        json.dumps(
            {
                "bench": "load",
                "users": args.users,
                "run_time_s": args.run_time,
                "students": args.students,
                "rps": aggregated["rps"],
                "requests": aggregated["requests"],
                "errors": aggregated["failures"],
                "p50_ms": aggregated["p50_ms"],
                "p95_ms": aggregated["p95_ms"],
                "p99_ms": aggregated["p99_ms"],
                "orders_signed": checks["orders_signed"],
                "signed_lines": checks["signed_lines"],
                "applied_wrong": checks["signed_lines_not_applied_once"]
                + checks["unsigned_lines_with_movements"]
                + checks["expelled_without_signed_line"],
                "emails": checks["outbox_students"],
                "emails_lost": checks["emails_lost"],
                "load_avg": load_after,
                "ok": ok,
                "endpoints": {f"{r['Type']} {r['Name']}": stat(r) for r in endpoints},
            },
            ensure_ascii=False,
        )
    )
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
