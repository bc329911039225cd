"""Transfer to another university (отчисление в связи с переводом / басқа ЖОО-ға ауысуына байланысты).

Eligible: an active student, with the receiving university named (on the order, or per line). Signing expels the
student with the reason "transfer"; the funding is unchanged: a grant goes with the student to the receiving side.
No holiday window here: the receiving university's own order of transfer in is the one bound to the holidays.
"""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import post_load

from core.formatting import format_day
from orders.group_change import PREAMBLE_KK, PREAMBLE_RU
from orders.kind import LineContext, OrderKind, refused_for
from orders.models import Order, OrderLine
from orders.params import (
    EFFECTIVE_DATE_MESSAGE,
    LineParamsSchema,
    ParamsSchema,
    date_field,
    effective_date_field,
    lazy,
    text_field,
)
from orders.wording import describe_student
from workflow.engine import Refusal

MAX_UNIVERSITY = 300


def _university_field(description=None):
    return text_field(
        _l("Receiving university"),
        missing=_l("Name the receiving university."),
        longest=MAX_UNIVERSITY,
        too_long=lazy(
            lambda: ngettext(
                "The university's name is longer than %(num)s character.",
                "The university's name is longer than %(num)s characters.",
                MAX_UNIVERSITY,
            )
        ),
        collapse=True,
        description=description,
    )


class TransferOutParams(ParamsSchema):
    basis_help = _l("The student's application and the receiving university's request.")
    university = _university_field(
        _l(
            "Full name as in the order, e.g. «Евразийский национальный университет "
            "имени Л.Н. Гумилева»; a line may name another."
        )
    )
    effective_date = effective_date_field()


class TransferOutLineParams(LineParamsSchema):
    university = _university_field()
    effective_date = date_field(_l("Effective date"), message=EFFECTIVE_DATE_MESSAGE, required=False)

    @post_load
    def _kept(self, data, **kwargs):
        return {**self.line.params, **data, "reason": "transfer"}


class TransferOut(OrderKind):
    name = "transfer_out"
    route = "legal"  # an expulsion: deans, registrar office, lawyer, rector
    title_ru = "Об отчислении обучающихся в связи с переводом в другие организации образования"
    title_kk = "Білім алушыларды басқа білім беру ұйымдарына ауысуына байланысты оқудан шығару туралы"
    preamble_ru = PREAMBLE_RU
    preamble_kk = PREAMBLE_KK
    params_schema = TransferOutParams
    line_schema = TransferOutLineParams
    email_template = "expulsion_student"
    labels = {"transfer_out": _l("transfer to another university")}

    def label(self) -> str:
        return _("Transfer to another university")

    def line_params(self, order: Order) -> tuple[dict, date]:
        return (
            {"university": order.params["university"], "reason": "transfer"},
            date.fromisoformat(order.params["effective_date"]),
        )

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        refusals = []
        if student.status != "active":
            message = _("%(name)s is %(status)s: only active students can transfer to another university.")
            refusals.append(refused_for(student, "status", "transfer_out.status", message))
        if not line.params.get("university"):
            refusals.append(
                Refusal(
                    "transfer_out.university",
                    _("Name the university %(name)s transfers to.", name=student.full_name),
                    {},
                )
            )
        return refusals

    def preview(self, line: OrderLine) -> dict:
        return {
            "status": [line.student.status, "expelled"],
            "expulsion_reason": [line.student.expulsion_reason, "transfer"],
        }

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {
            "status": "expelled",
            "expulsion_reason": "transfer",
            "status_since": line.effective_date,
            "funding": line.student.funding,
        }

    def item_text(self, line: OrderLine, language: str) -> str:
        student = describe_student(line.student, language, "accusative" if language == "ru" else "nominative")
        university = line.params["university"]
        when = format_day(line.effective_date, language)
        if language == "kk":
            return f"{student} {when} бастап {university} ауысуына байланысты оқудан шығарылсын."
        return f"Отчислить {student} в связи с переводом в {university} с {when}."
