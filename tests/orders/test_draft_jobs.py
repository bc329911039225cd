"""Big bulk drafts and API decisions on big orders run as background jobs: the draft is created at once and a job
writes its lines (all or none, retried when a worker dies), a repeated request starts no second job; the API
answers 202 with the job and `GET /api/v1/jobs/<id>` tells its progress to who may see the order."""

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from core.db import db
from core.models import issue_token
from orders import jobs
from orders.jobs import Job
from orders.kinds.promotion import drafting as promotion
from orders.models import Order, OrderLine
from students.models import Student
from tests.conftest import login
from tests.orders.test_jobs import awaiting_signature
from tests.orders.test_promotion import BASIS, YEAR, year_end  # noqa: F401 (a fixture)
from tests.orders.test_state_scholarship import BASIS as SCHOLARSHIP_BASIS
from tests.orders.test_state_scholarship import YEAR as SCHOLARSHIP_YEAR
from tests.orders.test_state_scholarship import graded, year  # noqa: F401 (a fixture)

# Faculty A of `year_end` has five students to promote (and one in the final year): above a threshold of 3.
DRAFT = {"academic_year": YEAR, "effective_date": "2026-09-01", "basis": BASIS}


@pytest.fixture(autouse=True)
def small_threshold(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_THRESHOLD_LINES", 3)
    with force_locale("en"):
        yield


def bearer(user) -> dict:
    token = issue_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def jobs_of(order_id: int) -> list[Job]:
    return list(db.session.scalars(select(Job).where(Job.order_id == order_id).order_by(Job.id)))


def lines_of(order_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(OrderLine).where(OrderLine.order_id == order_id))


def orders_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Order))


@pytest.mark.usefixtures("year_end")
def test_a_big_promotion_draft_returns_at_once_and_its_job_fills_the_lines(client, uni):
    login(client, uni.clerk)
    form = {**DRAFT, "faculty_id": str(uni.fa.id), "programme_id": "", "course": ""}
    response = client.post("/orders/promotion/new", data=form)
    assert response.status_code == 302
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert lines_of(order_id) == 0  # nothing written in the request but the order
    [job] = jobs_of(order_id)
    assert (job.action, job.state, job.total) == ("promotion_fill", "queued", 5)
    page = client.get(f"/orders/promotion/{order_id}").get_data(as_text=True)
    assert "students are added in the background" in page
    assert 'data-testid="job-progress"' in page and "Add the students in scope" in page
    order_page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="job-progress"' in order_page
    assert 'id="remove-selected"' not in order_page  # no editing by hand while the job fills the draft

    before = orders_count()
    again = client.post("/orders/promotion/new", data=form, follow_redirects=True)
    assert "already running in the background" in again.get_data(as_text=True)
    assert orders_count() == before and len(jobs_of(order_id)) == 1  # no second draft, no second job

    assert jobs.run_job(job.id) == "done"  # what the worker does

    status = client.get(f"/jobs/{job.id}").get_json()
    assert (status["state"], status["done"], status["percent"]) == ("done", 5, 100)
    assert lines_of(order_id) == 5
    db.session.expire_all()
    assert len(db.session.get(Order, order_id).params[promotion.FINAL_YEAR]) == 1
    page = client.get(f"/orders/promotion/{order_id}").get_data(as_text=True)
    assert 'data-testid="job-result"' in page and page.count('<tr data-outcome="') == 3  # 2 repeat, 1 expulsion
    assert 'id="remove-selected"' in client.get(f"/orders/{order_id}").get_data(as_text=True)  # editable again


@pytest.mark.usefixtures("year_end")
def test_a_small_promotion_draft_stays_in_the_request(client, uni, app):
    app.config["JOB_THRESHOLD_LINES"] = 5  # five students: not above it
    login(client, uni.clerk)
    response = client.post("/orders/promotion/new", data={**DRAFT, "faculty_id": str(uni.fa.id)})
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert lines_of(order_id) == 5 and jobs_of(order_id) == []


@pytest.mark.usefixtures("year_end")
def test_a_worker_dying_mid_fill_leaves_no_line_and_the_job_is_run_again(uni, monkeypatch):
    order, job, started = promotion.ask_promotion(uni.clerk, {**DRAFT, "faculty_id": uni.fa.id})
    assert started and job is not None
    db.session.commit()
    fill = jobs.ACTIONS["promotion_fill"]

    def dies_after_writing(order, actor, params):
        fill(order, actor, params)
        assert lines_of(order.id) == 5  # written, not committed
        raise RuntimeError("the worker was killed")

    monkeypatch.setitem(jobs.ACTIONS, "promotion_fill", dies_after_writing)
    with pytest.raises(RuntimeError):
        jobs.run_job(job.id)
    assert lines_of(order.id) == 0  # one transaction: no half-filled draft
    db.session.refresh(job)
    assert job.state == "queued"  # handed back for the retry

    monkeypatch.setitem(jobs.ACTIONS, "promotion_fill", fill)
    assert jobs.run_job(job.id) == "done"
    assert lines_of(order.id) == 5
    assert jobs.run_job(job.id) == "skipped"  # a late duplicate writes nothing twice
    assert lines_of(order.id) == 5


@pytest.mark.usefixtures("year_end")
def test_the_api_bulk_draft_answers_202_and_the_job_then_gives_the_lines(client, uni):
    headers = bearer(uni.clerk)
    body = {**DRAFT, "faculty_id": uni.fa.id}
    response = client.post("/api/v1/promotion/drafts", headers=headers, json=body)
    assert response.status_code == 202, response.json
    accepted = response.json
    order_id, job = accepted["order_id"], accepted["job"]
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}") and job["url"].endswith(str(job["id"]))
    assert (job["state"], job["total"], job["percent"]) == ("queued", 5, 0)

    repeated = client.post("/api/v1/promotion/drafts", headers=headers, json=body)
    assert repeated.status_code == 202 and repeated.json["job"]["id"] == job["id"]
    assert repeated.json["order_id"] == order_id and len(jobs_of(order_id)) == 1

    assert jobs.run_job(job["id"]) == "done"

    status = client.get(f"/api/v1/jobs/{job['id']}", headers=headers).json
    assert (status["state"], status["done"], status["percent"], status["result"]) == ("done", 5, 100, {"lines": 5})
    outcomes = client.get(f"/api/v1/promotion/{order_id}/outcomes", headers=headers).json
    assert outcomes["counts"] == {"promote": 2, "repeat_year": 2, "expulsion": 1, "blocked": 0}


@pytest.mark.usefixtures("year")
def test_the_api_state_scholarship_draft_answers_202_and_the_job_then_gives_the_lines(client, uni, make):
    for n in range(4):
        graded(make, uni.ga, 85, 90, 95, surname=f"Стипендиатов{n}")
    headers = bearer(uni.clerk)
    body = {
        "academic_year": SCHOLARSHIP_YEAR,
        "semester": 2,
        "faculties": [uni.fa.id],
        "courses": [],
        "effective_date": "2027-02-01",
        "basis": SCHOLARSHIP_BASIS,
    }
    response = client.post("/api/v1/scholarship/drafts", headers=headers, json=body)
    assert response.status_code == 202, response.json
    order_id, job_id = response.json["order_id"], response.json["job"]["id"]
    assert lines_of(order_id) == 0

    assert jobs.run_job(job_id) == "done"

    outcomes = client.get(f"/api/v1/scholarship/{order_id}/outcomes", headers=headers).json
    assert outcomes["counts"]["in"] == 4 and len(outcomes["lines"]) == 4
    login(client, uni.clerk)
    page = client.get(f"/orders/scholarship/{order_id}").get_data(as_text=True)
    assert 'data-testid="job-result"' in page


def test_an_api_signing_of_a_big_order_answers_202_and_the_job_signs_it(client, make):
    order, people = awaiting_signature(make, 5)
    headers = bearer(people["rector"])
    dean = bearer(people["dean"])
    assert (
        client.post(f"/api/v1/orders/{order.id}/fire", headers=dean, json={"trigger": "sign"}).status_code == 403
    )  # not the dean's to sign: no job
    assert jobs_of(order.id) == []

    url = f"/api/v1/orders/{order.id}/fire"
    response = client.post(url, headers=headers, json={"trigger": "sign", "version": order.version})
    assert response.status_code == 202, response.json
    job = response.json["job"]
    assert (job["action"], job["state"], job["total"]) == ("fire", "queued", 5)
    assert db.session.get(Order, order.id).state == "awaiting_signature"  # nothing signed in the request
    again = client.post(url, headers=headers, json={"trigger": "sign", "version": order.version})
    assert again.status_code == 409 and len(jobs_of(order.id)) == 1

    assert jobs.run_job(job["id"]) == "done"

    status = client.get(job["url"], headers=headers).json
    assert (status["state"], status["percent"], status["result"]) == ("done", 100, {"state": "signed"})
    db.session.expire_all()
    assert db.session.get(Order, order.id).number is not None
    students = db.session.scalars(select(Student).join(OrderLine).where(OrderLine.order_id == order.id)).all()
    assert {student.status for student in students} == {"expelled"}


def test_a_job_is_shown_through_the_api_only_to_who_sees_its_order(client, uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga) for _ in range(2)])
    job, _started = jobs.start_job(order, "fire", uni.clerk, {"trigger": "submit"})
    other_dean, own_dean = bearer(uni.dean_b), bearer(uni.dean_a)
    response = client.get(f"/api/v1/jobs/{job.id}", headers=other_dean)
    assert response.status_code in (403, 404) and "state" not in response.json
    assert client.get(f"/api/v1/jobs/{job.id}", headers=own_dean).json["state"] == "queued"
    assert client.get(f"/api/v1/jobs/{job.id + 1000}", headers=own_dean).status_code == 404
    assert client.get(f"/api/v1/jobs/{job.id}").status_code == 401


def test_the_api_documents_the_202_and_the_job_endpoint(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    fire = paths["/api/v1/orders/{order_id}/fire"]["post"]["responses"]
    assert "Accepted" in str(spec["components"]["schemas"]) and "202" in fire
    assert "job" in str(fire["202"]) and "202" in paths["/api/v1/promotion/drafts"]["post"]["responses"]
    assert "202" in paths["/api/v1/scholarship/drafts"]["post"]["responses"]
    assert set(paths["/api/v1/jobs/{job_id}"]["get"]["responses"]) >= {"200", "403", "404"}
