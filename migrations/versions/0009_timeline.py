"""The timeline: every movement keeps the date it is valid from and the time it became known; effects wait for their
effective date; the record of one student or the whole contingent on any date as known on any day is read in SQL.

Reviewed by hand. `student_movements` gains `known_since` (NOT NULL), `applied_at`, `voided_at` and `record_after`;
the new table `record_changes` holds one row per field a movement or an enrolment sets (see `students/timeline.py`).

Backfill, so that an existing database keeps its answers:
- every movement was applied at signing: `known_since` = `applied_at` = `created_at`;
- a movement reversed by a signed revocation or amendment is voided from that correction's signing on (answers known
  before it are unchanged; answers known after it no longer read the revoked measure between its effective date and
  the revocation's, which was the bug this revision fixes);
- the fields each movement set are rebuilt by the replay the code used so far (the current record with the movements
  undone newest first), and the record before a student's first movement becomes the enrolment. An existing database
  does not know when its students were enrolled, and the replay answered every earlier date with the oldest record
  it had, so the enrolment is valid from EVER (01.01.1900) and known since the student was entered; students entered
  from now on are enrolled from their `status_since`, else the day they are entered.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00

"""
from datetime import date

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FIELDS = ("status", "course", "group_id", "funding", "expulsion_reason")
CORRECTION_KINDS = ("revocation", "amendment")
EVER = date(1900, 1, 1)

students = sa.table(
    "students",
    sa.column("id", sa.Integer), sa.column("status", sa.String), sa.column("course", sa.Integer),
    sa.column("group_id", sa.Integer), sa.column("funding", sa.String), sa.column("expulsion_reason", sa.String),
    sa.column("status_since", sa.Date), sa.column("created_at", sa.DateTime(timezone=True)),
)
movements = sa.table(
    "student_movements",
    sa.column("id", sa.Integer), sa.column("student_id", sa.Integer), sa.column("order_line_id", sa.Integer),
    sa.column("kind", sa.String), sa.column("effective_date", sa.Date), sa.column("changes", sa.JSON),
    sa.column("reason", sa.String), sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("known_since", sa.DateTime(timezone=True)), sa.column("applied_at", sa.DateTime(timezone=True)),
    sa.column("voided_at", sa.DateTime(timezone=True)),
)
order_lines = sa.table(
    "order_lines", sa.column("id", sa.Integer), sa.column("order_id", sa.Integer), sa.column("params", sa.JSON)
)
orders = sa.table(
    "orders", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("state", sa.String),
    sa.column("signed_at", sa.DateTime(timezone=True)),
)
groups = sa.table("groups", sa.column("id", sa.Integer), sa.column("name", sa.String))


def upgrade():
    with op.batch_alter_table('student_movements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('known_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('record_after', sa.JSON(), nullable=True))
        batch_op.create_index('ix_student_movements_applied_at_effective_date', ['applied_at', 'effective_date'], unique=False)

    op.create_table('record_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('movement_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=32), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('known_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("field IN ('status', 'course', 'group_id', 'funding', 'expulsion_reason')", name=op.f('ck_record_changes_field')),
    sa.ForeignKeyConstraint(['movement_id'], ['student_movements.id'], name=op.f('fk_record_changes_movement_id_student_movements')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_record_changes_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_changes'))
    )
    with op.batch_alter_table('record_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_changes_movement_id'), ['movement_id'], unique=False)
        batch_op.create_index('ix_record_changes_student_id_field_effective_date', ['student_id', 'field', 'effective_date'], unique=False)

    backfill(op.get_bind())

    with op.batch_alter_table('student_movements', schema=None) as batch_op:
        batch_op.alter_column('known_since', existing_type=sa.DateTime(timezone=True), nullable=False)


def backfill(bind) -> None:
    bind.execute(movements.update().values(known_since=movements.c.created_at, applied_at=movements.c.created_at))

    # Voided: the lines a signed correction names, from that correction's signing.
    corrections = bind.execute(
        sa.select(order_lines.c.params, orders.c.signed_at)
        .join(orders, orders.c.id == order_lines.c.order_id)
        .where(orders.c.kind.in_(CORRECTION_KINDS), orders.c.state == "signed")
    ).all()
    for params, signed_at in corrections:
        target = (params or {}).get("target_line_id")
        if target is not None:
            bind.execute(movements.update().where(movements.c.order_line_id == target).values(voided_at=signed_at))

    group_ids = dict(bind.execute(sa.select(groups.c.name, groups.c.id)).all())
    history: dict[int, list] = {}
    for row in bind.execute(sa.select(movements).order_by(movements.c.student_id, movements.c.effective_date, movements.c.id)):
        history.setdefault(row.student_id, []).append(row)
    rows = []
    for student in bind.execute(sa.select(students).order_by(students.c.id)):
        state = {field: getattr(student, field) for field in FIELDS}
        moves = history.get(student.id, [])
        changed = []
        for index in range(len(moves) - 1, -1, -1):  # newest first, as the replay undid them
            movement = moves[index]
            changes = movement.changes or {}
            after = dict(state)
            fields = {field for field in changes if field in FIELDS}
            if "group" in changes:
                fields.add("group_id")
            if "status" in changes:
                fields.add("expulsion_reason")
            if movement.kind not in CORRECTION_KINDS:
                changed.append((movement, {field: after[field] for field in fields}))
            for field, change in changes.items():
                before = change[0] if isinstance(change, list) and len(change) == 2 else None
                if field in FIELDS:
                    state[field] = before
                elif field == "group" and "group_id" not in changes:
                    state["group_id"] = group_ids.get(before, before) if isinstance(before, str) else before
            if "status" in changes and "expulsion_reason" not in changes:
                state["expulsion_reason"] = _reason_before(state["status"], state["expulsion_reason"], moves[:index])
        for field in FIELDS:
            rows.append(_row(student.id, None, field, state[field], EVER, student.created_at, None))
        for movement, values in reversed(changed):
            for field, value in values.items():
                rows.append(
                    _row(student.id, movement.id, field, value, movement.effective_date, movement.created_at,
                         movement.voided_at)
                )
        if len(rows) >= 5000:
            op.bulk_insert(RECORD_CHANGES, rows)
            rows = []
    if rows:
        op.bulk_insert(RECORD_CHANGES, rows)


RECORD_CHANGES = sa.table(
    "record_changes",
    sa.column("student_id", sa.Integer), sa.column("movement_id", sa.Integer), sa.column("field", sa.String),
    sa.column("value", sa.String), sa.column("effective_date", sa.Date),
    sa.column("known_since", sa.DateTime(timezone=True)), sa.column("voided_at", sa.DateTime(timezone=True)),
)


def _row(student_id, movement_id, field, value, effective, known, voided) -> dict:
    return {
        "student_id": student_id, "movement_id": movement_id, "field": field,
        "value": None if value is None else str(value), "effective_date": effective, "known_since": known,
        "voided_at": voided,
    }


def _reason_before(status, reason, earlier):
    """The replay's rule: no reason unless expelled; when expelled, the one of the latest earlier expulsion."""
    if status != "expelled":
        return None
    for movement in reversed(earlier):
        change = (movement.changes or {}).get("status")
        if isinstance(change, list) and len(change) == 2 and change[1] == "expelled":
            recorded = (movement.changes or {}).get("expulsion_reason")
            if isinstance(recorded, list) and len(recorded) == 2 and recorded[1]:
                return recorded[1]
            return movement.reason or reason
    return reason


def downgrade():
    with op.batch_alter_table('record_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_record_changes_student_id_field_effective_date')
        batch_op.drop_index(batch_op.f('ix_record_changes_movement_id'))
    op.drop_table('record_changes')
    with op.batch_alter_table('student_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_student_movements_applied_at_effective_date')
        batch_op.drop_column('record_after')
        batch_op.drop_column('voided_at')
        batch_op.drop_column('applied_at')
        batch_op.drop_column('known_since')
