"""The registrar office's Word templates: upload a version (validated by rendering a sample order with it), make a
version active, and preview a draft order as DOCX or PDF with a DRAFT mark before anyone signs it.

A version is refused whole, and nothing is saved, when the file is not a Word document, its Jinja tags do not parse,
it names a placeholder the renderer does not fill (the message names it), or rendering the sample order with it
fails. The sample order is the latest signed order of the kind with at most `SAMPLE_LINES` lines (any kind for a
template of every kind), or an empty order of the kind when none is signed yet.
"""

import hashlib
import io
import zipfile

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt, RGBColor
from docxtpl import DocxTemplate
from flask_babel import gettext as _
from jinja2 import Environment, TemplateError, TemplateSyntaxError
from sqlalchemy import func, select, true, update

from core.db import db
from core.errors import InvalidInput
from core.models import User
from orders import documents
from orders.filing import BUILT_IN, EVERY_KIND, PARTS, TemplateVersion, trying
from orders.models import Order, OrderLine
from orders.registry import KINDS

SAMPLE_LINES = 200
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
DRAFT_MARK = "ПРОЕКТ / ЖОБА / DRAFT"
ITEM_KEYS = {"item_n", "appendix_n", "item_ru", "item_kk"}  # what an extract adds to the order's common words
INTERNAL_KEYS = {"template_ids"}


def _refuse(message: str) -> None:
    raise InvalidInput({"file": message})


def _sample_order(kind: str) -> Order:
    """A signed order to try a template on (read only), or an empty unsaved order of the kind."""
    small = select(func.count()).where(OrderLine.order_id == Order.id).scalar_subquery() <= SAMPLE_LINES
    query = select(Order).where(Order.state == "signed", small, Order.kind == kind if kind != EVERY_KIND else true())
    order = db.session.scalar(query.order_by(Order.id.desc()).limit(1))
    if order is not None:
        return order
    name = kind if kind in KINDS else next(iter(KINDS))
    return Order(kind=name, title="", basis="Үлгі / Образец", series="С", route_name="", route_version=1)


def _render_sample(part: str, order: Order) -> None:
    if part == "order":
        documents.render_order(order)
        return
    context = {**documents.extract_common(order), **documents.stamp_fields(order, None)}  # as `take_effect` freezes
    lines = list(order.lines)
    if lines:
        kind = KINDS[order.kind]
        context.update(documents.extract_item(kind, lines[0], documents.line_places(kind, lines)[lines[0].id]))
    else:
        context.update({"item_n": 1, "item_ru": "Образец пункта приказа.", "item_kk": "Бұйрық тармағының үлгісі."})
    documents.render_extract_context(context)


def placeholders(part: str, kind: str = EVERY_KIND) -> list[str]:
    """The names a template of `part` may use: what the renderer gives the built-in template for a sample order."""
    with trying(part, BUILT_IN[part]) as seen:
        _render_sample(part, _sample_order(kind))
    names = set().union(*(context.keys() for context in seen)) - INTERNAL_KEYS
    return sorted(names | (ITEM_KEYS if part == "extract" else set()))


def validate(kind: str, part: str, content: bytes) -> None:
    """Refuse (InvalidInput on `file`) a template that is not a DOCX, does not parse, names an unknown placeholder,
    or fails to render the sample order."""
    if not content:
        _refuse(_("Choose a file."))
    if len(content) > MAX_TEMPLATE_BYTES:
        _refuse(_("The template is larger than %(mb)s MB.", mb=MAX_TEMPLATE_BYTES // (1024 * 1024)))
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if "word/document.xml" not in archive.namelist():
                raise zipfile.BadZipFile
    except zipfile.BadZipFile:
        _refuse(_("This is not a Word document (.docx): save the template in Word as a .docx file."))
    env = Environment(autoescape=True)
    try:
        used = DocxTemplate(io.BytesIO(content)).get_undeclared_template_variables(env)
    except TemplateSyntaxError as error:
        _refuse(_("The template's tags are broken (line %(line)s): %(error)s", line=error.lineno, error=error.message))
    except Exception as error:  # noqa: BLE001 (a damaged document: python-docx and lxml raise many kinds)
        _refuse(_("The document cannot be read: %(error)s", error=str(error) or type(error).__name__))
    unknown = sorted(used - set(placeholders(part, kind)))
    if unknown:
        _refuse(
            _(
                "Unknown placeholder(s): %(names)s. The renderer fills only the placeholders listed on this page.",
                names=", ".join(f"{{{{ {name} }}}}" for name in unknown),
            )
        )
    try:
        with trying(part, content):
            _render_sample(part, _sample_order(kind))
    except TemplateError as error:
        _refuse(_("Rendering a sample order with this template failed: %(error)s", error=error.message or error))
    except Exception as error:  # noqa: BLE001 (the template's own expressions may raise anything)
        _refuse(_("Rendering a sample order with this template failed: %(error)s", error=str(error) or error))


def upload(kind: str, part: str, content: bytes, note: str, actor: User) -> TemplateVersion:
    """Validate and keep a new version of `part` for `kind` (or every kind), and make it the active one."""
    errors = {}
    if kind != EVERY_KIND and kind not in KINDS:
        errors["kind"] = _("Choose an order kind.")
    if part not in PARTS:
        errors["part"] = _("Choose the order or the extract.")
    if errors:
        raise InvalidInput(errors)
    validate(kind, part, content)
    latest = db.session.scalar(
        select(func.max(TemplateVersion.version)).where(TemplateVersion.kind == kind, TemplateVersion.part == part)
    )
    _deactivate(kind, part)
    version = TemplateVersion(
        kind=kind,
        part=part,
        version=(latest or 0) + 1,
        content=content,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        note=note.strip()[:300],
        uploaded_by_id=actor.id,
        active=True,
    )
    db.session.add(version)
    db.session.flush()
    return version


def _deactivate(kind: str, part: str) -> None:
    db.session.execute(
        update(TemplateVersion)
        .where(TemplateVersion.kind == kind, TemplateVersion.part == part, TemplateVersion.active.is_(True))
        .values(active=False)
    )
    db.session.flush()


def activate(kind: str, part: str, version_id: int | None) -> None:
    """Make a kept version the active one of its kind and part; None goes back to the built-in file (version 0)."""
    if version_id is not None:
        version = db.session.get(TemplateVersion, version_id)
        if version is None or (version.kind, version.part) != (kind, part):
            raise InvalidInput({"version": _("No such template version.")}, status=404)
    _deactivate(kind, part)
    if version_id is not None:
        version.active = True
        db.session.flush()


# Draft preview -----------------------------------------------------------------------------------------------------


def mark_draft(content: bytes) -> bytes:
    """The DOCX with "ПРОЕКТ / ЖОБА / DRAFT" at the top of every page (each section's header) and in its title."""
    document = Document(io.BytesIO(content))
    for section in document.sections:
        headers = [section.header]
        if section.different_first_page_header_footer:
            headers.append(section.first_page_header)
        for header in headers:
            header.is_linked_to_previous = False
            paragraph = header.paragraphs[0].insert_paragraph_before() if header.paragraphs else header.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(DRAFT_MARK)
            run.bold = True
            run.font.size = Pt(16)
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    document.core_properties.title = DRAFT_MARK
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def draft_preview(order: Order) -> bytes:
    """The order as it would be rendered now, marked DRAFT; it reads only: no number, no document, nothing frozen."""
    if order.state == "signed" or order.document is not None:
        raise InvalidInput({"order": _("This order is signed: download its document instead.")}, status=409)
    return mark_draft(documents.render_order(order))
