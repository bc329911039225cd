"""Pages of a long list: one helper for every list page (orders journal, audit log, students, mailbox).

A page number comes from the query string as the user (or a stale bookmark) typed it: anything that is not a
positive whole number means page 1, and a number past the end means the last page, so a list never answers 500 or
an empty page for a bad number. The total is counted in SQL over the same query, once.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from core.db import db

PER_PAGE = 50
MAX_PAGE = 10**6  # far past any real list; keeps OFFSET within what every database accepts


@dataclass
class Page:
    items: list[Any]
    number: int  # 1-based, within 1..pages
    pages: int  # at least 1, even for an empty list
    total: int
    per_page: int
    asked: str = ""  # the page the user asked for when it was not one of the pages (shown as a note)

    @property
    def first_index(self) -> int:
        """The 1-based position of the page's first item in the whole list (0 for an empty list)."""
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def page_number(raw: str | None) -> int:
    """The page asked for in the query string: 1 unless it is a positive whole number."""
    text = (raw or "").strip()
    return min(int(text), MAX_PAGE) if text.isdigit() and int(text) > 0 else 1


def _bounds(raw: str | None, total: int, per_page: int) -> tuple[int, int, str]:
    pages = max(-(-total // per_page), 1)
    number = page_number(raw)
    fixed = min(number, pages)
    asked = "" if raw in (None, "", str(fixed)) else (raw or "")[:20]
    return fixed, pages, asked


def paginate(query: Select, raw: str | None, *, per_page: int = PER_PAGE, scalars: bool = True) -> Page:
    """One page of `query` (ordered by the caller): its rows (`scalars`: the first column's objects, else Row
    tuples), with the page count from one COUNT over the same query."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    number, pages, asked = _bounds(raw, total, per_page)
    limited = query.limit(per_page).offset((number - 1) * per_page)
    result = db.session.execute(limited)
    items = list(result.unique().scalars() if scalars else result.all())
    return Page(items=items, number=number, pages=pages, total=total, per_page=per_page, asked=asked)


def paginate_list(items: Sequence[Any], raw: str | None, *, per_page: int = PER_PAGE) -> Page:
    """One page of a list already in memory (e.g. the files of the local mailbox)."""
    number, pages, asked = _bounds(raw, len(items), per_page)
    chunk = list(items[(number - 1) * per_page : number * per_page])
    return Page(items=chunk, number=number, pages=pages, total=len(items), per_page=per_page, asked=asked)
