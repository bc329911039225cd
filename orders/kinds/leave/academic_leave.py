"""Academic leave (академический отпуск / академиялық демалыс).

The order names a ground and the leave's dates; every line starts with them and the clerk gives each line its own
dates, supporting document (its number and date) and, for child care, the child's birth date.
"""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from core.formatting import format_day, parse_date
from core.labels import label as state_label
from core.rules import rule
from orders.kind import LineContext, OrderKind, basis_field, title_field
from orders.models import Order, OrderLine
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
LINE_FIELDS = ("ground", "leave_start", "leave_end", "document_no", "document_date", "child_birth_date")
DATE_FIELDS = ("leave_start", "leave_end", "document_date", "child_birth_date")


class IsoDateField(DateField):
    """A date field that also takes its data as ISO text: line parameters keep dates as YYYY-MM-DD."""

    def process_data(self, value):
        super().process_data(parse_date(value) if isinstance(value, str) else value)


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


def _dates(raw: dict, names, errors: dict[str, str]) -> dict:
    values = {}
    for name in names:
        values[name] = parse_date(raw.get(name))
        if values[name] is None and raw.get(name) not in (None, ""):
            errors[name] = _("Give the date as YYYY-MM-DD, e.g. 2026-09-01.")
    return values


def _clean_ground(raw: dict, errors: dict[str, str]) -> str | None:
    ground = raw.get("ground")
    if ground not in grounds():
        errors["ground"] = _("Choose one of the grounds: %(g)s.", g=", ".join(grounds()))
        return None
    return ground


def _check_period(values: dict, errors: dict[str, str], *, required: bool = True) -> None:
    start, end = values.get("leave_start"), values.get("leave_end")
    for name in ("leave_start", "leave_end"):
        if required and values.get(name) is None and name not in errors:
            errors[name] = _("Give the leave's first and last day.")
    if start and end and end < start:
        errors["leave_end"] = _(
            "The leave ends (%(end)s) before it starts (%(start)s).", end=format_day(end), start=format_day(start)
        )


def _iso(values: dict) -> dict:
    """Parameters as stored: dates as ISO text, empty values left out."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items() if v not in (None, "")}


class AcademicLeaveForm(FlaskForm):
    title = title_field()
    ground = SelectField(
        _l("Ground"),
        choices=[(k, v[0]) for k, v in GROUNDS.items()],
        description=_l("Every line starts with this ground; a line may have its own."),
    )
    leave_start = DateField(
        _l("Leave start"),
        validators=[InputRequired()],
        description=_l("The first day of the leave; each line may have its own dates."),
    )
    leave_end = DateField(_l("Leave end"), validators=[InputRequired()], description=_l("The last day of the leave."))
    basis = basis_field(_l("Documents the order rests on, e.g. the students' applications."))


class AcademicLeaveLineForm(FlaskForm):
    ground = SelectField(_l("Ground"), choices=[(k, v[0]) for k, v in GROUNDS.items()])
    leave_start = IsoDateField(_l("Leave start"), validators=[InputRequired()])
    leave_end = IsoDateField(_l("Leave end"), validators=[InputRequired()])
    document_no = StringField(
        _l("Document no."),
        validators=[Length(max=64)],
        description=_l("The medical commission conclusion, call-up notice or birth certificate the leave rests on."),
    )
    document_date = IsoDateField(_l("Document date"), validators=[Optional()])
    child_birth_date = IsoDateField(
        _l("Child's birth date"),
        validators=[Optional()],
        description=_l("Child care only: the leave ends by the child's third birthday."),
    )


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
    form_class = AcademicLeaveForm
    line_form_class = AcademicLeaveLineForm
    labels = {
        "document_no": _l("document no."),
        "child_birth_date": _l("child's birth date"),
        **{code: words[0] for code, words in GROUNDS.items()},
    }

    def label(self) -> str:
        return _("Academic leave")

    def validate_params(self, raw: dict) -> tuple[dict, dict[str, str]]:
        errors: dict[str, str] = {}
        ground = _clean_ground(raw, errors)
        values = _dates(raw, ("leave_start", "leave_end"), errors)
        _check_period(values, errors)
        return {"ground": ground, **_iso(values)}, errors

    def line_params(self, order: Order) -> tuple[dict, date]:
        params = {k: order.params[k] for k in ("ground", "leave_start", "leave_end")}
        return params, date.fromisoformat(params["leave_start"])

    def validate_line(self, raw: dict, line: OrderLine) -> tuple[dict, date, dict[str, str]]:
        """A line's ground, dates, document and child's birth date; what the body leaves out stays as it was."""
        merged = {**line.params, **{k: v for k, v in raw.items() if k in LINE_FIELDS}}
        errors: dict[str, str] = {}
        unknown = sorted(set(raw) - set(LINE_FIELDS) - {"csrf_token", "effective_date"})
        if unknown:
            errors["line"] = ngettext(
                "Unknown detail %(names)s; a leave line has: %(known)s.",
                "Unknown details %(names)s; a leave line has: %(known)s.",
                len(unknown),
                names=", ".join(unknown),
                known=", ".join(LINE_FIELDS),
            )
        ground = _clean_ground(merged, errors)
        values = _dates(merged, DATE_FIELDS, errors)
        _check_period(values, errors)
        number = merged.get("document_no")
        if number is not None and not isinstance(number, str | int):
            errors["document_no"] = _("Give the document number as text.")
            number = None
        number = str(number).strip() if number is not None else ""
        if len(number) > 64:
            errors["document_no"] = _("The document number is longer than 64 characters.")
        params = _iso({"ground": ground, **values, "document_no": number})
        effective = values["leave_start"] or line.effective_date
        return params, effective, errors

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student, params = line.student, line.params
        refusals = []
        if student.status != "active":
            refusals.append(
                Refusal(
                    "academic_leave.status",
                    _(
                        "%(name)s is %(status)s: academic leave is granted only to active students.",
                        name=student.full_name,
                        status=state_label(student.status),
                    ),
                    {"status": student.status},
                )
            )
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
                str(months)
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
        student = describe_student(line.student, language)
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
