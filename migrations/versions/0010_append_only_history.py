"""Append-only, hash-chained history; users who must change their password.

Reviewed by hand.
- `audit_events`: the chain columns (`chain_seq` unique, `prev_sha256`, `sha256`; existing events stay unlinked
  until the next `seal()`); `action` ('order' for the existing rows) and `subject` so that events about users need
  no order; `order_id`, `actor_id` and the transition columns become nullable (a check keeps an order or a subject).
- `audit_events.order_id` and `visas.order_id` lose ON DELETE CASCADE: deleting an order no longer deletes its
  history (the triggers refuse it anyway).
- Triggers refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on audit_events, visas, student_movements and
  order_documents; the one UPDATE allowed fills the chain columns of an unlinked event. The SQL is a copy of
  `workflow.audit.guard_statements()` at this revision, so that a later change there does not change this migration.
  On SQLite a later `batch_alter_table` on one of these tables re-creates the table without its triggers: such a
  migration must install them again.
- `users.must_change_password` (false for everyone).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

HISTORY_TABLES = ('audit_events', 'visas', 'student_movements', 'order_documents')
CONTENT_COLUMNS = ('id', 'order_id', 'action', 'subject', 'actor_id', 'acting_for_id', 'trigger', 'from_state',
                   'to_state', 'comment', 'route_name', 'route_version', 'data', 'created_at')
# A movement is written once; the scheduler stamps when it reached the record and a revocation when it was voided,
# each once (migration 0009). Nothing else of it ever changes.
MOVEMENT_STAMPS = ('applied_at', 'voided_at')
MOVEMENT_COLUMNS = ('id', 'student_id', 'order_line_id', 'kind', 'effective_date', 'changes', 'reason', 'order_label',
                    'created_at', 'known_since', 'record_after')

PG_FUNCTIONS = (
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
       AND to_jsonb(NEW) - ARRAY['applied_at', 'voided_at'] = to_jsonb(OLD) - ARRAY['applied_at', 'voided_at'] THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'history is append-only: UPDATE on student_movements refused (only its applied and voided times are set, once)'
        USING ERRCODE = '42501';
END $$""",
)

UPDATE_FUNCTIONS = {'audit_events': 'audit_events_seal_only', 'student_movements': 'student_movements_stamp_only'}


def _guards(dialect):
    statements = list(PG_FUNCTIONS) if dialect == 'postgresql' else []
    for table in HISTORY_TABLES:
        if dialect == 'postgresql':
            function = UPDATE_FUNCTIONS.get(table, 'history_append_only')
            statements += [
                f'CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()',
                f'CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION history_append_only()',
                f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION history_append_only()',
            ]
            continue
        refuse = "BEGIN SELECT RAISE(ABORT, 'history is append-only: {op} on {table} refused'); END"
        when = ''
        if table == 'audit_events':
            changed = ' OR '.join(f'NEW."{column}" IS NOT OLD."{column}"' for column in CONTENT_COLUMNS)
            when = f'WHEN OLD.sha256 IS NOT NULL OR NEW.sha256 IS NULL OR {changed} '
        if table == 'student_movements':
            stamps = ' OR '.join(f'(OLD."{column}" IS NOT NULL AND NEW."{column}" IS NOT OLD."{column}")'
                                 for column in MOVEMENT_STAMPS)
            changed = ' OR '.join(f'NEW."{column}" IS NOT OLD."{column}"' for column in MOVEMENT_COLUMNS)
            when = f'WHEN {stamps} OR {changed} '
        statements += [
            f'CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} {when}' + refuse.format(op='UPDATE', table=table),
            f'CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} ' + refuse.format(op='DELETE', table=table),
        ]
    return statements


def _unguards(dialect):
    suffixes = ('no_update', 'no_delete', 'no_truncate') if dialect == 'postgresql' else ('no_update', 'no_delete')
    statements = [
        f'DROP TRIGGER IF EXISTS {table}_{suffix}' + (f' ON {table}' if dialect == 'postgresql' else '')
        for table in HISTORY_TABLES for suffix in suffixes
    ]
    if dialect == 'postgresql':
        statements += ['DROP FUNCTION IF EXISTS audit_events_seal_only()', 'DROP FUNCTION IF EXISTS history_append_only()',
                       'DROP FUNCTION IF EXISTS student_movements_stamp_only()']
    return statements


def _execute(statements):
    connection = op.get_bind()
    for statement in statements:
        connection.exec_driver_sql(statement)


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', sa.String(length=32), nullable=False, server_default='order'))
        batch_op.add_column(sa.Column('subject', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('chain_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        for column, type_ in (('order_id', sa.Integer()), ('actor_id', sa.Integer()), ('trigger', sa.String(16)),
                              ('from_state', sa.String(32)), ('to_state', sa.String(32)),
                              ('route_name', sa.String(32)), ('route_version', sa.Integer())):
            batch_op.alter_column(column, existing_type=type_, nullable=True)
        batch_op.drop_constraint('fk_audit_events_order_id_orders', type_='foreignkey')
        batch_op.create_foreign_key('fk_audit_events_order_id_orders', 'orders', ['order_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_chain_seq'), ['chain_seq'])
        batch_op.create_check_constraint(op.f('ck_audit_events_subject'), 'order_id IS NOT NULL OR subject IS NOT NULL')
        batch_op.create_index(batch_op.f('ix_audit_events_subject'), ['subject'], unique=False)
    with op.batch_alter_table('visas', schema=None) as batch_op:
        batch_op.drop_constraint('fk_visas_order_id_orders', type_='foreignkey')
        batch_op.create_foreign_key('fk_visas_order_id_orders', 'orders', ['order_id'], ['id'])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))
    _execute(_guards(op.get_bind().dialect.name))


def downgrade():
    _execute(_unguards(op.get_bind().dialect.name))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('visas', schema=None) as batch_op:
        batch_op.drop_constraint('fk_visas_order_id_orders', type_='foreignkey')
        batch_op.create_foreign_key('fk_visas_order_id_orders', 'orders', ['order_id'], ['id'], ondelete='CASCADE')
    # Events about users (no order) cannot go back into the old table.
    op.execute("DELETE FROM audit_events WHERE order_id IS NULL")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_subject'))
        batch_op.drop_constraint('ck_audit_events_subject', type_='check')
        batch_op.drop_constraint(batch_op.f('uq_audit_events_chain_seq'), type_='unique')
        batch_op.drop_constraint('fk_audit_events_order_id_orders', type_='foreignkey')
        batch_op.create_foreign_key('fk_audit_events_order_id_orders', 'orders', ['order_id'], ['id'],
                                    ondelete='CASCADE')
        for column, type_ in (('order_id', sa.Integer()), ('actor_id', sa.Integer()), ('trigger', sa.String(16)),
                              ('from_state', sa.String(32)), ('to_state', sa.String(32)),
                              ('route_name', sa.String(32)), ('route_version', sa.Integer())):
            batch_op.alter_column(column, existing_type=type_, nullable=False)
        for column in ('sha256', 'prev_sha256', 'chain_seq', 'subject', 'action'):
            batch_op.drop_column(column)
