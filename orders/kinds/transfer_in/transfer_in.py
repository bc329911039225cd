"""Transfer from another university (зачисление в порядке перевода / ауысу тәртібімен қабылдау).

The incoming student is created with the draft, in status "incoming", with the transcript from the previous
university as grades (see `incoming.add_incoming`). Eligible: still incoming; the effective date in a
holiday window; the first academic period completed (a passing grade of semester 1 in the transcript). Signing makes
the student active in the chosen group; a grant is kept unless the line says it is tied to the previous university or
is a pedagogical-quota grant (then paid). The academic difference is listed and stored as debts.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.db import db
from core.formatting import format_day
from orders.group_change import (
    GroupChangeKind,
    calendars_for,
    describe_group,
    difference_text,
    groups_by_id,
    holiday_refusals,
    move_changes,
    programmes_wanted,
    target_group,
)
from orders.kind import LineContext, refused_for
from orders.kinds.transfer_in.blueprints import api, pages
from orders.models import Order, OrderLine
from orders.wording import FUNDING, student_name
from students.academic import Grade
from students.difference import difference_for
from students.grades import pass_points
from workflow.engine import Refusal


def funding_after(line: OrderLine) -> str:
    """The funding at the receiving side: a grant is kept unless tied to the previous university or a quota."""
    funding = line.student.funding
    if funding == "grant" and line.params.get("grant_tied"):
        return "paid"
    return funding


class TransferIn(GroupChangeKind):
    name = "transfer_in"
    title_ru = "О зачислении в порядке перевода из других организаций образования"
    title_kk = "Басқа білім беру ұйымдарынан ауысу тәртібімен білім алушылар қатарына қабылдау туралы"
    labels = {"transfer_in": _l("transfer from another university")}
    blueprints = (pages,)
    api_blueprints = (api,)
    draft_links = ("orders/_add_incoming_link.html",)

    def label(self) -> str:
        return _("Transfer from another university")

    def gather(self, order: Order, lines: list[OrderLine]) -> dict:
        targets = groups_by_id(line.params.get("group_id") for line in lines)
        calendars = calendars_for(lines)
        wanted = programmes_wanted(lines, calendars, lambda line: targets.get(line.params.get("group_id")))
        ids = [line.student_id for line in lines]
        first = set(
            db.session.scalars(
                select(Grade.student_id)
                .where(Grade.student_id.in_(ids), Grade.semester == 1, Grade.points >= pass_points())
                .distinct()
            )
        )
        return {
            "calendars": calendars,
            "targets": targets,
            "difference": difference_for(wanted),
            "first_period": first,
        }

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student, facts = line.student, context.facts
        refusals = []
        if student.status != "incoming":
            message = _("%(name)s is %(status)s, not transferring in: add incoming students with the transfer-in form.")
            refusals.append(refused_for(student, "status", "transfer_in.status", message))
        if line.params.get("group_id") not in facts["targets"]:
            refusals.append(
                Refusal("transfer_in.target", _("Choose the target group of %(name)s.", name=student.full_name), {})
            )
        refusals += holiday_refusals(self.name, line, facts["calendars"])
        if student.id not in facts["first_period"]:
            refusals.append(
                Refusal(
                    "transfer_in.first_period",
                    _(
                        "%(name)s has not completed the first academic period: the transcript has no passed discipline "
                        "of semester 1.",
                        name=student.full_name,
                    ),
                    {"student_id": student.id},
                )
            )
        return refusals

    def preview(self, line: OrderLine) -> dict:
        student, target = line.student, target_group(line)
        return {"status": [student.status, "active"], **move_changes(student, target, funding_after(line))}

    def apply(self, line: OrderLine, order: Order) -> dict:
        target = target_group(line)
        return {
            "status": "active",
            "group_id": target.id,
            "course": target.course,
            "funding": funding_after(line),
            "status_since": line.effective_date,
        }

    def item_text(self, line: OrderLine, language: str) -> str:
        student = line.student
        target = describe_group(target_group(line), language)
        funding = FUNDING["kk" if language == "kk" else "ru"][funding_after(line)]
        previous = line.params.get("previous_university") or ""
        when = format_day(line.effective_date, language)
        difference = difference_text(line.params.get("difference") or [], language)
        if language == "kk":
            return (
                f"{previous} ауысу тәртібімен {student.full_name} (ЖСН {student.iin}) {when} бастап "
                f"білім алушылар қатарына қабылдансын ({target}, {funding}).{difference}"
            )
        return (
            f"Зачислить в порядке перевода из {previous} {student_name(student, 'accusative')} (ИИН {student.iin}) "
            f"на {target}, {funding}, с {when}.{difference}"
        )
