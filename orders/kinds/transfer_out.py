"""Transfer to another university (отчисление в связи с переводом / басқа ЖОО-ға ауысуына байланысты).

Eligible: an active student, with the receiving university named (on the order, or per line). Signing expels the
student with the reason "transfer"; the funding is unchanged: a grant goes with the student to the receiving side.
No holiday window here: the receiving university's own order of transfer in is the one bound to the holidays.
"""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core.formatting import format_day, parse_date
from orders.group_change import PREAMBLE_KK, PREAMBLE_RU
from orders.kind import (
    LineContext,
    OrderKind,
    basis_field,
    effective_date_param,
    title_field,
)
from orders.models import Order, OrderLine
from orders.wording import describe_student
from workflow.engine import Refusal

MAX_UNIVERSITY = 300


class TransferOutForm(FlaskForm):
    title = title_field()
    university = StringField(
        _l("Receiving university"),
        validators=[DataRequired(), Length(max=MAX_UNIVERSITY)],
        description=_l(
            "Full name as in the order, e.g. «Евразийский национальный университет "
            "имени Л.Н. Гумилева»; a line may name another."
        ),
    )
    effective_date = DateField(_l("Effective date"), validators=[InputRequired()])
    basis = basis_field(_l("The student's application and the receiving university's request."))


class TransferOutLineForm(FlaskForm):
    university = StringField(_l("Receiving university"), validators=[DataRequired(), Length(max=MAX_UNIVERSITY)])
    effective_date = DateField(_l("Effective date"), validators=[Optional()])


def _university(raw: dict, errors: dict[str, str]) -> str:
    university = raw.get("university")
    university = " ".join(university.split()) if isinstance(university, str) else ""
    if not university:
        errors["university"] = _("Name the receiving university.")
    elif len(university) > MAX_UNIVERSITY:
        errors["university"] = ngettext(
            "The university's name is longer than %(num)s character.",
            "The university's name is longer than %(num)s characters.",
            MAX_UNIVERSITY,
        )
    return university


class TransferOut(OrderKind):
    name = "transfer_out"
    route = "legal"  # an expulsion: deans, registrar office, lawyer, rector
    title_ru = "Об отчислении обучающихся в связи с переводом в другие организации образования"
    title_kk = "Білім алушыларды басқа білім беру ұйымдарына ауысуына байланысты оқудан шығару туралы"
    preamble_ru = PREAMBLE_RU
    preamble_kk = PREAMBLE_KK
    form_class = TransferOutForm
    line_form_class = TransferOutLineForm
    email_template = "expulsion_student"
    labels = {"transfer_out": _l("transfer to another university")}

    def label(self) -> str:
        return _("Transfer to another university")

    def validate_params(self, raw: dict) -> tuple[dict, dict[str, str]]:
        errors: dict[str, str] = {}
        university = _university(raw, errors)
        effective = effective_date_param(raw, errors)
        return {"university": university, "effective_date": effective}, errors

    def line_params(self, order: Order) -> tuple[dict, date]:
        return (
            {"university": order.params["university"], "reason": "transfer"},
            date.fromisoformat(order.params["effective_date"]),
        )

    def validate_line(self, raw: dict, line: OrderLine) -> tuple[dict, date, dict[str, str]]:
        errors: dict[str, str] = {}
        university = _university(raw, errors)
        effective = line.effective_date
        if raw.get("effective_date") not in (None, ""):
            effective = parse_date(raw.get("effective_date"))
            if effective is None:
                errors["effective_date"] = _("Give the effective date as YYYY-MM-DD.")
                effective = line.effective_date
        return {**line.params, "university": university, "reason": "transfer"}, effective, errors

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        refusals = []
        if student.status != "active":
            refusals.append(
                Refusal(
                    "transfer_out.status",
                    _(
                        "%(name)s is %(status)s: only active students can transfer to another university.",
                        name=student.full_name,
                        status=student.status.replace("_", " "),
                    ),
                    {"status": student.status},
                )
            )
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
        student = describe_student(line.student, language)
        university = line.params["university"]
        when = format_day(line.effective_date, language)
        if language == "kk":
            return f"{student} {when} бастап {university} ауысуына байланысты оқудан шығарылсын."
        return f"Отчислить {student} в связи с переводом в {university} с {when}."
