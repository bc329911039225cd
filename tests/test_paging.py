"""The one pager of every list: bad page numbers never fail, the last page holds the rest."""

import pytest
from sqlalchemy import select

from core.models import User
from core.paging import page_number, paginate, paginate_list
from tests.conftest import login


@pytest.mark.parametrize(
    "raw, number", [(None, 1), ("", 1), ("2", 2), ("0", 1), ("-4", 1), ("x", 1), ("2.5", 1), (" 3 ", 3)]
)
def test_a_page_number_is_a_positive_whole_number_or_page_one(raw, number):
    assert page_number(raw) == number


def test_a_list_in_memory_pages_and_the_asked_page_is_kept_when_it_was_not_one():
    items = list(range(1, 124))
    first, last = paginate_list(items, None), paginate_list(items, "3")
    assert (first.items, first.pages, first.total, first.asked) == (items[:50], 3, 123, "")
    assert (last.items, last.first_index, last.last_index) == (items[100:], 101, 123)
    past = paginate_list(items, "9")
    assert past.number == 3 and past.items == items[100:] and past.asked == "9"
    empty = paginate_list([], "4")
    assert (empty.items, empty.number, empty.pages, empty.first_index) == ([], 1, 1, 0)


def test_a_query_pages_with_one_count(session, make):
    for _ in range(7):
        make.user("clerk")
    query = select(User).order_by(User.id)
    every = list(session.scalars(query))
    pages = [paginate(query, str(n), per_page=3) for n in (1, 2, 3)]
    assert [user for page in pages for user in page.items] == every
    assert pages[2].total == len(every) and pages[2].pages == -(-len(every) // 3)


def test_the_mailbox_answers_any_page_number(client, uni):
    login(client, uni.admin)
    for args in ("page=abc", "page=-1&outbox_page=x", "page=999999999999999999999", "outbox_page=0"):
        assert client.get(f"/admin/mailbox/?{args}").status_code == 200, args
