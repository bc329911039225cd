"""Build the Word templates of order documents: `order.docx` (the order) and `extract.docx` (a per-student
extract). Run it after changing the layout here:

    .venv/bin/python templates/docx/build_templates.py

The generated files are committed, and a registrar may also edit them directly in Word: the renderer
(`orders/documents.py`) only needs the Jinja tags below to stay intact. Every tag is written as a single run, so
docxtpl sees it whole; when editing in Word, retype a tag rather than formatting half of it.

Tags the renderer fills (docxtpl, autoescaped):
    university_kk, university_ru, city, date (dd.mm.yyyy), number (e.g. 1-С), title_kk, title_ru,
    preamble_kk, preamble_ru, basis, signer_position, signer_name, author_name,
    order.docx:   heading (БҰЙРЫҚ / ПРИКАЗ), items_kk / items_ru (each item has .n, .text and .table: the marker of
                  a bulk item's table of students, which the renderer replaces with the table), visas (each: .n
                  .position .name .decision .comment .date) for the approval sheet; appendix_kk / appendix_ru
                  (items, empty for most kinds) under appendix_title_kk / appendix_title_ru
    extract.docx: item_n (none for a line listed in the appendix: its text is then the appendix notice), item_kk,
                  item_ru
Paragraph styles ("Order Header", "Order Title", "Order Body", "Order Item", "Order Table", "Order Signature")
carry the look: change a style in Word and every paragraph of that kind follows.
"""

from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

HERE = Path(__file__).resolve().parent
FONT = "Times New Roman"
TEXT_WIDTH = Cm(21 - 3 - 1.5)  # A4 minus left and right margins

CONTROL_KK = "Осы бұйрықтың орындалуын бақылау Тіркеуші офисінің басшысына жүктелсін."
CONTROL_RU = "Контроль за исполнением настоящего приказа возложить на руководителя Офиса Регистратора."
HINT = (
    "{#p Шаблон документа Registrar. Теги в фигурных скобках заполняет система: не удаляйте их и не "
    "форматируйте часть тега. Этот абзац в документ не попадает. #}"
)


# Page, fonts and styles ---------------------------------------------------------------------------------------


def _set_font(style_or_run, size: float | None = None, bold: bool | None = None) -> None:
    font = style_or_run.font
    font.name = FONT
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    r_pr = style_or_run.element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)


def _paragraph_style(
    document,
    name: str,
    *,
    size: float = 12,
    bold: bool = False,
    align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    indent: float | None = None,
    before: float = 0,
    after: float = 0,
):
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Normal"]
    style.quick_style = True
    _set_font(style, size, bold)
    fmt = style.paragraph_format
    fmt.alignment = align
    fmt.first_line_indent = Cm(indent) if indent else None
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    fmt.line_spacing = 1.0
    fmt.widow_control = True
    return style


def new_document():
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.footer_distance = Cm(1)

    normal = document.styles["Normal"]
    _set_font(normal, 12)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.line_spacing = 1.0

    _paragraph_style(document, "Order Header", size=11, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph_style(document, "Order Title", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph_style(document, "Order Body", indent=1.25)
    _paragraph_style(document, "Order Item", indent=1.25, after=2)
    _paragraph_style(document, "Order Table", size=10, align=WD_ALIGN_PARAGRAPH.LEFT)
    # The table of students of a bulk item: the renderer writes its rows without any formatting of their own, so
    # the table style carries the small type and the grid.
    students = document.styles.add_style("Order List", WD_STYLE_TYPE.TABLE)
    students.base_style = document.styles["Table Grid"]
    _set_font(students, 10)
    students.paragraph_format.space_after = Pt(0)
    students.paragraph_format.line_spacing = 1.0
    signature = _paragraph_style(document, "Order Signature", bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    signature.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    signature.paragraph_format.keep_with_next = True
    return document


def para(
    document_or_cell,
    text: str = "",
    style: str = "Order Body",
    *,
    bold: bool | None = None,
    align=None,
    before: float | None = None,
    after: float | None = None,
):
    """A paragraph holding `text` in one run (so a Jinja tag in it stays whole)."""
    paragraph = document_or_cell.add_paragraph(style=style)
    if text:
        run = paragraph.add_run(text)
        if bold is not None:
            run.bold = bold
    if align is not None:
        paragraph.alignment = align
    if before is not None:
        paragraph.paragraph_format.space_before = Pt(before)
    if after is not None:
        paragraph.paragraph_format.space_after = Pt(after)
    return paragraph


def _border(paragraph, edge: str = "bottom", kind: str = "thickThinSmallGap", size: int = 12) -> None:
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    line = OxmlElement(f"w:{edge}")
    for key, value in (("w:val", kind), ("w:sz", str(size)), ("w:space", "1"), ("w:color", "auto")):
        line.set(qn(key), value)
    borders.append(line)
    p_pr.append(borders)


def _no_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tbl_pr.append(borders)


def _widths(table, widths_cm: list[float]) -> None:
    table.autofit = False
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def _fill(cell, text: str, style: str = "Order Table", **kwargs) -> None:
    """Put `text` in the cell's first (empty) paragraph as one run."""
    paragraph = cell.paragraphs[0]
    paragraph.style = style
    paragraph.add_run(text)
    if kwargs.get("bold") is not None:
        paragraph.runs[0].bold = kwargs["bold"]
    if kwargs.get("align") is not None:
        paragraph.alignment = kwargs["align"]


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


def _field(paragraph, instruction: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


# Blocks shared by the order and the extract -------------------------------------------------------------------


def letterhead(document, heading: str) -> None:
    """University names in Kazakh and Russian side by side, the document heading, date and number, city."""
    para(document, HINT, "Normal")
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    _widths(table, [8.25, 8.25])
    _fill(table.cell(0, 0), "{{ university_kk }}", "Order Header")
    _fill(table.cell(0, 1), "{{ university_ru }}", "Order Header")
    rule = para(document, "", "Normal", after=6)
    _border(rule)

    para(document, heading, "Order Title", before=6, after=6).runs[0].font.size = Pt(14)
    line = para(document, "", "Normal", after=2)
    line.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    line.add_run("{{ date }}")
    line.add_run().add_tab()
    line.add_run("№ {{ number }}")
    para(document, "{{ city }} қаласы / г. {{ city }}", "Normal", align=WD_ALIGN_PARAGRAPH.CENTER, after=12)


def titles(document) -> None:
    para(document, "{{ title_kk }}", "Order Title")
    para(document, "{{ title_ru }}", "Order Title", after=12)


def signature(document) -> None:
    paragraph = para(document, "{{ signer_position }}", "Order Signature", before=24)
    paragraph.add_run().add_tab()
    paragraph.add_run("{{ signer_name }}")


def footer(document, label: str) -> None:
    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.style = document.styles["Order Table"]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run(label)
    paragraph.add_run(" · бет / стр. ")
    _field(paragraph, "PAGE")
    paragraph.add_run(" / ")
    _field(paragraph, "NUMPAGES")


# The two documents --------------------------------------------------------------------------------------------


def build_order() -> Document:
    document = new_document()
    letterhead(document, "{{ heading }}")
    titles(document)

    for preamble, command, items, basis, control, last in (
        ("{{ preamble_kk }}", "БҰЙЫРАМЫН:", "items_kk", "Негіздеме: {{ basis }}", CONTROL_KK, False),
        ("{{ preamble_ru }}", "ПРИКАЗЫВАЮ:", "items_ru", "Основание: {{ basis }}", CONTROL_RU, True),
    ):
        para(document, preamble)
        para(document, command, "Order Body", bold=True, before=6, after=6)
        para(document, f"{{%p for item in {items} %}}")
        para(document, "{{ item.n }}. {{ item.text }}", "Order Item")
        para(document, "{%p if item.table %}")
        para(document, "{{ item.table }}", "Order Table")
        para(document, "{%p endif %}")
        para(document, "{%p endfor %}")
        # The basis may hold line breaks: left-aligned, so Word does not stretch its words across the line.
        tail = [para(document, basis, before=6, align=WD_ALIGN_PARAGRAPH.LEFT), para(document, control)]
        if last:  # the end of the text travels with the signature to the next page, never the signature alone
            for paragraph in tail:
                paragraph.paragraph_format.keep_with_next = True
        else:
            tail[-1].paragraph_format.space_after = Pt(18)

    signature(document)

    # The appendix: lines a kind lists apart (e.g. students a scholarship is not appointed to, with the reason).
    para(document, "{%p if appendix_ru %}")
    heading = para(document, "{{ appendix_title_kk }}", "Order Title", after=2)
    heading.paragraph_format.page_break_before = True
    para(
        document,
        "{{ date }} № {{ number }} бұйрыққа / к приказу от {{ date }} № {{ number }}",
        "Order Title",
        bold=False,
        after=8,
    )
    para(document, "{%p for item in appendix_kk %}")
    para(document, "{{ item.n }}. {{ item.text }}", "Order Item")
    para(document, "{%p endfor %}")
    para(document, "{{ appendix_title_ru }}", "Order Title", before=12, after=8)
    para(document, "{%p for item in appendix_ru %}")
    para(document, "{{ item.n }}. {{ item.text }}", "Order Item")
    para(document, "{%p endfor %}")
    para(document, "{%p endif %}")

    heading = para(document, "КЕЛІСУ ПАРАҒЫ / ЛИСТ СОГЛАСОВАНИЯ", "Order Title", after=2)
    heading.paragraph_format.page_break_before = True
    para(
        document,
        "{{ date }} № {{ number }} бұйрыққа / к приказу от {{ date }} № {{ number }}",
        "Order Title",
        bold=False,
    )
    para(document, "«{{ title_ru }}»", "Order Title", bold=False, after=8)

    columns = [
        ("№", 0.7),
        ("Лауазымы / Должность", 3.4),
        ("Аты-жөні / Ф.И.О.", 3.8),
        ("Шешімі / Решение", 2.8),
        ("Ескертпе / Комментарий", 3.4),
        ("Күні / Дата", 2.4),
    ]
    table = document.add_table(rows=4, cols=len(columns))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, [width for _name, width in columns])
    for index, (name, _width) in enumerate(columns):
        _fill(table.cell(0, index), name, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _repeat_header(table.rows[0])
    _fill(table.cell(1, 0), "{%tr for v in visas %}")
    for index, field in enumerate(("n", "position", "name", "decision", "comment", "date")):
        _fill(table.cell(2, index), f"{{{{ v.{field} }}}}")
    _fill(table.cell(3, 0), "{%tr endfor %}")

    para(document, "Орындаушы / Исполнитель: {{ author_name }}", "Order Table", before=12)
    footer(document, "Бұйрық / Приказ № {{ number }}, {{ date }}")
    return document


def build_extract() -> Document:
    document = new_document()
    letterhead(document, "БҰЙРЫҚТАН ҮЗІНДІ / ВЫПИСКА ИЗ ПРИКАЗА")
    titles(document)
    for preamble, command, item, basis in (
        (
            "{{ preamble_kk }}",
            "БҰЙЫРАМЫН:",
            "{% if item_n %}{{ item_n }}. {% endif %}{{ item_kk }}",
            "Негіздеме: {{ basis }}",
        ),
        (
            "{{ preamble_ru }}",
            "ПРИКАЗЫВАЮ:",
            "{% if item_n %}{{ item_n }}. {% endif %}{{ item_ru }}",
            "Основание: {{ basis }}",
        ),
    ):
        para(document, preamble)
        para(document, command, "Order Body", bold=True, before=6, after=6)
        para(document, item, "Order Item")
        para(document, basis, before=6, after=12, align=WD_ALIGN_PARAGRAPH.LEFT)
    signature(document)

    para(document, "Үзінді дұрыс / Выписка верна", "Order Signature", before=30)
    certify = para(document, "Тіркеуші офисі / Офис Регистратора", "Order Signature", bold=False)
    certify.add_run().add_tab()
    certify.add_run("____________________")
    footer(document, "Бұйрықтан үзінді / Выписка из приказа № {{ number }}, {{ date }}")
    return document


def main() -> None:
    build_order().save(HERE / "order.docx")
    build_extract().save(HERE / "extract.docx")
    print(f"wrote {HERE / 'order.docx'} and {HERE / 'extract.docx'}")


if __name__ == "__main__":
    main()
