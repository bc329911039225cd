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
        student = describe_student(line.student, language).rstrip(",")
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
    assert "Объявить благодарность Абаева Динара" in text
    assert "оқудағы табыстары үшін алғыс жариялансын" in text
    assert student.status == "active"


def test_unregistered_kind_is_gone(uni):
    kind = register(Commendation())
    unregister(kind.name)
    assert "commendation" not in KINDS
    with pytest.raises(operations.InvalidInput):
        operations.create_order("commendation", uni.clerk, {"effective_date": date(2026, 12, 1), "basis": "—"})


def test_no_module_outside_the_kinds_names_a_kind():
    """Every registered kind's name as a quoted literal, outside orders/kinds/. A kind named like a student status
    (academic_leave) is skipped: the status is a generic code of the student record."""
    names = [name for name in KINDS if name not in STATUSES]
    literal = re.compile("[\"']({})[\"']".format("|".join(map(re.escape, names))))
    kinds_folder = ROOT / "orders" / "kinds"
    found = []
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*")):
            if path.suffix not in SUFFIXES or kinds_folder in path.parents:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                found += [f"{path.relative_to(ROOT)}:{number}: {match}" for match in literal.findall(line)]
    assert not found, "kinds named outside orders/kinds/:\n" + "\n".join(found)
