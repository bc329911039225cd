"""Change of personal data (изменение фамилии, имени, отчества): a student's names after marriage, etc.

Each line carries its own new names and the document: a blank name keeps the present one; a patronymic given as
"-" is removed. The old values stay in the movement history ({"surname": [old, new], ...}).
"""

import re
from datetime import date

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError, validates

from core.clock import today
from core.errors import redirect_refusals_to
from core.formatting import format_day, parse_date
from core.models import User
from core.permissions import roles_required
from orders import operations
from orders.kind import LineContext, OrderKind, refused_for
from orders.models import Order, OrderLine
from orders.params import (
    EFFECTIVE_DATE_MESSAGE,
    LineParamsSchema,
    ParamsSchema,
    choice_field,
    choices_text,
    date_field,
    effective_date_field,
    text_field,
)
from orders.wording import describe_student
from workflow.engine import Refusal

ELIGIBLE = ("active", "academic_leave")
FIELDS = ("surname", "name", "patronymic")
REMOVE = "-"
# document type -> (UI label, Russian in the genitive, after "на основании", Kazakh)
DOCUMENTS: dict[str, tuple] = {
    "marriage": (_l("marriage certificate"), "свидетельства о заключении брака", "неке қию туралы куәлік"),
    "divorce": (_l("divorce certificate"), "свидетельства о расторжении брака", "некені бұзу туралы куәлік"),
    "name_change": (
        _l("certificate of change of name"),
        "свидетельства о перемене имени, отчества, фамилии",
        "тегін, атын, әкесінің атын ауыстыру туралы куәлік",
    ),
    "identity": (_l("identity card"), "удостоверения личности", "жеке куәлік"),
    "court": (_l("court decision"), "решения суда", "сот шешімі"),
}
# field -> (Russian accusative, Kazakh)
FIELD_WORDS = {"surname": ("фамилию", "тегі"), "name": ("имя", "аты"), "patronymic": ("отчество", "әкесінің аты")}
NAME = re.compile(r"[^\W\d_]+(?:[-' ’][^\W\d_]+)*")


def name_problem(field: str, value: str) -> str | None:
    """Why `value` cannot be the new `field` (None when it can); "-" removes a patronymic only."""
    words = {"surname": _("surname"), "name": _("name"), "patronymic": _("patronymic")}
    if value == REMOVE:
        return None if field == "patronymic" else _("The %(field)s cannot be empty.", field=words[field])
    if len(value) > 100:
        return _("The %(field)s is longer than 100 characters.", field=words[field])
    if not NAME.fullmatch(value):
        return _(
            "The %(field)s «%(value)s» may hold only letters, spaces, hyphens and apostrophes.",
            field=words[field],
            value=value,
        )
    return None


def _name_field(field: str, title: str, description: str):
    def valid(value: str) -> None:
        problem = name_problem(field, value)
        if problem:
            raise ValidationError(problem)

    return text_field(title, invalid=_l("Give this as text."), collapse=True, check=valid, description=description)


class PersonalDataParams(ParamsSchema):
    basis_help = _l(
        "Documents the order rests on, e.g. the students' applications. Each "
        "student's new names and document are entered on the student's line."
    )
    effective_date = effective_date_field(_l("The day the new names are used in the student's records."))


class PersonalDataLineParams(LineParamsSchema):
    """A line's new names (a blank one keeps the present name) and the document they rest on."""

    surname = _name_field("surname", _l("New surname"), _l("Leave empty to keep the present one."))
    name = _name_field("name", _l("New name"), _l("Leave empty to keep the present one."))
    patronymic = _name_field(
        "patronymic", _l("New patronymic"), _l('Leave empty to keep the present one; "-" removes it.')
    )
    document_type = choice_field(
        _l("Document"),
        {k: v[0] for k, v in DOCUMENTS.items()},
        _l("Choose the document: %(d)s.", d=choices_text({k: v[0] for k, v in DOCUMENTS.items()})),
    )
    document_number = text_field(
        _l("Document number"),
        missing=_l("Give the number of the document."),
        longest=50,
        too_long=_l("The document number is longer than 50 characters."),
        collapse=True,
    )
    document_date = date_field(_l("Document date"), message=_l("Give the document date as YYYY-MM-DD."))
    effective_date = date_field(_l("Effective date"), message=EFFECTIVE_DATE_MESSAGE, required=False)

    @validates("document_date")
    def _not_in_the_future(self, issued: date, data_key: str) -> None:
        if issued > today():
            raise ValidationError(_("The document date is in the future."))


pages = Blueprint("personal_data", __name__, url_prefix="/orders/personal-data")
IMPORT_BASIS = "Сведения импорта данных обучающихся; документы об изменении персональных данных"


def draft_from_import(author: User, changes: list[tuple[int, dict[str, str]]]) -> Order:
    """A personal-data draft for the students an import found under other names: a line per student with the new
    names as its details; the clerk adds each line's document, as on any draft, before submitting."""
    order = operations.create_order(
        "personal_data", author, {"effective_date": today().isoformat(), "basis": IMPORT_BASIS}
    )
    lines = {line.student_id: line for line in operations.add_students(order, [sid for sid, _n in changes], author)}
    for student_id, names in changes:
        line = lines[student_id]
        line.params = {**line.params, **{key: value for key, value in names.items() if key in FIELDS and value}}
    operations.check_lines(order)
    return order


@pages.route("/from-import", methods=["POST"])
@roles_required("clerk")
def from_import():
    """The import page's one click: the conflicts it listed become a draft (every name is checked again there)."""
    redirect_refusals_to(url_for("imports.index"))
    changes = [
        (int(student_id), {field: request.form.get(f"{field}-{student_id}", "").strip() for field in FIELDS})
        for student_id in request.form.getlist("student_id")
        if student_id.isdigit()
    ]
    order = draft_from_import(current_user, changes)
    flash(_("A personal-data order is drafted with the new names; name each line's document and submit it."), "success")
    return redirect(url_for("orders.show", order_id=order.id))


class PersonalData(OrderKind):
    name = "personal_data"
    route = "movement"
    title_ru = "Об изменении персональных данных обучающихся"
    title_kk = "Білім алушылардың дербес деректерін өзгерту туралы"
    params_schema = PersonalDataParams
    line_schema = PersonalDataLineParams
    blueprints = (pages,)
    drafts_import_conflicts = "personal_data.from_import"
    labels = {
        "personal_data": _l("change of personal data"),
        "document_type": _l("document"),
        "document_number": _l("document number"),
        **{code: words[0] for code, words in DOCUMENTS.items()},
    }

    def label(self) -> str:
        return _("Change of personal data")

    def _new(self, line: OrderLine) -> dict[str, str | None]:
        """The names after signing: given ones replace, blank ones stay, "-" removes the patronymic."""
        values = {}
        for field in FIELDS:
            given = line.params.get(field)
            current = getattr(line.student, field)
            values[field] = (None if given == REMOVE else given) if given else current
        return values

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        student = line.student
        refusals = []
        if student.status not in ELIGIBLE:
            message = _(
                "%(name)s is %(status)s: personal data are changed by order only for active students or students on "
                "academic leave."
            )
            refusals.append(refused_for(student, "status", "personal_data.status", message))
        problems = {
            field: problem
            for field in FIELDS
            if line.params.get(field) and (problem := name_problem(field, line.params[field]))
        }
        if problems:
            refusals.append(
                Refusal(
                    "personal_data.invalid_name",
                    " ".join(problems.values()),
                    {field: line.params[field] for field in problems},
                    absolute=True,
                )
            )
        elif not self.preview(line):
            refusals.append(
                Refusal(
                    "personal_data.no_change",
                    _(
                        "Nothing changes for %(name)s: enter the new surname, name or patronymic on the line.",
                        name=student.full_name,
                    ),
                    {},
                )
            )
        if (
            line.params.get("document_type") not in DOCUMENTS
            or not line.params.get("document_number")
            or not line.params.get("document_date")
        ):
            refusals.append(
                Refusal(
                    "personal_data.document",
                    _(
                        "Name the document for %(name)s (marriage certificate or other, its number and date).",
                        name=student.full_name,
                    ),
                    {},
                )
            )
        return refusals

    def preview(self, line: OrderLine) -> dict:
        new = self._new(line)
        return {
            field: [getattr(line.student, field), new[field]]
            for field in FIELDS
            if new[field] != getattr(line.student, field)
        }

    def apply(self, line: OrderLine, order: Order) -> dict:
        return self._new(line)

    def item_text(self, line: OrderLine, language: str) -> str:
        changes = self.preview(line)
        student = describe_student(line.student, language, "dative" if language == "ru" else "genitive")
        document = DOCUMENTS.get(line.params.get("document_type"), DOCUMENTS["identity"])
        number = line.params.get("document_number") or ""
        issued = parse_date(line.params.get("document_date"))
        when = format_day(line.effective_date, language)
        if language == "kk":
            parts = ", ".join(
                f"{FIELD_WORDS[f][1]} «{old or '—'}» «{new or '—'}» болып" for f, (old, new) in changes.items()
            )
            source = (
                f"{format_day(issued, language)} ж. № {number} {document[2]}" if issued else f"№ {number} {document[2]}"
            )
            return f"{student} {parts} {when} бастап өзгертілсін ({source} негізінде)."
        parts = ", ".join(
            f"{FIELD_WORDS[f][0]} с «{old or '—'}» на «{new or '—'}»" for f, (old, new) in changes.items()
        )
        source = f"{document[1]} № {number}" + (f" от {format_day(issued, language)}" if issued else "")
        return f"Изменить {student} {parts} с {when} на основании {source}."
