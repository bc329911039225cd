"""Import of students, curricula and grades: refused whole with every bad row listed, idempotent, CSV and XLSX,
from the web page (clerk only) and from `registrar import`."""

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core.clock import today
from core.db import db
from orders.models import Order
from registrar.cli import main
from registrar.demo import seed_demo, year_calendar
from students.academic import AcademicCalendar, CurriculumItem, Grade, StudentDebt
from students.iin import make_iin
from students.imports import EXAMPLES, plan_import, run_import
from students.models import Faculty, Group, Programme, Student, StudentMovement
from tests.conftest import login
from workflow.models import AuditEvent

STUDENT_HEADER = ["iin", "surname", "name", "patronymic", "email", "group", "funding", "status", "status_since"]


def iins(count: int, start: int = 7000) -> list[str]:
    found, serial = [], start
    while len(found) < count:
        iin = make_iin(date(2005, 6, 1), serial % 2 == 0, serial)
        serial += 1
        if iin:
            found.append(iin)
    return found


def csv_bytes(header: list[str], rows: list[list], delimiter: str = ",", bom: bool = False) -> bytes:
    lines = [delimiter.join(header)] + [delimiter.join(str(c) for c in row) for row in rows]
    return ("\ufeff" if bom else "").encode() + "\n".join(lines).encode("utf-8")


def xlsx_bytes(header: list[str], rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def letter_name(i: int) -> str:
    """A distinct name part for the i-th row, in letters only (names hold no digits)."""
    letters = "абвгдежзиклмнопрстуфхцчшщэюя"
    return letters[i % len(letters)] * (i // len(letters) + 1)


def student_rows(group_name: str, numbers: list[str]) -> list[list]:
    return [
        [
            iin,
            "Серикова",
            f"Айгерим-{letter_name(i)}",
            "Маратовна",
            f"s{i}@example.kz",
            group_name,
            "grant",
            "",
            "01.09.2025",
        ]
        for i, iin in enumerate(numbers)
    ]


def test_a_file_with_bad_rows_is_refused_whole_with_every_bad_row_listed(make):
    group = make.group(course=1)
    good = iins(3)
    bad_iin = good[0][:11] + str((int(good[0][11]) + 1) % 10)
    rows = student_rows(group.name, good)
    rows.insert(1, [bad_iin, "Ким", "Ольга", "", "", group.name, "paid", ""])  # row 3: check digit
    rows.append([iins(1, 9000)[0], "Ли", "Сергей", "", "", "NO-SUCH", "grant", ""])  # row 6: unknown group
    rows.append([good[1], "Серикова", "Дубль", "", "", group.name, "grant", ""])  # row 7: duplicate of row 4
    rows.append([iins(1, 9100)[0], "Ан", "Ирина", "", "", group.name, "free", ""])  # row 8: funding
    rows.append([iins(1, 9200)[0], "Ан", "Ирина", "", "", group.name, "paid", "active", "31.02.2025"])  # row 9: date
    before = count(Student)

    plan = run_import("students", "students.csv", csv_bytes(STUDENT_HEADER, rows))

    assert not plan.ok
    reasons = {error.row: error.reason for error in plan.errors}
    assert sorted(reasons) == [3, 6, 7, 8, 9]
    assert "IIN check digit is wrong" in reasons[3]
    assert "unknown group 'NO-SUCH'" in reasons[6]
    assert "duplicate of row 4" in reasons[7]
    assert "funding must be grant or paid" in reasons[8]
    assert "status_since '31.02.2025' is not a date" in reasons[9]
    assert count(Student) == before

    fixed = run_import("students", "students.csv", csv_bytes(STUDENT_HEADER, student_rows(group.name, good)))
    assert fixed.ok and fixed.counts == {"created": 3, "updated": 0, "unchanged": 0}
    assert count(Student) == before + 3
    imported = db.session.scalar(select(Student).where(Student.iin == good[0]))
    assert (imported.group_id, imported.course, imported.status, imported.funding) == (group.id, 1, "active", "grant")
    assert imported.status_since == date(2025, 9, 1)

    again = run_import("students", "students.csv", csv_bytes(STUDENT_HEADER, student_rows(group.name, good)))
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 3}
    assert count(Student) == before + 3

    changed = student_rows(group.name, good)
    changed[2][4] = "new.address@example.kz"
    assert run_import("students", "s.csv", csv_bytes(STUDENT_HEADER, changed)).counts == {
        "created": 0,
        "updated": 1,
        "unchanged": 2,
    }

    other_group = make.group(course=2)
    moved = student_rows(other_group.name, good[:1])
    refused = run_import("students", "s.csv", csv_bytes(STUDENT_HEADER, moved))
    assert not refused.ok and "change only by a signed order" in refused.errors[0].reason
    assert "course" in refused.errors[0].reason and "group_id" in refused.errors[0].reason
    assert db.session.scalar(select(Student.group_id).where(Student.iin == good[0])) == group.id


def test_xlsx_with_numeric_iins_and_semicolon_csv_with_bom(make):
    group = make.group()
    numbers = iins(2, 7300)
    assert numbers[0].startswith("0")  # born in 2005: Excel drops the leading zero of a number
    rows = [
        [int(iin)] + row[1:-1] + [date(2025, 9, 1)]  # numbers and date cells, as Excel keeps them
        for iin, row in zip(numbers, student_rows(group.name, numbers), strict=True)
    ]
    plan = run_import("students", "students.xlsx", xlsx_bytes(STUDENT_HEADER, rows))
    assert plan.ok, plan.errors
    assert plan.counts["created"] == 2
    data = csv_bytes(STUDENT_HEADER, student_rows(group.name, numbers), delimiter=";", bom=True)
    assert run_import("students", "students.csv", data).counts == {"created": 0, "updated": 0, "unchanged": 2}


def test_missing_column_and_unreadable_files(session):
    plan = plan_import("students", "s.csv", csv_bytes(["iin", "surname"], [["1", "x"]]))
    assert [e.row for e in plan.errors] == [1] and "missing columns: name" in plan.errors[0].reason
    assert "not a readable XLSX" in plan_import("grades", "g.xlsx", b"not a workbook").errors[0].reason
    assert "not UTF-8" in plan_import("grades", "g.csv", "iin;x".encode("cp1251") + b"\xff").errors[0].reason
    assert ".csv or .xlsx" in plan_import("grades", "g.pdf", b"%PDF").errors[0].reason


CURRICULUM_HEADER = ["programme_code", "semester", "code", "name_ru", "name_kk", "name_en", "credits"]


def test_curriculum_import(make):
    programme = make.group().programme
    rows = [
        [programme.code, 1, "INF1101", "Информатика", "Информатика", "Computer Science", 5],
        [programme.code, 1, "MAT1102", "Математика", "", "", 6],
        [programme.code, 15, "MAT1103", "Математика 2", "", "", 6],  # row 4: semester
        ["6B99999", 1, "HIS1101", "История", "", "", 5],  # row 5: programme
        [programme.code, 2, "PHY1201", "Физика", "", "", 31],  # row 6: credits
        [programme.code, 1, "INF1101", "Информатика", "", "", 5],
    ]  # row 7: duplicate of row 2
    plan = run_import("curriculum", "c.csv", csv_bytes(CURRICULUM_HEADER, rows))
    assert [e.row for e in plan.errors] == [4, 5, 6, 7]
    assert count(CurriculumItem) == 0
    good = rows[:2]
    assert run_import("curriculum", "c.xlsx", xlsx_bytes(CURRICULUM_HEADER, good)).counts["created"] == 2
    item = db.session.scalar(select(CurriculumItem).where(CurriculumItem.code == "MAT1102"))
    assert (item.name_kk, item.name_en, item.credits) == ("Математика", "Математика", 6)
    assert run_import("curriculum", "c.csv", csv_bytes(CURRICULUM_HEADER, good)).counts == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
    }


GRADE_HEADER = ["iin", "semester", "academic_year", "code", "name_ru", "credits", "points", "retake"]


def academic_year(start: int, **changes) -> AcademicCalendar:
    """The demo's calendar of start-start+1 (sessions end 10 January and 31 May), added to the session."""
    calendar = year_calendar(start, **changes)
    db.session.add(calendar)
    db.session.flush()
    return calendar


def test_grades_import(make):
    academic_year(2025)
    student = make.student()
    rows = [
        [student.iin, 1, "2025-2026", "MAT1101", "Математика", 5, 87, 0],
        [student.iin, 1, "2025-2026", "PHY1101", "Физика", 4, 40, 0],
        [student.iin, 1, "2025-2026", "PHY1101", "Физика", 4, 71, 1],
        [student.iin, 1, "2025-2026", "CHE1101", "Химия", 4, 101, 0],  # row 5: out of range
        [iins(1, 9500)[0], 1, "2025-2026", "MAT1101", "Математика", 5, 80, 0],  # row 6: no such student
        [student.iin, 1, "2025/2026", "BIO1101", "Биология", 3, 80, 0],  # row 7: academic year
        [student.iin, 1, "2025-2026", "MAT1101", "Математика", 5, 87, 0],
    ]  # row 8: duplicate
    before = count(Grade)
    plan = run_import("grades", "g.csv", csv_bytes(GRADE_HEADER, rows))
    reasons = {e.row: e.reason for e in plan.errors}
    assert sorted(reasons) == [5, 6, 7, 8]
    assert "grade out of range" in reasons[5]
    assert "no student with IIN" in reasons[6]
    assert "academic_year" in reasons[7]
    assert "duplicate of row 2" in reasons[8]
    assert count(Grade) == before

    assert run_import("grades", "g.csv", csv_bytes(GRADE_HEADER, rows[:3])).counts["created"] == 3
    letters = dict(db.session.execute(select(Grade.points, Grade.letter).where(Grade.student_id == student.id)).all())
    assert letters == {87: "B+", 40: "FX", 71: "C+"}
    assert run_import("grades", "g.xlsx", xlsx_bytes(GRADE_HEADER, rows[:3])).counts == {
        "created": 0,
        "updated": 0,
        "unchanged": 3,
    }


# --- the web page -------------------------------------------------------------------------------------------------


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORTS_DIR", str(tmp_path))
    return tmp_path


def upload(client, kind: str, filename: str, data: bytes):
    return client.post(
        "/imports/", data={"kind": kind, "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


def test_web_preview_and_confirm_as_clerk(client, uni, upload_dir):
    login(client, uni.clerk)
    page = client.get("/imports/")
    assert page.status_code == 200 and "programme_code" in page.text and "050315501230" in page.text
    numbers = iins(2, 7600)
    rows = student_rows(uni.ga.name, numbers)
    bad = rows + [["123", "Ким", "Ольга", "", "", "NOPE", "paid", ""]]
    before = count(Student)

    refused = upload(client, "students", "bad.csv", csv_bytes(STUDENT_HEADER, bad))
    assert refused.status_code == 422
    assert "IIN must be exactly 12 digits" in refused.text and "unknown group" in refused.text
    assert "/imports/confirm" not in refused.text
    assert client.post("/imports/confirm", data={"token": "x" * 32}).status_code == 302
    assert count(Student) == before

    ready = upload(client, "students", "good.xlsx", xlsx_bytes(STUDENT_HEADER, rows))
    assert ready.status_code == 200 and "Ready: 2 new, 0 updated, 0 unchanged." in ready.text
    assert count(Student) == before
    token = ready.text.split('name="token" type="hidden" value="')[1].split('"')[0]
    assert list(upload_dir.glob("*.upload"))
    done = client.post("/imports/confirm", data={"token": token}, follow_redirects=True)
    assert done.status_code == 200 and "2 new, 0 updated, 0 unchanged" in done.text
    assert count(Student) == before + 2
    assert not list(upload_dir.glob("*.upload"))
    assert client.post("/imports/confirm", data={"token": token}, follow_redirects=True).status_code == 200
    assert count(Student) == before + 2

    again = upload(client, "students", "good.xlsx", xlsx_bytes(STUDENT_HEADER, rows))
    assert "Ready: 0 new, 0 updated, 2 unchanged." in again.text


def test_other_roles_may_not_import(client, uni, upload_dir):
    for user in (uni.dean_a, uni.rector, uni.admin):
        login(client, user)
        assert client.get("/imports/").status_code == 403
        assert upload(client, "students", "s.csv", b"iin\n").status_code == 403
        assert client.post("/imports/confirm", data={"token": "x" * 32}).status_code == 403


# --- the command line ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli_app_with_group(cli_app):
    app, runner = cli_app
    with app.app_context():
        faculty = Faculty(code="FI", name_kk="ФИ", name_ru="ФИ", name_en="FI")
        db.session.add(faculty)
        db.session.flush()
        programme = Programme(
            code="6B06101",
            name_kk="ИС",
            name_ru="ИС",
            name_en="IS",
            level="bachelor",
            duration_years=4,
            faculty_id=faculty.id,
        )
        db.session.add(programme)
        db.session.flush()
        db.session.add(
            Group(name="IS-25-1", programme_id=programme.id, course=1, language="ru", study_form="full_time")
        )
        db.session.commit()
    return app, runner


def test_cli_import(cli_app_with_group, tmp_path):
    app, runner = cli_app_with_group
    numbers = iins(2, 7800)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        csv_bytes(
            STUDENT_HEADER,
            student_rows("IS-25-1", numbers) + [[numbers[0], "Ким", "Ольга", "", "", "IS-25-1", "paid", ""]],
            delimiter=";",
        )
    )
    result = runner.invoke(main, ["import", "students", str(bad)])
    assert result.exit_code == 1
    # The command speaks the configured default language (ru here) in the rows' reasons.
    assert "bad.csv: строка 4: повтор строки 2" in result.output and "nothing was imported" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Student.id))) == 0

    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx_bytes(STUDENT_HEADER, student_rows("IS-25-1", numbers)))
    dry = runner.invoke(main, ["import", "students", str(good), "--dry-run"])
    assert dry.exit_code == 0 and "would be: 2 created, 0 updated, 0 unchanged" in dry.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Student.id))) == 0
    result = runner.invoke(main, ["import", "students", str(good)])
    assert result.exit_code == 0 and "2 created, 0 updated, 0 unchanged" in result.output, result.output
    again = runner.invoke(main, ["import", "students", str(good)])
    assert again.exit_code == 0 and "0 created, 0 updated, 2 unchanged" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Student.id))) == 2


def test_a_passing_grade_clears_the_academic_difference_owed_in_that_discipline(make):
    academic_year(2025)
    student = make.student()
    for code in ("MAT2201", "PHY2201"):
        db.session.add(StudentDebt(student_id=student.id, code=code, name=code, semester=3, credits=5))
    db.session.flush()
    rows = [
        [student.iin, 3, "2025-2026", "MAT2201", "Математика", 5, 74, 0],
        [student.iin, 3, "2025-2026", "PHY2201", "Физика", 5, 45, 0],
    ]  # an FX clears nothing
    run_import("grades", "g.csv", csv_bytes(GRADE_HEADER, rows))
    cleared = dict(
        db.session.execute(
            select(StudentDebt.code, StudentDebt.cleared_on).where(StudentDebt.student_id == student.id)
        ).all()
    )
    assert cleared == {"MAT2201": today(), "PHY2201": None}


def test_grades_are_checked_against_the_curriculum_and_the_calendar(make):
    student = make.student()
    academic_year(2025)
    current = academic_year(2026, first_session_end=today() + timedelta(days=10))
    db.session.add(
        CurriculumItem(
            programme_id=student.group.programme_id,
            semester=1,
            code="MAT1101",
            name_ru="Математика",
            name_kk="Математика",
            name_en="Mathematics",
            credits=5,
        )
    )
    db.session.flush()
    rows = [
        [student.iin, 1, "2025-2026", "MAT1101", "Математика", 4, 87, 0],  # row 2: 4 credits, the curriculum says 5
        [student.iin, 1, current.year, "PHY1101", "Физика", 5, 80, 0],  # row 3: the session has not ended
        [student.iin, 1, "2031-2032", "PHY1101", "Физика", 5, 80, 0],  # row 4: no calendar for the year
        [student.iin, 1, "2025-2026", "PHY1101", "Физика", 5, 80, 0],  # row 5: fine
    ]
    plan = run_import("grades", "g.csv", csv_bytes(GRADE_HEADER, rows))
    reasons = {e.row: e.reason for e in plan.errors}
    assert sorted(reasons) == [2, 3, 4]
    assert "credits 4 differ from the curriculum's 5" in reasons[2]
    assert "grades come after it" in reasons[3]
    assert "2031-2032 has no academic calendar" in reasons[4]
    assert run_import("grades", "g.csv", csv_bytes(GRADE_HEADER, rows[3:])).ok


def test_a_changed_name_is_a_conflict_for_a_personal_data_order_and_a_changed_email_is_recorded(make):
    group = make.group(course=1)
    [iin] = iins(1, 9600)
    rows = student_rows(group.name, [iin])
    assert run_import("students", "s.csv", csv_bytes(STUDENT_HEADER, rows)).ok
    student = db.session.scalar(select(Student).where(Student.iin == iin))
    rows[0][1], rows[0][4] = "Жумабаева", "married@example.kz"  # surname after marriage, a new address
    plan = run_import("students", "s.csv", csv_bytes(STUDENT_HEADER, rows))
    assert plan.ok
    assert plan.conflicts == [(student, {"surname": "Жумабаева"})]
    db.session.expire_all()
    assert (student.surname, student.email) == ("Серикова", "married@example.kz")  # the name waits for an order
    [movement] = db.session.scalars(select(StudentMovement).where(StudentMovement.student_id == student.id))
    assert (movement.kind, movement.changes) == ("import", {"email": ["s0@example.kz", "married@example.kz"]})
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.subject == f"student:{student.id}"))
    assert event.action == "student.email_changed" and event.data == {
        "old": "s0@example.kz",
        "new": "married@example.kz",
    }


def test_names_hold_only_letters_hyphens_apostrophes_and_spaces(make):
    group = make.group(course=1)
    numbers = iins(4, 9700)
    rows = student_rows(group.name, numbers)
    rows[0][1] = "<script>"
    rows[1][2] = "Анна2"
    rows[2][1], rows[2][2] = "Ақжол-Әбілқайыр", "D'Artagnan Ёлка"  # Kazakh, Russian, Latin, hyphen, apostrophe
    reasons = {e.row: e.reason for e in run_import("students", "s.csv", csv_bytes(STUDENT_HEADER, rows)).errors}
    assert sorted(reasons) == [2, 3]
    assert "surname '<script>' may hold only letters" in reasons[2] and "name 'Анна2'" in reasons[3]


def test_every_example_on_the_import_page_imports_into_the_demo_university(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "CLOCK_NOW", datetime(2026, 12, 1, 6, tzinfo=UTC))
    seed_demo(students=20)
    for kind in ("students", "curriculum", "grades"):
        plan = run_import(kind, f"{kind}.csv", EXAMPLES[kind].encode())
        assert plan.ok, (kind, plan.errors)
        assert plan.counts["created"] == 1


def test_the_conflicts_listed_on_the_page_become_a_personal_data_draft_in_one_click(client, uni, upload_dir):
    login(client, uni.clerk)
    [iin] = iins(1, 9800)
    rows = student_rows(uni.ga.name, [iin])
    assert run_import("students", "s.csv", csv_bytes(STUDENT_HEADER, rows)).ok
    student = db.session.scalar(select(Student).where(Student.iin == iin))
    rows[0][1] = "Жумабаева"
    page = upload(client, "students", "s.csv", csv_bytes(STUDENT_HEADER, rows))
    assert page.status_code == 200 and 'data-testid="import-conflicts"' in page.text and "Жумабаева" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="((?:student_id|surname-\d+))" value="([^"]*)"', page.text))
    assert fields == {"student_id": str(student.id), f"surname-{student.id}": "Жумабаева"}
    # The page's button posts to the endpoint the kind declares (the page names no kind).
    [action] = re.findall(r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrf_token"', page.text)
    assert action == "/orders/personal-data/from-import"
    response = client.post(action, data=fields)
    assert response.status_code == 302
    order = db.session.scalar(select(Order).where(Order.kind == "personal_data").order_by(Order.id.desc()))
    assert response.headers["Location"].endswith(f"/orders/{order.id}")
    [line] = order.lines
    assert (line.student_id, line.params["surname"], order.state) == (student.id, "Жумабаева", "draft")
    db.session.refresh(student)
    assert student.surname == "Серикова"
