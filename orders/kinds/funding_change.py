"""Change of funding (перевод на грант / на платную основу): paid to a vacant state grant, or grant to paid."""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.formatting import format_day
from core.labels import label as code_label
from orders.kind import LineContext, OrderKind, refused_for
from orders.models import Order, OrderLine
from orders.params import ParamsSchema, choice_field, choices_text, effective_date_field, text_field
from orders.wording import GRANT_RULES_KK, GRANT_RULES_RU, describe_student
from students.grades import debts_for
from workflow.engine import Refusal

# direction -> (UI label, funding before, funding after, Russian wording, Kazakh wording)
DIRECTIONS: dict[str, tuple] = {
    "to_grant": (
        _l("paid to state grant (vacant grant)"),
        "paid",
        "grant",
        "на обучение по государственному образовательному гранту",
        "мемлекеттік білім беру гранты бойынша оқуға",
    ),
    "to_paid": (_l("state grant to paid"), "grant", "paid", "на обучение на платной основе", "ақылы негізде оқуға"),
}


class FundingChangeParams(ParamsSchema):
    direction = choice_field(
        _l("Change"),
        {k: v[0] for k, v in DIRECTIONS.items()},
        _l("Choose the change: %(d)s.", d=choices_text({k: v[0] for k, v in DIRECTIONS.items()})),
        description=_l("Every line of this order gets it."),
    )
    ground = text_field(
        _l("Ground"),
        missing=_l("Name the ground: the council decision on the vacant grant, or why the grant ends."),
        longest=500,
        too_long=_l("The ground is longer than 500 characters."),
        description=_l(
            "To a grant: the council decision awarding the vacant grant (number and "
            "date); to paid: the ground, e.g. loss of the grant on repeat year."
        ),
    )
    effective_date = effective_date_field(_l("The day the new funding starts."))


class FundingChange(OrderKind):
    name = "funding_change"
    route = "money"  # deans, registrar office, finance, rector
    title_ru = "Об изменении основы обучения обучающихся"
    title_kk = "Білім алушылардың оқу негізін өзгерту туралы"
    preamble_ru = GRANT_RULES_RU
    preamble_kk = GRANT_RULES_KK
    params_schema = FundingChangeParams
    labels = {
        "funding_change": _l("change of funding"),
        "direction": _l("change"),
        **{code: words[0] for code, words in DIRECTIONS.items()},
    }

    def label(self) -> str:
        return _("Change of funding")

    def line_params(self, order: Order) -> tuple[dict, date]:
        return {"direction": order.params["direction"]}, date.fromisoformat(order.params["effective_date"])

    def gather(self, order: Order, lines: list[OrderLine]) -> dict:
        if order.params.get("direction") != "to_grant":
            return {}
        return {"debts": debts_for(line.student_id for line in lines)}

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        direction = line.params["direction"]
        _label, before, _after, _ru, _kk = DIRECTIONS[direction]
        refusals = []
        if student.status != "active":
            message = _("%(name)s is %(status)s: only active students can change funding.")
            refusals.append(refused_for(student, "status", "funding.status", message))
        if student.funding != before:
            rule = "funding.not_paid" if direction == "to_grant" else "funding.not_grant"
            message = (
                _(
                    "%(name)s does not study on a paid basis (funding: %(funding)s): only paid students "
                    "can be moved to a vacant grant.",
                    name=student.full_name,
                    funding=code_label(student.funding),
                )
                if direction == "to_grant"
                else _(
                    "%(name)s holds no state grant (funding: %(funding)s): only grant students can be moved "
                    "to a paid basis.",
                    name=student.full_name,
                    funding=code_label(student.funding),
                )
            )
            refusals.append(Refusal(rule, message, {"funding": student.funding}, absolute=True))
        debts = context.facts.get("debts", {}).get(student.id, [])
        if direction == "to_grant" and debts:
            codes = sorted({grade.discipline_code for grade in debts})
            refusals.append(
                Refusal(
                    "funding.academic_debt",
                    _(
                        "%(name)s has academic debt (%(codes)s): a vacant grant goes only to students without debts.",
                        name=student.full_name,
                        codes=", ".join(codes),
                    ),
                    {"debts": codes},
                )
            )
        return refusals

    def preview(self, line: OrderLine) -> dict:
        return {"funding": [line.student.funding, DIRECTIONS[line.params["direction"]][2]]}

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {"funding": DIRECTIONS[line.params["direction"]][2]}

    def item_text(self, line: OrderLine, language: str) -> str:
        _label, _before, _after, ru, kk = DIRECTIONS[line.params["direction"]]
        student = describe_student(line.student, language, "accusative" if language == "ru" else "nominative")
        when = format_day(line.effective_date, language)
        ground = line.order.params.get("ground", "")
        if language == "kk":
            return f"{student} {when} бастап {kk} ауыстырылсын (негізі: {ground})."
        return f"Перевести {student} {ru} с {when} (основание: {ground})."
