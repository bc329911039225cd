"""The small interface every order kind shares, and the rules all kinds apply to lines."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db
from core.labels import label as state_label
from orders.models import Order, OrderLine
from orders.params import LineParamsSchema, ParamsSchema
from students.models import Student
from workflow.engine import Refusal
from workflow.routes import TERMINAL_STATES

# Kinds whose lines change nothing in the student record (money orders, `OrderKind.changes_record = False`): an open
# order of such a kind does not block another order naming the same student, and their movements do not block a
# revocation. Filled by `orders.kinds` from its registry.
RECORD_NEUTRAL_KINDS: set[str] = set()


@dataclass(frozen=True)
class LineContext:
    """Facts about a batch of lines gathered in a fixed number of queries, shared by every line's check."""

    other_open_orders: dict[int, list[tuple[int, str, str]]]  # student id -> [(order id, label, state)]
    facts: dict[str, Any] = field(default_factory=dict)  # what the kind's `gather` read for all lines at once


def gather_context(
    order: Order, student_ids: list[int], *, drafts_conflict: bool = True, facts: dict[str, Any] | None = None
) -> LineContext:
    """One query for all lines: which of these students sit in another order that is still open.

    At signing a later draft naming the same student does not block: it cannot be submitted while this order is open.
    """
    blocking = Order.state.not_in(TERMINAL_STATES)
    if not drafts_conflict:
        blocking = blocking & (Order.state != "draft")
    if RECORD_NEUTRAL_KINDS:
        blocking = blocking & Order.kind.not_in(sorted(RECORD_NEUTRAL_KINDS))
    rows = (
        db.session.execute(
            select(OrderLine.student_id, Order.id, Order.number_label, Order.state)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.student_id.in_(student_ids), Order.id != order.id, blocking)
        )
        if student_ids
        else []
    )
    conflicts: dict[int, list[tuple[int, str, str]]] = {}
    for student_id, order_id, label, state in rows:
        conflicts.setdefault(student_id, []).append((order_id, label or f"#{order_id}", state))
    return LineContext(other_open_orders=conflicts, facts=facts or {})


def open_order_refusals(student: Student, context: LineContext) -> list[Refusal]:
    return [
        Refusal(
            "line.open_order",
            _(
                "%(name)s is already in order %(label)s (%(state)s); finish or withdraw that order first.",
                name=student.full_name,
                label=label,
                state=state_label(state),
            ),
            {"order_id": order_id, "state": state},
        )
        for order_id, label, state in context.other_open_orders.get(student.id, [])
    ]


def parse_date(value: Any) -> date | None:
    """A date from a form (date) or an API body (YYYY-MM-DD text); None when missing or malformed."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def record_values(student: Student, columns) -> dict:
    """`student`'s current values of `columns`, JSON-safe (dates as ISO text): what a reversal restores."""
    values = {}
    for column in columns:
        value = getattr(student, column)
        values[column] = value.isoformat() if isinstance(value, date) else value
    return values


def restored_values(record_before: dict) -> dict:
    """The inverse of `record_values`: column values ready for an UPDATE of the students table."""
    columns = Student.__table__.c
    values = {}
    for column, value in record_before.items():
        if value is not None and columns[column].type.python_type is date:
            value = date.fromisoformat(value)
        values[column] = value
    return values


# The rule most movement orders rest on: the Model Rules of Order No. 595 (a kind citing more says so itself).
MODEL_RULES_RU = (
    "В соответствии с Типовыми правилами деятельности организаций высшего и (или) послевузовского "
    "образования, утвержденными приказом Министра образования и науки Республики Казахстан от "
    "30 октября 2018 года № 595,"
)
MODEL_RULES_KK = (
    "Қазақстан Республикасы Білім және ғылым министрінің 2018 жылғы 30 қазандағы № 595 бұйрығымен "
    "бекітілген Жоғары және (немесе) жоғары оқу орнынан кейінгі білім беру ұйымдары қызметінің үлгілік "
    "қағидаларына сәйкес"
)


class OrderKind:
    """One kind of order: its parameters (and so its form), line eligibility, effects, reversal and document wording.

    Signing calls, in this order and once for all lines: `prepare`, `item_text` (document and e-mails, describing the
    students as the order found them), `preview` and `apply` per line (one bulk UPDATE of the students), then
    `after_apply`. A revocation calls `reverse` per line of its target and then `after_reverse`.
    """

    name: ClassVar[str]
    route: ClassVar[str] = "movement"
    title_ru: ClassVar[str]
    title_kk: ClassVar[str]
    preamble_ru: ClassVar[str] = MODEL_RULES_RU
    preamble_kk: ClassVar[str] = MODEL_RULES_KK
    # The order's parameters: the API body's `params`, the web form (see `orders.params`).
    params_schema: ClassVar[type[ParamsSchema]]
    # What differs from line to line (a target group, leave dates); None when every line takes the order's
    # parameters.
    line_schema: ClassVar[type[LineParamsSchema] | None] = None
    email_template: ClassVar[str] = "order_student"
    # False for kinds that change nothing in the students table (their `apply` returns {}): see RECORD_NEUTRAL_KINDS.
    changes_record: ClassVar[bool] = True
    # The heading of the document's appendix, for kinds whose `appendix_text` puts some lines there.
    appendix_title_ru: ClassVar[str] = "Приложение"
    appendix_title_kk: ClassVar[str] = "Қосымша"

    def label(self) -> str:
        raise NotImplementedError

    def line_params(self, order: Order) -> tuple[dict, date]:
        """Parameters and effective date a new line takes from its order: by default none, and the order's date."""
        return {}, date.fromisoformat(order.params["effective_date"])

    def gather(self, order: Order, lines: list[OrderLine]) -> dict[str, Any]:
        """Facts every line's check needs (GPA, debts, calendar), read for all lines in a fixed number of queries."""
        return {}

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

    def appendix_text(self, line: OrderLine, language: str) -> str | None:
        """None: the line is a numbered item of the order. A text: the line is listed in the document's appendix
        instead (e.g. students a scholarship order does not appoint, with the reason)."""
        return None

    def drafted(self, order: Order) -> None:
        """Right after a draft is created: lines its parameters imply (a correction's lines from its target)."""

    def prepare(self, order: Order, lines: list[OrderLine]) -> None:
        """Before the effects of signing: create what `apply` will point at (e.g. next year's groups)."""

    def after_apply(self, order: Order, lines: list[OrderLine]) -> None:
        """After the students' records are updated: effects outside the students table (e.g. debts), batched."""

    def reverse(self, line: OrderLine) -> dict:
        """The student's fields once this signed line is revoked: the exact values signing overwrote."""
        return restored_values(line.record_before or {})

    def after_reverse(self, order: Order, lines: list[OrderLine]) -> None:
        """Undo what `after_apply` did for these lines of a revoked or amended order."""
