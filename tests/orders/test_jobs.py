"""Decisions on big orders run as background jobs: the request returns at once, the order page shows the progress
and the result, one job per order, the worker re-checks permission and runs the same operation; and a refused
submit of any size says why without the session cookie growing (flashed messages are kept on the server)."""

import random
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import dramatiq
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core.db import db, utcnow
from core.models import UserRole
from notifications import relay
from orders import jobs
from orders.jobs import Job
from orders.models import Order
from registrar.app import create_app
from students.models import Student, StudentMovement
from tests.conftest import Factory, login, wipe_tables
from tests.notifications.test_delivery import AMQP_URL, REAL_BROKERS, REDIS_URL, _drop_queue, _require_reachable
from tests.orders.test_promotion import bulk_draft, year_end  # noqa: F401 (a fixture)
from workflow.engine import fire

WAIT = 60


@pytest.fixture
def job_app(app) -> Iterator:
    """An app of its own (its own stub broker) on the suite's database, committing for real; wiped after."""
    built = jobs_app(app)
    with built.app_context():
        yield built
        db.session.remove()
    wipe_after(app, built)


def wipe_after(app, built) -> None:
    """Every table of the suite's database wiped, and the connections of the app `built` on it closed."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            wipe_tables(connection)
    with built.app_context():
        db.engine.dispose()


def jobs_app(app, **settings):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test",
        "BROKER_URL": "stub",
        "MAILBOX_DIR": app.config["MAILBOX_DIR"],
        "RELAY_INTERVAL": 3600,
        "JOB_THRESHOLD_LINES": 3,
        "BABEL_DEFAULT_LOCALE": "en",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    return create_app(config | settings)


def awaiting_signature(make: Factory, lines: int) -> tuple[Order, dict]:
    faculty = make.faculty()
    group = make.group(faculty)
    students = [make.student(group, surname=f"Фонов{n}") for n in range(lines)]
    people = {
        "clerk": make.user("clerk"),
        "dean": make.user("dean", faculty),
        "registrar": make.user("registrar"),
        "lawyer": make.user("lawyer"),
        "rector": make.user("rector"),
    }
    order = make.order(people["clerk"], students)
    fire(order, "submit", people["clerk"])
    for who in ("dean", "registrar", "lawyer"):
        fire(order, "approve", people[who])
    assert order.state == "awaiting_signature"
    return order, people


def signer_at(app, lines: int, role: str = "rector"):
    """An order of `lines` lines awaiting signature, committed, and a client of `app` logged in as its `role`."""
    order, people = awaiting_signature(Factory(), lines)
    db.session.commit()
    client = app.test_client()
    login(client, people[role])
    return order, people, client


def broker_of(app) -> dramatiq.Broker:
    return app.extensions[relay.EXTENSION].broker


def run_worker(app) -> None:
    """The embedded worker runs until no job is queued or running (the e-mails the jobs queued are not waited for)."""
    worker = relay.start_embedded_worker(app, worker_threads=1)
    try:
        wait_for(lambda: not active_jobs(), "the jobs to finish")
    finally:
        worker.stop()


def active_jobs() -> int:
    db.session.rollback()  # a fresh snapshot
    return db.session.scalar(select(func.count()).select_from(Job).where(Job.state.in_(jobs.ACTIVE_STATES)))


def jobs_of(order_id: int) -> list[Job]:
    db.session.rollback()
    return list(db.session.scalars(select(Job).where(Job.order_id == order_id).order_by(Job.id)))


def test_a_big_signing_runs_in_the_background_and_its_progress_reaches_100_with_the_order_signed(job_app):
    order, people, client = signer_at(job_app, 5)

    response = client.post(f"/orders/{order.id}/fire/sign", data={"version": order.version})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orders/{order.id}")
    [job] = jobs_of(order.id)
    assert (job.state, job.action, job.total, job.actor_id) == ("queued", "fire", 5, people["rector"].id)
    assert db.session.get(Order, order.id).state == "awaiting_signature"  # nothing signed in the request
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "runs in the background" in page and 'data-testid="job-progress"' in page
    assert "/static/jobs.js" in page and 'http-equiv="refresh"' in page  # polling, and the fallback without JS
    assert 'data-trigger="sign"' not in page  # no button to click twice while it runs
    status = client.get(f"/jobs/{job.id}").get_json()
    assert (status["state"], status["percent"], status["total"]) == ("queued", 0, 5)

    run_worker(job_app)

    status = client.get(f"/jobs/{job.id}").get_json()
    assert (status["state"], status["done"], status["percent"]) == ("done", 5, 100)
    db.session.expire_all()
    signed = db.session.get(Order, order.id)
    assert signed.state == "signed" and signed.number is not None
    assert db.session.scalar(select(func.count()).select_from(StudentMovement)) == 5
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="job-result"' in page and "Done in the background" in page


def test_a_second_click_while_the_job_waits_starts_no_second_job(job_app):
    order, people, client = signer_at(job_app, 4)
    client.post(f"/orders/{order.id}/fire/sign", data={"version": order.version})
    second = client.post(f"/orders/{order.id}/fire/sign", data={"version": order.version}, follow_redirects=True)
    assert "already running in the background" in second.get_data(as_text=True)
    assert len(jobs_of(order.id)) == 1
    assert broker_of(job_app).queues[relay.QUEUE].qsize() == 1  # one message handed over, not two

    # The database itself refuses a second active job of one order.
    db.session.add(Job(action="fire", order_id=order.id, actor_id=people["rector"].id, params={"trigger": "sign"}))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_dean_cannot_start_a_signing_job(job_app):
    order, people, client = signer_at(job_app, 4, "dean")
    response = client.post(f"/orders/{order.id}/fire/sign", data={"version": order.version})
    assert response.status_code == 403
    assert jobs_of(order.id) == []
    assert broker_of(job_app).queues[relay.QUEUE].qsize() == 0


def test_the_worker_checks_permission_again_and_the_refusal_is_the_result(job_app):
    order, people, client = signer_at(job_app, 4)
    client.post(f"/orders/{order.id}/fire/sign", data={"version": order.version})
    db.session.execute(update(UserRole).where(UserRole.user_id == people["rector"].id).values(role="lawyer"))
    db.session.commit()  # no longer a rector when the worker runs the job

    run_worker(job_app)

    [job] = jobs_of(order.id)
    assert job.state == "failed" and job.result["refusals"]
    assert db.session.get(Order, order.id).state == "awaiting_signature"


def test_small_orders_stay_synchronous(job_app):
    order, people, client = signer_at(job_app, 3)  # the threshold is 3: more than 3 lines go to the background
    client.post(f"/orders/{order.id}/fire/sign", data={"version": order.version})
    assert jobs_of(order.id) == []
    assert db.session.get(Order, order.id).state == "signed"


def test_a_job_left_past_its_lease_is_handed_over_again_and_finished_once(job_app):
    make = Factory()
    order, people = awaiting_signature(make, 4)
    job, started = jobs.start_job(order, "fire", people["rector"], {"trigger": "sign", "version": order.version})
    db.session.commit()
    broker_of(job_app).flush_all()  # the hand-over was lost
    # a worker claimed it and died: running, lease passed
    db.session.execute(update(Job).where(Job.id == job.id).values(state="running", attempts=1))
    db.session.commit()
    assert jobs.sweep_jobs() == 0  # the lease has not passed yet: left alone
    assert jobs.sweep_jobs(utcnow() + timedelta(hours=1)) == 1
    run_worker(job_app)
    [job] = jobs_of(order.id)
    assert (job.state, job.attempts) == ("done", 2)
    assert db.session.get(Order, order.id).state == "signed"
    assert jobs.run_job(job.id) == "skipped"  # a late duplicate does nothing
    assert db.session.scalar(select(func.count()).select_from(StudentMovement)) == 4


def test_metrics_show_the_jobs_running(job_app):
    make = Factory()
    order, people = awaiting_signature(make, 4)
    job, _started = jobs.start_job(order, "fire", people["rector"], {"trigger": "sign"})
    db.session.execute(update(Job).where(Job.id == job.id).values(state="running"))
    db.session.commit()
    body = job_app.test_client().get("/metrics").get_data(as_text=True)
    assert "registrar_jobs_running 1.0" in body
    assert "registrar_jobs_queued 0.0" in body


def metric(body: str, name: str, **labels: str) -> float:
    """The value of one sample in a /metrics page (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for line in body.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_the_workers_messages_by_actor(job_app):
    order, _people, client = signer_at(job_app, 4)
    before = job_app.test_client().get("/metrics").get_data(as_text=True)
    client.post(f"/orders/{order.id}/fire/sign", data={"version": order.version})
    run_worker(job_app)
    after = job_app.test_client().get("/metrics").get_data(as_text=True)

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("registrar_dramatiq_messages_enqueued_total", actor="run_order_job") == 1
    assert grew("registrar_dramatiq_messages_processed_total", actor="run_order_job", outcome="done") == 1
    assert grew("registrar_dramatiq_message_duration_seconds_count", actor="run_order_job") == 1
    assert metric(after, "registrar_dramatiq_messages_in_progress", actor="run_order_job") == 0


# A refused submit of a big draft says why -------------------------------------------------------------------------

BIG = 600
LETTERS = "абвгдежзийклмнопрстуфхцчшщыэюяәғқңөұүһі"


def surname(n: int) -> str:
    """Names as varied as real ones (a list of similar names would compress well in a cookie and prove nothing)."""
    chosen = random.Random(n)
    return "Б" + "".join(chosen.choice(LETTERS) for _ in range(9)) + "ов"


def big_refused_draft(make: Factory) -> tuple[Order, object]:
    """A 600-line expulsion draft whose students have almost all been expelled meanwhile: 590 lines are refused."""
    group = make.group(make.faculty())
    students = [make.student(group, surname=surname(n), name=surname(n + BIG)) for n in range(BIG)]
    clerk = make.user("clerk")
    order = make.order(clerk, students)
    db.session.execute(update(Student).where(Student.id.in_([s.id for s in students[10:]])).values(status="expelled"))
    db.session.expire_all()
    return order, clerk


def cookie_sizes(response) -> list[int]:
    return [len(value) for value in response.headers.getlist("Set-Cookie")]


def test_a_refused_submit_of_600_lines_lists_its_refusals_and_the_cookie_stays_small(app, client, make):
    app.config["JOB_THRESHOLD_LINES"] = 10_000  # this test is about the synchronous path
    try:
        order, clerk = big_refused_draft(make)
        login(client, clerk)
        response = client.post(f"/orders/{order.id}/fire/submit")
        assert response.status_code == 302
        assert all(size < 4093 for size in cookie_sizes(response)), cookie_sizes(response)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    finally:
        app.config["JOB_THRESHOLD_LINES"] = 300
    assert page.count('class="flash error"') == BIG - 10  # every refusal reached the page
    assert 'data-testid="flash-more"' in page  # the long list folds away
    assert db.session.get(Order, order.id).state == "draft"
    again = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'class="flash error"' not in again  # shown once, then gone


def test_a_refused_background_submit_of_600_lines_shows_each_refused_student(client, make):
    order, clerk = big_refused_draft(make)
    login(client, clerk)
    response = client.post(f"/orders/{order.id}/fire/submit")
    assert response.status_code == 302
    assert all(size < 4093 for size in cookie_sizes(response))
    [job] = db.session.scalars(select(Job).where(Job.order_id == order.id)).all()
    assert jobs.run_job(job.id) == "failed"  # what the worker does
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="job-result"' in page and "Refused" in page
    assert page.count("<li><strong>Б") == BIG - 10
    result = page.split('data-testid="job"')[1].split("</section>")[0]
    assert surname(BIG - 1) in result and surname(5) not in result  # the refused students, by name; not the eligible
    assert 'data-testid="job-refusals-more"' in page
    assert db.session.get(Order, order.id).state == "draft"


def test_flashed_messages_wait_on_the_server_until_the_next_page(client, uni, make):
    login(client, uni.clerk)
    order = make.order(uni.clerk, [])
    response = client.post(f"/orders/{order.id}/fire/submit")  # refused: no lines
    assert response.status_code == 302
    cookie = client.get_cookie("session").value
    assert "_flashes" not in client.application.session_interface.get_signing_serializer(client.application).loads(
        cookie
    )  # the message waits in the database, not in the cookie
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Add at least one student before submitting." in page


def wait_for(condition, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_the_embedded_worker_runs_a_job_while_the_user_waits(job_app):
    """The embedded mode: the in-process worker thread picks the job up while the web process serves."""
    order, people, client = signer_at(job_app, 4)
    worker = relay.start_embedded_worker(job_app, worker_threads=1)
    try:
        client.post(f"/orders/{order.id}/fire/sign", data={"version": order.version})
        [job] = jobs_of(order.id)
        wait_for(lambda: client.get(f"/jobs/{job.id}").get_json()["state"] == "done", "the job to finish")
    finally:
        worker.stop()
    db.session.rollback()
    assert db.session.get(Order, order.id).state == "signed"


def test_a_bulk_visa_from_the_inbox_puts_a_big_order_in_the_background(job_app):
    make = Factory()
    faculty = make.faculty()
    group = make.group(faculty)
    clerk, dean = make.user("clerk"), make.user("dean", faculty)
    big = make.order(clerk, [make.student(group, surname=f"Пакет{n}") for n in range(5)])
    small = make.order(clerk, [make.student(group, surname="Малый")])
    for order in (big, small):
        fire(order, "submit", clerk)
    db.session.commit()
    client = job_app.test_client()
    login(client, dean)
    page = client.post(
        "/inbox/bulk", data={"order_id": [big.id, small.id], "trigger": "approve"}, follow_redirects=True
    ).get_data(as_text=True)
    assert page.count('data-testid="bulk-background"') == 1
    db.session.expire_all()
    assert db.session.get(Order, small.id).state != "review_dean"  # the small one at once
    assert db.session.get(Order, big.id).state == "review_dean"  # the big one waits for the worker
    [job] = jobs_of(big.id)
    run_worker(job_app)
    assert db.session.get(Order, big.id).state != "review_dean"
    assert jobs_of(big.id)[0].result["state"] == db.session.get(Order, big.id).state


@pytest.mark.usefixtures("year_end")
def test_the_split_of_a_big_promotion_draft_runs_in_the_background(app, client, uni, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_THRESHOLD_LINES", 3)
    order = bulk_draft(uni, faculty_id=uni.fa.id)  # 6 lines
    login(client, uni.dean_a)
    assert client.post(f"/orders/promotion/{order.id}/split").status_code == 403  # a dean asks: no job
    assert db.session.scalars(select(Job)).all() == []
    login(client, uni.clerk)
    response = client.post(f"/orders/promotion/{order.id}/split")
    assert response.headers["Location"].endswith(f"/orders/promotion/{order.id}")
    [job] = db.session.scalars(select(Job).where(Job.order_id == order.id)).all()
    page = client.get(f"/orders/promotion/{order.id}").get_data(as_text=True)
    assert 'data-testid="job-progress"' in page and 'data-testid="split-refused"' not in page

    assert jobs.run_job(job.id) == "done"  # what the worker does: the same split

    page = client.get(f"/orders/promotion/{order.id}").get_data(as_text=True)
    assert page.count('data-testid="job-draft"') == 2  # links to the repeat-year and the expulsion drafts
    db.session.expire_all()
    assert sorted(line.student.surname for line in db.session.get(Order, order.id).lines) == ["Алиев", "Ерлин"]


def test_a_job_s_progress_is_for_those_who_see_its_order(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga) for _ in range(2)])
    job, _started = jobs.start_job(order, "fire", uni.clerk, {"trigger": "submit"})
    login(client, uni.dean_b)  # another faculty's dean
    assert client.get(f"/jobs/{job.id}").status_code == 403
    login(client, uni.clerk)
    assert client.get(f"/jobs/{job.id}").get_json()["state"] == "queued"
    assert client.get(f"/jobs/{job.id + 1000}").status_code == 404


@pytest.mark.broker
@pytest.mark.parametrize("url", [pytest.param(REDIS_URL, id="redis"), pytest.param(AMQP_URL, id="rabbitmq")])
def test_a_big_signing_through_a_real_broker(app, url):
    if not REAL_BROKERS:
        pytest.skip("needs a running Redis and RabbitMQ: set REGISTRAR_TEST_BROKERS=1 (CI does)")
    queue = f"registrar-jobs-{uuid.uuid4().hex[:12]}"  # leftovers on the shared broker cannot interfere
    built = jobs_app(app, BROKER_URL=url, BROKER_QUEUE=queue)
    broker = broker_of(built)
    _require_reachable(broker, url)
    try:
        with built.app_context():
            order, people, client = signer_at(built, 5)
            client.post(f"/orders/{order.id}/fire/sign", data={"version": order.version})
            [job] = jobs_of(order.id)
            worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
            worker.start()
            try:
                wait_for(lambda: client.get(f"/jobs/{job.id}").get_json()["state"] == "done", "the job")
            finally:
                worker.stop(timeout=10_000)
            db.session.rollback()
            assert db.session.get(Order, order.id).state == "signed"
            db.session.remove()
    finally:
        _drop_queue(broker, url, queue)
        broker.close()
        wipe_after(app, built)
