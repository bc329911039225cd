"""Rendering the order DOCX and per-student extracts from the Word templates in `templates/docx/`.

`order.docx` and `extract.docx` are ordinary Word documents with Jinja tags (built by
`templates/docx/build_templates.py`, editable by a registrar in Word); docxtpl fills them. The layout, fonts and
styles all come from the template; this module only gathers the words: header, number and date, title, preamble,
one numbered item per line in Kazakh and in Russian (the kind's `item_text`), basis, signatory and the approval
sheet with every visa. Values are XML-escaped (autoescape), so a name with `&` or `<` cannot break the document.
"""

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from docxtpl import DocxTemplate
from flask import current_app
from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import object_session

from core.db import db
from core.formatting import format_day, format_moment
from orders.filing import chosen_ids, template_for
from orders.kind import OrderKind
from orders.models import Order, OrderDocument, OrderLine
from orders.registry import get_kind
from students.models import Faculty
from workflow.models import Visa

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "docx"
ORDER_TEMPLATE = TEMPLATE_DIR / "order.docx"
EXTRACT_TEMPLATE = TEMPLATE_DIR / "extract.docx"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def altered_documents() -> tuple[int, list[OrderDocument]]:
    """How many signed documents there are, and those whose content no longer matches their SHA-256."""
    query = select(OrderDocument).order_by(OrderDocument.id).execution_options(yield_per=50)
    checked, altered = 0, []
    for document in db.session.scalars(query):
        checked += 1
        if sha256(document.content) != document.sha256:
            altered.append(document)
    return checked, altered


# Templates are read once, at import: an edited template takes effect on restart, and the version stored with every
# document names the layout generation and the exact template file that produced it.
_TEMPLATES = {path: path.read_bytes() for path in (ORDER_TEMPLATE, EXTRACT_TEMPLATE)}
TEMPLATE_VERSION = f"docx2-{sha256(_TEMPLATES[ORDER_TEMPLATE])[:12]}"

DECISIONS = {
    "approved": "Келісілді / Согласовано",
    "returned": "Қайтарылды / Возвращено",
    "rejected": "Қабылданбады / Отклонено",
    "signed": "Қол қойылды / Подписано",
}
ROLES = {
    "dean": "Декан / Декан",
    "registrar": "Тіркеуші офисінің басшысы / Руководитель Офиса Регистратора",
    "lawyer": "Заңгер / Юрист",
    "finance": "Қаржы қызметі / Финансовая служба",
    "rector": "Ректор / Ректор",
    "clerk": "Тіркеуші офисінің маманы / Специалист Офиса Регистратора",
}
SIGNER_FALLBACK = "Ректор"
DOCUMENT_LOCALE = "ru"  # of the dates the Kazakh and Russian text share (number and date, approval sheet)
# Characters XML 1.0 forbids; a stray one pasted into a basis or name would make the DOCX unreadable.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Item:
    n: int
    text: str


@dataclass(frozen=True, slots=True)
class VisaRow:
    n: int
    position: str
    name: str
    decision: str
    comment: str
    date: str


@dataclass(frozen=True, slots=True)
class LinePlace:
    """Where a line stands in the order: item `n`, or entry `n` of the appendix with its (ru, kk) texts."""

    n: int
    in_appendix: tuple[str, str] | None = None


def line_places(kind: OrderKind, lines: list[OrderLine]) -> dict[int, LinePlace]:
    """Each line's place in the order document, by line id. A kind may list some lines in an appendix instead of the
    numbered items (`OrderKind.appendix_text`); items and appendix entries are numbered apart."""
    places, items, listed = {}, 0, 0
    for line in lines:
        text_ru = kind.appendix_text(line, "ru")
        if text_ru is None:
            items += 1
            places[line.id] = LinePlace(items)
        else:
            listed += 1
            places[line.id] = LinePlace(listed, (text_ru, kind.appendix_text(line, "kk") or text_ru))
    return places


def extract_item(kind: OrderKind, line: OrderLine, place: LinePlace) -> dict:
    """What a student's extract quotes: the order's own item with its number, or, for a line the order lists in its
    appendix, a short notice naming the appendix and the reason (no item number)."""
    if place.in_appendix is None:
        return {
            "item_n": place.n,
            "item_ru": _clean(kind.item_text(line, "ru")),
            "item_kk": _clean(kind.item_text(line, "kk")),
        }
    text_ru, text_kk = place.in_appendix
    return {
        "item_n": None,
        "appendix_n": place.n,
        "item_ru": _clean(f"{kind.appendix_title_ru} (№ {place.n}): {text_ru}"),
        "item_kk": _clean(f"{kind.appendix_title_kk} (№ {place.n}): {text_kk}"),
    }


def _clean(text: str | None) -> str:
    return _CONTROL.sub("", text or "")


def filename(order: Order) -> str:
    return f"order-{order.number_label or order.id}.docx".replace("/", "-")


# Gathering the words -------------------------------------------------------------------------------------------


def _visas(order: Order) -> list[Visa]:
    """Every visa of the order, read fresh: the signature visa was added after `order.visas` may have loaded."""
    session = object_session(order)
    if session is None or order.id is None:
        return list(order.visas)
    return list(session.scalars(select(Visa).where(Visa.order_id == order.id).order_by(Visa.id)))


def _faculty_names(order: Order, visas: list[Visa]) -> dict[int, str]:
    ids = {v.faculty_id for v in visas if v.faculty_id is not None}
    session = object_session(order)
    if not ids or session is None:
        return {}
    return dict(session.execute(select(Faculty.id, Faculty.name_ru).where(Faculty.id.in_(ids))).all())


def _acting(name: str, acting_for) -> str:
    if acting_for is None:
        return name
    return f"{name} ({acting_for.full_name} орнына / за {acting_for.full_name})"


def _visa_rows(order: Order, visas: list[Visa]) -> list[VisaRow]:
    faculties = _faculty_names(order, visas)
    rows = []
    for n, visa in enumerate(visas, 1):
        person = visa.decided_by
        position = person.position or ROLES.get(visa.role, visa.role)
        if visa.faculty_id in faculties and not person.position:
            position = f"{position}, {faculties[visa.faculty_id]}"
        rows.append(
            VisaRow(
                n=n,
                position=_clean(position),
                name=_clean(_acting(person.full_name, visa.acting_for)),
                decision=DECISIONS.get(visa.decision, visa.decision),
                comment=_clean(visa.comment),
                date=format_moment(visa.decided_at, DOCUMENT_LOCALE),
            )
        )
    return rows


def _signatory(order: Order, visas: list[Visa]) -> tuple[str, str]:
    """(position, name) of whoever signed: the signature visa, else `order.signed_by`, else a blank 'Ректор'."""
    signed = next((v for v in reversed(visas) if v.decision == "signed"), None)
    signer = signed.decided_by if signed else order.signed_by
    if signer is None:
        return SIGNER_FALLBACK, ""
    position = signer.position or SIGNER_FALLBACK
    if signed is not None and signed.acting_for is not None:
        position = f"{position} ({signed.acting_for.full_name} орнына / за {signed.acting_for.full_name})"
    return _clean(position), _clean(signer.full_name)


def _common(order: Order, visas: list[Visa]) -> dict:
    kind = get_kind(order.kind)
    config = current_app.config
    position, name = _signatory(order, visas)
    return {
        "university_kk": config["UNIVERSITY_KK"],
        "university_ru": config["UNIVERSITY_RU"],
        "city": config["CITY"],
        "date": format_day(order.order_date, DOCUMENT_LOCALE),
        "number": order.number_label or "",
        "title_kk": kind.title_kk,
        "title_ru": _clean(order.title) or kind.title_ru,
        "preamble_kk": kind.preamble_kk,
        "preamble_ru": kind.preamble_ru,
        "basis": _clean(order.basis).strip(),
        "signer_position": position,
        "signer_name": name,
        "author_name": _clean(order.author.full_name) if order.author else "",
        "template_ids": chosen_ids(order.kind),  # the template versions this order is rendered with, per part
    }


# Rendering ---------------------------------------------------------------------------------------------------------


def _render(path: Path, context: dict) -> bytes:
    """`path` names the part (order, extract); the version comes from the context's `template_ids` (frozen with
    every extract), the built-in file when it names none (`orders.filing`)."""
    template = DocxTemplate(io.BytesIO(template_for(path.stem, context)))
    template.render(context, jinja_env=Environment(autoescape=True))
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()


def render_order(order: Order) -> bytes:
    """The whole order: every line as a numbered item in Kazakh, then in Russian, and the approval sheet."""
    kind = get_kind(order.kind)
    visas = _visas(order)
    context = _common(order, visas)
    lines = order.lines
    places = line_places(kind, lines)
    items = [line for line in lines if places[line.id].in_appendix is None]
    context["items_kk"] = [Item(places[line.id].n, _clean(kind.item_text(line, "kk"))) for line in items]
    context["items_ru"] = [Item(places[line.id].n, _clean(kind.item_text(line, "ru"))) for line in items]
    listed = [places[line.id] for line in lines if places[line.id].in_appendix is not None]
    context["appendix_ru"] = [Item(place.n, _clean(place.in_appendix[0])) for place in listed]
    context["appendix_kk"] = [Item(place.n, _clean(place.in_appendix[1])) for place in listed]
    context["appendix_title_ru"], context["appendix_title_kk"] = kind.appendix_title_ru, kind.appendix_title_kk
    context["visas"] = _visa_rows(order, visas) + _override_rows(lines, start=len(visas) + 1)
    return _render(ORDER_TEMPLATE, context)


def _override_rows(lines: list[OrderLine], start: int) -> list[VisaRow]:
    """The approval sheet also names each line the registrar head accepted despite a rule, with the justification."""
    rows = []
    for line in (line for line in lines if line.overridden):
        person = line.override_by
        rows.append(
            VisaRow(
                n=start + len(rows),
                position=_clean(person.position or ROLES["registrar"]),
                name=_clean(person.full_name),
                decision=_clean(
                    f"Ереже орындалмаса да жіберілді / Допущено в порядке исключения: {line.student.full_name}"
                ),
                comment=_clean(line.override_justification),
                date=format_moment(line.override_at, DOCUMENT_LOCALE),
            )
        )
    return rows


EXTRACT_RENDERER = "order_extract"
ORDER_RENDERER = "signed_order"
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def extract_common(order: Order) -> dict:
    """What every extract of `order` shares (header, number, date, title, preamble, basis, signatory): plain strings,
    so it can be frozen as JSON in an outbox row and rendered later without the database."""
    return _common(order, _visas(order))


def extract_filename(context: dict) -> str:
    place = context.get("item_n") or f"appendix-{context.get('appendix_n', 1)}"
    return f"extract-{context.get('number') or 'order'}-{place}.docx".replace("/", "-")


def render_extract_context(context: dict) -> bytes:
    """An extract from its frozen context alone (the `order_extract` attachment renderer): no database reads, so a
    student renamed after signing still gets the extract with the name the order found."""
    return _render(EXTRACT_TEMPLATE, context)


def signed_order_content(context: dict) -> bytes:
    """The signed order's frozen DOCX (the `signed_order` attachment renderer), as stored at signing."""
    content = db.session.scalar(select(OrderDocument.content).where(OrderDocument.order_id == context["order_id"]))
    if content is None:
        raise LookupError(f"order {context['order_id']} has no signed document")
    return content
