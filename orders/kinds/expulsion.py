"""Expulsion (отчисление / оқудан шығару)."""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.formatting import format_day
from orders.kind import LineContext, OrderKind, refused_for
from orders.models import Order, OrderLine
from orders.params import ParamsSchema, choice_field, choices_text, effective_date_field
from orders.wording import describe_cohort, describe_student, funding_words
from workflow.engine import Refusal

# Reporting buckets of DESIGN.md section 2: code -> (English label for the UI, Russian, Kazakh wording).
REASONS: dict[str, tuple[str, str, str]] = {
    "own_request": (_l("own request"), "по собственному желанию", "өз қалауы бойынша"),
    "academic_failure": (_l("academic failure"), "за академическую неуспеваемость", "академиялық үлгерімсіздігі үшін"),
    "attendance": (
        _l("unexcused absences over the limit"),
        "за пропуски занятий без уважительной причины",
        "дәлелсіз себептермен сабақтан қалғаны үшін",
    ),
    "discipline": (
        _l("breach of internal rules or academic integrity"),
        "за нарушение правил внутреннего распорядка или академической честности",
        "ішкі тәртіп ережелерін немесе академиялық адалдықты бұзғаны үшін",
    ),
    "non_payment": (_l("non-payment"), "за неоплату обучения", "оқу ақысын төлемегені үшін"),
    "transfer": (
        _l("transfer to another university"),
        "в связи с переводом в другую организацию образования",
        "басқа білім беру ұйымына ауысуына байланысты",
    ),
    "repeat_contract": (
        _l("did not sign the repeat-year contract"),
        "в связи с неподписанием договора на повторное обучение",
        "қайта оқуға шартқа қол қоймауына байланысты",
    ),
    "non_return": (
        _l("did not return from academic leave"),
        "в связи с невыходом из академического отпуска",
        "академиялық демалыстан шықпауына байланысты",
    ),
    "graduation": (_l("completion of studies"), "в связи с окончанием обучения", "оқуды аяқтауына байланысты"),
    "death": (_l("death"), "в связи со смертью", "қайтыс болуына байланысты"),
    "other": (_l("other"), "по иным основаниям", "өзге негіздер бойынша"),
}
EXPELLABLE = ("active", "academic_leave")
LEAVE_COLUMNS = ("leave_ground", "leave_start", "leave_end")


class ExpulsionParams(ParamsSchema):
    reason = choice_field(
        _l("Reason"),
        {k: v[0] for k, v in REASONS.items()},
        _l("Choose one of the reasons: %(r)s.", r=choices_text({k: v[0] for k, v in REASONS.items()})),
        description=_l("The reporting bucket; every line of this order gets it."),
    )
    effective_date = effective_date_field(_l("The day the students stop being students."))


class Expulsion(OrderKind):
    name = "expulsion"
    route = "legal"  # deans, registrar office, lawyer, rector
    title_ru = "Об отчислении обучающихся"
    title_kk = "Білім алушыларды оқудан шығару туралы"
    params_schema = ExpulsionParams
    email_template = "expulsion_student"
    labels = {"expulsion": _l("expulsion"), **{code: words[0] for code, words in REASONS.items()}}

    def label(self) -> str:
        return _("Expulsion")

    def line_params(self, order: Order) -> tuple[dict, date]:
        return {"reason": order.params["reason"]}, date.fromisoformat(order.params["effective_date"])

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        refusals = []
        if student.status not in EXPELLABLE:
            message = _("%(name)s is %(status)s: only active students or students on academic leave can be expelled.")
            refusals.append(refused_for(student, "status", "expulsion.status", message))
        else:
            refusals += self._reason_refusals(line)
        return refusals

    @staticmethod
    def _reason_refusals(line: OrderLine) -> list[Refusal]:
        """Reasons that apply only to some students: non-return from academic leave, the repeat-year contract."""
        student, reason, when = line.student, line.params["reason"], line.effective_date
        if reason == "non_return":
            if student.status != "academic_leave":
                return [
                    Refusal(
                        "expulsion.non_return",
                        _(
                            "%(name)s is not on academic leave: expulsion for non-return from academic leave "
                            "applies only "
                            "to students on academic leave.",
                            name=student.full_name,
                        ),
                        {"status": student.status},
                        absolute=True,
                    )
                ]
            if student.leave_end is None or student.leave_end >= when:
                end = format_day(student.leave_end) if student.leave_end else None
                message = (
                    _(
                        "The academic leave of %(name)s runs to %(end)s: expulsion for non-return can take effect "
                        "only after that day, not on %(date)s.",
                        name=student.full_name,
                        end=end,
                        date=format_day(when),
                    )
                    if end
                    else _(
                        "The end of the academic leave of %(name)s is not on record: expulsion for non-return "
                        "needs a leave that ended before %(date)s.",
                        name=student.full_name,
                        date=format_day(when),
                    )
                )
                return [
                    Refusal(
                        "expulsion.non_return",
                        message,
                        {
                            "leave_end": student.leave_end.isoformat() if student.leave_end else None,
                            "effective_date": when.isoformat(),
                        },
                    )
                ]
        if reason == "repeat_contract" and student.status != "active":
            message = _(
                "%(name)s is %(status)s: expulsion for not signing the repeat-year contract applies only to active "
                "students."
            )
            return [refused_for(student, "status", "expulsion.repeat_contract", message)]
        return []

    @staticmethod
    def _ends_grant(line: OrderLine) -> bool:
        """A grant holder's funding ends with expulsion, except on transfer to another university."""
        return line.student.funding == "grant" and line.params["reason"] != "transfer"

    def preview(self, line: OrderLine) -> dict:
        changes = {"status": [line.student.status, "expelled"]}
        if self._ends_grant(line):
            changes["funding"] = ["grant", "none"]
        for column in LEAVE_COLUMNS:  # an expelled student is no longer on leave
            value = getattr(line.student, column)
            if value is not None:
                changes[column] = [value.isoformat() if isinstance(value, date) else value, None]
        return changes

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {
            "status": "expelled",
            "expulsion_reason": line.params["reason"],
            "status_since": line.effective_date,
            "funding": "none" if self._ends_grant(line) else line.student.funding,
            **dict.fromkeys(LEAVE_COLUMNS),
        }

    def emails_student(self, line: OrderLine) -> bool:
        return line.params["reason"] != "death"

    def item_text(self, line: OrderLine, language: str) -> str:
        reason = REASONS[line.params["reason"]]
        student = describe_student(line.student, language, "accusative" if language == "ru" else "nominative")
        when = format_day(line.effective_date, language)
        if language == "kk":
            return f"{student} {when} бастап {reason[2]} оқудан шығарылсын."
        return f"Отчислить {student} {reason[1]} с {when}."

    def table_row(self, line: OrderLine, language: str) -> tuple[str, str]:
        reason = REASONS[line.params["reason"]]
        when = format_day(line.effective_date, language)
        funding = funding_words(line.student, language)
        if language == "kk":
            cohort = describe_cohort(line.student, "kk")
            return f"{cohort} {when} бастап {reason[2]} тізімге сәйкес оқудан шығарылсын:", funding
        cohort = describe_cohort(line.student, "ru", "accusative")
        return f"Отчислить {cohort} {reason[1]} с {when} по списку:", funding
