"""Rendering the order DOCX and per-student extracts from the Word templates in `templates/docx/`.

`order.docx` and `extract.docx` are ordinary Word documents with Jinja tags (built by
`templates/docx/build_templates.py`, editable by a registrar in Word); docxtpl fills them. The layout, fonts and
styles all come from the template; this module only gathers the words: header, number and date, title, preamble,
one numbered item per line in Kazakh and in Russian (the kind's `item_text`), basis, signatory and the approval
sheet with every visa. Values are XML-escaped (autoescape), so a name with `&` or `<` cannot break the document.
"""

import hashlib
import io
import json
import re
import secrets
import struct
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from docx import Document
from docx.oxml.ns import qn
from docxtpl import DocxTemplate
from flask import current_app
from jinja2 import Environment, Template, nodes
from sqlalchemy import select
from sqlalchemy.orm import object_session

from core.db import db
from core.formatting import format_day, format_moment
from orders.filing import BUILT_IN, chosen_ids, template_for
from orders.kind import OrderKind
from orders.models import Order, OrderDocument, OrderLine
from orders.registry import get_kind
from orders.stamp import add_verification, set_properties, verify_url
from orders.wording import remembering_cohorts
from students.models import Faculty
from students.names import decline, guess_sex
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


# The built-in templates are read once, at import (`orders.filing.BUILT_IN`): an edited built-in file takes effect on
# restart, and the version stored with every document names the layout generation and the exact file that produced
# it (an uploaded version is named by `orders.filing.template_label`).
TEMPLATE_VERSION = f"docx2-{sha256(BUILT_IN['order'])[:12]}"

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


Rows = list[tuple[str, str, str, str]]  # a bulk item's table: full name, IIN, group, details


@dataclass(frozen=True, slots=True)
class Item:
    n: int
    text: str
    table: str = ""  # for a bulk item: the marker the renderer replaces with its table of students


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


@dataclass(frozen=True, slots=True)
class Block:
    """One numbered item of the document: a line of its own, or the lines sharing a bulk wording (a table)."""

    n: int
    lines: list[OrderLine]
    wording: tuple[str, str] | None = None  # (ru, kk) shared wording of a table item
    details: dict[int, tuple[str, str]] | None = None  # a table item's (ru, kk) details column, by line id, in order


def layout(kind: OrderKind, lines: list[OrderLine]) -> tuple[dict[int, LinePlace], list[Block]]:
    """Each line's place in the order document, by line id, and the numbered items in order. A kind may list some
    lines in an appendix instead of the numbered items (`OrderKind.appendix_text`); items and appendix entries are
    numbered apart. More than `DOCUMENT_TABLE_AFTER` lines sharing a kind's bulk wording (`OrderKind.table_row`:
    same programme, course and group) make one item with a table, numbered where its first line stands."""
    threshold = current_app.config.get("DOCUMENT_TABLE_AFTER", 5)
    keyed = [(line.id, line) for line in lines]
    appendix, wordings, details = {}, {}, {}
    for ident, line in keyed:
        text_ru = kind.appendix_text(line, "ru")
        if text_ru is not None:
            appendix[ident] = (text_ru, kind.appendix_text(line, "kk") or text_ru)
            continue
        row_ru = kind.table_row(line, "ru")
        if row_ru is not None:
            row_kk = kind.table_row(line, "kk")
            wordings[ident] = (row_ru[0], row_kk[0])
            details[ident] = (row_ru[1], row_kk[1])
    members: dict[tuple[str, str], list[tuple[int, OrderLine]]] = {}
    for ident, line in keyed:
        if ident in wordings:
            members.setdefault(wordings[ident], []).append((ident, line))
    places, blocks, listed, placed = {}, [], 0, {}
    for ident, line in keyed:
        if ident in appendix:
            listed += 1
            places[ident] = LinePlace(listed, appendix[ident])
            continue
        wording = wordings.get(ident)
        if wording is not None and len(members[wording]) > threshold:
            if wording not in placed:
                group = members[wording]
                placed[wording] = Block(
                    len(blocks) + 1, [line for _ident, line in group], wording, {i: details[i] for i, _line in group}
                )
                blocks.append(placed[wording])
            places[ident] = LinePlace(placed[wording].n)
            continue
        blocks.append(Block(len(blocks) + 1, [line]))
        places[ident] = LinePlace(len(blocks))
    return places, blocks


def line_places(kind: OrderKind, lines: list[OrderLine]) -> dict[int, LinePlace]:
    """Each line's place in the order document (see `layout`): an extract quotes the item number the order gives."""
    return layout(kind, lines)[0]


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


def file_label(label: str) -> str:
    """An order number as it stands in a file name."""
    return label.replace("/", "-")


def filename(order: Order) -> str:
    return f"order-{file_label(order.number_label or str(order.id))}.docx"


# The order's number is taken at the very end of signing (it locks the year's sequence until the commit): the
# document, the extracts and their names are written with this placeholder first, then `with_number` and
# `orders.verification.name_extracts` put the number in. Private-use characters and a random part: no name, title
# or basis holds it. Short enough for the order's label column.
_PLACEHOLDER = "\ue001{}\ue001"


def number_placeholder() -> str:
    return _PLACEHOLDER.format(secrets.token_hex(8))


def with_number(package: bytes, placeholder: str, label: str) -> bytes:
    """The DOCX `package` with the order's number `label` wherever `placeholder` stands (the text, the properties),
    re-zipped. Each part is streamed a megabyte at a time: a 20,000-line order's text is never held whole."""
    old, new = placeholder.encode("utf-8"), _xml_text(label).encode("utf-8")
    source, buffer = zipfile.ZipFile(io.BytesIO(package)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            info.compress_type = zipfile.ZIP_DEFLATED
            with source.open(info) as part_in, target.open(info, "w") as part_out:
                for piece in _replaced(part_in, old, new):
                    part_out.write(piece)
    return buffer.getvalue()


def _replaced(stream: BinaryIO, old: bytes, new: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of `stream` with every `old` (which does not overlap itself) replaced by `new`, read `size` bytes at
    a time; an `old` split between two reads is kept for the next one whole."""
    rest = b""
    while chunk := stream.read(size):
        data = rest + chunk
        cut = max(0, len(data) - len(old) + 1)  # an `old` starting at `cut` or later may still be incomplete
        straddling = data.find(old, max(0, cut - len(old) + 1))
        if 0 <= straddling < cut:
            cut = straddling
        yield data[:cut].replace(old, new)
        rest = data[cut:]
    yield rest.replace(old, new)


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
    return f"{name} ({_instead_of(acting_for.full_name)})"


def _instead_of(full_name: str) -> str:
    """ "Оспанов Ерланның орнына / за Оспанова Ерлана": acting for someone (за + accusative in Russian, орнына after
    the genitive in Kazakh), the sex guessed from the name."""
    sex = guess_sex(full_name)
    return f"{decline(full_name, 'genitive', sex, 'kk')} орнына / за {decline(full_name, 'accusative', sex)}"


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
        position = f"{position} ({_instead_of(signed.acting_for.full_name)})"
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


class _Jinja(Environment):
    """Autoescaping Jinja that compiles each part of a Word template once: docxtpl hands it the same XML source
    for every document of a template, and compiling it cost more than rendering a small order."""

    def __init__(self) -> None:
        super().__init__(autoescape=True)
        self.compiled: OrderedDict[str, Template] = OrderedDict()
        self.lock = threading.Lock()  # the web process and its in-process worker thread render at once

    def from_string(self, source, globals=None, template_class=None):  # noqa: A002 - Jinja's own signature
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        with self.lock:
            template = self.compiled.get(source)
        if template is None:
            template = super().from_string(source)
            with self.lock:
                self.compiled[source] = template
                while len(self.compiled) > 64:  # a few parts per template version
                    self.compiled.popitem(last=False)
        return template


_JINJA = _Jinja()


def _render(path: Path, context: dict, tables: dict[str, tuple[Rows, str]] | None = None) -> bytes:
    """`path` names the part (order, extract); the version comes from the context's `template_ids` (frozen with
    every extract), the built-in file when it names none (`orders.filing`)."""
    template = DocxTemplate(io.BytesIO(template_for(path.stem, context)))
    if context.get("verify_token"):  # into the template's footer before rendering: docxtpl rebuilds the footer parts
        template.init_docx()
        add_verification(template.docx, context["verify_url"], context["verify_token"])
    template.render(context, jinja_env=_JINJA)
    _properties(template.docx, context, extract=path == EXTRACT_TEMPLATE)
    buffer = io.BytesIO()
    template.save(buffer)
    return _with_tables(buffer.getvalue(), tables) if tables else buffer.getvalue()


def _with_tables(package: bytes, tables: dict[str, tuple[Rows, str]]) -> bytes:
    """The package with each bulk item's marker paragraph replaced by its table: the tables' WordprocessingML is
    built as strings and spliced into `word/document.xml`, so a table of thousands of rows costs string joins, not a
    Jinja loop and an XML tree of every cell. The part is written to the archive as it is built, a few hundred rows at
    a time: a 20,000-row order never holds its whole XML as one string."""
    source, buffer = zipfile.ZipFile(io.BytesIO(package)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != "word/document.xml":
                target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            info.compress_type = zipfile.ZIP_DEFLATED
            with target.open(info, "w") as part:
                for piece in _insert_tables(data.decode("utf-8"), tables):
                    part.write(piece.encode("utf-8"))
    return buffer.getvalue()


def _insert_tables(xml: str, tables: dict[str, tuple[Rows, str]]) -> Iterator[str]:
    position = 0
    for marker, (rows, language) in tables.items():
        at = xml.find(marker, position)
        if at < 0:
            raise LookupError(f"the template lost the table of a bulk item ({marker}): keep {{{{ item.table }}}}")
        start = max(xml.rfind("<w:p>", position, at), xml.rfind("<w:p ", position, at))
        end = xml.index("</w:p>", at) + len("</w:p>")
        yield xml[position:start]
        yield from table_parts(rows, language)
        position = end
    yield xml[position:]


# The table of a bulk item: No., full name, IIN, group, the kind's details; widths in twentieths of a point (the
# text is 16.5 cm wide).
TABLE_COLUMNS = {
    "ru": ("№", "Ф.И.О.", "ИИН", "Группа", "Примечание"),
    "kk": ("№", "Аты-жөні", "ЖСН", "Тобы", "Ескертпе"),
}
TABLE_WIDTHS = (510, 3800, 1560, 1200, 2285)


# One `str.translate` per cell: escape markup, drop the control characters XML forbids.
_CELL_TEXT = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"} | {
    c: None for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)
}


_SEPARATOR = "\ue000"  # a private-use character: never in a name


def _xml_text(text: str) -> str:
    return text.translate(_CELL_TEXT)


def table_xml(rows: Rows, language: str) -> str:
    """A table of students (full name, IIN, group, details) numbered from 1 in the template's "Order List" table
    style (a grid) and "Order Table" paragraphs (small type), its header repeated on every page. Rows carry no other
    formatting, so a table of thousands of rows stays a small string."""
    return "".join(table_parts(rows, language))


TABLE_CHUNK = 500  # rows escaped and joined at a time


def table_parts(rows: Rows, language: str) -> Iterator[str]:
    """`table_xml` in pieces of `TABLE_CHUNK` rows."""
    grid = "".join(f'<w:gridCol w:w="{width}"/>' for width in TABLE_WIDTHS)
    header = "".join(
        f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr><w:p><w:pPr><w:pStyle w:val="OrderTable"/></w:pPr>'
        "<w:r><w:rPr><w:b/></w:rPr>"
        f"<w:t>{_xml_text(name)}</w:t></w:r></w:p></w:tc>"
        for name, width in zip(TABLE_COLUMNS[language], TABLE_WIDTHS, strict=True)
    )
    yield (
        '<w:tbl><w:tblPr><w:tblStyle w:val="OrderList"/><w:tblW w:w="0" w:type="auto"/><w:tblLayout w:type="fixed"/>'
        '<w:tblLook w:val="04A0"/></w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid><w:tr><w:trPr><w:tblHeader/></w:trPr>{header}</w:tr>"
    )
    cell = '<w:tc><w:p><w:pPr><w:pStyle w:val="OrderTable"/></w:pPr><w:r><w:t xml:space="preserve">'
    between = f"</w:t></w:r></w:p></w:tc>{cell}"
    for first in range(0, len(rows), TABLE_CHUNK):
        chunk = rows[first : first + TABLE_CHUNK]
        # Every cell's text escaped in one pass: joined by a character no text holds, translated once, split again.
        texts = _xml_text(_SEPARATOR.join(_SEPARATOR.join(row) for row in chunk)).split(_SEPARATOR)
        yield "".join(
            f"<w:tr>{cell}{n}{between}{texts[k]}{between}{texts[k + 1]}{between}{texts[k + 2]}{between}"
            f"{texts[k + 3]}</w:t></w:r></w:p></w:tc></w:tr>"
            for n, k in zip(range(first + 1, first + len(chunk) + 1), range(0, len(texts), 4), strict=True)
        )
    yield "</w:tbl>"


ORDER_HEADING = "БҰЙРЫҚ / ПРИКАЗ"


def stamp_fields(order: Order, verify_token: str | None) -> dict:
    """What the QR code and the document properties need, as plain JSON (an extract's are frozen with it)."""
    return {
        "verify_token": verify_token,
        "verify_url": verify_url(verify_token) if verify_token else None,
        "signed_at": order.signed_at.isoformat() if order.signed_at else None,
    }


def _properties(document, context: dict, extract: bool) -> None:
    """The core properties: what the document is, by whom, signed when."""
    heading = "Бұйрықтан үзінді / Выписка из приказа" if extract else "Бұйрық / Приказ"
    subject = f"{heading} № {context.get('number') or ''} {context.get('date') or ''}".strip()
    signed_at = context.get("signed_at")
    set_properties(
        document,
        title=f"{subject}: {context.get('title_ru') or ''}",
        subject=subject,
        author=context.get("university_ru") or current_app.config["UNIVERSITY_RU"],
        created=datetime.fromisoformat(signed_at) if signed_at else None,
    )


def render_order(order: Order, verify_token: str | None = None) -> bytes:
    """The whole order: every line as a numbered item in Kazakh, then in Russian (lines sharing a bulk wording as
    one item with a table of students), and the approval sheet; with `verify_token`, the QR code of its
    verification page on every page."""
    kind = get_kind(order.kind)
    visas = _visas(order)
    context = _common(order, visas)
    context["heading"] = ORDER_HEADING
    context.update(stamp_fields(order, verify_token))
    lines = order.lines
    with remembering_cohorts():
        return _render_order(order, kind, visas, context, lines)


def _render_order(order: Order, kind: OrderKind, visas: list[Visa], context: dict, lines: list[OrderLine]) -> bytes:
    places, blocks = layout(kind, lines)
    tables: dict[str, tuple[Rows, str]] = {}
    students = {  # name, IIN and group of every student listed in a table, read once for both languages
        ident: (line.student.full_name, line.student.iin, line.student.group.name)
        for block in blocks
        if block.wording is not None
        for ident, line in zip(block.details, block.lines, strict=True)
    }
    for language in ("kk", "ru"):
        items = []
        for block in blocks:
            if block.wording is None:
                items.append(Item(block.n, _clean(kind.item_text(block.lines[0], language))))
                continue
            marker = f"@@registrar-table-{language}-{block.n}@@"
            which = 0 if language == "ru" else 1
            rows = [(*students[ident], details[which]) for ident, details in block.details.items()]
            tables[marker] = (rows, language)
            items.append(Item(block.n, _clean(block.wording[0 if language == "ru" else 1]), marker))
        context[f"items_{language}"] = items
    listed = [places[line.id] for line in lines if places[line.id].in_appendix is not None]
    context["appendix_ru"] = [Item(place.n, _clean(place.in_appendix[0])) for place in listed]
    context["appendix_kk"] = [Item(place.n, _clean(place.in_appendix[1])) for place in listed]
    context["appendix_title_ru"], context["appendix_title_kk"] = kind.appendix_title_ru, kind.appendix_title_kk
    context["visas"] = _visa_rows(order, visas) + _override_rows(lines, start=len(visas) + 1)
    return _render(ORDER_TEMPLATE, context, tables)


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


# A dean's download: the signed order cut down to the own faculty's students -------------------------------------

EXTRACT_HEADING = "БҰЙРЫҚТАН ҮЗІНДІ / ВЫПИСКА ИЗ ПРИКАЗА"
_IIN_IN_TEXT = re.compile(r"(?<!\d)\d{12}(?!\d)")


def faculty_extract(content: bytes, order: Order, visible: list[OrderLine]) -> bytes:
    """The signed DOCX `content` of `order` holding only the `visible` lines: every paragraph and table row naming
    another student (by IIN, or by name in the approval sheet) is removed, and so is a bulk item whose table is left
    empty; the heading says it is an extract. Deny by default: any 12-digit number that is not a visible student's
    IIN takes its paragraph or row with it. Cut from the frozen document, so the words are those signed."""
    allowed = {line.student.iin for line in visible}
    hidden_names = {line.student.full_name for line in order.lines if line.student.iin not in allowed}

    def hidden(element) -> bool:
        """Names another student: by IIN; where no IIN stands (the approval sheet), by name, a namesake included."""
        text = "".join(node.text or "" for node in element.iter(qn("w:t")))
        iins = _IIN_IN_TEXT.findall(text)
        if iins:
            return any(iin not in allowed for iin in iins)
        return any(name in text for name in hidden_names)

    document = Document(io.BytesIO(content))
    body = document.element.body
    for table in list(body.iterchildren(qn("w:tbl"))):
        rows = table.findall(qn("w:tr"))
        kept = [row for row in rows if not hidden(row)]
        for row in rows:
            if row not in kept:
                table.remove(row)
        if len(kept) == 1 and len(rows) > 1 and kept[0].find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None:
            item = table.getprevious()  # the bulk item's wording, now with no student under it
            if item is not None and item.tag == qn("w:p"):
                body.remove(item)
            body.remove(table)
    for paragraph in list(body.iterchildren(qn("w:p"))):
        if hidden(paragraph):
            body.remove(paragraph)
    for paragraph in document.paragraphs:
        if paragraph.text == ORDER_HEADING:
            for run in paragraph.runs[1:]:
                run.text = ""
            paragraph.runs[0].text = EXTRACT_HEADING
            break
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def faculty_extract_filename(order: Order) -> str:
    return f"extract-{file_label(order.number_label or str(order.id))}-faculty.docx"


EXTRACT_RENDERER = "order_extract"
ORDER_RENDERER = "signed_order"
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def extract_common(order: Order) -> dict:
    """What every extract of `order` shares (header, number, date, title, preamble, basis, signatory): plain strings,
    so it can be frozen as JSON in an outbox row and rendered later without the database."""
    return _common(order, _visas(order))


def extract_filename(context: dict) -> str:
    place = context.get("item_n") or f"appendix-{context.get('appendix_n', 1)}"
    return file_label(f"extract-{context.get('number') or 'order'}-{place}.docx")


def render_extract_context(context: dict) -> bytes:
    """An extract from its frozen context alone (the `order_extract` attachment renderer): no database reads, so a
    student renamed after signing still gets the extract with the name the order found."""
    return _render(EXTRACT_TEMPLATE, context)


# An order's extracts from one prepared package ----------------------------------------------------------------------
#
# Every extract of an order shares all but its own item (`extract_item`), so docxtpl fills the template once per
# order with a marker for each of the line's values; a student's extract is then that package with the markers
# replaced by the escaped text and zipped again: a string join and DEFLATE instead of a Jinja pass, an XML parse and
# python-docx's save. The first extract of every prepared package is also rendered the long way and must come out the
# same part for part, or the order's extracts keep the long way (a template that transforms a value, say).

_MARK = "\ue010{}\ue011"  # private-use characters around a value's name: never in a template or a frozen text
_MARKS = re.compile("\ue010([a-z_]+)\ue011")
_NAME = re.compile("[a-z_]+")
_LISTING = re.compile("[\t\n\r]")  # docxtpl turns these into runs of their own (and lxml writes \r as &#13;)


@dataclass(frozen=True, slots=True)
class _Member:
    """A package member ready to be written: its constant bytes compressed once, or the segments between markers
    (odd ones naming a value) to fill and compress per extract."""

    name: bytes
    time: int  # MS-DOS time and date, as zip headers keep them
    date: int
    stored: tuple[bytes, int, int] | None = None  # (DEFLATE stream, CRC-32, size)
    segments: tuple[str, ...] = ()


@dataclass(slots=True)
class _Prepared:
    """A rendered extract package with markers. `checked` once the long way agreed; `usable` False when it did not."""

    members: list[_Member]
    checked: bool = False
    usable: bool = True


_PREPARED: OrderedDict[tuple, _Prepared] = OrderedDict()
_PREPARED_LOCK = threading.Lock()


def render_extract(common: dict, own: dict) -> bytes:
    """A stored extract's DOCX from the order's `extract_common` and the line's frozen `own` words: from the order's
    prepared package when the words allow (plain strings and numbers), else through docxtpl as
    `render_extract_context`."""
    context = {**common, **own}
    variant = _variant(own)
    if variant is None or not common.get("signed_at"):  # unsigned: the properties take the time of each render
        return render_extract_context(context)
    key = (json.dumps(common, sort_keys=True, default=str), variant)
    with _PREPARED_LOCK:
        prepared = _PREPARED.get(key)
        if prepared is not None:
            _PREPARED.move_to_end(key)
    if prepared is None:
        prepared = _prepare(common, own)
        with _PREPARED_LOCK:
            _PREPARED[key] = prepared
            while len(_PREPARED) > 16:  # a few orders' extracts being sent at once, a few variants each
                _PREPARED.popitem(last=False)
    if not prepared.usable:
        return render_extract_context(context)
    content = _fill(prepared, own)
    if not prepared.checked:
        long_way = render_extract_context(context)
        prepared.usable = _members(long_way) == _members(content)
        prepared.checked = True
        return content if prepared.usable else long_way
    return content


def _variant(own: dict) -> tuple | None:
    """What decides the prepared package's shape: which values there are and which are empty (a template's `if`);
    None when a value cannot be substituted as text (a list, a tab or a line break)."""
    shape = []
    for name, value in sorted(own.items()):
        if not _NAME.fullmatch(name) or isinstance(value, bool) or not isinstance(value, str | int | None):
            return None
        if not value:
            shape.append((name, value))
        elif isinstance(value, str) and _LISTING.search(value):
            return None
        else:
            shape.append((name, True))
    return tuple(shape)


def _prepare(common: dict, own: dict) -> _Prepared:
    """The order's extract rendered once with a marker in place of each non-empty value of the line."""
    marked = {name: (_MARK.format(name) if value else value) for name, value in own.items()}
    if not _printed_or_tested(template_for(EXTRACT_TEMPLATE.stem, common), set(own)):
        return _Prepared([], usable=False)
    try:
        package = render_extract_context({**common, **marked})
    except Exception:  # noqa: BLE001 - whatever fails here fails the long way too, with its own message
        return _Prepared([], usable=False)
    members = []
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            year, month, day, hour, minute, second = info.date_time
            name = info.filename.encode("utf-8")
            time = hour << 11 | minute << 5 | second // 2
            date = (year - 1980) << 9 | month << 5 | day
            if b"\xee\x80\x90" not in data:  # no marker (U+E010 in UTF-8): compressed now, once
                members.append(_Member(name, time, date, stored=(_deflate(data), zlib.crc32(data), len(data))))
                continue
            segments = _MARKS.split(data.decode("utf-8"))
            if any(segments[k].rfind("<") > segments[k].rfind(">") for k in range(0, len(segments) - 1, 2)):
                return _Prepared([], usable=False)  # a value inside an attribute: escaped differently
            members.append(_Member(name, time, date, segments=tuple(segments)))
    return _Prepared(members)


def _printed_or_tested(template: bytes, names: set[str]) -> bool:
    """Whether the template uses the line's values only as `{{ name }}` or `{% if name %}`: anything else (a filter,
    a comparison, arithmetic) could give another text for another value than for the marker."""
    document = DocxTemplate(io.BytesIO(template))
    document.init_docx()
    sources = [document.patch_xml(document.get_xml())]
    for uri in (document.HEADER_URI, document.FOOTER_URI):
        sources += [document.patch_xml(document.get_part_xml(part)) for _key, part in document.get_headers_footers(uri)]
    properties = document.docx.core_properties
    sources += [properties.author, properties.comments, properties.identifier, properties.subject, properties.title]

    def plain(node: nodes.Node, parent: nodes.Node | None) -> bool:
        if isinstance(node, nodes.Name) and node.name in names:
            return isinstance(parent, nodes.Output) or (isinstance(parent, nodes.If) and parent.test is node)
        return all(plain(child, node) for child in node.iter_child_nodes())

    return all(plain(_JINJA.parse(source), None) for source in sources if source)


def _escaped(text: str) -> str:
    """Text as lxml serialises it in an element (quotes left as they are)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _deflate(data: bytes) -> bytes:
    """Raw DEFLATE at zlib's default level, as `zipfile` writes a member."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _fill(prepared: _Prepared, own: dict) -> bytes:
    """The extract's package: the line's texts put in, the constant members copied compressed. The zip is written
    here (local headers, central directory) because `zipfile` cannot take a member already compressed."""
    texts = {name: _escaped(str(value)) for name, value in own.items()}
    out, directory = [], []
    offset = 0
    for member in prepared.members:
        if member.stored is None:
            data = "".join(texts[part] if k % 2 else part for k, part in enumerate(member.segments)).encode("utf-8")
            compressed, crc, size = _deflate(data), zlib.crc32(data), len(data)
        else:
            compressed, crc, size = member.stored
        fields = (8, member.time, member.date, crc, len(compressed), size, len(member.name))
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, *fields, 0)
        directory.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, *fields, 0, 0, 0, 0, 0, offset))
        directory.append(member.name)
        out += (header, member.name, compressed)
        offset += len(header) + len(member.name) + len(compressed)
    central = b"".join(directory)
    count = len(prepared.members)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), offset, 0)
    return b"".join(out) + central + end


def _members(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def signed_order_content(context: dict) -> bytes:
    """The signed order's frozen DOCX (the `signed_order` attachment renderer), as stored at signing."""
    content = db.session.scalar(select(OrderDocument.content).where(OrderDocument.order_id == context["order_id"]))
    if content is None:
        raise LookupError(f"order {context['order_id']} has no signed document")
    return content
