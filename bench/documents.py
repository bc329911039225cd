"""Rendering the order DOCX of a big order through the real renderer, against raw WordprocessingML zipped.

    .venv/bin/python -m bench.documents                 # 2,000 and 10,000 lines, best of 3, and the PDF time
    .venv/bin/python -m bench.documents --lines 2000 --repeat 5 --no-pdf
    .venv/bin/python -m bench.documents --extracts 500  # students' extracts of one order, per extract

**ours**: `orders.documents.render_order(order)` on an expulsion of N students of one reason and date (loaded ORM
objects, no database round trip: the renderer's own work): the kind's wording of each group of students (declined
names and gendered words where an item is one student's), the tables of the bulk items (more than
`DOCUMENT_TABLE_AFTER` students of a programme, course and group), docxtpl filling the Word template, the package
zipped. **bound**: the same texts (letterhead, titles, every item's wording in Kazakh and Russian, every table cell,
the approval sheet's rows) gathered beforehand, written as one WordprocessingML string (`escape` per text) and zipped
with `zipfile` (DEFLATE, as python-docx saves). The last line printed is JSON with the ratio ours / bound at each N.
With LibreOffice installed it also prints how long `soffice --headless --convert-to pdf` takes on the smallest
document (a fresh user profile each time, as the worker would run it).

With `--extracts N`, the students' extracts of an N-line order instead (what the worker renders for each e-mail):
**ours** `orders.documents.render_extract(common, own)` for every line, the order's prepared package included (made
and checked the long way on the first extract); **docxtpl** `render_extract_context`, the full docxtpl pass each
extract took before; **bound** each extract's texts as raw WordprocessingML zipped, as above. Times are per extract.
"""

import argparse
import io
import json
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document

from bench.common import docx_package
from core.db import db
from core.models import User
from orders import documents
from orders.models import Order, OrderLine
from orders.registry import get_kind
from registrar.app import create_app
from students.iin import make_iin
from students.models import Faculty, Group, Programme, Student

SURNAMES = ["Байжанов", "Оспанов", "Ахметов", "Нурланов", "Сапарбаев", "Жумабаев", "Иванов", "Тулегенов"]
MALE = ["Самат", "Ерлан", "Нурлан", "Арман", "Данияр", "Ильяс", "Алихан", "Темирлан"]
FEMALE = ["Айгерим", "Динара", "Асель", "Мадина", "Жанар", "Аружан", "Камила", "Томирис"]


def build_order(n: int) -> Order:
    """An expulsion of `n` students spread over groups of 25, as transient ORM objects (ids set by hand)."""
    faculty = Faculty(id=1, code="F", name_kk="Факультет", name_ru="Факультет")
    author = User(id=1, username="clerk", full_name="Сейтова Дана Маратовна", position=None)
    order = Order(
        id=1,
        kind="expulsion",
        title="Об отчислении обучающихся",
        basis="Заявления обучающихся",
        params={"reason": "own_request", "effective_date": "2026-12-01", "basis": "Заявления обучающихся"},
        order_date=date(2026, 11, 20),
        number_label="245-С",
        author=author,
    )
    programmes = [
        Programme(
            id=p,
            code=f"6B0{p:04d}",
            name_kk=f"Бағдарлама {p}",
            name_ru=f"Программа {p}",
            faculty=faculty,
            level="bachelor",
            duration_years=4,
        )
        for p in range(1, 11)
    ]
    groups = [
        Group(
            id=g,
            name=f"G{g:03d}",
            programme=programmes[g % 10],
            course=1 + g % 4,
            language="kk" if g % 3 else "ru",
            study_form="full_time",
        )
        for g in range(1, n // 25 + 2)
    ]
    lines, serial = [], 0
    for i in range(n):
        male = i % 2 == 0
        iin = None
        while iin is None:
            serial += 1
            iin = make_iin(date(2004, 1 + i % 12, 1 + i % 28), male, serial)
        group = groups[i // 25]
        student = Student(
            id=i + 1,
            iin=iin,
            surname=SURNAMES[i % 8] + ("" if male else "а"),
            name=(MALE if male else FEMALE)[(i // 8) % 8],
            patronymic="Серикович" if male else "Сериковна",
            group=group,
            course=group.course,
            status="active",
            funding="grant" if i % 3 else "paid",
        )
        lines.append(
            OrderLine(
                id=i + 1,
                student=student,
                params={"reason": "own_request"},
                effective_date=date(2026, 12, 1),
            )
        )
    order.lines = lines
    return order


def bound_texts(order: Order) -> tuple[list[str], list[tuple[str, list[tuple[str, ...]]]]]:
    """What the document says, gathered once (not timed): the paragraphs, and per bulk item its wording and rows."""
    kind = get_kind(order.kind)
    _places, blocks = documents.layout(kind, order.lines)
    paragraphs = ["Университет", "БҰЙРЫҚ / ПРИКАЗ", order.number_label, kind.title_kk, kind.title_ru]
    items = []
    for language in ("kk", "ru"):
        paragraphs += [kind.preamble_kk if language == "kk" else kind.preamble_ru]
        for block in blocks:
            if block.wording is None:
                items.append((kind.item_text(block.lines[0], language), []))
                continue
            rows = [
                (
                    str(k),
                    line.student.full_name,
                    line.student.iin,
                    line.student.group.name,
                    kind.table_row(line, language)[1],
                )
                for k, line in enumerate(block.lines, 1)
            ]
            items.append((f"{block.n}. {block.wording[0 if language == 'ru' else 1]}", rows))
    return paragraphs, items


def bound(paragraphs: list[str], items: list[tuple[str, list[tuple[str, ...]]]]) -> bytes:
    """The same text and tables as one WordprocessingML string, zipped."""

    def paragraph(text: str) -> str:
        return f'<w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'

    def cell(text: str) -> str:
        return f"<w:tc>{paragraph(text)}</w:tc>"

    parts = [paragraph(text) for text in paragraphs]
    for text, rows in items:
        parts.append(paragraph(text))
        if rows:
            body = "".join("<w:tr>" + "".join(cell(value) for value in row) + "</w:tr>" for row in rows)
            parts.append(f"<w:tbl><w:tblPr/><w:tblGrid/>{body}</w:tbl>")
    return docx_package("".join(parts))


def check(content: bytes, order: Order) -> None:
    """Every student's IIN is in the rendered document, in a table of the Russian part."""
    document = Document(io.BytesIO(content))
    cells = {cell.text for table in document.tables for row in table.rows for cell in row.cells[2:3]}
    missing = [line.student.iin for line in order.lines if line.student.iin not in cells]
    if missing:
        raise SystemExit(f"the document misses {len(missing)} IINs, e.g. {missing[:3]}")


def pdf_seconds(content: bytes) -> float | None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "order.docx"
        source.write_bytes(content)
        started = time.perf_counter()
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={Path(folder, 'profile').as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                folder,
                str(source),
            ],
            capture_output=True,
            timeout=600,
            check=True,
        )
        seconds = time.perf_counter() - started
        if not source.with_suffix(".pdf").exists():
            raise SystemExit("LibreOffice wrote no PDF")
        return seconds


def extract_case(n: int, repeat: int) -> dict:
    """Per-extract seconds of ours, of the docxtpl pass and of the raw-XML bound, over the `n` lines of one order."""
    order = build_order(n)
    order.signed_at = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    kind = get_kind(order.kind)
    places = documents.line_places(kind, order.lines)
    common = {**documents.extract_common(order), **documents.stamp_fields(order, "abcdefghijklmnop")}
    owns = [documents.extract_item(kind, line, places[line.id]) for line in order.lines]
    header = [common[key] for key in ("university_kk", "university_ru", "date", "number", "city", "title_kk")]
    texts = [([*header, common["title_ru"], own["item_kk"], own["item_ru"], common["signer_name"]], []) for own in owns]
    ours_s, full_s, bound_s = [], [], []
    for _ in range(repeat):
        documents._PREPARED.clear()  # the order's package is prepared within the timed loop, as the worker does
        started = time.perf_counter()
        contents = [documents.render_extract(common, own) for own in owns]
        ours_s.append((time.perf_counter() - started) / n)
        few = owns[: max(1, n // 10)]  # the docxtpl pass is slow: a tenth of the lines is enough for its figure
        started = time.perf_counter()
        for own in few:
            documents.render_extract_context({**common, **own})
        full_s.append((time.perf_counter() - started) / len(few))
        started = time.perf_counter()
        for paragraphs, items in texts:
            bound(paragraphs, items)
        bound_s.append((time.perf_counter() - started) / n)
    fast = next(iter(documents._PREPARED.values()))
    if not (fast.checked and fast.usable):
        raise SystemExit("the prepared package did not match the docxtpl pass: every extract took the long way")
    for own, content in zip(owns[:3], contents, strict=False):
        body = "".join(paragraph.text for paragraph in Document(io.BytesIO(content)).paragraphs)
        if own["item_ru"] not in body:
            raise SystemExit(f"an extract misses its item: {own['item_ru'][:60]}")
    ours, full, low = min(ours_s), min(full_s), min(bound_s)
    print(
        f"extracts of N={n}: ours {ours * 1000:.2f} ms, docxtpl {full * 1000:.2f} ms ({full / ours:.1f}x ours), "
        f"bound {low * 1000:.2f} ms, ratio ours/bound {ours / low:.2f}"
    )
    return {
        "extracts": n,
        "ours_ms": round(ours * 1000, 3),
        "docxtpl_ms": round(full * 1000, 3),
        "bound_ms": round(low * 1000, 3),
        "ratio": round(ours / low, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--extracts", type=int, help="time the students' extracts of an order of this many lines")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()  # the renderer reads the active template versions: an empty schema
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder.name}/bench.sqlite3",
            "BROKER_URL": "stub",
            "PUBLIC_BASE_URL": "https://registrar.example",
        }
    )
    results = []
    with app.app_context():
        db.create_all()
        if args.extracts:
            print(json.dumps({"bench": "documents", "results": [extract_case(args.extracts, args.repeat)]}))
            return
        for n in args.lines:
            order = build_order(n)
            paragraphs, items = bound_texts(order)
            ours_s, bound_s, content = [], [], b""
            for _ in range(args.repeat):  # alternate, keep the best of each: the machine is shared
                started = time.perf_counter()
                content = documents.render_order(order)
                ours_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                bound(paragraphs, items)
                bound_s.append(time.perf_counter() - started)
            check(content, order)
            ours, low = min(ours_s), min(bound_s)
            print(f"N={n}: ours {ours:.3f} s, bound {low:.3f} s, ratio {ours / low:.2f}, DOCX {len(content)} bytes")
            results.append({"n": n, "ours_s": round(ours, 4), "bound_s": round(low, 4), "ratio": round(ours / low, 2)})
            if not args.no_pdf and n == min(args.lines):
                seconds = pdf_seconds(content)
                print(f"PDF of N={n}: " + (f"{seconds:.2f} s" if seconds is not None else "LibreOffice not installed"))
                results[-1]["pdf_s"] = round(seconds, 2) if seconds is not None else None
    print(json.dumps({"bench": "documents", "results": results}))


if __name__ == "__main__":
    main()
