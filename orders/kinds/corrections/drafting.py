"""Drafting a correction of a signed order: find the target by its number or id, say why it cannot be corrected,
and give the draft one line per target line it reverses (a revocation: all; an amendment: the items it excludes).

The kinds themselves (effects, reversal, wording) are in `revocation.py` beside this module; `operations.create_order`
calls the kind's `drafted` hook, which calls `add_lines` here, so the order form and the API draft a correction the
same way.
"""

import re
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from core.clock import today
from core.db import db
from core.labels import label as code_label
from orders.models import Order, OrderLine

CORRECTION_KINDS = ("revocation", "amendment")
_ID = re.compile(r"#?(\d{1,9})")


def find_target(ref) -> tuple[Order | None, str | None]:
    """The order named by `ref` (its number label such as "12-С", or its id as 57 or "#57"), or why none is."""
    text = str(ref).strip() if isinstance(ref, str | int) and not isinstance(ref, bool) else ""
    if not text:
        return None, _("Name the signed order to correct: its number (e.g. 12-С) or its id (e.g. #57).")
    match = _ID.fullmatch(text)
    if match:
        order = db.session.get(Order, int(match.group(1)))
        if order is None:
            return None, _("There is no order with id %(id)s.", id=match.group(1))
        return order, None
    found = list(db.session.scalars(select(Order).where(Order.number_label == text).order_by(Order.year.desc())))
    if not found:
        return None, _("There is no signed order number %(label)s.", label=text)
    if len(found) > 1:
        return None, _(
            "Several orders carry number %(label)s (years %(years)s); name the one you mean by its id, e.g. #%(id)s.",
            label=text,
            years=", ".join(str(o.year) for o in found),
            id=found[0].id,
        )
    return found[0], None


def target_problem(target: Order) -> str | None:
    """Why `target` cannot be revoked or amended now (None when it can)."""
    if target.state != "signed":
        return _(
            "Order %(label)s is not signed (%(state)s): only a signed order is revoked or amended; a draft is "
            "edited or withdrawn instead.",
            label=target.label,
            state=code_label(target.state),
        )
    if target.superseded_as:
        by = target.superseded_by.label if target.superseded_by else "?"
        return _(
            "Order %(label)s is already %(how)s by order %(by)s; it cannot be corrected again.",
            label=target.label,
            how=_("revoked") if target.superseded_as == "revoked" else _("amended"),
            by=by,
        )
    if target.kind in CORRECTION_KINDS:
        return _(
            "Order %(label)s is itself a correction of order %(other)s and cannot be revoked or amended; "
            "to restore what it undid, draft that measure again as a new order.",
            label=target.label,
            other=target.target_order.label if target.target_order else "?",
        )
    return None


def parse_items(raw, count: int) -> tuple[list[int], str | None]:
    """Item numbers (1..count) from "1, 3", 2 or [1, 3]: sorted, without repeats; or why they are wrong."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        parts = [str(raw)]
    elif isinstance(raw, list | tuple):
        parts = [str(v) for v in raw]
    elif isinstance(raw, str):
        parts = [p for p in re.split(r"[\s,;]+", raw) if p]
    else:
        parts = []
    if not parts:
        return [], _("Choose the items of the order to exclude, e.g. 1, 3.")
    wrong = [p for p in parts if not p.isdigit() or not 1 <= int(p) <= count]
    if wrong:
        return [], _("The order has items 1 to %(n)s; %(wrong)s is not one of them.", n=count, wrong=", ".join(wrong))
    return sorted({int(p) for p in parts}), None


def add_lines(order: Order, target: Order, items: list[int] | None, effective: date) -> list[OrderLine]:
    """One line per target line (those numbered in `items`, or all): it names the target line and its item number
    and takes effect on `effective`, never before the target line did."""
    added = []
    for n, target_line in enumerate(target.lines, 1):
        if items is not None and n not in items:
            continue
        line = OrderLine(
            student=target_line.student,
            faculty_id=target_line.student.faculty_id,
            position=len(order.lines) + 1,
            params={"item": n, "target_line_id": target_line.id},
            effective_date=max(effective, target_line.effective_date),
        )
        order.lines.append(line)
        added.append(line)
    return added


def default_effective_date(value) -> date:
    return value if isinstance(value, date) else today()
