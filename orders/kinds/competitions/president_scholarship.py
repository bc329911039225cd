"""The President's scholarship and personal (named) scholarships: one rule set, two kinds.

Eligible: an active student from the first eligible course of the level (setting
`personal_scholarship_min_course`: bachelor 3, master 2; other levels never) whose grades of the order's academic
year are all A or A-. The eligible are ranked by that year's GPA (ties: more credits, then the name; see
`orders.ranking`) and take the places of the university quota and of the faculty quotas (order parameters, defaults
from settings). Every line says its outcome: "in" (paid `amount` KZT a month for each month of `months`) or "out"
with the reason; an "out" line is listed in the order, it does not block it. Only real errors block (a student who is
not active, a missing amount table, another open order).

The amount is the level's figure of the dated table in force on the first month paid; the table's "from" date is kept
on the line (`table_from`), so a later table never changes the order. While the order is a draft the outcomes are
recomputed on every check; from submission on they stay as the approvers saw them.
"""

from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import ValidationError, fields, post_load, validate, validates_schema
from sqlalchemy import select

from core.db import db
from core.formatting import format_money
from core.labels import label as code_label
from core.rules import rule
from orders import ranking
from orders.kind import MONTHLY, LineContext, OrderKind, academic_year_field, refused_for
from orders.kinds.competitions.blueprints import api, pages
from orders.models import Order, OrderLine
from orders.params import Integer, ParamsSchema, Text, messages, meta, text_field
from orders.wording import describe_student
from students.models import Faculty
from workflow.engine import Refusal

MONTHS_RU = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)
MONTHS_KK = (
    "қаңтар",
    "ақпан",
    "наурыз",
    "сәуір",
    "мамыр",
    "маусым",
    "шілде",
    "тамыз",
    "қыркүйек",
    "қазан",
    "қараша",
    "желтоқсан",
)
MAX_MONTHS = 12


def parse_month(value: Any) -> date | None:
    """The first day of a month given as YYYY-MM."""
    if not isinstance(value, str):
        return None
    year, dash, month = value.strip().partition("-")
    if dash and year.isdigit() and month.isdigit() and len(year) == 4 and 1 <= int(month) <= 12:
        return date(int(year), int(month), 1)
    return None


def months_between(first: date, last: date) -> list[str]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(f"{current:%Y-%m}")
        current += relativedelta(months=1)
    return months


def month_words(month: str, language: str) -> str:
    year, number = month.split("-")
    names = MONTHS_KK if language == "kk" else MONTHS_RU
    return f"{names[int(number) - 1]} {year}"


def parse_faculty_quotas(value: Any) -> tuple[dict[str, int], str | None]:
    """'FA=3, FB=2' (or {"FA": 3}) as {"FA": 3, "FB": 2}, faculty codes checked; empty means no faculty caps."""
    if value in (None, ""):
        return {}, None
    if isinstance(value, dict):
        pairs = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, str):
        pairs = []
        for chunk in value.replace(";", ",").split(","):
            if not chunk.strip():
                continue
            code, equals, count = chunk.partition("=")
            if not equals:
                return {}, _(
                    "Write each faculty quota as faculty code=places, e.g. FA=3; got “%(chunk)s”.", chunk=chunk.strip()
                )
            pairs.append((code.strip(), count.strip()))
    else:
        return {}, _("Give the faculty quotas as faculty code=places, separated by commas.")
    quotas: dict[str, int] = {}
    for code, count in pairs:
        try:
            number = int(count)
        except (TypeError, ValueError):
            number = -1
        if isinstance(count, bool) or number < 0:
            return {}, _(
                "The quota of faculty %(code)s must be a whole number from 0, got “%(n)s”.", code=code, n=count
            )
        quotas[code] = number
    known = set(db.session.scalars(select(Faculty.code).where(Faculty.code.in_(list(quotas))))) if quotas else set()
    unknown = sorted(set(quotas) - known)
    if unknown:
        return {}, _("No faculty with code %(codes)s.", codes=", ".join(unknown))
    return quotas, None


def _month_field(title: str, message: str, description: str) -> Text:
    def valid(value: str) -> None:
        if parse_month(value) is None:
            raise ValidationError(str(message))

    return text_field(title, missing=message, longest=7, too_long=message, check=valid, description=description)


class FacultyQuotas(fields.String):
    """Faculty quotas as text ("FA=3, FB=2") or as an object ({"FA": 3}), faculty codes checked: {"FA": 3}."""

    def _deserialize(self, value, attr, data, **kwargs) -> dict[str, int]:
        quotas, error = parse_faculty_quotas(value)
        if error:
            raise ValidationError(error)
        return quotas


class ScholarshipParams(ParamsSchema):
    basis_help = _l("e.g. the academic council's decision, the deans' submissions.")
    quota_rule = "president_scholarship_quota"  # the defaults of the quotas
    academic_year = academic_year_field(_l("The year whose grades decide (only A and A-), e.g. 2025-2026."))
    first_month = _month_field(
        _l("First month paid"),
        _l("Give the first month paid as YYYY-MM, e.g. 2026-09."),
        _l("YYYY-MM, e.g. 2026-09."),
    )
    last_month = _month_field(
        _l("Last month paid"),
        _l("Give the last month paid as YYYY-MM, e.g. 2027-06."),
        _l("YYYY-MM, e.g. 2027-06."),
    )
    quota = Integer(
        validate=validate.Range(min=0, error=_l("The university quota must be a whole number from 0.")),
        error_messages=messages(_l("The university quota must be a whole number from 0.")),
        metadata=meta(_l("University quota"), _l("Places for the whole university; empty: the setting.")),
    )
    faculty_quotas = FacultyQuotas(
        metadata=meta(
            _l("Faculty quotas"),
            _l("Faculty code=places, e.g. FA=3, FB=2; a faculty not named has no own cap; empty: the setting."),
        ),
    )

    @validates_schema(skip_on_field_errors=False)
    def _months_in_order(self, data, **kwargs):
        first, last = parse_month(data.get("first_month")), parse_month(data.get("last_month"))
        if first and last:
            if last < first:
                raise ValidationError(_("The last month paid comes before the first."), "last_month")
            if len(months_between(first, last)) > MAX_MONTHS:
                raise ValidationError(
                    ngettext(
                        "A scholarship order pays at most %(num)s month.",
                        "A scholarship order pays at most %(num)s months.",
                        MAX_MONTHS,
                    ),
                    "last_month",
                )

    @post_load
    def _with_defaults(self, data, **kwargs):
        first, last = parse_month(data["first_month"]), parse_month(data["last_month"])
        defaults = rule(self.quota_rule)
        quotas = data.get("faculty_quotas")
        if quotas is None:
            quotas, error = parse_faculty_quotas(defaults.get("faculties") or {})
            if error:
                raise ValidationError(error, "faculty_quotas")
        return {
            **data,
            "first_month": f"{first:%Y-%m}",
            "last_month": f"{last:%Y-%m}",
            "quota": data.get("quota", int(defaults.get("university", 0))),
            "faculty_quotas": quotas,
            "effective_date": first.isoformat(),
        }


NAME_MESSAGE = _l("Name the scholarship in Russian and in Kazakh, e.g. имени аль-Фараби / Әл-Фараби атындағы.")


class PersonalScholarshipParams(ScholarshipParams):
    quota_rule = "personal_scholarship_quota"
    scholarship_ru = text_field(
        _l("Scholarship name (Russian)"),
        missing=NAME_MESSAGE,
        longest=200,
        too_long=_l("The scholarship name is longer than 200 characters."),
        description=_l("As it reads after “стипендия”, e.g. имени аль-Фараби."),
    )
    scholarship_kk = text_field(
        _l("Scholarship name (Kazakh)"),
        missing=NAME_MESSAGE,
        longest=200,
        too_long=_l("The scholarship name is longer than 200 characters."),
        description=_l("As it reads before “стипендиясы”, e.g. Әл-Фараби атындағы."),
    )


class PresidentScholarship(OrderKind):
    name = "president_scholarship"
    changes_record = False  # a payment: nothing in the students table changes
    route = "money"
    title_ru = "О назначении стипендии Президента Республики Казахстан"
    title_kk = "Қазақстан Республикасы Президентінің стипендиясын тағайындау туралы"
    preamble_ru = (
        "В соответствии с Правилами назначения, выплаты и размерами государственных стипендий "
        "обучающимся в организациях образования, утвержденными постановлением Правительства Республики "
        "Казахстан от 7 февраля 2008 года № 116, на основании решения ученого совета,"
    )
    preamble_kk = (
        "Қазақстан Республикасы Үкіметінің 2008 жылғы 7 ақпандағы № 116 қаулысымен бекітілген Білім беру "
        "ұйымдарында білім алушыларға мемлекеттік стипендияларды тағайындау, төлеу қағидаларына және "
        "олардың мөлшерлеріне сәйкес, ғылыми кеңестің шешімі негізінде"
    )
    params_schema = ScholarshipParams
    amounts_rule = "president_scholarship_amounts"
    rule_prefix = "president"
    labels = {"president_scholarship": _l("President's scholarship")}
    blueprints = (pages,)
    api_blueprints = (api,)
    order_page_links = ("orders/_ranking_link.html",)
    pays = MONTHLY
    blocked_by_open_orders = True  # a student in an open record-changing order is not a candidate

    def label(self) -> str:
        return _("President's scholarship")

    # Names in the two document languages -------------------------------------------------------------------

    def scholarship_words(self, order: Order, language: str) -> str:
        if language == "kk":
            return "Қазақстан Республикасы Президентінің стипендиясы"
        return "стипендия Президента Республики Казахстан"

    def line_params(self, order: Order) -> tuple[dict, date]:
        return {"outcome": "out", "amount": 0, "months": [], "table_from": None}, date.fromisoformat(
            order.params["effective_date"]
        )

    # Ranking -------------------------------------------------------------------------------------------------

    def _amount(self, order: Order) -> dict | None:
        return ranking.amount_table(self.amounts_rule, date.fromisoformat(order.params["effective_date"]))

    def gather(self, order: Order, lines: list[OrderLine]) -> dict[str, Any]:
        return {"table": self._amount(order)}

    def fill_params(self, order: Order, lines: list[OrderLine], facts: dict[str, Any]) -> None:
        """While a draft: every line's outcome, rank, GPA, amount and months from the ranking."""
        if order.state == "draft":
            self._rank(order, lines, facts["table"])

    def _rank(self, order: Order, lines: list[OrderLine], table: dict | None) -> None:
        """Set every line's outcome, rank, GPA, amount and months (the only writes: changed params)."""
        year = order.params["academic_year"]
        facts = ranking.academic_facts([line.student_id for line in lines], year, history=False)
        codes = (
            dict(
                db.session.execute(
                    select(Faculty.id, Faculty.code).where(Faculty.id.in_(list({line.faculty_id for line in lines})))
                ).all()
            )
            if lines
            else {}
        )
        months = months_between(parse_month(order.params["first_month"]), parse_month(order.params["last_month"]))
        min_course = rule("personal_scholarship_min_course")
        results: dict[int, dict] = {}
        eligible = []
        for line in lines:
            student, fact = line.student, facts[line.student_id]
            level = student.group.programme.level
            base = {
                "key": "university",
                "gpa": fact.gpa,
                "tie_class": ranking.tie_class(fact.letters) if fact.letters else None,
                "rank": None,
            }
            if student.status != "active":
                results[line.student_id] = {
                    **base,
                    "rule": f"{self.rule_prefix}.status",
                    "reason": _("Not active (%(status)s).", status=code_label(student.status)),
                }
            elif level not in min_course or student.course < int(min_course[level]):
                first = min_course.get(level)
                results[line.student_id] = {
                    **base,
                    "rule": f"{self.rule_prefix}.course",
                    "reason": (
                        _(
                            "Course %(course)s of the %(level)s level: eligible from course %(first)s.",
                            course=student.course,
                            level=level,
                            first=first,
                        )
                        if first
                        else _("The %(level)s level is not eligible.", level=level)
                    ),
                }
            elif not fact.letters:
                results[line.student_id] = {
                    **base,
                    "rule": f"{self.rule_prefix}.no_grades",
                    "reason": _("No grades in %(year)s.", year=year),
                }
            elif not fact.letters <= set(ranking.EXCELLENT):
                other = sorted(fact.letters - set(ranking.EXCELLENT))
                results[line.student_id] = {
                    **base,
                    "rule": f"{self.rule_prefix}.grades",
                    "reason": _(
                        "Grades other than A and A- in %(year)s: %(letters)s.", year=year, letters=", ".join(other)
                    ),
                }
            else:
                eligible.append(line)
                results[line.student_id] = base
        eligible.sort(
            key=lambda line: ranking.sort_key(facts[line.student_id], line.student.full_name, line.student_id)
        )
        university_left = order.params["quota"]
        faculty_left = dict(order.params.get("faculty_quotas") or {})
        last_in = None
        for rank, line in enumerate(eligible, 1):
            code = codes.get(line.faculty_id)
            result = results[line.student_id]
            result["rank"] = rank
            if university_left <= 0:
                result.update(
                    rule=f"{self.rule_prefix}.quota_university",
                    reason=_(
                        "Ranked %(rank)s: beyond the university quota of %(quota)s.",
                        rank=rank,
                        quota=order.params["quota"],
                    ),
                )
            elif code in faculty_left and faculty_left[code] <= 0:
                result.update(
                    rule=f"{self.rule_prefix}.quota_faculty",
                    reason=_(
                        "Ranked %(rank)s: beyond the quota of faculty %(code)s (%(quota)s).",
                        rank=rank,
                        code=code,
                        quota=order.params["faculty_quotas"][code],
                    ),
                )
            else:
                result["outcome"] = "in"
                university_left -= 1
                if code in faculty_left:
                    faculty_left[code] -= 1
                last_in = line
        # A tie on the cut line: the first left out has the same merit as the last taken.
        if last_in is not None:
            for line in eligible:
                if results[line.student_id].get("outcome") != "in" and ranking.merit(
                    facts[line.student_id]
                ) == ranking.merit(facts[last_in.student_id]):
                    results[line.student_id]["tie"] = results[last_in.student_id]["tie"] = True
        for line in lines:
            result = results[line.student_id]
            level = line.student.group.programme.level
            amount = int(table.get(level, 0)) if table and result.get("outcome") == "in" else 0
            params = {
                **line.params,
                "outcome": result.get("outcome", "out"),
                "rank": result["rank"],
                "gpa": result["gpa"],
                "tie_class": result["tie_class"],
                "key": result["key"],
                "amount": amount,
                "months": months if result.get("outcome") == "in" else [],
                "table_from": str(table["from"]) if table else None,
                "rule": result.get("rule"),
                "why": result.get("reason", ""),
                "tie": result.get("tie", False),
            }
            if params != line.params:
                line.params = params

    # Checks and effects --------------------------------------------------------------------------------------

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        refusals = []
        if student.status != "active":
            message = _("%(name)s is %(status)s: a scholarship is awarded only to active students.")
            refusals.append(refused_for(student, "status", f"{self.rule_prefix}.status", message))
        table = context.facts.get("table")
        level = student.group.programme.level
        if line.params.get("outcome") == "in" and (table is None or not table.get(level)):
            refusals.append(
                Refusal(
                    f"{self.rule_prefix}.amount",
                    _(
                        "No monthly amount of this scholarship is set for the %(level)s level from %(month)s; add "
                        "it to "
                        "the rule %(rule)s.",
                        level=level,
                        month=line.order.params["first_month"],
                        rule=self.amounts_rule,
                    ),
                    {"level": level, "rule": self.amounts_rule},
                )
            )
        return refusals

    def preview(self, line: OrderLine) -> dict:
        """Nothing in the record changes (the register pays from the signed line); the history notes the award."""
        if line.params.get("outcome") != "in":
            return {}
        return {"scholarship": [None, line.params["amount"]]}

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {}

    # Wording -------------------------------------------------------------------------------------------------

    def section_title(self, key: str, line: OrderLine) -> str:
        order = line.order
        return f"{self.scholarship_words(order, 'ru').capitalize()}, {order.params.get('academic_year')}"

    def reason_words(self, line: OrderLine, language: str) -> str:
        """Why a line is out, in the document's language."""
        params = line.params
        rule_id = (params.get("rule") or "").split(".")[-1]
        student = line.student
        year = line.order.params.get("academic_year")
        if language == "kk":
            words = {
                "status": "білім алушы белсенді емес",
                "course": f"{student.course}-курс: стипендия бакалавриаттың 3-курсынан, магистратураның 2-курсынан "
                f"бастап тағайындалады",
                "no_grades": f"{year} оқу жылында бағалары жоқ",
                "grades": f"{year} оқу жылында A және A- бағаларынан басқа бағалары бар",
                "quota_university": f"рейтингтегі орны {params.get('rank')}: ЖОО квотасынан тыс",
                "quota_faculty": f"рейтингтегі орны {params.get('rank')}: факультет квотасынан тыс",
            }
        else:
            words = {
                "status": "обучающийся не является активным",
                "course": f"{student.course} курс: стипендия назначается с 3 курса бакалавриата и 2 курса магистратуры",
                "no_grades": f"нет оценок за {year} учебный год",
                "grades": f"имеются оценки ниже A- за {year} учебный год",
                "quota_university": f"место в рейтинге {params.get('rank')}: сверх квоты университета",
                "quota_faculty": f"место в рейтинге {params.get('rank')}: сверх квоты факультета",
            }
        return words.get(rule_id, "")

    def item_text(self, line: OrderLine, language: str) -> str:
        order, params = line.order, line.params
        student = describe_student(line.student, language, "dative").rstrip(",")
        name = self.scholarship_words(order, language)
        if params.get("outcome") == "in" and params.get("months"):
            first, last = params["months"][0], params["months"][-1]
            amount = format_money(params["amount"])
            gpa = f"{params['gpa']:.2f}" if params.get("gpa") is not None else "—"
            if language == "kk":
                return (
                    f"{student} {month_words(first, 'kk')} – {month_words(last, 'kk')} кезеңіне айына {amount} "
                    f"теңге мөлшерінде {name} тағайындалсын (GPA {gpa}, рейтингтегі орны {params.get('rank')})."
                )
            return (
                f"Назначить {student} {name} на период {month_words(first, 'ru')} – {month_words(last, 'ru')} "
                f"в размере {amount} тенге в месяц (GPA {gpa}, место в рейтинге {params.get('rank')})."
            )
        why = self.reason_words(line, language)
        if language == "kk":
            return f"{student} {name} тағайындалмасын: {why}."
        return f"Отказать {student} в назначении: {name}: {why}."


class PersonalScholarship(PresidentScholarship):
    name = "personal_scholarship"
    title_ru = "О назначении именной стипендии"
    title_kk = "Атаулы стипендия тағайындау туралы"
    params_schema = PersonalScholarshipParams
    amounts_rule = "personal_scholarship_amounts"
    rule_prefix = "personal"
    labels = {"personal_scholarship": _l("personal scholarship")}

    def label(self) -> str:
        return _("Personal scholarship")

    def scholarship_words(self, order: Order, language: str) -> str:
        if language == "kk":
            return f"{order.params.get('scholarship_kk', '')} стипендиясы".strip()
        return f"стипендия {order.params.get('scholarship_ru', '')}".strip()
