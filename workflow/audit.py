"""The audit chain: every audit event linked to the one before it by SHA-256, and the database guards that keep the
history (audit events, visas, student movements, signed documents) append-only.

Why a sealer and not a lock: many transactions write audit events at once (every visa, every signing), and a chain
needs one total order. Linking an event while it is written would make each writer read the chain's head and hold it
until commit, so every signing would wait for the longest one in flight. Instead `fire()` and the other writers
insert their event unlinked (no extra read, no lock), and `seal()` (run by each scheduler pass and by `registrar
audit seal`) links the committed, unlinked events afterwards in id order. Only one sealer runs at a time (a
transaction-level advisory lock on PostgreSQL; SQLite has one writer anyway), and `chain_seq` is unique, so the
chain cannot fork. An event whose transaction commits after a later id was sealed simply gets the next position:
the chain's order is `chain_seq`, not the id.

The guards: on PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE on the history tables; the one UPDATE allowed
is the sealer's, which fills `chain_seq`, `prev_sha256` and `sha256` of an unsealed event and changes nothing else.
SQLite gets the same row triggers. Only someone who can drop or disable triggers (the database owner or a
superuser) can rewrite history, and `verify_chain()` then finds the first broken link. What the chain cannot show on
its own is the removal of the newest events together with their links: keep the head hash that `registrar audit
verify` prints (with each backup, say) to compare later.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import lazyload

from core.db import db, is_postgres
from core.models import User
from core.users import user_changed
from workflow.models import AuditEvent

GENESIS = "0" * 64  # the "previous hash" of the first event
HISTORY_TABLES = ("audit_events", "visas", "student_movements", "order_documents")
CHAIN_COLUMNS = ("chain_seq", "prev_sha256", "sha256")
_SEAL_LOCK = 7_310_001  # the advisory lock key of the sealer (any constant no other code uses)
# The columns of audit_events that a seal must leave as they are (the SQLite trigger lists them; PostgreSQL's
# trigger compares the whole row but the chain columns).
_CONTENT_COLUMNS = (
    "id",
    "order_id",
    "action",
    "subject",
    "actor_id",
    "acting_for_id",
    "trigger",
    "from_state",
    "to_state",
    "comment",
    "route_name",
    "route_version",
    "data",
    "created_at",
)


def record_order_event(order, actor_id: int | None, trigger: str, data: dict, comment: str = "") -> AuditEvent:
    """Add an audit event about an order that leaves its state as it is (lines removed, a rule overridden, effects
    applied on their day): the state before and after is the order's state now, the route the order's."""
    event = AuditEvent(
        order_id=order.id,
        actor_id=actor_id,
        trigger=trigger,
        from_state=order.state,
        to_state=order.state,
        comment=comment,
        route_name=order.route_name,
        route_version=order.route_version,
        data=data,
    )
    db.session.add(event)
    return event


def record_event(actor: User | None, action: str, subject: str, data: dict | None = None) -> AuditEvent:
    """Add an audit event about something other than an order's state (`actor` None: the command line)."""
    event = AuditEvent(action=action, subject=subject, actor_id=actor.id if actor else None, data=data or {})
    db.session.add(event)
    return event


def _record_user_change(actor: User | None, *, action: str, user: User, data: dict) -> None:
    record_event(actor, action, f"user:{user.id}", {"username": user.username, **data})


def init_app(app) -> None:
    """Record every user administration change (`core.users.user_changed`) in the audit log."""
    user_changed.connect(_record_user_change, weak=False)


def _moment(value: datetime) -> str:
    aware = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return aware.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(previous: str, event: AuditEvent) -> str:
    """SHA-256 of the previous event's hash and this event's content, as canonical JSON."""
    content = {column: getattr(event, column) for column in _CONTENT_COLUMNS}
    content["created_at"] = _moment(event.created_at)
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


def _head() -> tuple[int, str]:
    row = db.session.execute(
        select(AuditEvent.chain_seq, AuditEvent.sha256)
        .where(AuditEvent.chain_seq.is_not(None))
        .order_by(AuditEvent.chain_seq.desc())
        .limit(1)
    ).first()
    return (row.chain_seq, row.sha256) if row else (0, GENESIS)


def seal(batch: int = 1000) -> int:
    """Link every committed, unlinked audit event into the chain, in id order; the number linked. The caller
    commits."""
    if is_postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEAL_LOCK})
    position, previous = _head()
    sealed = 0
    while True:
        events = list(
            db.session.scalars(
                select(AuditEvent)
                .options(lazyload(AuditEvent.actor))
                .where(AuditEvent.sha256.is_(None))
                .order_by(AuditEvent.id)
                .limit(batch)
            )
        )
        for event in events:
            position += 1
            event.chain_seq, event.prev_sha256 = position, previous
            event.sha256 = previous = event_hash(previous, event)
        db.session.flush()
        sealed += len(events)
        if len(events) < batch:
            return sealed


@dataclass
class ChainReport:
    sealed: int  # events checked in the chain
    unsealed: int  # events not linked yet (the next seal links them)
    head: str  # the hash of the newest sealed event (GENESIS for an empty chain)
    broken: str | None  # the first broken link, said in words; None when the chain holds


def verify_chain() -> ChainReport:
    """Walk the chain in order and recompute every link; stop at the first that does not hold."""
    expected, previous = 1, GENESIS
    query = (
        select(AuditEvent)
        .options(lazyload(AuditEvent.actor))
        .where(AuditEvent.chain_seq.is_not(None))
        .order_by(AuditEvent.chain_seq)
        .execution_options(yield_per=1000)
    )
    unsealed = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.sha256.is_(None)))
    broken = None
    for event in db.session.scalars(query):
        if event.chain_seq != expected:
            broken = f"position {expected} is missing (event {event.id} holds position {event.chain_seq})"
        elif event.prev_sha256 != previous:
            broken = f"position {expected} (event {event.id}): its link to the previous event does not match"
        elif event_hash(previous, event) != event.sha256:
            broken = f"position {expected} (event {event.id}): its content does not match its hash"
        if broken:
            break
        expected, previous = expected + 1, event.sha256
    return ChainReport(sealed=expected - 1, unsealed=unsealed, head=previous, broken=broken)


# The guards, as installed by migration 0010 and, for the movements' order label, 0015 (a copy lives in each so that
# the migrations never change). Tests that commit drop and re-create them to clean up.

_PG_FUNCTIONS = (
    """CREATE OR REPLACE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '42501',
        MESSAGE = 'history is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused';
END $$""",
    """CREATE OR REPLACE FUNCTION audit_events_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.sha256 IS NULL AND NEW.sha256 IS NOT NULL
       AND to_jsonb(NEW) - ARRAY['chain_seq', 'prev_sha256', 'sha256']
           = to_jsonb(OLD) - ARRAY['chain_seq', 'prev_sha256', 'sha256'] THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'history is append-only: UPDATE on audit_events refused (only sealing is allowed)'
        USING ERRCODE = '42501';
END $$""",
    """CREATE OR REPLACE FUNCTION student_movements_stamp_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.applied_at IS NULL OR NEW.applied_at IS NOT DISTINCT FROM OLD.applied_at)
       AND (OLD.voided_at IS NULL OR NEW.voided_at IS NOT DISTINCT FROM OLD.voided_at)
       AND (OLD.order_label IS NULL OR NEW.order_label IS NOT DISTINCT FROM OLD.order_label)
       AND to_jsonb(NEW) - ARRAY['applied_at', 'voided_at', 'order_label']
           = to_jsonb(OLD) - ARRAY['applied_at', 'voided_at', 'order_label'] THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'history is append-only: UPDATE on student_movements refused (only its applied and voided times '
        'and its order label are set, once)' USING ERRCODE = '42501';
END $$""",
)
# The one UPDATE each table allows, besides none: sealing an audit event, stamping a movement applied or voided once,
# and its order label once (signing writes the movements first and takes the order's number last).
_UPDATE_FUNCTIONS = {"audit_events": "audit_events_seal_only", "student_movements": "student_movements_stamp_only"}
_MOVEMENT_STAMPS = ("applied_at", "voided_at", "order_label")
_MOVEMENT_COLUMNS = (
    "id",
    "student_id",
    "order_line_id",
    "kind",
    "effective_date",
    "changes",
    "reason",
    "created_at",
    "known_since",
    "record_after",
)


def guard_statements(dialect: str) -> list[str]:
    """The SQL that installs the append-only triggers on `dialect` ("postgresql" or "sqlite")."""
    statements = list(_PG_FUNCTIONS) if dialect == "postgresql" else []
    for table in HISTORY_TABLES:
        if dialect == "postgresql":
            function = _UPDATE_FUNCTIONS.get(table, "history_append_only")
            statements += [
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()",
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION history_append_only()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION history_append_only()",
            ]
            continue
        refuse = "BEGIN SELECT RAISE(ABORT, 'history is append-only: {op} on {table} refused'); END"
        when = ""
        if table == "audit_events":
            changed = " OR ".join(f'NEW."{column}" IS NOT OLD."{column}"' for column in _CONTENT_COLUMNS)
            when = f"WHEN OLD.sha256 IS NOT NULL OR NEW.sha256 IS NULL OR {changed} "
        if table == "student_movements":
            stamps = " OR ".join(
                f'(OLD."{column}" IS NOT NULL AND NEW."{column}" IS NOT OLD."{column}")' for column in _MOVEMENT_STAMPS
            )
            changed = " OR ".join(f'NEW."{column}" IS NOT OLD."{column}"' for column in _MOVEMENT_COLUMNS)
            when = f"WHEN {stamps} OR {changed} "
        statements += [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} {when}"
            + refuse.format(op="UPDATE", table=table),
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} " + refuse.format(op="DELETE", table=table),
        ]
    return statements


def unguard_statements(dialect: str) -> list[str]:
    """The SQL that removes the append-only triggers (and, on PostgreSQL, their functions)."""
    suffixes = ("no_update", "no_delete", "no_truncate") if dialect == "postgresql" else ("no_update", "no_delete")
    on = " ON {table}" if dialect == "postgresql" else ""
    statements = [
        f"DROP TRIGGER IF EXISTS {table}_{suffix}{on.format(table=table)}"
        for table in HISTORY_TABLES
        for suffix in suffixes
    ]
    if dialect == "postgresql":
        statements += [
            "DROP FUNCTION IF EXISTS audit_events_seal_only()",
            "DROP FUNCTION IF EXISTS history_append_only()",
            "DROP FUNCTION IF EXISTS student_movements_stamp_only()",
        ]
    return statements


def set_history_guards(connection: Connection, *, on: bool) -> None:
    """Install (`on`) or remove the append-only triggers, on the connection's own database."""
    dialect = connection.dialect.name
    for statement in guard_statements(dialect) if on else unguard_statements(dialect):
        connection.exec_driver_sql(statement)
