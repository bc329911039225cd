"""Revocation (отмена приказа) and amendment (внесение изменений) of a signed order.

A correction names its target order; each of its lines names a target line (params `target_line_id` and `item`,
the item number in the target's document). Signing reverses each named line with the target kind's `reverse` (the
exact values the target overwrote), then the target kind's `after_reverse`, writes the correction's own movement
({field: [after, before]}) and marks the target revoked (every line reversed) or amended (some lines excluded).

Rules: the target is signed, not superseded, and not itself a correction (a revocation is not revoked: the measure
is drafted again as a new order); each student has no movement after the target line's one (a later order would be
undone silently); the usual one-open-order-per-student rule.
"""

from datetime import date

from flask import has_request_context, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, post_load, validates_schema
from sqlalchemy import select

from core.clock import today
from core.db import db
from core.formatting import format_day
from core.labels import label as code_label
from orders.kind import LineContext, OrderKind, record_values
from orders.kinds.corrections import drafting as corrections
from orders.kinds.corrections.blueprints import pages
from orders.models import Order, OrderLine
from orders.params import ParamsSchema, Text, date_field, lazy, messages, meta
from orders.registry import get_kind, record_neutral_kinds
from orders.wording import describe_student
from students.models import StudentMovement
from workflow.engine import Refusal


def _linked(name: str, longest: int):
    """The value the signed order's page puts in its link to the form (?target=12-С, ?exclude=2), as the form's
    default."""

    def value() -> str:
        return ", ".join(request.args.getlist(name))[:longest] if has_request_context() else ""

    return value


def _target_help(standard: str):
    """The target field's help: on a form linked from a signed order, that order's date, title and items."""

    def text() -> str:
        ref = _linked("target", 40)()
        target, _problem = corrections.find_target(ref) if ref else (None, None)
        if target is None or not target.order_date:
            return str(standard)
        items = "; ".join(f"{n}. {line.student.full_name}" for n, line in enumerate(target.lines, 1))
        return _(
            "Order %(label)s of %(date)s «%(title)s». Items: %(items)s.",
            label=target.label,
            date=format_day(target.order_date),
            title=target.title,
            items=items,
        )

    return lazy(text)


class OrderReference(Text):
    """The order to correct, by its number ("12-С") or id ("#57", 57): the signed order itself, or why it cannot be
    corrected."""

    def _deserialize(self, value, attr, data, **kwargs) -> Order:
        target, problem = corrections.find_target(value)
        if target is not None:
            problem = corrections.target_problem(target)
        if problem:
            raise ValidationError(problem)
        return target


class ItemNumbers(fields.String):
    """Item numbers of the target order: "1, 3", 2 or [1, 3]; checked against the target by the schema."""

    def _deserialize(self, value, attr, data, **kwargs):
        return value


TARGET_MESSAGE = _l("Name the signed order to correct: its number (e.g. 12-С) or its id (e.g. #57).")


class RevocationParams(ParamsSchema):
    title_help = _l("Leave empty for the standard title naming the order.")
    basis_help = _l("Why the order is corrected, e.g. the lawyer's submission or a court decision.")
    target = OrderReference(
        required=True,
        error_messages=messages(TARGET_MESSAGE),
        metadata=meta(
            _l("Order to revoke"),
            _target_help(
                _l(
                    "Its number, e.g. 12-С, or its id, e.g. #57. Every item of it is revoked: "
                    "the students' records return to what they were before it."
                )
            ),
            form_default=_linked("target", 40),
        ),
    )
    effective_date = date_field(
        _l("Effective date"),
        message=_l("Give the effective date as YYYY-MM-DD, or leave it empty for today."),
        required=False,
        description=_l("Leave empty for today; never earlier than the revoked items."),
    )

    @post_load
    def _target_named(self, data, **kwargs):
        target, effective = data["target"], data.get("effective_date")
        return {
            **data,
            "target_order_id": target.id,
            "target": target.label,
            "effective_date": effective.isoformat() if effective else None,
        }


class AmendmentParams(RevocationParams):
    target = OrderReference(
        required=True,
        error_messages=messages(TARGET_MESSAGE),
        metadata=meta(
            _l("Order to amend"),
            _target_help(_l("Its number, e.g. 12-С, or its id, e.g. #57.")),
            form_default=_linked("target", 40),
        ),
    )
    exclude = ItemNumbers(
        metadata=meta(
            _l("Items to exclude"),
            _l(
                "Item numbers of that order to exclude from it, e.g. 1, 3: their effects "
                "are reversed, the other items stay in force."
            ),
            form_default=_linked("exclude", 500),
        )
    )

    @validates_schema(skip_on_field_errors=False)
    def _items_of_the_target(self, data, **kwargs):
        if "target" in data:
            _items, wrong = corrections.parse_items(data.get("exclude"), len(data["target"].lines))
            if wrong:
                raise ValidationError(wrong, "exclude")

    @post_load
    def _target_named(self, data, **kwargs):
        items, _wrong = corrections.parse_items(data.get("exclude"), len(data["target"].lines))
        return {**super()._target_named(data, **kwargs), "exclude": items}


class Revocation(OrderKind):
    name = "revocation"
    route = "legal"  # deans, registrar office, lawyer, rector
    title_ru = "Об отмене приказа"
    title_kk = "Бұйрықтың күшін жою туралы"
    preamble_ru = (
        "В соответствии с Типовыми правилами деятельности организаций высшего и (или) "
        "послевузовского образования, утвержденными приказом Министра образования и науки "
        "Республики Казахстан от 30 октября 2018 года № 595, в целях устранения нарушений, "
        "допущенных при издании приказа,"
    )
    preamble_kk = (
        "Қазақстан Республикасы Білім және ғылым министрінің 2018 жылғы 30 қазандағы № 595 "
        "бұйрығымен бекітілген Жоғары және (немесе) жоғары оқу орнынан кейінгі білім беру "
        "ұйымдары қызметінің үлгілік қағидаларына сәйкес, бұйрықты шығару кезінде жіберілген "
        "бұзушылықтарды жою мақсатында"
    )
    params_schema = RevocationParams
    excludes_items = False  # an amendment names the items it excludes; a revocation takes them all
    labels = {"revocation": _l("revocation of an order"), "item": _l("item"), "target_line_id": _l("target line")}
    blueprints = (pages,)
    every_order_panels = ("orders/_corrections.html",)
    corrects = True

    def label(self) -> str:
        return _("Revocation of an order")

    def title_for(self, target: Order) -> str:
        return f"Об отмене приказа № {target.label} от {format_day(target.order_date, 'ru')} «{target.title}»"

    # Drafting ----------------------------------------------------------------------------------------------

    def drafted(self, order: Order) -> None:
        target = db.session.get(Order, order.params["target_order_id"])
        order.target_order = target
        if order.title == self.title_ru:
            order.title = self.title_for(target)[:300]
        effective = order.params.get("effective_date")
        corrections.add_lines(
            order,
            target,
            order.params.get("exclude") if self.excludes_items else None,
            date.fromisoformat(effective) if effective else corrections.default_effective_date(None),
        )

    def line_params(self, order: Order) -> tuple[dict, date]:
        """A student added by hand names no target line: the check refuses the line."""
        effective = order.params.get("effective_date")
        return {}, date.fromisoformat(effective) if effective else corrections.default_effective_date(None)

    # Eligibility -------------------------------------------------------------------------------------------

    def gather(self, order: Order, lines: list[OrderLine]) -> dict:
        """The target and its lines (one query) and every movement of these students (one query)."""
        target = order.target_order
        movements: dict[int, list] = {}
        for row in db.session.execute(
            select(
                StudentMovement.id,
                StudentMovement.student_id,
                StudentMovement.order_line_id,
                StudentMovement.order_label,
                StudentMovement.kind,
                StudentMovement.effective_date,
            )
            .where(StudentMovement.student_id.in_([line.student_id for line in lines]))
            .order_by(StudentMovement.id)
        ):
            movements.setdefault(row.student_id, []).append(row)
        return {
            "target": target,
            "target_lines": {tl.id: tl for tl in target.lines} if target else {},
            "movements": movements,
        }

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        facts = context.facts
        target: Order | None = facts.get("target")
        target_line = facts.get("target_lines", {}).get(line.params.get("target_line_id"))
        refusals = []
        if target is None:
            return [Refusal("revocation.target", _("This correction names no order."), {}, absolute=True)]
        problem = corrections.target_problem(target)
        if problem:
            refusals.append(
                Refusal(
                    "revocation.target_superseded",
                    problem,
                    {"order_id": target.id, "superseded_as": target.superseded_as},
                    absolute=True,
                )
            )
        if target_line is None or target_line.student_id != student.id:
            refusals.append(
                Refusal(
                    "revocation.not_in_target",
                    _(
                        "%(name)s is not an item of order %(label)s; a correction reverses only items of its order. "
                        "Remove this line and draft the correction from the signed order's page.",
                        name=student.full_name,
                        label=target.label,
                    ),
                    {"order_id": target.id},
                    absolute=True,
                )
            )
        elif target_line.record_before is None:
            refusals.append(
                Refusal(
                    "revocation.not_reversible",
                    _(
                        "Order %(label)s kept no record of %(name)s before signing; this item cannot be reversed.",
                        label=target.label,
                        name=student.full_name,
                    ),
                    {"target_line_id": target_line.id},
                    absolute=True,
                )
            )
        else:
            moves = facts.get("movements", {}).get(student.id, [])
            own = next((m.id for m in moves if m.order_line_id == target_line.id), 0)
            # Payments change no record, so they neither block nor are blocked by a reversal.
            neutral = record_neutral_kinds()
            later = [m for m in moves if m.id > own and m.kind not in neutral]
            if later and target.kind not in neutral:
                first = later[0]
                refusals.append(
                    Refusal(
                        "revocation.later_movement",
                        _(
                            "%(name)s has a later movement: order %(later)s (%(kind)s, effective %(date)s) came after "
                            "order %(label)s. Revoke order %(later)s first.",
                            name=student.full_name,
                            later=first.order_label or "?",
                            kind=code_label(first.kind),
                            date=format_day(first.effective_date),
                            label=target.label,
                        ),
                        {"order_label": first.order_label, "kind": first.kind, "movement_id": first.id},
                        absolute=True,
                    )
                )
        return refusals

    # Effects -----------------------------------------------------------------------------------------------

    @staticmethod
    def _target_line(line: OrderLine) -> OrderLine | None:
        target = line.order.target_order
        if target is None:
            return None
        index = target.__dict__.get("_lines_by_id")  # a signed order's lines never change: index them once
        if index is None:
            index = target.__dict__["_lines_by_id"] = {tl.id: tl for tl in target.lines}
        return index.get(line.params.get("target_line_id"))

    def preview(self, line: OrderLine) -> dict:
        """{field: [now, after the reversal]}: the target's changes turned round, plus any other column it set;
        nothing while the target line's effect is still to come (revoking it cancels it)."""
        target_line = self._target_line(line)
        if target_line is None or target_line.record_before is None or target_line.effective_date > today():
            return {}
        changes = {field: [change[1], change[0]] for field, change in (target_line.applied_changes or {}).items()}
        current = record_values(line.student, target_line.record_before)
        for column, before in target_line.record_before.items():
            if column in changes or column.removesuffix("_id") in changes:
                continue
            if current[column] != before:
                changes[column] = [current[column], before]
        return changes

    def apply(self, line: OrderLine, order: Order) -> dict:
        return get_kind(order.target_order.kind).reverse(self._target_line(line))

    def voids(self, line: OrderLine) -> int | None:
        return line.params.get("target_line_id")

    def after_apply(self, order: Order, lines: list[OrderLine]) -> None:
        target = order.target_order
        reversed_lines = [self._target_line(line) for line in lines]
        get_kind(target.kind).after_reverse(target, reversed_lines)
        everything = {tl.id for tl in reversed_lines} == {tl.id for tl in target.lines}
        target.superseded_as = "revoked" if everything and not self.excludes_items else "amended"
        target.superseded_by_id = order.id

    # Wording -----------------------------------------------------------------------------------------------

    # an item's wording: the target order's number, date and title, the item's number and the student
    item_kk = "{when} ж. № {label} «{title_kk}» бұйрығының {item}-тармағының күші жойылсын: {student}."
    item_ru = "Отменить приказ № {label} от {when} «{title}» в части пункта {item} в отношении {student}."

    def item_text(self, line: OrderLine, language: str) -> str:
        target = line.order.target_order
        student = describe_student(line.student, language, "genitive" if language == "ru" else "nominative").rstrip(",")
        return (self.item_kk if language == "kk" else self.item_ru).format(
            when=format_day(target.order_date, language),
            label=target.label,
            title=target.title,
            title_kk=get_kind(target.kind).title_kk,
            item=line.params.get("item", "?"),
            student=student,
        )


class Amendment(Revocation):
    name = "amendment"
    title_ru = "О внесении изменений в приказ"
    title_kk = "Бұйрыққа өзгерістер енгізу туралы"
    params_schema = AmendmentParams
    excludes_items = True
    labels = {"amendment": _l("amendment of an order")}

    def label(self) -> str:
        return _("Amendment of an order")

    def title_for(self, target: Order) -> str:
        return (
            f"О внесении изменений в приказ № {target.label} от {format_day(target.order_date, 'ru')} «{target.title}»"
        )

    item_kk = (
        "{when} ж. № {label} «{title_kk}» бұйрығына өзгерістер енгізілсін, {item}-тармақ алып тасталсын: {student}."
    )
    item_ru = "Внести изменения в приказ № {label} от {when} «{title}», исключив пункт {item} в отношении {student}."
