"""The council's ranking list of a competition's order, by competition (programme and course for a vacant grant; the
university for a scholarship), exported as XLSX and DOCX for the ministry."""

import io
from dataclasses import dataclass

from docx import Document
from openpyxl import Workbook
from openpyxl.styles import Font

from core.clock import today
from core.formatting import format_day
from core.xlsx import workbook_bytes
from orders.ranking import CLASS_WORDS
from orders.registry import get_kind


@dataclass
class Row:
    rank: int | None
    name: str
    iin: str
    group: str
    gpa: float | None
    klass: int | None
    outcome: str
    reason: str
    tie: bool


@dataclass
class Section:
    key: str
    title: str
    places: int | None
    rows: list[Row]


DECISION_WORDS = {"in": ("рекомендован(а)", "ұсынылды"), "out": ("не рекомендован(а)", "ұсынылмады")}


def sections(order, lines) -> list[Section]:
    """The ranking list by competition (programme and course for a vacant grant; the university for a
    scholarship): ranked candidates first, then those excluded, each with the reason in Russian."""

    kind = get_kind(order.kind)
    grouped: dict[str, list] = {}
    for line in lines:
        grouped.setdefault(line.params.get("key") or "", []).append(line)
    places = order.params.get("vacancies") or {}
    result = []
    for key in sorted(grouped):
        ranked = sorted(
            grouped[key],
            key=lambda line: (line.params.get("rank") is None, line.params.get("rank") or 0, line.student.full_name),
        )
        rows = [
            Row(
                rank=line.params.get("rank"),
                name=line.student.full_name,
                iin=line.student.iin,
                group=line.student.group.name,
                gpa=line.params.get("gpa"),
                klass=line.params.get("tie_class"),
                outcome=line.params.get("outcome", "out"),
                reason=kind.reason_words(line, "ru"),
                tie=bool(line.params.get("tie")),
            )
            for line in ranked
        ]
        result.append(
            Section(
                key=key,
                title=kind.section_title(key, ranked[0]),
                places=places.get(key) if places else order.params.get("quota"),
                rows=rows,
            )
        )
    return result


HEADERS = (
    "№",
    "ФИО / Аты-жөні",
    "ИИН / ЖСН",
    "Группа / Топ",
    "GPA",
    "Оценки / Бағалар",
    "Решение / Шешім",
    "Причина / Себебі",
)


def _cells(row: Row) -> list:
    klass = CLASS_WORDS[row.klass][0] if row.klass is not None else ""
    decision = DECISION_WORDS[row.outcome][0] + (" (равный балл на границе)" if row.tie else "")
    return [
        row.rank or "—",
        row.name,
        row.iin,
        row.group,
        row.gpa if row.gpa is not None else "—",
        klass,
        decision,
        row.reason,
    ]


def export_xlsx(order, lines) -> bytes:
    """The ranking list as a workbook: one sheet, a block per competition."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Рейтинг"
    sheet.append([f"{order.title} ({order.label})"])
    sheet["A1"].font = Font(bold=True)
    for section in sections(order, lines):
        sheet.append([])
        sheet.append([section.title + (f" — мест: {section.places}" if section.places is not None else "")])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(list(HEADERS))
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append(_cells(row))
    for column, width in zip("ABCDEFGH", (6, 36, 14, 14, 8, 16, 26, 60), strict=True):
        sheet.column_dimensions[column].width = width
    return workbook_bytes(book)


def export_docx(order, lines) -> bytes:
    """The ranking list as a Word document for the council's minutes and the ministry."""
    document = Document()
    document.add_heading("Рейтинговый список претендентов / Үміткерлердің рейтингтік тізімі", level=1)
    document.add_paragraph(f"{order.title} ({order.label}), {format_day(today(), 'ru')}")
    for section in sections(order, lines):
        document.add_heading(
            section.title + (f" — мест: {section.places}" if section.places is not None else ""), level=2
        )
        table = document.add_table(rows=1, cols=len(HEADERS))
        table.style = "Table Grid"
        for cell, header in zip(table.rows[0].cells, HEADERS, strict=True):
            cell.text = header
        for row in section.rows:
            cells = table.add_row().cells
            for cell, value in zip(cells, _cells(row), strict=True):
                cell.text = str(value)
    document.add_paragraph("")
    document.add_paragraph("Председатель комиссии / Комиссия төрағасы: ____________________")
    document.add_paragraph("Секретарь / Хатшы: ____________________")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
