"""Peak memory of signing a promotion of N students: ours against the plain-SQL bound, each in a fresh process.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_extract \\
        python -m bench.sign_memory --students 20000

The database is wiped and set up as `bench.promotion` does (two cohorts of N); both cohorts' promotions are drafted,
split, submitted and visaed in this process. Then each signature runs in a process of its own (`--sign ours|bound
ORDER`): the app created and a query made, its peak resident set size (`ru_maxrss`) read, the order signed and
committed (`fire(order, "sign")`, or `bench.promotion.sign_bound`), the peak read again. The figure is the growth
of the peak: what signing adds to a process that serves requests. Last line: {"bench": "sign_memory", "n": N,
"ours_mib": ..., "bound_mib": ..., "ours_peak_mib": ..., "bound_peak_mib": ..., ...}.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import QueryCounter, bulk_setup, set_cohort_status, sign_ours
from bench.generate import database_url, make_app, wiped_app
from bench.promotion import SETUP_SQL, YEAR, draft, sign_bound, to_signature, verify
from core.db import db
from core.progress import listening

ACTIVATE = (
    "UPDATE students SET status = 'active' WHERE id IN (SELECT student_id FROM order_lines WHERE order_id = :order)"
)


def peak_mib() -> float:
    """The process's peak resident set (VmHWM): unlike `ru_maxrss`, which Linux carries over from the parent's
    memory across fork and exec, it starts afresh in the child."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def sign_here(which: str, order_id: int, rector_id: int) -> dict:
    """Sign `order_id` in this (fresh) process; the peak RSS before and after, and the seconds."""
    app = make_app(database_url())
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
        before = peak_mib()
        milestones: list[tuple[float, float]] = []  # the peak's growth at each progress report of the signing
        started = time.perf_counter()
        if which == "ours":
            with listening(lambda fraction: milestones.append((fraction, round(peak_mib() - before, 1)))):
                sign_ours(order_id, rector_id, QueryCounter())
        else:
            sign_bound(order_id, rector_id)
        seconds = time.perf_counter() - started
        after = peak_mib()
        lines = verify(order_id)
    return {
        "which": which,
        "lines": lines,
        "before_mib": before,
        "peak_mib": after,
        "seconds": seconds,
        "milestones": milestones,
    }


def in_fresh_process(which: str, order_id: int, rector_id: int, url: str) -> dict | None:
    """Sign in a child process on a copy of the prepared database (so that either can be signed again)."""
    target = make_url(url)
    copy = target.set(database=f"{target.database}_signing")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{copy.database}"'))
        connection.execute(text(f'CREATE DATABASE "{copy.database}" TEMPLATE "{target.database}"'))
    admin.dispose()
    app = make_app(copy.render_as_string(hide_password=False))
    with app.app_context():  # the signing re-checks eligibility: only this order's students are active
        db.session.execute(text("UPDATE students SET status = 'academic_leave'"))
        db.session.execute(text(ACTIVATE), {"order": order_id})
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    command = [sys.executable, "-m", "bench.sign_memory", "--sign", which, str(order_id), str(rector_id)]
    environment = {**os.environ, "DATABASE_URL": copy.render_as_string(hide_password=False)}
    finished = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=environment)  # noqa: S603 - ours
    if finished.returncode:
        return None
    return json.loads(finished.stdout.strip().splitlines()[-1])


def prepare(n: int) -> dict:
    """Both cohorts' promotions drafted and visaed, awaiting signature; their ids."""
    with wiped_app():
        counter = QueryCounter()
        uni, (registrar_id,) = bulk_setup(n, SETUP_SQL, YEAR, ("registrar", "Регистратор", "registrar"))
        orders = {"rector": uni.rector_id}
        for which, on_leave, active in (("ours", 1, 0), ("bound", 0, 1)):
            set_cohort_status(uni.cohorts[on_leave], "academic_leave")
            set_cohort_status(uni.cohorts[active], "active")
            orders[which] = draft(uni, counter)[0]
            to_signature(orders[which], uni, registrar_id)
        db.session.remove()
        db.engine.dispose()
    return orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=20000, help="students per cohort (N)")
    parser.add_argument("--reuse", action="store_true", help="sign the orders a previous run prepared (no setup)")
    parser.add_argument("--only", choices=("ours", "bound"), help="measure one of the two")
    parser.add_argument("--sign", nargs=3, metavar=("WHICH", "ORDER", "RECTOR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sign:
        which, order_id, rector_id = args.sign
        print(json.dumps(sign_here(which, int(order_id), int(rector_id))))
        return
    url = database_url()
    saved = Path(tempfile.gettempdir()) / f"sign_memory-{make_url(url).database}-{args.students}.json"
    if args.reuse and saved.exists():
        orders = json.loads(saved.read_text())
    else:
        orders = prepare(args.students)
        saved.write_text(json.dumps(orders))
    summary: dict = {"bench": "sign_memory", "n": args.students}
    for which in ("ours", "bound"):
        if args.only and which != args.only:
            continue
        result = in_fresh_process(which, orders[which], orders["rector"], url)
        if result is None:
            print(f"{which:6} failed (see above)")
            continue
        grown = result["peak_mib"] - result["before_mib"]
        print(
            f"{which:6} {grown:8.1f} MiB more at peak ({result['before_mib']:.0f} -> {result['peak_mib']:.0f} MiB), "
            f"{result['seconds']:.2f} s, {result['lines']} lines"
        )
        if result["milestones"]:
            print(
                "       peak growth at each progress report: "
                + ", ".join(f"{f:.0%} +{m} MiB" for f, m in result["milestones"])
            )
        summary[f"{which}_mib"] = round(grown, 1)
        summary[f"{which}_peak_mib"] = round(result["peak_mib"], 1)
        summary[f"{which}_s"] = round(result["seconds"], 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
