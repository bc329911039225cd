"""A worker killed with SIGKILL in the middle of a background signing job, on PostgreSQL: the order is untouched, the
job stays `running` until its lease passes, then the sweep hands it over again and a restarted worker signs the
order exactly once (one number, one movement per line, the job done after two claims). The same for the job filling
a big bulk draft: killed with its lines written but not committed, the draft stays empty; the restart fills it once.

The approach of test_kill_signing.py: the test holds a lock on the outbox, which signing writes last, so the worker
process is certainly in the middle of its transaction when it is killed.
"""

import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import db, utcnow
from orders import jobs
from orders.jobs import Job
from orders.kinds.promotion import drafting as promotion
from orders.models import Order, OrderLine, OrderSequence
from students.models import StudentMovement
from tests.conftest import Factory
from tests.orders.test_jobs import awaiting_signature, jobs_app, run_worker
from tests.orders.test_kill_signing import kill_when_waiting, outbox_writers, server_processes

DATABASE_URL = os.environ.get("DATABASE_URL", "")
LINES = 400
FILLED = 40  # students of the bulk draft filled by a job

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not DATABASE_URL.startswith("postgresql"),
        reason="a killed worker is proved on PostgreSQL only: set DATABASE_URL=postgresql+psycopg://...",
    ),
]

WORKER = """
import sys
from core.db import db
from orders.jobs import run_job
from registrar.app import create_app

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "BROKER_URL": "stub", "MAILBOX_DIR": sys.argv[3]})
with app.app_context():
    print("running", flush=True)
    print(run_job(int(sys.argv[2])), flush=True)
"""


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_worker_killed_mid_job_leaves_the_order_untouched_and_a_restart_signs_it_once(app, committed, tmp_path):
    built = jobs_app(app, JOB_THRESHOLD_LINES=300)
    with built.app_context():
        try:
            make = Factory()
            order, people = awaiting_signature(make, LINES)
            job, started = jobs.start_job(
                order, "fire", people["rector"], {"trigger": "sign", "version": order.version}
            )
            db.session.commit()
            assert started
            numbers = db.session.scalar(select(func.coalesce(func.max(OrderSequence.last_number), 0)))

            # the job has claimed, numbered, applied, rendered: now it waits to write the outbox
            kill_when_waiting([WORKER, DATABASE_URL, str(job.id), str(tmp_path)], "outbox_messages", outbox_writers)
            db.session.rollback()
            killed = db.session.get(Job, job.id)
            assert (killed.state, killed.attempts) == ("running", 1)  # claimed, never finished
            assert 0 < killed.done < LINES  # the progress, written in transactions of its own, was seen meanwhile
            assert db.session.get(Order, order.id).state == "awaiting_signature"
            assert count(StudentMovement) == 0

            assert jobs.sweep_jobs() == 0  # its lease still runs: nobody takes it over yet
            assert jobs.sweep_jobs(utcnow() + timedelta(seconds=built.config["JOB_LEASE"] + 1)) == 1
            run_worker(built)  # the restarted worker

            db.session.rollback()
            done = db.session.get(Job, job.id)
            assert (done.state, done.attempts, done.done, done.total) == ("done", 2, LINES, LINES)
            signed = db.session.get(Order, order.id)
            assert signed.state == "signed" and signed.number == numbers + 1
            assert count(StudentMovement) == LINES  # applied once
            assert jobs.run_job(job.id) == "skipped"  # a duplicate message later does nothing
            assert count(StudentMovement) == LINES
        finally:
            db.session.remove()
            db.engine.dispose()


def fillers_waiting() -> int:
    """Server processes waiting for the lock on the curriculum, which a promotion's check reads first: the fill job
    has written its lines (not committed) and is checking them."""
    return server_processes("%curriculum_items%", running=False)


def test_a_worker_killed_mid_fill_leaves_the_draft_empty_and_a_restart_fills_it_once(app, committed, tmp_path):
    built = jobs_app(app, JOB_THRESHOLD_LINES=3)
    with built.app_context():
        try:
            make = Factory()
            group = make.group(make.faculty())
            for n in range(FILLED):
                make.student(group, surname=f"Недописан{n}")
            clerk = make.user("clerk")
            raw = {"academic_year": "2025-2026", "effective_date": "2026-09-01", "basis": "Итоги сессии"}
            order, job, started = promotion.ask_promotion(clerk, {**raw, "faculty_id": group.programme.faculty_id})
            db.session.commit()
            assert started and job.total == FILLED

            # the lines are written (not committed); their check waits to read the curriculum
            kill_when_waiting([WORKER, DATABASE_URL, str(job.id), str(tmp_path)], "curriculum_items", fillers_waiting)
            db.session.rollback()
            killed = db.session.get(Job, job.id)
            assert (killed.state, killed.attempts) == ("running", 1)
            assert 0 < killed.done < FILLED  # the progress after writing the lines was seen meanwhile
            assert count_lines(order.id) == 0  # no half-filled draft

            assert jobs.sweep_jobs(utcnow() + timedelta(seconds=built.config["JOB_LEASE"] + 1)) == 1
            run_worker(built)

            db.session.rollback()
            done = db.session.get(Job, job.id)
            assert (done.state, done.attempts, done.done) == ("done", 2, FILLED)
            assert count_lines(order.id) == FILLED  # every line, once
        finally:
            db.session.remove()
            db.engine.dispose()


def count_lines(order_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order_id))
