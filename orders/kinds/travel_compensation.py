"""Travel compensation (компенсация за проезд / жол жүру өтемақысы): a one-off payment to state-order (grant)
bachelor and master full-time students, twice a year (winter and summer holidays), rule("travel_compensation_mrp")
MRP each time, at the MRP of the holidays' year (rule("mrp")).

The amount is computed when the line is drafted and recorded on it (`amount`, with `mrp` and `mrp_count`), so a
later change of the MRP setting never changes an order already drafted or signed. Each line follows the payment
contract of the scholarship register (orders/register/payments.py): `outcome` "in", `amount` in KZT, `months` = the
month of the effective date. Signing changes no column of the student's record.
"""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, post_load, validate, validates
from sqlalchemy import or_, select

from core.db import db
from core.formatting import format_day, format_money
from core.labels import label as code_label
from core.rules import rule
from orders.kind import ONE_OFF, LineContext, OrderKind, refused_for
from orders.models import Order, OrderLine
from orders.params import Integer, ParamsSchema, choice_field, choices_text, effective_date_field, messages, meta
from orders.reversals import reversed_line_ids
from orders.wording import describe_cohort, describe_student, funding_words
from workflow.engine import Refusal
from workflow.routes import TERMINAL_STATES

# season -> (UI label, Russian wording "в период ... каникул", Kazakh wording "... демалыс")
SEASONS: dict[str, tuple] = {
    "winter": (_l("winter holidays"), "зимних", "қысқы"),
    "summer": (_l("summer holidays"), "летних", "жазғы"),
}
LEVELS = ("bachelor", "master")


def mrp_for(year: int) -> int | None:
    """The MRP of a calendar year from the rules (keys may be numbers or, from a YAML file, text)."""
    table = rule("mrp") or {}
    value = table.get(year, table.get(str(year)))
    return int(value) if value is not None else None


YEAR_MESSAGE = _l("Give the year of the holidays, e.g. 2026.")


class TravelCompensationParams(ParamsSchema):
    """The season and year of the holidays and the payment date; the amount (MRP of the year times the rule's
    count) is computed once, here, and kept with the order."""

    basis_help = _l("Documents the order rests on, e.g. the dean's submission.")
    season = choice_field(
        _l("Holidays"),
        {k: v[0] for k, v in SEASONS.items()},
        _l("Choose the holidays: %(s)s.", s=choices_text({k: v[0] for k, v in SEASONS.items()})),
        description=_l("The holidays the compensation is for; once per season and year."),
    )
    year = Integer(
        required=True,
        validate=validate.Range(min=2000, max=2100, error=YEAR_MESSAGE),
        error_messages=messages(YEAR_MESSAGE),
        metadata=meta(_l("Year"), _l("The calendar year of the holidays: its MRP sets the amount.")),
    )
    effective_date = effective_date_field(
        _l("The compensation is paid in this month."),
        title=_l("Payment date"),
        message=_l("Give the payment date as YYYY-MM-DD."),
    )

    @validates("year")
    def _mrp_set(self, year: int, data_key: str) -> None:
        if mrp_for(year) is None:
            raise ValidationError(
                _("No MRP is set for %(year)s; the administrator adds it to the rules (mrp).", year=year)
            )

    @post_load
    def _amount(self, data, **kwargs):
        mrp, count = mrp_for(data["year"]), int(rule("travel_compensation_mrp"))
        return {**data, "mrp": mrp, "mrp_count": count, "amount": mrp * count}


class TravelCompensation(OrderKind):
    name = "travel_compensation"
    changes_record = False  # a payment: nothing in the students table changes
    route = "money"  # deans, registrar office, finance, rector
    title_ru = "О выплате компенсации за проезд"
    title_kk = "Жол жүру өтемақысын төлеу туралы"
    preamble_ru = (
        "В соответствии с Законом Республики Казахстан «Об образовании» и постановлением Правительства "
        "Республики Казахстан от 7 февраля 2008 года № 116 «Об утверждении Правил назначения, выплаты "
        "и размеров государственных стипендий обучающимся в организациях образования»,"
    )
    preamble_kk = (
        "«Білім туралы» Қазақстан Республикасының Заңына және Қазақстан Республикасы Үкіметінің 2008 "
        "жылғы 7 ақпандағы № 116 «Білім беру ұйымдарында білім алушыларға мемлекеттік стипендияларды "
        "тағайындау, төлеу қағидаларын және олардың мөлшерлерін бекіту туралы» қаулысына сәйкес"
    )
    params_schema = TravelCompensationParams
    labels = {"travel_compensation": _l("travel compensation")}
    pays = ONE_OFF
    paid_only_on_grant = True

    def label(self) -> str:
        return _("Travel compensation")

    # Drafting ----------------------------------------------------------------------------------------------

    def line_params(self, order: Order) -> tuple[dict, date]:
        effective = date.fromisoformat(order.params["effective_date"])
        params = {key: order.params[key] for key in ("season", "year", "mrp", "mrp_count", "amount")}
        return {**params, "outcome": "in", "months": [f"{effective:%Y-%m}"]}, effective

    # Eligibility -------------------------------------------------------------------------------------------

    def gather(self, order: Order, lines: list[OrderLine]) -> dict:
        """Other travel compensation lines of these students for the same season and year, in signed (not revoked,
        not excluded) or open orders: two queries for all lines."""
        season, year = order.params.get("season"), order.params.get("year")
        student_ids = [line.student_id for line in lines]
        rows = db.session.execute(
            select(OrderLine.student_id, OrderLine.params, Order.id, Order.number_label, Order.state, Order.order_date)
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                Order.kind == self.name,
                Order.id != order.id,
                OrderLine.student_id.in_(student_ids),
                or_(Order.state == "signed", Order.state.not_in(TERMINAL_STATES)),
                or_(Order.superseded_as.is_(None), Order.superseded_as != "revoked"),
                OrderLine.id.not_in(reversed_line_ids()),
            )
        )
        others: dict[int, list] = {}
        for row in rows:
            params = row.params or {}
            if params.get("season") == season and params.get("year") == year and params.get("outcome", "in") == "in":
                others.setdefault(row.student_id, []).append(row)
        return {"others": others}

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        programme = student.group.programme
        refusals = []
        if student.status != "active":
            message = _("%(name)s is %(status)s: travel compensation is paid only to active students.")
            refusals.append(refused_for(student, "status", "travel.status", message))
        if student.funding != "grant":
            message = _(
                "%(name)s does not study on a state grant (funding: %(funding)s): travel compensation is paid only to "
                "students of the state educational order."
            )
            refusals.append(refused_for(student, "funding", "travel.not_grant", message))
        if programme.level not in LEVELS:
            refusals.append(
                Refusal(
                    "travel.level",
                    _(
                        "%(name)s is a %(level)s student: travel compensation is paid only to bachelor and master "
                        "students.",
                        name=student.full_name,
                        level=code_label(programme.level),
                    ),
                    {"level": programme.level},
                )
            )
        if student.group.study_form != "full_time":
            refusals.append(
                Refusal(
                    "travel.study_form",
                    _(
                        "%(name)s studies %(form)s: travel compensation is paid only to full-time students.",
                        name=student.full_name,
                        form=code_label(student.group.study_form),
                    ),
                    {"study_form": student.group.study_form},
                )
            )
        season = SEASONS.get(line.params.get("season"), ("",))[0]
        for other in context.facts.get("others", {}).get(student.id, []):
            label = other.number_label or f"#{other.id}"
            if other.state == "signed":
                refusals.append(
                    Refusal(
                        "travel.already_compensated",
                        _(
                            "%(name)s was already compensated for the %(season)s of %(year)s by order %(label)s of "
                            "%(date)s.",
                            name=student.full_name,
                            season=season,
                            year=line.params.get("year"),
                            label=label,
                            date=format_day(other.order_date) if other.order_date else "—",
                        ),
                        {"order_id": other.id, "order_label": label},
                    )
                )
            else:
                refusals.append(
                    Refusal(
                        "travel.open_order",
                        _(
                            "%(name)s is already in travel compensation order %(label)s (%(state)s) for the "
                            "%(season)s of "
                            "%(year)s; finish or withdraw that order first.",
                            name=student.full_name,
                            label=label,
                            state=code_label(other.state),
                            season=season,
                            year=line.params.get("year"),
                        ),
                        {"order_id": other.id, "state": other.state},
                    )
                )
        return refusals

    # Effects -----------------------------------------------------------------------------------------------

    def preview(self, line: OrderLine) -> dict:
        """Nothing in the record changes; the history notes the payment."""
        return {"travel_compensation": [None, line.params["amount"]]}

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {}

    def reverse(self, line: OrderLine) -> dict:
        return {}

    # Wording -----------------------------------------------------------------------------------------------

    def item_text(self, line: OrderLine, language: str) -> str:
        params = line.params
        _label, season_ru, season_kk = SEASONS[params["season"]]
        count, amount, year = params["mrp_count"], format_money(int(params["amount"])), params["year"]
        student = describe_student(line.student, language, "dative").rstrip(",")
        if language == "kk":
            return (
                f"{student} {year} жылғы {season_kk} демалыс кезеңіндегі жол жүру өтемақысы {count} АЕК "
                f"({amount} теңге) мөлшерінде төленсін."
            )
        return (
            f"Выплатить {student} компенсацию за проезд в период {season_ru} каникул {year} года в размере "
            f"{count} МРП ({amount} тенге)."
        )

    def table_row(self, line: OrderLine, language: str) -> tuple[str, str]:
        params = line.params
        _label, season_ru, season_kk = SEASONS[params["season"]]
        count, amount, year = params["mrp_count"], format_money(int(params["amount"])), params["year"]
        funding = funding_words(line.student, language)
        if language == "kk":
            cohort = describe_cohort(line.student, "kk", "dative")
            return (
                f"{cohort} {year} жылғы {season_kk} демалыс кезеңіндегі жол жүру өтемақысы {count} АЕК "
                f"({amount} теңге) мөлшерінде тізімге сәйкес төленсін:",
                funding,
            )
        cohort = describe_cohort(line.student, "ru", "dative")
        return (
            f"Выплатить {cohort} компенсацию за проезд в период {season_ru} каникул {year} года в размере {count} "
            f"МРП ({amount} тенге) по списку:",
            funding,
        )
