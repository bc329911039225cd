"""The catalogue of movement orders: leave dates on students, incoming students, academic-difference debts,
revocation targets on orders, line overrides and the record before signing.

Reviewed by hand. The students' status check gains 'incoming' (a student transferring in, created with the draft);
on SQLite that means rebuilding the table (batch mode), which `migrations/env.py` runs with foreign keys off and
checks afterwards. Every new column is nullable, so existing rows need no backfill.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('active', 'academic_leave', 'expelled', 'graduated')"
NEW_STATUSES = "status IN ('active', 'academic_leave', 'expelled', 'graduated', 'incoming')"
SUPERSEDED = ("superseded_as IS NULL OR (superseded_as IN ('revoked', 'amended') AND state = 'signed' "
              "AND superseded_by_id IS NOT NULL)")


def upgrade():
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leave_ground', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('leave_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('leave_end', sa.Date(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_students_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_students_status'), sa.text(NEW_STATUSES))

    op.create_table('student_debts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('semester', sa.Integer(), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('cleared_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('credits BETWEEN 1 AND 30', name=op.f('ck_student_debts_credits')),
    sa.CheckConstraint('semester BETWEEN 1 AND 14', name=op.f('ck_student_debts_semester')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_student_debts_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_student_debts_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_student_debts')),
    sa.UniqueConstraint('student_id', 'code', name='uq_student_debts_student_code')
    )
    with op.batch_alter_table('student_debts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_student_debts_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_student_debts_student_id'), ['student_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_order_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('superseded_as', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('superseded_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_target_order_id'), ['target_order_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_orders_target_order_id_orders'), 'orders', ['target_order_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_orders_superseded_by_id_orders'), 'orders', ['superseded_by_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_orders_superseded'), sa.text(SUPERSEDED))

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_before', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('override_justification', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('override_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('override_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_order_lines_override_by_id_users'), 'users', ['override_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_lines_override_by_id_users'), type_='foreignkey')
        batch_op.drop_column('override_at')
        batch_op.drop_column('override_by_id')
        batch_op.drop_column('override_justification')
        batch_op.drop_column('record_before')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_orders_superseded'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_orders_superseded_by_id_orders'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_orders_target_order_id_orders'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_orders_target_order_id'))
        batch_op.drop_column('superseded_by_id')
        batch_op.drop_column('superseded_as')
        batch_op.drop_column('target_order_id')

    op.drop_table('student_debts')

    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_students_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_students_status'), sa.text(OLD_STATUSES))
        batch_op.drop_column('leave_end')
        batch_op.drop_column('leave_start')
        batch_op.drop_column('leave_ground')
