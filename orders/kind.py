"""The interface every order kind shares (`OrderKind`), and the helpers kinds use for their parameters and lines."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from flask import Blueprint
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import ValidationError

from core.clock import today
from core.labels import label
from orders.models import Order, OrderLine
from orders.params import LineParamsSchema, ParamsSchema, Text, text_field
from students.academic import academic_year_of
from students.models import Student
from workflow.engine import Refusal


@dataclass(frozen=True)
class LineContext:
    """Facts about a batch of lines gathered in a fixed number of queries, shared by every line's check."""

    other_open_orders: dict[int, list[tuple[int, str, str]]]  # student id -> [(order id, label, state)]
    facts: dict[str, Any] = field(default_factory=dict)  # what the kind's `gather` read for all lines at once


def parse_academic_year(value: Any) -> str | None:
    """'2025-2026' when `value` names two consecutive years that way, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    start, dash, end = value.partition("-")
    if dash and start.isdigit() and end.isdigit() and len(start) == len(end) == 4 and int(end) == int(start) + 1:
        return value
    return None


ACADEMIC_YEAR_MESSAGE = _l("Give the academic year as two consecutive years, e.g. 2025-2026.")


def _two_consecutive_years(value: str) -> None:
    if parse_academic_year(value) is None:
        raise ValidationError(str(ACADEMIC_YEAR_MESSAGE))


def academic_year_field(description: str) -> Text:
    """The academic year an order is about, e.g. 2025-2026; empty: the current one."""
    return text_field(
        _l("Academic year"),
        longest=9,
        too_long=ACADEMIC_YEAR_MESSAGE,
        invalid=ACADEMIC_YEAR_MESSAGE,
        check=_two_consecutive_years,
        load_default=lambda: academic_year_of(today()),
        description=description,
    )


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


MONTHLY, ONE_OFF = "monthly", "one_off"  # how a paying kind pays (`OrderKind.pays`)


def refused_for(student: Student, attribute: str, rule: str, message: str) -> Refusal:
    """An absolute refusal for the student's `attribute` (status, funding): `message`, translated but not formatted,
    names %(name)s and %(<attribute>)s; the refusal's data hold the value."""
    value = getattr(student, attribute)
    return Refusal(
        rule, message % {"name": student.full_name, attribute: label(value)}, {attribute: value}, absolute=True
    )


class OrderKind:
    """One kind of order: its parameters (and so its form), line eligibility, effects, reversal and document
    wording, and what the rest of the system needs of it. A kind is registered once (`orders/kinds/__init__.py`,
    `registry.register`); the order core, the generic pages, the register, the approvals and `registrar` ask
    `orders.registry`, never a kind's module. README "Add an order kind" has a small example.

    Declared as class attributes (defaults below):

    - `name` (the code stored on orders and movements), `route` (the approval route), `title_ru`/`title_kk`,
      `preamble_ru`/`preamble_kk` (the document's opening), `appendix_title_ru`/`_kk`, `email_template` (under
      templates/emails/), `params_schema` and `line_schema` (the order's and a line's parameters, see
      `orders.params`: the API body's `params` and the web forms are loaded through them).
    - `labels`: the codes the kind stores (its own name, its parameters' values, its line fields) with their words,
      `lazy_gettext` strings; `label()` and templates' `label(code)` show them (`core.labels.register_labels`).
    - `blueprints` and `api_blueprints`: the kind's own pages (a Flask blueprint with its `template_folder`) and API
      endpoints (a flask-smorest blueprint); `registrar` registers those of every kind. Kinds sharing a folder
      may declare the same blueprint.
    - Templates the order pages include, each rendered with `order` and `kind` in scope: `order_page_links` (on the
      page of an order of this kind), `draft_links` (in the "Add students" card of its drafts), `every_order_panels`
      (on the page of every order, whatever its kind: the corrections' "Correct this order"; the template decides
      when it shows) and `new_order_links` (in the "New order" menu, e.g. a bulk draft for a whole scope).
    - `drafts_import_conflicts`: the endpoint of the kind's own pages that turns the students an import found under
      other names into a draft (the import page posts its conflicts there; `registry.import_conflicts_endpoint`).
    - `changes_record`: False for a kind whose `apply` returns {} (a payment). Its open orders block nobody and its
      movements block no revocation. A line of a record-changing kind, or of a kind with `blocked_by_open_orders`, is
      refused while its student sits in another open record-changing order (rule `line.open_order`, applied by
      `operations.check_lines`).
    - `pays`: None, or how the scholarship register pays its lines (`MONTHLY`: `amount` for each of `months`;
      `ONE_OFF`: `amount` once); `paid_only_on_grant`: the payments stop when the student loses the state grant.
    - `corrects`: the kind revokes or amends a signed order (`target_order`) by reversing its lines.
    - `line_outcomes`: {outcome code: words} when the kind sorts its lines into outcomes (`line_outcome`), which the
      order page offers as a filter with counts; empty: no such filter.

    Hooks, called by `orders.operations`: `drafted` when a draft is created (its parameters loaded through
    `params_schema`); `line_params` for new lines (a line's own details are loaded through `line_schema`); `gather`
    once, then `fill_params` once and `check_line` per line whenever the lines are checked (only `fill_params`
    writes the lines' params); `preview` on open orders.
    Signing calls, in this order and once for all lines: `prepare`, `item_text` (document and e-mails, describing the
    students as the order found them) and `appendix_text`, `preview` and `apply` per line, then `after_apply`. What
    `apply` returns reaches the students table at signing for lines effective today or earlier, and on the effective
    day (the scheduler) for later ones; `preview` and `apply` are computed at signing either way, from the record as
    signing finds it (no other order may change a record with a change scheduled). `prepare` and `after_apply` run at
    signing whatever the effective dates: `prepare` creates what the stored effect points at (next year's groups),
    and `after_apply` writes what the order itself states outside the record (the academic difference as debts),
    which a revocation removes with `after_reverse` whether or not the effect has started. A correction calls
    `reverse` per line of its target and then `after_reverse`.
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
    appendix_title_ru: ClassVar[str] = "Приложение"
    appendix_title_kk: ClassVar[str] = "Қосымша"
    labels: ClassVar[dict[str, LazyString]] = {}
    blueprints: ClassVar[tuple[Blueprint, ...]] = ()
    api_blueprints: ClassVar[tuple[ApiBlueprint, ...]] = ()
    order_page_links: ClassVar[tuple[str, ...]] = ()
    draft_links: ClassVar[tuple[str, ...]] = ()
    every_order_panels: ClassVar[tuple[str, ...]] = ()
    new_order_links: ClassVar[tuple[str, ...]] = ()
    drafts_import_conflicts: ClassVar[str | None] = None
    changes_record: ClassVar[bool] = True
    blocked_by_open_orders: ClassVar[bool] = False
    pays: ClassVar[str | None] = None
    paid_only_on_grant: ClassVar[bool] = False
    corrects: ClassVar[bool] = False
    line_outcomes: ClassVar[dict[str, LazyString]] = {}

    def label(self) -> str:
        raise NotImplementedError

    def line_outcome(self, refusals: list[dict], overridden: bool) -> str:
        """The outcome (a key of `line_outcomes`) of a line with these stored refusals; read from the stored
        eligibility alone, so the order page sorts thousands of lines without loading them."""
        return ""

    def line_params(self, order: Order) -> tuple[dict, date]:
        """Parameters and effective date a new line takes from its order: by default none, and the order's date."""
        return {}, date.fromisoformat(order.params["effective_date"])

    def gather(self, order: Order, lines: list[OrderLine]) -> dict[str, Any]:
        """Facts every line's check needs (GPA, debts, calendar), read for all lines in a fixed number of queries."""
        return {}

    def fill_params(self, order: Order, lines: list[OrderLine], facts: dict[str, Any]) -> None:
        """Write the lines' computed details from the facts `gather` read (a competition's ranks and outcomes, the
        academic difference, the default target group): the one hook that writes `line.params`; `gather` and
        `check_line` only read. Leave an unchanged line's params untouched (nothing for the next flush to compare)."""

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        """Why this line cannot be in the order (empty when it can). Every refusal names its rule. The rule of one open
        order per student (`line.open_order`) is the core's: `operations.check_lines` adds it."""
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

    def table_row(self, line: OrderLine, language: str) -> tuple[str, str] | None:
        """For bulk orders: (the wording this line shares with the other students of its programme, course and group,
        ending with a colon; this line's own details for the table's last column). When more than
        `DOCUMENT_TABLE_AFTER` lines share a wording, the document prints one item with a table of those students
        instead of an item each. None (the default): the line is always an item of its own."""
        return None

    def appendix_text(self, line: OrderLine, language: str) -> str | None:
        """None: the line is a numbered item of the order. A text: the line is listed in the document's appendix
        instead (e.g. students a scholarship order does not appoint, with the reason)."""
        return None

    def emails_student(self, line: OrderLine) -> bool:
        """Whether signing e-mails the line's student the extract. False (an expulsion for death): the student is
        not written to, and the order goes to the registrar office's address (`REGISTRAR_OFFICE_EMAIL`) instead."""
        return True

    def drafted(self, order: Order) -> None:
        """Right after a draft is created: lines its parameters imply (a correction's lines from its target)."""

    def prepare(self, order: Order, lines: list[OrderLine]) -> None:
        """Before the effects of signing: create what `apply` will point at (e.g. next year's groups)."""

    def after_apply(self, order: Order, lines: list[OrderLine]) -> None:
        """After the students' records are updated: effects outside the students table (e.g. debts), batched."""

    def voids(self, line: OrderLine) -> int | None:
        """The id of the signed order line whose effects this line voids (a correction's target line), else None."""
        return None

    def reverse(self, line: OrderLine) -> dict:
        """The student's fields once this signed line is revoked: the exact values signing overwrote."""
        return restored_values(line.record_before or {})

    def after_reverse(self, order: Order, lines: list[OrderLine]) -> None:
        """Undo what `after_apply` did for these lines of a revoked or amended order."""
