"""What the registrar office files beside the orders: versions of the Word templates and the basis documents uploaded
on order lines; and the one place the renderer takes a template from. (Each signed line's extract is frozen by
`orders.verification`.)

Templates: the built-in files in `templates/docx/` are version 0 of every kind and part. An uploaded version is kept
for one kind (or `*`: every kind) and one part (`order`: the whole order, `extract`: the per-student extract; both
are bilingual, the Kazakh and Russian parts sit in the same file). The active version of the order's kind wins, then
the active version for every kind, then the built-in file. What a render used is frozen with it: the order's
document keeps `template_id`, and every extract context carries `template_ids`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db, utcnow
from core.labels import register_labels
from core.models import User

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "docx"
PARTS = ("order", "extract")
EVERY_KIND = "*"
BUILT_IN = {part: (TEMPLATE_DIR / f"{part}.docx").read_bytes() for part in PARTS}

DOCUMENT_TYPES = (
    "application",
    "dean_submission",
    "medical_certificate",
    "transcript",
    "military_call_up",
    "birth_certificate",
    "council_decision",
    "contract",
    "identity_document",
    "other",
)
# Labels of the parts and of the document types, keyed apart from the same words other codes use (`document_<type>`).
register_labels(
    {
        "order_part": _l("the whole order"),
        "extract_part": _l("the extract (one student)"),
        "document_application": _l("application"),
        "document_dean_submission": _l("dean's submission"),
        "document_medical_certificate": _l("medical certificate"),
        "document_transcript": _l("transcript"),
        "document_military_call_up": _l("military call-up"),
        "document_birth_certificate": _l("birth certificate"),
        "document_council_decision": _l("council decision"),
        "document_contract": _l("contract"),
        "document_identity_document": _l("identity document"),
        "document_other": _l("other"),
    }
)


class TemplateVersion(db.Model):
    """An uploaded Word template; at most one active per kind and part (a partial unique index)."""

    __tablename__ = "template_versions"
    __table_args__ = (
        UniqueConstraint("kind", "part", "version", name="uq_template_versions_kind_part_version"),
        CheckConstraint("part IN ('order', 'extract')", name="part"),
        CheckConstraint("version > 0", name="version"),
        Index(
            "ix_template_versions_one_active",
            "kind",
            "part",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    part: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(300), default="")
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=False)

    uploaded_by: Mapped[User] = relationship()


class LineFile(db.Model):
    """A basis document (application, certificate, transcript...) uploaded on an order line, stored in the database
    with the order: one backup holds both, and a signed order's files are never deleted."""

    __tablename__ = "line_files"
    __table_args__ = (CheckConstraint("size > 0", name="size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    document_type: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    uploaded_by: Mapped[User] = relationship()


def chosen_ids(kind: str) -> dict[str, int | None]:
    """The template version a render of `kind` uses now, per part: the kind's active version, else the active one
    for every kind, else None (the built-in file). One query."""
    rows = db.session.execute(
        select(TemplateVersion.part, TemplateVersion.kind, TemplateVersion.id).where(
            TemplateVersion.active.is_(True), TemplateVersion.kind.in_((kind, EVERY_KIND))
        )
    ).all()
    found = {(part, of): version_id for part, of, version_id in rows}
    return {part: found.get((part, kind), found.get((part, EVERY_KIND))) for part in PARTS}


def template_label(template_id: int | None) -> str | None:
    """How an order document names an uploaded template version (`v3-<sha256 prefix>`); None for the built-in."""
    if not template_id:
        return None
    row = db.session.execute(
        select(TemplateVersion.version, TemplateVersion.sha256).where(TemplateVersion.id == template_id)
    ).one()
    return f"v{row.version}-{row.sha256[:12]}"


def template_content(part: str, template_id: int | None) -> bytes:
    """The bytes of a template version (None or 0: the built-in file)."""
    if not template_id:
        return BUILT_IN[part]
    content = db.session.scalar(select(TemplateVersion.content).where(TemplateVersion.id == template_id))
    if content is None:
        raise LookupError(f"template version {template_id} does not exist")
    return content


# A template being validated at upload: renders inside `trying()` use it, and record the contexts they were given.
_TRYING: ContextVar[tuple[str, bytes, list[dict]] | None] = ContextVar("template_trying", default=None)


@contextmanager
def trying(part: str, content: bytes) -> Iterator[list[dict]]:
    """Render `part` with `content` instead of any stored version while inside; yields the list of the contexts
    rendered with it (what the placeholders may name)."""
    seen: list[dict] = []
    token = _TRYING.set((part, content, seen))
    try:
        yield seen
    finally:
        _TRYING.reset(token)


def template_for(part: str, context: dict) -> bytes:
    """The template a render of `part` with `context` uses: the version its `template_ids` names (None: built-in)."""
    trial = _TRYING.get()
    if trial is not None and trial[0] == part:
        trial[2].append(context)
        return trial[1]
    return template_content(part, (context.get("template_ids") or {}).get(part))
