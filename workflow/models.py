"""Visas and the append-only audit log of every state change."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import db, utcnow
from core.models import User

DECISIONS = ("approved", "returned", "rejected", "signed")
ORDER_ACTION = "order"  # the action of an order's events (state changes and overrides)


class Visa(db.Model):
    """One decision by one person on one step of one round of a subject's route."""

    __tablename__ = "visas"
    __table_args__ = (
        CheckConstraint("decision IN ('approved', 'returned', 'rejected', 'signed')", name="decision"),
        # The inbox probes visas by order and round; covering columns make those index-only scans.
        Index(
            "ix_visas_order_id_round_cover",
            "order_id",
            "round",
            postgresql_include=["decided_by_id", "acting_for_id", "step", "decision", "faculty_id"],
        ),
        Index("ix_visas_decided_by_id_order_id", "decided_by_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Subjects are orders; the key names the table so the engine needs no import from above.
    # No cascade: deleting an order must not delete its history (the database refuses it).
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    round: Mapped[int]
    step: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    faculty_id: Mapped[int | None] = mapped_column(ForeignKey("faculties.id"))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    acting_for_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    decided_by: Mapped[User] = relationship(foreign_keys=[decided_by_id], lazy="joined")
    acting_for: Mapped[User | None] = relationship(foreign_keys=[acting_for_id], lazy="joined")


class ApprovalSlot(db.Model):
    """One visa (or the signature) a subject still waits for at its current step: who may give it (`role`, and the
    faculty for a per-faculty step), one row per role of the step and per visa missing (`seat` 1..n).

    Derived data kept by `engine.fire()` in the transaction of the state change (rows appear when a subject enters
    a step, go when the visa is given or the subject leaves the step), so that "what waits for me" is an index
    lookup on (role, faculty) instead of an anti-join over every visa. The visas stay the source of truth."""

    __tablename__ = "approval_slots"
    __table_args__ = (
        CheckConstraint("seat >= 1", name="seat"),
        # The inbox: slots of a role (and faculty), with the order id read from the index alone.
        Index("ix_approval_slots_role_faculty_id_order_id", "role", "faculty_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    round: Mapped[int]
    step: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    faculty_id: Mapped[int | None] = mapped_column(ForeignKey("faculties.id"))
    seat: Mapped[int] = mapped_column(default=1)


class AuditEvent(db.Model):
    """Append-only record of a state change (who, on whose behalf, from, to, why, on which route version) or of
    another action (`action` and `subject`, e.g. "user.created" on "user:12"; `actor` None for the command line).

    Every event is linked into one hash chain by `workflow.audit.seal()`: `chain_seq` is its position, `prev_sha256`
    the hash of the event before it and `sha256` the hash of that and its own content. The database refuses UPDATE
    and DELETE, except the one sealing UPDATE that fills those three columns."""

    __tablename__ = "audit_events"
    __table_args__ = (CheckConstraint("order_id IS NOT NULL OR subject IS NOT NULL", name="subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No cascade: deleting an order must not delete its history (the database refuses it).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    action: Mapped[str] = mapped_column(String(32), default=ORDER_ACTION, server_default=ORDER_ACTION)
    subject: Mapped[str | None] = mapped_column(String(100), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acting_for_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    trigger: Mapped[str | None] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    route_name: Mapped[str | None] = mapped_column(String(32))
    route_version: Mapped[int | None]
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    chain_seq: Mapped[int | None] = mapped_column(unique=True)
    prev_sha256: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id], lazy="joined")


class RouteVersion(db.Model):
    """A saved version of a route (version 1 of each route is the built-in default). Never updated."""

    __tablename__ = "route_versions"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_route_versions_name_version"),
        CheckConstraint("version >= 2", name="version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    definition: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeadlineNotice(db.Model):
    """A reminder or escalation sent for one step of one round of an order: each is sent once."""

    __tablename__ = "deadline_notices"
    __table_args__ = (
        UniqueConstraint("order_id", "round", "step", "kind", name="uq_deadline_notices_once"),
        CheckConstraint("kind IN ('reminder', 'escalation')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    round: Mapped[int]
    step: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
