"""A kind plugs in through the registry alone, and nothing outside orders/kinds/ names a kind."""

import io
import re
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from flask_babel import gettext as _

from orders import operations
from orders.kind import LineContext, OrderKind
from orders.models import Order, OrderLine
from orders.params import ParamsSchema, effective_date_field
from orders.registry import KINDS, get_kind, register, unregister
from orders.wording import describe_student
from students.models import STATUSES
from tests.conftest import sign
from workflow.engine import Refusal

ROOT = Path(__file__).resolve().parent.parent.parent
# Everything but the kinds themselves: the packages (orders outside orders/kinds/) and the shared templates.
SOURCES = ("core", "students", "workflow", "notifications", "orders", "approvals", "reports", "registrar", "templates")
SUFFIXES = (".py", ".html", ".txt", ".yaml")
# The demo's five-year scenario drafts orders of named kinds as a clerk would through the API: seed data like the
# tests' factories, not a rule about a kind; nothing else may name one.
SCENARIOS = (ROOT / "registrar" / "demo_history.py",)


class CommendationParams(ParamsSchema):
    effective_date = effective_date_field()


class Commendation(OrderKind):
    """A kind that changes nothing: a commendation (благодарность) for active students."""

    name = "commendation"
    title_ru = "Об объявлении благодарности"
    title_kk = "Алғыс жариялау туралы"
    params_schema = CommendationParams
    changes_record = False

    def label(self) -> str:
        return "Commendation"

    def check_line(self, line: OrderLine, context: LineContext) -> list[Refusal]:
        if line.student.status == "active":
            return []
        return [Refusal("commendation.status", _("Only active students are commended."), {})]

    def apply(self, line: OrderLine, order: Order) -> dict:
        return {}

    def preview(self, line: OrderLine) -> dict:
        return {}

    def item_text(self, line: OrderLine, language: str) -> str:
        student = describe_student(line.student, language, "dative").rstrip(",")
        if language == "kk":
            return f"{student} оқудағы табыстары үшін алғыс жариялансын."
        return f"Объявить благодарность {student} за успехи в учебе."


@pytest.fixture
def commendation():
    kind = register(Commendation())
    yield kind
    unregister(kind.name)


def test_a_kind_registered_alone_is_drafted_visaed_signed_and_printed(commendation, uni, make):
    student = make.student(uni.ga, surname="Абаева", name="Динара")
    order = operations.create_order(
        "commendation", uni.clerk, {"effective_date": "2026-12-01", "basis": "Представление декана"}
    )
    operations.add_students(order, [student.id], uni.clerk)
    assert get_kind(order.kind) is commendation
    assert order.route_name == "movement"
    assert order.lines[0].eligible

    sign(order, uni)

    assert order.state == "signed"
    assert order.number_label
    text = "\n".join(p.text for p in Document(io.BytesIO(order.document.content)).paragraphs)
    assert "Объявить благодарность обучающейся" in text and "Абаевой Динаре Сериковне (ИИН" in text
    assert "оқудағы табыстары үшін алғыс жариялансын" in text
    assert student.status == "active"


def test_unregistered_kind_is_gone(uni):
    kind = register(Commendation())
    unregister(kind.name)
    assert "commendation" not in KINDS
    with pytest.raises(operations.InvalidInput):
        operations.create_order("commendation", uni.clerk, {"effective_date": date(2026, 12, 1), "basis": "—"})


def kind_names_pattern() -> re.Pattern:
    """A kind's name, or one of its own pages' endpoints (`'personal_data.from_import'`), as a quoted literal. A kind
    named like a student status (academic_leave) is skipped: the status is a generic code of the student record."""
    names = [name for name in KINDS if name not in STATUSES]
    pages = {bp.name for kind in KINDS.values() for bp in (*kind.blueprints, *kind.api_blueprints)}
    return re.compile(
        "[\"']({})[\"']|[\"']((?:{})\\.\\w+)[\"']".format(
            "|".join(map(re.escape, names)), "|".join(map(re.escape, sorted(pages)))
        )
    )


def test_the_check_finds_a_kind_and_a_kind_s_endpoint():
    pattern = kind_names_pattern()
    assert pattern.search('create_order("expulsion", clerk, params)')
    assert pattern.search("<form action=\"{{ url_for('personal_data.from_import') }}\">")
    assert not pattern.search("url_for('imports.index')") and not pattern.search('label("academic_leave")')


def test_no_module_outside_the_kinds_names_a_kind():
    """Every registered kind's name, or an endpoint of a kind's own pages, as a quoted literal outside
    orders/kinds/."""
    literal = kind_names_pattern()
    kinds_folder = ROOT / "orders" / "kinds"
    found = []
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*")):
            if path.suffix not in SUFFIXES or kinds_folder in path.parents or path in SCENARIOS:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                found += [f"{path.relative_to(ROOT)}:{number}: {m.group(0)}" for m in literal.finditer(line)]
    assert not found, "kinds named outside orders/kinds/:\n" + "\n".join(found)
