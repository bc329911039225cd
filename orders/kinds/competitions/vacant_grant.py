"""Award of vacant state education grants (присуждение вакантных государственных образовательных грантов).

The lines are the applications of paid students. An applicant is excluded from the competition (line "out" with the
reason, listed, not blocking) for an academic debt, for any F grade ever, or for any retake ever. The others compete
per programme and course (the student's current one) by GPA over the whole study; equal GPAs go first to only A/A-,
then only A..B-, then mixed grades (then more credits, then the name, flagged as a tie when it falls on the cut line).
The number of vacant grants per programme and course is the order parameter `vacancies`
("6B06101:2=3, 6B04101:3=1"). The winners ("in") move to the state grant from the effective date; nobody else
changes. Blocking refusals only for real errors: a student who is not active or does not study on a paid basis, or
sits in another open order. While the order is a draft the ranking is recomputed on every check; from submission on
it stays as the approvers saw it.
"""

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from marshmallow import ValidationError, fields
from sqlalchemy import select

from core.db import db
from core.formatting import format_day
from core.labels import label as code_label
from orders import ranking
from orders.kind import LineContext, OrderKind, refused_for
from orders.kinds.competitions.blueprints import api, pages
from orders.models import Order, OrderLine
from orders.params import ParamsSchema, effective_date_field, messages, meta, text_field
from orders.wording import GRANT_RULES_KK, GRANT_RULES_RU, describe_student
from students.models import Programme
from workflow.engine import Refusal


class Vacancies(fields.String):
    """Vacant grants per programme and course as text ("6B06101:2=3, 6B04101:3=1") or an object: {"6B06101:2": 3},
    programme codes checked."""

    def _deserialize(self, value, attr, data, **kwargs) -> dict[str, int]:
        vacancies, error = ranking.parse_vacancies(value)
        if error:
            raise ValidationError(error)
        codes = {key.split(":")[0] for key in vacancies}
        known = set(db.session.scalars(select(Programme.code).where(Programme.code.in_(codes)))) if codes else set()
        unknown = sorted(codes - known)
        if unknown:
            raise ValidationError(_("No programme with code %(codes)s.", codes=", ".join(unknown)))
        return vacancies


class VacantGrantParams(ParamsSchema):
    basis_help = _l("e.g. the students' applications, the council's minutes.")
    vacancies = Vacancies(
        required=True,
        error_messages=messages(
            _l("Name at least one programme and course with its number of vacant grants, e.g. 6B06101:2=3.")
        ),
        metadata=meta(
            _l("Vacant grants"),
            _l("Per programme and course: code:course=number, separated by commas, e.g. 6B06101:2=3, 6B04101:3=1."),
        ),
    )
    ground = text_field(
        _l("Ground"),
        missing=_l("Name the council decision awarding the vacant grants (number and date)."),
        longest=500,
        too_long=_l("The ground is longer than 500 characters."),
        description=_l("The council decision awarding the vacant grants (number and date)."),
    )
    effective_date = effective_date_field(_l("The day the winners start studying on the state grant."))


class VacantGrant(OrderKind):
    name = "vacant_grant"
    route = "money"
    title_ru = "О присуждении вакантных государственных образовательных грантов"
    title_kk = "Бос мемлекеттік білім беру гранттарын беру туралы"
    preamble_ru = GRANT_RULES_RU
    preamble_kk = GRANT_RULES_KK
    params_schema = VacantGrantParams
    labels = {"vacant_grant": _l("vacant state grant")}
    blueprints = (pages,)
    api_blueprints = (api,)
    order_page_links = ("orders/_ranking_link.html",)

    def label(self) -> str:
        return _("Vacant state grant award")

    def line_params(self, order: Order) -> tuple[dict, date]:
        return {"outcome": "out"}, date.fromisoformat(order.params["effective_date"])

    # Ranking -------------------------------------------------------------------------------------------------

    def fill_params(self, order: Order, lines: list[OrderLine], facts: dict[str, Any]) -> None:
        """While a draft: every line's outcome and rank from the competition of its programme and course."""
        if order.state == "draft":
            self._rank(order, lines)

    def _rank(self, order: Order, lines: list[OrderLine]) -> None:  # noqa: C901
        facts = ranking.academic_facts([line.student_id for line in lines])
        vacancies = order.params.get("vacancies") or {}
        results: dict[int, dict] = {}
        competitions: dict[str, list[OrderLine]] = {}
        for line in lines:
            student, fact = line.student, facts[line.student_id]
            key = f"{student.group.programme.code}:{student.course}"
            result = {
                "key": key,
                "gpa": fact.gpa,
                "tie_class": ranking.tie_class(fact.letters) if fact.letters else None,
                "rank": None,
                "rules": [],
            }
            reasons = self._exclusions(line, fact, key, vacancies)
            if reasons:
                result["rules"] = [rule_id for rule_id, _message in reasons]
                result["reason"] = " ".join(message for _rule, message in reasons)
            else:
                competitions.setdefault(key, []).append(line)
            results[line.student_id] = result
        for key, entrants in competitions.items():
            self._rank_competition(key, entrants, vacancies[key], facts, results)
        for line in lines:
            result = results[line.student_id]
            params = {
                **line.params,
                "outcome": result.get("outcome", "out"),
                "key": result["key"],
                "rank": result["rank"],
                "gpa": result["gpa"],
                "tie_class": result["tie_class"],
                "rules": result["rules"],
                "why": result.get("reason", ""),
                "tie": result.get("tie", False),
            }
            if params != line.params:
                line.params = params

    @staticmethod
    def _exclusions(line: OrderLine, fact: ranking.Academic, key: str, vacancies: dict) -> list[tuple[str, str]]:
        """(rule id, message) for each reason the applicant is out of the competition; empty when they compete."""
        student = line.student
        reasons = []
        if student.status != "active":
            reasons.append(("vacant_grant.status", _("Not active (%(status)s).", status=code_label(student.status))))
        if student.funding != "paid":
            reasons.append(
                (
                    "vacant_grant.not_paid",
                    _("Does not study on a paid basis (%(funding)s).", funding=code_label(student.funding)),
                )
            )
        if fact.debts:
            reasons.append(("vacant_grant.debt", _("Academic debt: %(codes)s.", codes=", ".join(fact.debts))))
        if fact.f_grades:
            reasons.append(("vacant_grant.f_grade", _("An F grade: %(codes)s.", codes=", ".join(fact.f_grades))))
        if fact.retakes:
            reasons.append(("vacant_grant.retake", _("A retake: %(codes)s.", codes=", ".join(fact.retakes))))
        if fact.gpa is None:
            reasons.append(("vacant_grant.no_grades", _("No grades, so no GPA.")))
        if not reasons and key not in vacancies:
            reasons.append(("vacant_grant.no_vacancy", _("No vacant grant is announced for %(key)s.", key=key)))
        return reasons

    @staticmethod
    def _rank_competition(
        key: str, entrants: list[OrderLine], places: int, facts: dict[int, ranking.Academic], results: dict[int, dict]
    ) -> None:
        """Rank one programme and course: the first `places` are in, the rest out below the cut; equal merit on the
        cut line is flagged as a tie for the council."""
        entrants.sort(
            key=lambda line: ranking.sort_key(facts[line.student_id], line.student.full_name, line.student_id)
        )
        for rank, line in enumerate(entrants, 1):
            result = results[line.student_id]
            result["rank"] = rank
            if rank <= places:
                result["outcome"] = "in"
            else:
                result["rules"] = ["vacant_grant.below_cut"]
                result["reason"] = ngettext(
                    "Ranked %(rank)s of %(n)s for %(places)s vacant grant of %(key)s.",
                    "Ranked %(rank)s of %(n)s for %(places)s vacant grants of %(key)s.",
                    places,
                    rank=rank,
                    n=len(entrants),
                    places=places,
                    key=key,
                )
        if len(entrants) > places:
            last_in, first_out = entrants[places - 1], entrants[places]
            if ranking.merit(facts[last_in.student_id]) == ranking.merit(facts[first_out.student_id]):
                tied = ranking.merit(facts[last_in.student_id])
                for line in entrants:
                    if ranking.merit(facts[line.student_id]) == tied:
                        results[line.student_id]["tie"] = True

    # Checks and effects --------------------------------------------------------------------------------------

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        refusals = []
        if student.status != "active":
            message = _("%(name)s is %(status)s: only active students take part in the vacant grant competition.")
            refusals.append(refused_for(student, "status", "vacant_grant.status", message))
        if student.funding != "paid":
            message = _(
                "%(name)s does not study on a paid basis (funding: %(funding)s): only paid students apply for a vacant "
                "grant."
            )
            refusals.append(refused_for(student, "funding", "vacant_grant.not_paid", message))
        return refusals

    def preview(self, line: OrderLine) -> dict:
        if line.params.get("outcome") == "in":
            return {"funding": [line.student.funding, "grant"]}
        return {}

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {"funding": "grant" if line.params.get("outcome") == "in" else line.student.funding}

    # Wording -------------------------------------------------------------------------------------------------

    def section_title(self, key: str, line: OrderLine) -> str:
        programme = line.student.group.programme
        code, _colon, course = key.partition(":")
        return f"{code} «{programme.name_ru}», {course} курс"

    def reason_words(self, line: OrderLine, language: str) -> str:
        params = line.params
        kk = language == "kk"
        words = {
            "vacant_grant.status": "білім алушы белсенді емес" if kk else "обучающийся не является активным",
            "vacant_grant.not_paid": "ақылы негізде оқымайды" if kk else "не обучается на платной основе",
            "vacant_grant.debt": "академиялық берешегі бар" if kk else "имеется академическая задолженность",
            "vacant_grant.f_grade": "F бағасы бар" if kk else "имеется оценка F",
            "vacant_grant.retake": "пәнді қайта тапсырған" if kk else "имеется повторное изучение дисциплины",
            "vacant_grant.no_grades": "бағалары жоқ" if kk else "нет оценок",
            "vacant_grant.no_vacancy": (
                f"{params.get('key')} бойынша бос грант жоқ"
                if kk
                else f"вакантные гранты по {params.get('key')} не объявлены"
            ),
            "vacant_grant.below_cut": (
                f"рейтингтегі орны {params.get('rank')}, бос гранттар саны "
                f"{(line.order.params.get('vacancies') or {}).get(params.get('key'), 0)}"
                if kk
                else f"место в рейтинге {params.get('rank')} при "
                f"{(line.order.params.get('vacancies') or {}).get(params.get('key'), 0)} "
                f"вакантных грантах"
            ),
        }
        return "; ".join(words[rule_id] for rule_id in params.get("rules") or [] if rule_id in words)

    def item_text(self, line: OrderLine, language: str) -> str:
        params = line.params
        student = describe_student(line.student, language, "dative").rstrip(",")
        when = format_day(line.effective_date, language)
        ground = line.order.params.get("ground", "")
        gpa = f"{params['gpa']:.2f}" if params.get("gpa") is not None else "—"
        if params.get("outcome") == "in":
            if language == "kk":
                return (
                    f"{student} {when} бастап бос мемлекеттік білім беру гранты берілсін (GPA {gpa}, "
                    f"рейтингтегі орны {params.get('rank')}; негізі: {ground})."
                )
            return (
                f"Присудить вакантный государственный образовательный грант {student} с {when} (GPA {gpa}, "
                f"место в рейтинге {params.get('rank')}; основание: {ground})."
            )
        why = self.reason_words(line, language)
        if language == "kk":
            return f"{student} бос мемлекеттік білім беру гранты берілмесін: {why}."
        return f"Отказать в присуждении вакантного государственного образовательного гранта {student}: {why}."
