"""What the transfers and the restoration share: the group-change kind base (a target group per line, the academic
difference stored as debts), the holiday-window rule, the per-line target group, the academic difference in the
document.
"""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, post_load, validates
from sqlalchemy import and_, or_, select

from core.db import db
from core.formatting import format_day
from core.rules import rule
from orders.kind import OrderKind
from orders.models import Order, OrderLine
from orders.params import (
    EFFECTIVE_DATE_MESSAGE,
    LineParamsSchema,
    ParamsSchema,
    date_field,
    effective_date_field,
    text_field,
)
from orders.wording import LANGUAGE, STUDY_FORM
from students.academic import AcademicCalendar, academic_year_of
from students.difference import remove_debts, store_debts
from students.models import Group
from workflow.engine import Refusal

PREAMBLE_RU = (
    "В соответствии с Типовыми правилами деятельности организаций высшего и (или) послевузовского "
    "образования, утвержденными приказом Министра образования и науки Республики Казахстан от 30 октября "
    "2018 года № 595, и академической политикой университета,"
)
PREAMBLE_KK = (
    "Қазақстан Республикасы Білім және ғылым министрінің 2018 жылғы 30 қазандағы № 595 бұйрығымен "
    "бекітілген Жоғары және (немесе) жоғары оқу орнынан кейінгі білім беру ұйымдары қызметінің үлгілік "
    "қағидаларына және университеттің академиялық саясатына сәйкес"
)


# Shared by restoration and the three transfers ----------------------------------------------------------------


def group_by_name(name) -> Group | None:
    name = name.strip() if isinstance(name, str) else ""
    return db.session.scalar(select(Group).where(Group.name == name)) if name else None


def calendars_for(lines: list[OrderLine]) -> list[AcademicCalendar]:
    """Every calendar that covers an effective date of `lines` or is of the academic year of one, in one query."""
    days = [line.effective_date for line in lines]
    if not days:
        return []
    labels = {academic_year_of(day) for day in days}
    return list(
        db.session.scalars(
            select(AcademicCalendar).where(
                or_(
                    and_(
                        AcademicCalendar.first_semester_start <= max(days),
                        AcademicCalendar.summer_holidays_end >= min(days),
                    ),
                    AcademicCalendar.year.in_(labels),
                )
            )
        )
    )


def _d(day: date) -> str:
    return format_day(day)


def calendar_of(day: date, calendars: list[AcademicCalendar]) -> AcademicCalendar | None:
    """The calendar whose year runs through `day` (to the end of its summer holidays), or else of `day`'s academic
    year; None when neither was entered."""
    return next((c for c in calendars if c.first_semester_start <= day <= c.summer_holidays_end), None) or next(
        (c for c in calendars if c.year == academic_year_of(day)), None
    )


def semesters_completed(course: int, day: date, calendars: list[AcademicCalendar]) -> int:
    """How many semesters of the target curriculum a student entering `course` on `day` has completed: the two of
    each earlier course, and the first of `course` itself when `day` falls after that first semester (the winter
    holidays up to the summer holidays). Only these count in the academic difference."""
    calendar = calendar_of(day, calendars)
    if calendar is not None:
        mid_year = calendar.first_semester_end < day < calendar.summer_holidays_start
    else:  # no calendar entered: the first semester ends with the calendar year
        mid_year = day.month <= 6
    return 2 * (course - 1) + (1 if mid_year else 0)


def holiday_refusals(kind_name: str, line: OrderLine, calendars: list[AcademicCalendar]) -> list[Refusal]:
    """Transfers and restorations take effect only in the winter or summer holidays (rule
    `transfer_in_holidays_only`): a refusal naming the windows, or asking for the calendar when none is entered."""
    if not rule("transfer_in_holidays_only"):
        return []
    day = line.effective_date
    calendar = calendar_of(day, calendars)
    if calendar is None:
        return [
            Refusal(
                f"{kind_name}.no_calendar",
                _(
                    "No academic calendar covers %(date)s: enter the academic calendar of %(year)s first; "
                    "transfers and restorations take effect only in its holidays.",
                    date=_d(day),
                    year=academic_year_of(day),
                ),
                {"effective_date": day.isoformat()},
                absolute=True,
            )
        ]
    if calendar.holiday(day) is not None:
        return []
    winter = f"{_d(calendar.winter_holidays_start)}–{_d(calendar.winter_holidays_end)}"
    summer = f"{_d(calendar.summer_holidays_start)}–{_d(calendar.summer_holidays_end)}"
    return [
        Refusal(
            f"{kind_name}.holidays",
            _(
                "%(date)s is not in the holidays: transfers and restorations take effect only in the winter "
                "holidays (%(winter)s) or the summer holidays (%(summer)s) of %(year)s.",
                date=_d(day),
                winter=winter,
                summer=summer,
                year=calendar.year,
            ),
            {"effective_date": day.isoformat(), "winter": winter, "summer": summer, "year": calendar.year},
        )
    ]


def first_period_refusal(kind_name: str, line: OrderLine, completed: dict[int, bool]) -> list[Refusal]:
    if completed.get(line.student_id, False):
        return []
    return [
        Refusal(
            f"{kind_name}.first_period",
            _(
                "%(name)s has not completed the first academic period: a passing grade is missing for a "
                "discipline of semester 1 of the programme.",
                name=line.student.full_name,
            ),
            {"student_id": line.student_id},
        )
    ]


def groups_by_id(ids) -> dict[int, Group]:
    ids = {i for i in ids if i}
    return {g.id: g for g in db.session.scalars(select(Group).where(Group.id.in_(ids)))} if ids else {}


def programmes_wanted(lines: list[OrderLine], calendars: list[AcademicCalendar], target_of) -> dict[int, tuple]:
    """Per student, the target programme and the semesters completed at the target course on the effective date, for
    the lines `target_of(line)` gives a target group for (None: no difference to reckon)."""
    wanted = {}
    for line in lines:
        target = target_of(line)
        if target is not None:
            wanted[line.student_id] = (
                target.programme_id,
                semesters_completed(target.course, line.effective_date, calendars),
            )
    return wanted


def move_changes(student, target: Group, funding: str) -> dict:
    """What a move to `target` with `funding` changes, [before, after]: group, course and funding where they differ."""
    changes = {}
    if target.id != student.group_id:
        changes["group"] = [student.group.name, target.name]
    if target.course != student.course:
        changes["course"] = [student.course, target.course]
    if funding != student.funding:
        changes["funding"] = [student.funding, funding]
    return changes


def target_group(line: OrderLine) -> Group:
    """The line's target group (from the identity map once `gather` loaded it), or the student's own."""
    group_id = line.params.get("group_id")
    return db.session.get(Group, group_id) if group_id else line.student.group


def sync_params(line: OrderLine, **values) -> None:
    """Keep computed line parameters (the academic difference, the default target) current; leave a clean line clean."""
    params = {**line.params, **values}
    if params != line.params:
        line.params = params


def describe_group(group: Group, language: str) -> str:
    programme = group.programme
    if language == "kk":
        return (
            f"{group.course}-курс, {programme.code} «{programme.name_kk}» білім беру бағдарламасы, "
            f"{group.name} тобы, оқу түрі {STUDY_FORM['kk'][group.study_form]}, "
            f"оқу тілі {LANGUAGE['kk'][group.language]}"
        )
    return (
        f"{group.course} курс, образовательная программа {programme.code} «{programme.name_ru}», "
        f"группа {group.name}, форма обучения {STUDY_FORM['ru'][group.study_form]}, "
        f"язык обучения {LANGUAGE['ru'][group.language]}"
    )


def difference_text(items: list[dict], language: str) -> str:
    """The academic difference as a numbered list of disciplines with credits; empty when there is none."""
    if not items:
        return ""
    if language == "kk":
        listed = "; ".join(
            f"{n}) {i['code']} {i['name_kk']} — {i['credits']} кредит ({i['semester']}-семестр)"
            for n, i in enumerate(items, 1)
        )
        return f" Академиялық айырма ({sum(i['credits'] for i in items)} кредит): {listed}."
    listed = "; ".join(
        f"{n}) {i['code']} {i['name_ru']} — {i['credits']} кредит(ов) ({i['semester']} семестр)"
        for n, i in enumerate(items, 1)
    )
    return f" Установить академическую разницу ({sum(i['credits'] for i in items)} кредит(ов)): {listed}."


class EffectiveDateParams(ParamsSchema):
    effective_date = effective_date_field(_l("Must fall in the winter or summer holidays of the academic calendar."))


class TargetGroupLineParams(LineParamsSchema):
    """A line's target group (by name) and effective date."""

    group = text_field(
        _l("Target group"),
        missing=_l("Name the target group."),
        longest=32,
        description=_l("The group's name; it sets the programme, course, study form and language."),
    )
    effective_date = date_field(_l("Effective date"), message=EFFECTIVE_DATE_MESSAGE, required=False)

    @validates("group")
    def _group_exists(self, name: str, data_key: str) -> None:
        if group_by_name(name) is None:
            raise ValidationError(_("There is no group %(name)s.", name=name))

    @post_load
    def _with_group_id(self, data, **kwargs):
        params = dict(self.line.params)
        if data.get("group"):
            group = group_by_name(data["group"])
            params.update(group_id=group.id, group=group.name)
        return {**params, **({"effective_date": data["effective_date"]} if "effective_date" in data else {})}


class GroupChangeKind(OrderKind):
    """A kind that moves each line's student into a target group (in a holiday window where the rules say so): the
    order gives the effective date, each line its group; signing stores the line's academic difference as the
    student's debts, and a revocation removes them."""

    preamble_ru = PREAMBLE_RU
    preamble_kk = PREAMBLE_KK
    params_schema = EffectiveDateParams
    line_schema = TargetGroupLineParams

    def fill_params(self, order: Order, lines: list[OrderLine], facts: dict) -> None:
        """Each line's academic difference against the target group's curriculum (gathered as `difference`)."""
        for line in lines:
            sync_params(line, difference=facts["difference"].get(line.student_id, []))

    def after_apply(self, order: Order, lines: list[OrderLine]) -> None:
        store_debts([(line.student_id, line.id, line.params.get("difference") or []) for line in lines])

    def after_reverse(self, order: Order, lines: list[OrderLine]) -> None:
        remove_debts([line.id for line in lines])
