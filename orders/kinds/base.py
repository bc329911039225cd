"""The small interface every order kind shares, and the rules all kinds apply to lines."""

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from core.db import db
from core.labels import label as state_label
from orders.models import Order, OrderLine
from students.models import Student
from workflow.engine import Refusal
from workflow.routes import TERMINAL_STATES


@dataclass(frozen=True)
class LineContext:
    """Facts about a batch of lines gathered in a fixed number of queries, shared by every line's check."""

    other_open_orders: dict[int, list[tuple[int, str, str]]]  # student id -> [(order id, label, state)]


def gather_context(order: Order, student_ids: list[int], *, drafts_conflict: bool = True) -> LineContext:
    """One query for all lines: which of these students sit in another order that is still open.

    At signing a later draft naming the same student does not block: it cannot be submitted while this order is open.
    """
    blocking = Order.state.not_in(TERMINAL_STATES)
    if not drafts_conflict:
        blocking = blocking & (Order.state != "draft")
    rows = db.session.execute(
        select(OrderLine.student_id, Order.id, Order.number_label, Order.state)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.student_id.in_(student_ids), Order.id != order.id, blocking)
    ) if student_ids else []
    conflicts: dict[int, list[tuple[int, str, str]]] = {}
    for student_id, order_id, label, state in rows:
        conflicts.setdefault(student_id, []).append((order_id, label or f"#{order_id}", state))
    return LineContext(other_open_orders=conflicts)


def open_order_refusals(student: Student, context: LineContext) -> list[Refusal]:
    return [
        Refusal("line.open_order",
                _("%(name)s is already in order %(label)s (%(state)s); finish or withdraw that order first.",
                  name=student.full_name, label=label, state=state_label(state)),
                {"order_id": order_id, "state": state})
        for order_id, label, state in context.other_open_orders.get(student.id, [])
    ]


class OrderKind:
    """One kind of order: its parameters and form, line eligibility, effects, and document wording."""

    name: ClassVar[str]
    route: ClassVar[str] = "movement"
    title_ru: ClassVar[str]
    title_kk: ClassVar[str]
    preamble_ru: ClassVar[str]
    preamble_kk: ClassVar[str]
    form_class: ClassVar[type[FlaskForm]]

    def label(self) -> str:
        raise NotImplementedError

    def validate_params(self, raw: dict) -> tuple[dict, dict[str, str]]:
        """Clean order parameters from a form or API body: (params, errors by field)."""
        raise NotImplementedError

    def line_params(self, order: Order) -> tuple[dict, date]:
        """Parameters and effective date a new line takes from its order."""
        raise NotImplementedError

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        """Why this line cannot be in the order (empty when it can). Every refusal names its rule."""
        raise NotImplementedError

    def apply(self, line: OrderLine, order: Order) -> dict:
        """The student's fields after signing, as {column: value}; the caller writes every line's values with one
        bulk UPDATE, so each line of a kind must return the same columns (unchanged ones with their current value).
        """
        raise NotImplementedError

    def preview(self, line: OrderLine) -> dict:
        """The changes signing makes to the student's record, as {field: [before, after]}: shown on open orders,
        stored on the line and in the student's movement history when signed."""
        raise NotImplementedError

    def item_text(self, line: OrderLine, language: str) -> str:
        """The wording of this line's numbered item in the document, in 'ru' or 'kk'."""
        raise NotImplementedError
