"""The same student in several drafts: the earliest order keeps the student, a later draft never blocks an earlier
one, and the eligibility shown is the one submitting checks."""

import pytest

from core.db import db
from orders import operations
from tests.builders import rules
from tests.conftest import login
from workflow.engine import Refused, fire

pytestmark = pytest.mark.usefixtures("english")


def test_the_earliest_draft_keeps_the_student_and_is_submitted(client, uni, make):
    student = make.student(uni.ga)
    first, second, third = (make.order(uni.clerk, [student]) for _n in range(3))
    assert rules(first.lines[0]) == []
    assert rules(second.lines[0]) == ["line.open_order"]
    assert rules(third.lines[0]) == ["line.open_order", "line.open_order"]  # the first and the second
    assert operations.check_lines(first) == []
    assert fire(first, "submit", uni.clerk) == "review_dean"

    with pytest.raises(Refused) as error:
        fire(third, "submit", uni.clerk)
    assert [r.rule for r in error.value.refusals] == ["line.open_order", "line.open_order"]


def test_the_page_shows_what_submitting_would_find(client, uni, make):
    student = make.student(uni.ga, surname="Ким", name="Анна")
    first = make.order(uni.clerk, [student])
    second = make.order(uni.clerk, [student])
    assert rules(second.lines[0]) == ["line.open_order"]
    fire(first, "withdraw", uni.clerk)
    db.session.commit()
    login(client, uni.clerk)
    html = client.get(f"/orders/{second.id}").get_data(as_text=True)
    assert "is already in order" not in html
    db.session.refresh(second.lines[0])
    assert second.lines[0].eligible
