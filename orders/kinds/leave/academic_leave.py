"""Academic leave (академический отпуск / академиялық демалыс).

The order names a ground and the leave's dates; every line starts with them and the clerk gives each line its own
dates, supporting document (its number and date) and, for child care, the child's birth date.
"""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import ValidationError, post_load, validates_schema

from core.formatting import format_day
from core.rules import rule
from orders.kind import LineContext, OrderKind, refused_for
from orders.models import Order, OrderLine
from orders.params import LineParamsSchema, ParamsSchema, choice_field, choices_text, date_field, lazy, text_field
from orders.wording import describe_student
from workflow.engine import Refusal

# ground -> (English name for the UI, Russian and Kazakh wording of the ground; the supporting document in English,
# Russian (genitive: "на основании ...") and Kazakh).
GROUNDS: dict[str, tuple] = {
    "medical": (
        _l("medical"),
        "по болезни",
        "ауруына байланысты",
        _l("medical commission conclusion"),
        "заключения врачебно-консультационной комиссии (ВКК)",
        "дәрігерлік-консультациялық комиссияның (ДКК) қорытындысы",
    ),
    "tuberculosis": (
        _l("tuberculosis"),
        "в связи с заболеванием туберкулезом",
        "туберкулез ауруына байланысты",
        _l("medical commission conclusion"),
        "заключения врачебно-консультационной комиссии (ВКК)",
        "дәрігерлік-консультациялық комиссияның (ДКК) қорытындысы",
    ),
    "military": (
        _l("military service"),
        "в связи с призывом на воинскую службу",
        "әскери қызметке шақырылуына байланысты",
        _l("call-up notice"),
        "повестки о призыве на воинскую службу",
        "әскери қызметке шақыру қағазы",
    ),
    "child_care": (
        _l("child care"),
        "по уходу за ребенком до достижения им возраста трех лет",
        "бала үш жасқа толғанға дейін оның күтіміне байланысты",
        _l("child's birth certificate"),
        "свидетельства о рождении ребенка",
        "баланың туу туралы куәлігі",
    ),
}
DATE_MESSAGE = _l("Give the date as YYYY-MM-DD, e.g. 2026-09-01.")
PERIOD_MESSAGE = _l("Give the leave's first and last day.")


def grounds() -> list[str]:
    """The grounds the rules allow (a rules file may narrow them) that have an order wording."""
    return [g for g in GROUNDS if g in rule("leave_grounds")]


def months_and_days(start: date, end: date) -> tuple[int, int]:
    """The length of a leave from `start` to `end`, both days included, as (whole months, days more)."""
    stop = end + timedelta(days=1)
    months = (stop.year - start.year) * 12 + stop.month - start.month
    while months > 0 and start + relativedelta(months=months) > stop:
        months -= 1
    return months, (stop - (start + relativedelta(months=months))).days


def birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February
        return born.replace(year=born.year + years, day=28)


def _ground_message() -> str:
    return _("Choose one of the grounds: %(g)s.", g=choices_text({g: GROUNDS[g][0] for g in grounds()}))


GROUND_MESSAGE = lazy(_ground_message)


def _allowed_by_the_rules(ground: str) -> None:
    if ground not in grounds():
        raise ValidationError(str(GROUND_MESSAGE))


def _ground_field(description=None):
    return choice_field(
        _l("Ground"),
        {k: v[0] for k, v in GROUNDS.items()},
        GROUND_MESSAGE,
        description=description,
        also=_allowed_by_the_rules,
    )


class _Period:
    """The leave's first and last day, the last not before the first."""

    @validates_schema(skip_on_field_errors=False)
    def _end_after_start(self, data, **kwargs):
        start, end = data.get("leave_start"), data.get("leave_end")
        if start and end and end < start:
            raise ValidationError(
                _(
                    "The leave ends (%(end)s) before it starts (%(start)s).",
                    end=format_day(end),
                    start=format_day(start),
                ),
                "leave_end",
            )


class AcademicLeaveParams(_Period, ParamsSchema):
    ground = _ground_field(_l("Every line starts with this ground; a line may have its own."))
    leave_start = date_field(
        _l("Leave start"),
        message=DATE_MESSAGE,
        missing=PERIOD_MESSAGE,
        description=_l("The first day of the leave; each line may have its own dates."),
    )
    leave_end = date_field(
        _l("Leave end"), message=DATE_MESSAGE, missing=PERIOD_MESSAGE, description=_l("The last day of the leave.")
    )


class AcademicLeaveLineParams(_Period, LineParamsSchema):
    """A line's ground, dates, document and child's birth date; what the body leaves out stays as it was."""

    keeps_stored = True
    ground = _ground_field()
    leave_start = date_field(_l("Leave start"), message=DATE_MESSAGE, missing=PERIOD_MESSAGE)
    leave_end = date_field(_l("Leave end"), message=DATE_MESSAGE, missing=PERIOD_MESSAGE)
    document_no = text_field(
        _l("Document no."),
        longest=64,
        too_long=_l("The document number is longer than 64 characters."),
        invalid=_l("Give the document number as text."),
        numbers=True,
        description=_l("The medical commission conclusion, call-up notice or birth certificate the leave rests on."),
    )
    document_date = date_field(_l("Document date"), message=DATE_MESSAGE, required=False, not_after_today=True)
    child_birth_date = date_field(
        _l("Child's birth date"),
        message=DATE_MESSAGE,
        required=False,
        description=_l("Child care only: the leave ends by the child's third birthday."),
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _known_details(self, data, original_data, **kwargs):
        self.unknown_error(
            original_data,
            lambda unknown, known: ngettext(
                "Unknown detail %(names)s; a leave line has: %(known)s.",
                "Unknown details %(names)s; a leave line has: %(known)s.",
                len(unknown),
                names=", ".join(unknown),
                known=", ".join(known),
            ),
        )

    @post_load
    def _starts_with_the_leave(self, data, **kwargs):
        return {**data, "effective_date": data["leave_start"]}


class AcademicLeave(OrderKind):
    name = "academic_leave"
    route = "movement"
    title_ru = "О предоставлении академического отпуска"
    title_kk = "Академиялық демалыс беру туралы"
    preamble_ru = (
        "В соответствии с Типовыми правилами деятельности организаций высшего и (или) "
        "послевузовского образования, утвержденными приказом Министра образования и науки "
        "Республики Казахстан от 30 октября 2018 года № 595, и Правилами предоставления академических "
        "отпусков обучающимся в организациях образования,"
    )
    preamble_kk = (
        "Қазақстан Республикасы Білім және ғылым министрінің 2018 жылғы 30 қазандағы № 595 "
        "бұйрығымен бекітілген Жоғары және (немесе) жоғары оқу орнынан кейінгі білім беру "
        "ұйымдары қызметінің үлгілік қағидаларына және білім беру ұйымдарында білім алушыларға "
        "академиялық демалыс беру қағидаларына сәйкес"
    )
    params_schema = AcademicLeaveParams
    line_schema = AcademicLeaveLineParams
    labels = {
        "document_no": _l("document no."),
        "child_birth_date": _l("child's birth date"),
        **{code: words[0] for code, words in GROUNDS.items()},
    }

    def label(self) -> str:
        return _("Academic leave")

    def line_params(self, order: Order) -> tuple[dict, date]:
        params = {k: order.params[k] for k in ("ground", "leave_start", "leave_end")}
        return params, date.fromisoformat(params["leave_start"])

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student, params = line.student, line.params
        refusals = []
        if student.status != "active":
            message = _("%(name)s is %(status)s: academic leave is granted only to active students.")
            refusals.append(refused_for(student, "status", "academic_leave.status", message))
        refusals += self._period_refusals(line)
        if not params.get("document_no") or not params.get("document_date"):
            document = GROUNDS[params["ground"]][3]
            refusals.append(
                Refusal(
                    "academic_leave.document",
                    _(
                        "Name the document the leave of %(name)s rests on: the number and date of the %(document)s.",
                        name=student.full_name,
                        document=document,
                    ),
                    {"document_no": params.get("document_no"), "document_date": params.get("document_date")},
                )
            )
        return refusals

    def _period_refusals(self, line: OrderLine) -> list[Refusal]:
        params = line.params
        ground = params["ground"]
        start, end = date.fromisoformat(params["leave_start"]), date.fromisoformat(params["leave_end"])
        limits = rule("leave_grounds")[ground]
        refusals = []
        low, high = limits.get("min_months") or 0, limits.get("max_months")
        months, days = months_and_days(start, end)
        if months < low or (high is not None and (months, days) > (high, 0)):
            length = (
                ngettext("%(num)s month", "%(num)s months", months)
                if days == 0
                else _(
                    "%(months)s and %(days)s",
                    months=ngettext("%(num)s month", "%(num)s months", months),
                    days=ngettext("%(num)s day", "%(num)s days", days),
                )
            )
            refusals.append(
                Refusal(
                    "academic_leave.duration",
                    ngettext(
                        "A %(ground)s leave lasts %(low)s to %(high)s month; this one is %(length)s.",
                        "A %(ground)s leave lasts %(low)s to %(high)s months; this one is %(length)s.",
                        high,
                        ground=GROUNDS[ground][0],
                        low=low,
                        high=high,
                        length=length,
                    )
                    if high is not None
                    else ngettext(
                        "A %(ground)s leave lasts at least %(low)s month; this one is %(length)s.",
                        "A %(ground)s leave lasts at least %(low)s months; this one is %(length)s.",
                        low,
                        ground=GROUNDS[ground][0],
                        low=low,
                        length=length,
                    ),
                    {"ground": ground, "months": months, "days": days, "min_months": low, "max_months": high},
                )
            )
        if ground == "child_care":
            born = params.get("child_birth_date")
            age = rule("child_care_until_age")
            if not born:
                refusals.append(
                    Refusal(
                        "academic_leave.child_birth_date",
                        _("Give the child's birth date: a child care leave lasts until the child is %(age)s.", age=age),
                        {},
                    )
                )
            else:
                limit = birthday(date.fromisoformat(born), age)
                if end > limit:
                    refusals.append(
                        Refusal(
                            "academic_leave.child_age",
                            _(
                                "A child care leave ends by the child's birthday at %(age)s, %(limit)s; this one "
                                "ends on "
                                "%(end)s.",
                                age=age,
                                limit=format_day(limit),
                                end=format_day(end),
                            ),
                            {"child_birth_date": born, "limit": limit.isoformat(), "leave_end": end.isoformat()},
                        )
                    )
        return refusals

    def preview(self, line: OrderLine) -> dict:
        student, params = line.student, line.params
        return {
            "status": [student.status, "academic_leave"],
            "leave_ground": [student.leave_ground, params["ground"]],
            "leave_start": [_text(student.leave_start), params["leave_start"]],
            "leave_end": [_text(student.leave_end), params["leave_end"]],
        }

    def apply(self, line: OrderLine, order: Order) -> dict:
        params = line.params
        start = date.fromisoformat(params["leave_start"])
        return {
            "status": "academic_leave",
            "status_since": start,
            "leave_ground": params["ground"],
            "leave_start": start,
            "leave_end": date.fromisoformat(params["leave_end"]),
        }

    def item_text(self, line: OrderLine, language: str) -> str:
        params = line.params
        wording = GROUNDS[params["ground"]]
        student = describe_student(line.student, language, "dative")
        start, end = (format_day(date.fromisoformat(params[k]), language) for k in ("leave_start", "leave_end"))
        number = params.get("document_no") or "—"
        issued = (
            format_day(date.fromisoformat(params["document_date"]), language) if params.get("document_date") else "—"
        )
        born = params.get("child_birth_date")
        if language == "kk":
            child = (
                f" (баланың туған күні {format_day(date.fromisoformat(born), 'kk')})"
                if born and params["ground"] == "child_care"
                else ""
            )
            return (
                f"{student} {issued} ж. № {number} {wording[5]} негізінде {start} бастап {end} дейін "
                f"{wording[2]}{child} академиялық демалыс берілсін."
            )
        child = (
            f" (дата рождения ребенка {format_day(date.fromisoformat(born), 'ru')})"
            if born and params["ground"] == "child_care"
            else ""
        )
        return (
            f"Предоставить {student} академический отпуск {wording[1]}{child} на основании {wording[4]} "
            f"№ {number} от {issued} с {start} по {end}."
        )


def _text(value) -> str | None:
    return value.isoformat() if isinstance(value, date) else value
