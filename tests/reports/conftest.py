"""A small university with every kind of movement, signed for real (the reports' tests share it)."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from core.db import db
from orders import operations
from students.calendar import AcademicCalendar
from students.models import StudentMovement
from tests.conftest import sign
from tests.orders import test_revocation as revocation_tests
from tests.orders import test_transfer as transfer_tests


@pytest.fixture(autouse=True)
def english(session):
    with force_locale("en"):
        yield


SIGNED = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)


def clock_on(app, monkeypatch) -> Callable:
    """A function that moves the app's clock (undone with `monkeypatch`); the clock starts at SIGNED."""

    def move(moment):
        if isinstance(moment, date) and not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day, 5, 0, tzinfo=UTC)
        monkeypatch.setitem(app.config, "CLOCK_NOW", moment)
        return moment

    move(SIGNED)
    return move


@pytest.fixture
def clock(app, monkeypatch):
    return clock_on(app, monkeypatch)


def one_calendar_in(monkeypatch) -> None:
    """The builders each create the 2026-2027 calendar; in one university it is created once."""
    original = transfer_tests.calendar

    def calendar(year: int = 2026):
        found = db.session.scalar(select(AcademicCalendar).where(AcademicCalendar.year == f"{year}-{year + 1}"))
        return found or original(year)

    monkeypatch.setattr(transfer_tests, "calendar", calendar)


@pytest.fixture
def one_calendar(monkeypatch):
    one_calendar_in(monkeypatch)


def part_of(uni, make):
    """Two new faculties of the university, with a group and a dean each; the university's other people."""

    class Part(uni):
        pass

    Part.fa, Part.fb = make.faculty(), make.faculty()
    Part.ga, Part.gb = make.group(Part.fa), make.group(Part.fb, language="kk", study_form="part_time")
    Part.dean_a, Part.dean_b = make.user("dean", Part.fa), make.user("dean", Part.fb)
    return Part


def build_university(uni, make, clock) -> tuple[dict, date]:
    """Every builder of an order kind signed on its first effective date, in its own two faculties; a few students
    who move nowhere; the first expulsion revoked later. Returns (orders, the revocation's signing day)."""
    stay = [make.student(uni.ga, funding="paid") for _n in range(3)] + [make.student(uni.gb) for _n in range(3)]
    sign(make.order(uni.clerk, stay[-1:], reason="academic_failure", effective_date="2026-12-01"), uni)
    orders, parts = {}, {}
    for build in revocation_tests.BUILDERS:
        clock(SIGNED)
        part = parts[build.__name__] = part_of(uni, make)
        order = build(part, make)
        dates = sorted({line.effective_date for line in order.lines})
        clock(dates[0])
        operations.check_lines(order)
        assert all(line.accepted for line in order.lines), (build.__name__, [line.eligibility for line in order.lines])
        sign(order, part)
        orders[build.__name__] = order
    db.session.expire_all()
    last = max(m.effective_date for m in db.session.scalars(select(StudentMovement)))
    revoked_on = last + timedelta(days=5)
    clock(revoked_on)
    revocation = revocation_tests.draft_correction("revocation", uni.clerk, orders["expulsion"], "Представление")
    sign(revocation, parts["expulsion"])
    db.session.expire_all()
    return orders, revoked_on


@pytest.fixture
def university(uni, make, clock, one_calendar):
    """The university of `build_university`, built for the test."""
    return build_university(uni, make, clock)
