"""A student's record as of a date, rebuilt from the movement history: the function, the page and the API."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from core.clock import now
from core.db import db
from core.labels import label
from core.models import issue_token
from students.history import parse_day, record_on, records_on
from students.models import StudentMovement
from students.timeline import write_movements
from tests.builders import statements_run
from tests.conftest import ENROLLED_ON, login, sign


@pytest.fixture
def expelled(make, uni):
    """A grant student of faculty A expelled on own request by a signed order effective 2026-12-01."""
    student = make.student(uni.ga, funding="grant")
    order = make.order(uni.clerk, [student], effective_date="2026-12-01")
    sign(order, uni)
    db.session.expire_all()
    assert student.status == "expelled" and student.funding == "none"  # signing changed the record at once
    return student


def test_before_the_effective_date_the_student_is_active_with_the_grant(expelled, uni):
    record = record_on(expelled, date(2026, 11, 30))
    assert record == {
        "date": date(2026, 11, 30),
        "status": "active",
        "course": 2,
        "funding": "grant",
        "expulsion_reason": None,
        "group": {"id": uni.ga.id, "name": uni.ga.name},
    }


@pytest.mark.parametrize("day", [date(2026, 12, 1), date(2026, 12, 2), date(2030, 1, 1)])
def test_from_the_effective_date_on_the_student_is_expelled_without_funding(expelled, uni, day):
    record = record_on(expelled, day)
    assert record == {
        "date": day,
        "status": "expelled",
        "course": 2,
        "funding": "none",
        "expulsion_reason": "own_request",
        "group": {"id": uni.ga.id, "name": uni.ga.name},
    }


def test_a_student_without_movements_is_as_now_on_any_date_since_enrolment_and_has_no_record_before(make, uni):
    student = make.student(uni.gb, funding="paid")
    record = record_on(student, ENROLLED_ON)
    assert (record["status"], record["funding"], record["group"]["id"]) == ("active", "paid", uni.gb.id)
    assert record_on(student, ENROLLED_ON - timedelta(days=1)) is None


def add_movement(student, day: str, changes: dict, kind: str = "transfer", reason: str | None = None) -> int:
    """A movement that sets each changed field to its value after, in effect and known now."""
    write_movements(
        [
            {
                "student_id": student.id,
                "kind": kind,
                "effective_date": date.fromisoformat(day),
                "changes": changes,
                "reason": reason,
                "known_since": now(),
                "applied_at": now(),
            }
        ],
        [{field: change[1] for field, change in changes.items()}],
    )
    return db.session.scalar(select(func.max(StudentMovement.id)))


def test_of_the_movements_of_the_same_day_the_latest_signed_wins(make, uni):
    first, second, third = uni.ga, make.group(uni.fa, course=3), make.group(uni.fa, course=3)
    student = make.student(first)
    earlier = add_movement(student, "2027-01-10", {"group_id": [first.id, second.id], "course": [2, 3]})
    later = add_movement(student, "2027-01-10", {"group_id": [second.id, third.id]})
    assert earlier < later
    student.group_id, student.course = third.id, 3
    db.session.flush()
    assert record_on(student, date(2027, 1, 9))["group"] == {"id": first.id, "name": first.name}
    assert record_on(student, date(2027, 1, 9))["course"] == 2
    assert record_on(student, date(2027, 1, 10))["group"] == {"id": third.id, "name": third.name}
    assert record_on(student, date(2027, 1, 10))["course"] == 3


def test_before_a_restoration_the_expulsion_and_its_reason_are_back(make, uni):
    student = make.student(uni.ga)
    add_movement(
        student,
        "2026-06-30",
        {
            "status": ["active", "expelled"],
            "funding": ["grant", "none"],
            "expulsion_reason": [None, "academic_failure"],
        },
        kind="expulsion",
        reason="academic_failure",
    )
    add_movement(
        student,
        "2027-01-20",
        {"status": ["expelled", "active"], "funding": ["none", "paid"], "expulsion_reason": ["academic_failure", None]},
        kind="restoration",
    )
    student.funding = "paid"
    db.session.flush()
    assert [
        (r["status"], r["funding"], r["expulsion_reason"])
        for r in (
            record_on(student, date(2026, 6, 29)),
            record_on(student, date(2026, 12, 31)),
            record_on(student, date(2027, 1, 20)),
        )
    ] == [("active", "grant", None), ("expelled", "none", "academic_failure"), ("active", "paid", None)]


def count_queries(call):
    db.session.flush()
    with statements_run() as statements:
        result = call()
    return result, len(statements)


def test_records_on_many_students_takes_a_constant_number_of_queries(make, uni):
    other = make.group(uni.fa, course=3)
    students = [make.student(uni.ga if n % 2 else uni.gb) for n in range(30)]
    for student in students:
        add_movement(student, "2027-02-01", {"group_id": [student.group_id, other.id], "course": [2, 3]})
        add_movement(student, "2027-03-01", {"funding": ["grant", "paid"]})
    ids = [s.id for s in students]
    few, few_queries = count_queries(lambda: records_on(ids[:3], date(2027, 1, 31)))
    many, many_queries = count_queries(lambda: records_on(ids, date(2027, 1, 31)))
    assert len(few) == 3 and len(many) == 30
    assert many_queries == few_queries <= 3
    assert all(many[s.id]["group"] == {"id": s.group_id, "name": s.group.name} for s in students)
    assert {(r["course"], r["funding"]) for r in many.values()} == {(2, "grant")}
    assert records_on([], date(2027, 1, 31)) == {}
    assert records_on([987654], date(2027, 1, 31)) == {}


@pytest.mark.parametrize("text", ["2026-12-1", "01.12.2026", "20261201", "2026-02-30", "x", ""])
def test_parse_day_takes_only_a_real_yyyy_mm_dd_date(session, text):
    with force_locale("en"), pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day(text)


# The page and the API -----------------------------------------------------------------------------------------


def page_record(response) -> dict:
    html = response.get_data(as_text=True)

    def testid(name):
        found = re.search(rf'data-testid="{name}">([^<]*)<', html)
        return found.group(1) if found else None

    return {
        "status": testid("as-of-status"),
        "course": testid("as-of-course"),
        "group": testid("as-of-group"),
        "funding": testid("as-of-funding"),
        "reason": testid("as-of-reason"),
    }


def api_as_page(body: dict) -> dict:
    with force_locale("en"):
        return {
            "status": label(body["status"]),
            "course": str(body["course"]),
            "group": body["group"]["name"],
            "funding": label(body["funding"]),
            "reason": label(body["expulsion_reason"]) or None,
        }


@pytest.mark.parametrize(("day", "status"), [("2026-11-30", "active"), ("2026-12-01", "expelled")])
def test_the_page_and_the_api_answer_the_same(client, expelled, uni, day, status):
    token = issue_token(uni.clerk)
    db.session.commit()
    login(client, uni.clerk)
    page = client.get(f"/students/{expelled.id}?date={day}")
    assert page.status_code == 200
    assert "Record as of" in page.get_data(as_text=True)
    api = client.get(f"/api/v1/students/{expelled.id}/as-of?date={day}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    body = api.get_json()
    assert body["date"] == day and body["status"] == status
    assert set(body) == {"date", "status", "course", "group", "funding", "expulsion_reason"}
    assert page_record(page) == api_as_page(body)


@pytest.mark.parametrize(
    ("now", "status"),
    [(datetime(2026, 11, 30, 12, tzinfo=UTC), "active"), (datetime(2026, 12, 1, 12, tzinfo=UTC), "expelled")],
)
def test_the_page_shows_the_record_as_of_today_by_default(app, client, expelled, uni, monkeypatch, now, status):
    monkeypatch.setitem(app.config, "CLOCK_NOW", now)
    login(client, uni.clerk)
    response = client.get(f"/students/{expelled.id}")
    assert response.status_code == 200
    assert f'name="date" value="{now.date().isoformat()}"' in response.get_data(as_text=True)
    with force_locale("en"):
        assert page_record(response)["status"] == label(status)


def test_a_bad_date_is_a_clear_400_on_the_page_and_a_422_in_the_api(client, expelled, uni):
    token = issue_token(uni.clerk)
    db.session.commit()
    login(client, uni.clerk)
    page = client.get(f"/students/{expelled.id}?date=2026-13-45")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'data-testid="as-of-error"' in html and "YYYY-MM-DD" in html
    assert 'data-testid="as-of"' not in html
    api = client.get(f"/api/v1/students/{expelled.id}/as-of?date=soon", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 422
    body = api.get_json()
    assert set(body) == {"code", "message", "errors"} and "YYYY-MM-DD" in body["errors"]["date"]


def test_another_faculty_dean_gets_403_and_an_unknown_student_404(client, expelled, uni):
    tokens = {user.username: issue_token(user) for user in (uni.dean_a, uni.dean_b)}
    db.session.commit()

    def api(user, student_id):
        return client.get(
            f"/api/v1/students/{student_id}/as-of?date=2026-11-30",
            headers={"Authorization": f"Bearer {tokens[user.username]}"},
        )

    assert api(uni.dean_a, expelled.id).status_code == 200
    forbidden = api(uni.dean_b, expelled.id)
    assert forbidden.status_code == 403 and forbidden.get_json()["errors"] == {"student_id": "not visible to you"}
    assert api(uni.dean_b, 987654).status_code == 404
    login(client, uni.dean_b)
    assert client.get(f"/students/{expelled.id}?date=2026-11-30").status_code == 403
    assert client.get("/students/987654?date=2026-11-30").status_code == 404
    login(client, uni.dean_a)
    assert client.get(f"/students/{expelled.id}?date=2026-11-30").status_code == 200


def test_the_api_description_lists_the_as_of_endpoint(client, session):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/students/{student_id}/as-of"]["get"]
    assert {"200", "403", "404", "422"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["date", "known_on"]
