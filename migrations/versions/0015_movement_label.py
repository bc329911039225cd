"""A movement's order label may be set once, from NULL: signing takes the order's number last.

Reviewed by hand: only the append-only guard of `student_movements` changes. Signing writes its movements before it
takes the order's number (the number locks the year's sequence until the commit, so it is taken in a short last
step) and then puts the label in with one set-based UPDATE. The guard allows that UPDATE once, like the applied and
voided stamps (NULL to a value, never changed again); every other column stays as written. PostgreSQL: the
function `student_movements_stamp_only` is replaced. SQLite: the UPDATE trigger is re-created with the new WHEN.
The SQL is a copy of `workflow.audit.guard_statements()` at this revision.

Also on SQLite: the guards of `order_documents`, which the table re-creations of 0012 and 0013 (`batch_alter_table`)
dropped, are installed again when missing (a signed document could be rewritten there).

Revision ID: 0015_movement_label
Revises: 0014_jobs
Create Date: 2026-12-08 03:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015_movement_label'
down_revision = '0014_jobs'
branch_labels = None
depends_on = None

COLUMNS = ('id', 'student_id', 'order_line_id', 'kind', 'effective_date', 'changes', 'reason', 'created_at',
           'known_since', 'record_after')


def _pg_function(stamps):
    kept = ' AND '.join(f'(OLD.{s} IS NULL OR NEW.{s} IS NOT DISTINCT FROM OLD.{s})' for s in stamps)
    names = ', '.join(f"'{s}'" for s in stamps)
    said = 'its applied and voided times and its order label' if 'order_label' in stamps else 'its applied and voided times'
    return f"""CREATE OR REPLACE FUNCTION student_movements_stamp_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {kept}
       AND to_jsonb(NEW) - ARRAY[{names}] = to_jsonb(OLD) - ARRAY[{names}] THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'history is append-only: UPDATE on student_movements refused (only {said} '
        'are set, once)' USING ERRCODE = '42501';
END $$"""


def _sqlite_trigger(stamps, columns):
    set_once = ' OR '.join(f'(OLD."{c}" IS NOT NULL AND NEW."{c}" IS NOT OLD."{c}")' for c in stamps)
    changed = ' OR '.join(f'NEW."{c}" IS NOT OLD."{c}"' for c in columns)
    return (f'CREATE TRIGGER student_movements_no_update BEFORE UPDATE ON student_movements WHEN {set_once} OR '
            f"{changed} BEGIN SELECT RAISE(ABORT, 'history is append-only: UPDATE on student_movements refused'); END")


def _install(stamps, columns):
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':
        connection.exec_driver_sql(_pg_function(stamps))
        return
    connection.exec_driver_sql('DROP TRIGGER IF EXISTS student_movements_no_update')
    connection.exec_driver_sql(_sqlite_trigger(stamps, columns))
    for op_ in ('UPDATE', 'DELETE'):
        connection.exec_driver_sql(
            f'CREATE TRIGGER IF NOT EXISTS order_documents_no_{op_.lower()} BEFORE {op_} ON order_documents '
            f"BEGIN SELECT RAISE(ABORT, 'history is append-only: {op_} on order_documents refused'); END")


def upgrade():
    _install(('applied_at', 'voided_at', 'order_label'), COLUMNS)


def downgrade():
    _install(('applied_at', 'voided_at'), COLUMNS[:7] + ('order_label',) + COLUMNS[7:])
