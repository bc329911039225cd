"""Orders, their lines, the frozen document, and the per-year number sequences."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db, utcnow
from core.models import User
from students.models import Group, Programme, Student
from workflow.models import AuditEvent, Visa
from workflow.routes import TERMINAL_STATES

# Visa states are `review_<step>` for whatever steps a route has; the rest are fixed.
STATE_CHECK = (
    "state IN ('draft', 'awaiting_signature', 'signed', 'rejected', 'withdrawn') OR state LIKE 'review\\_%' ESCAPE '\\'"
)


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(STATE_CHECK, name="state"),
        CheckConstraint("(state = 'signed') = (number IS NOT NULL)", name="number_iff_signed"),
        UniqueConstraint("year", "series", "number", name="uq_orders_year_series_number"),
        Index("ix_orders_state", "state"),
        CheckConstraint(
            "superseded_as IS NULL OR (superseded_as IN ('revoked', 'amended') AND state = 'signed' "
            "AND superseded_by_id IS NOT NULL)",
            name="superseded",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), default="draft")
    version: Mapped[int] = mapped_column(default=1)
    round: Mapped[int] = mapped_column(default=0)
    route_name: Mapped[str] = mapped_column(String(32))
    route_version: Mapped[int]
    series: Mapped[str] = mapped_column(String(8))
    year: Mapped[int | None]
    number: Mapped[int | None]
    number_label: Mapped[str | None] = mapped_column(String(32))
    order_date: Mapped[date | None]
    title: Mapped[str] = mapped_column(String(300))
    basis: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    step_entered_at: Mapped[datetime | None]  # when the current state began: deadlines count from here
    due_at: Mapped[datetime | None] = mapped_column(index=True)  # when the current step is due (working days)
    signed_at: Mapped[datetime | None]
    # A revocation or amendment names the signed order it corrects; signing it marks that order superseded.
    target_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    superseded_as: Mapped[str | None] = mapped_column(String(16))  # revoked | amended
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    target_order: Mapped["Order | None"] = relationship(foreign_keys=[target_order_id], remote_side=[id])
    superseded_by: Mapped["Order | None"] = relationship(foreign_keys=[superseded_by_id], remote_side=[id])
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.position"
    )
    visas: Mapped[list[Visa]] = relationship(order_by=Visa.id, viewonly=True)
    events: Mapped[list[AuditEvent]] = relationship(order_by=AuditEvent.id, viewonly=True)
    document: Mapped["OrderDocument | None"] = relationship(back_populates="order")

    __mapper_args__ = {"version_id_col": version}

    @property
    def faculty_ids(self) -> set[int]:
        """Faculties the lines concern, the student's and the target group's (`line_faculties`); one or two small
        queries."""
        if "lines" in self.__dict__:
            return set().union(*line_faculties(self.lines))
        own = select(OrderLine.faculty_id).where(OrderLine.order_id == self.id)
        target = (
            select(Programme.faculty_id)
            .join(Group, Group.programme_id == Programme.id)
            .where(Group.id.in_(select(TARGET_GROUP_ID).where(OrderLine.order_id == self.id)))
        )
        return set(db.session.scalars(own.union(target)))

    @property
    def override_by_ids(self) -> set[int]:
        """Who accepted a line of this order against a rule; one small query unless the lines are loaded already."""
        if "lines" in self.__dict__:
            return {line.override_by_id for line in self.lines if line.override_by_id is not None}
        return set(
            db.session.scalars(
                select(OrderLine.override_by_id)
                .where(OrderLine.order_id == self.id, OrderLine.override_by_id.is_not(None))
                .distinct()
            )
        )

    @property
    def is_open(self) -> bool:
        return self.state not in TERMINAL_STATES

    @property
    def label(self) -> str:
        return self.number_label or f"#{self.id}"


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "student_id", name="uq_order_lines_order_student"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    # The student's faculty when the line was drafted: scopes deans' visas and views without joins.
    faculty_id: Mapped[int] = mapped_column(ForeignKey("faculties.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    effective_date: Mapped[date]
    eligibility: Mapped[list] = mapped_column(JSON, default=list)  # refusals of the last check; empty = eligible
    applied_changes: Mapped[dict | None] = mapped_column(JSON)  # what signing changed, as shown to people
    # The exact columns signing overwrote, as they were before ({column: value}, dates as ISO text): for reversal.
    record_before: Mapped[dict | None] = mapped_column(JSON)
    # The registrar head accepted this line although a rule refused it: who, when, and the written justification.
    override_justification: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship(back_populates="lines")
    student: Mapped[Student] = relationship(lazy="joined")
    override_by: Mapped[User | None] = relationship()

    @property
    def eligible(self) -> bool:
        return not self.eligibility

    @property
    def overridden(self) -> bool:
        return self.override_justification is not None

    @property
    def accepted(self) -> bool:
        """Eligible, or refused by a rule but accepted by the registrar head."""
        return self.eligible or self.overridden


class OrderDocument(db.Model):
    """The DOCX rendered at signing. Frozen: never re-rendered, its SHA-256 proves it."""

    __tablename__ = "order_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(32))
    # The uploaded template version the order was rendered with (None: the built-in file, version 0).
    template_id: Mapped[int | None] = mapped_column(ForeignKey("template_versions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The public verification page's address (`/verify/<token>`): random, made before rendering (the QR code on every
    # page holds it). NULL for documents signed before verification existed.
    verify_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    # What every extract of the order shares (header, number, signatory, the template versions...), frozen at signing
    # as plain JSON.
    extract_common: Mapped[dict | None] = mapped_column(JSON)

    order: Mapped[Order] = relationship(back_populates="document")


class OrderExtract(db.Model):
    """A student's extract of a signed order: its words frozen at signing (`context`), its DOCX frozen the first time
    it is rendered (for the e-mail, a download or the personal file), and the same bytes every time after."""

    __tablename__ = "order_extracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    context: Mapped[dict] = mapped_column(JSON)  # the line's own item; the rest is the document's `extract_common`
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str | None] = mapped_column(String(64))
    rendered_at: Mapped[datetime | None]


class DocumentPdf(db.Model):
    """The PDF LibreOffice made of a frozen DOCX (an order or an extract), cached by the DOCX's SHA-256. A row is
    written when a conversion is asked for (`pending`) and completed by the worker (`ready` or `failed`)."""

    __tablename__ = "document_pdfs"
    __table_args__ = (CheckConstraint("status IN ('pending', 'ready', 'failed')", name="status"),)

    docx_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    converted_at: Mapped[datetime | None]


class OrderSequence(db.Model):
    """The last number used per calendar year and series; bumped inside the signing transaction: gapless."""

    __tablename__ = "order_sequences"

    year: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class OrderRound(db.Model):
    """What an order held when it was submitted for a round: lines and parameters, to show what changed since."""

    __tablename__ = "order_rounds"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    round: Mapped[int] = mapped_column(primary_key=True)
    snapshot: Mapped[dict] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


# What a faculty scope (core.scope.faculty_scope: None for the whole university) lets a person see -----------------


# A line's `group_id` parameter is the group the student studies in after the order (transfers, restoration, leave
# return, promotion); when that group is of another faculty, both faculties' deans see the line and give a visa.
TARGET_GROUP_ID = OrderLine.params["group_id"].as_integer()


def line_faculties(lines: list[OrderLine]) -> list[set[int]]:
    """Each line's faculties, in order: the student's when drafted and the target group's; one query at most."""
    targets = {(line.params or {}).get("group_id") for line in lines} - {None}
    group_faculty = {}
    if targets:
        rows = db.session.execute(
            select(Group.id, Programme.faculty_id)
            .join(Programme, Group.programme_id == Programme.id)
            .where(Group.id.in_(targets))
        )
        group_faculty = dict(rows.tuples().all())
    return [
        {line.faculty_id}
        | ({group_faculty[target]} if (target := (line.params or {}).get("group_id")) in group_faculty else set())
        for line in lines
    ]


def lines_in_scope(faculties: set[int] | None) -> ColumnElement[bool]:
    """Order lines of the faculties seen: of a student of theirs, or into a group of theirs."""
    if faculties is None:
        return true()
    if not faculties:
        return false()
    their_groups = select(Group.id).join(Programme, Group.programme_id == Programme.id)
    return or_(
        OrderLine.faculty_id.in_(faculties),
        TARGET_GROUP_ID.in_(their_groups.where(Programme.faculty_id.in_(faculties))),
    )


def orders_in_scope(faculties: set[int] | None) -> ColumnElement[bool]:
    """Orders with a line of a faculty seen."""
    if faculties is None:
        return true()
    if not faculties:
        return false()
    return exists().where(OrderLine.order_id == Order.id, lines_in_scope(faculties))


def numbered(text: str, by_id: ColumnElement | None = None) -> ColumnElement[bool]:
    """Orders a search names: "#12" by id (`by_id`, Order.id unless given), "12" by number, else by label."""
    text = text.removeprefix("№").strip()
    if text.startswith("#") and text[1:].isdigit() and int(text[1:]) < 2**31:
        return (Order.id if by_id is None else by_id) == int(text[1:])
    if text.isdigit() and int(text) < 2**31:
        return Order.number == int(text)
    return func.lower(Order.number_label) == text.lower()
