"""Background jobs on big orders, and flashed messages kept on the server.

Reviewed by hand: two new tables. `jobs` holds one background action on one order (sign, submit, visa, split...)
with its progress, result and lease; the partial unique index `uq_jobs_active_order` allows one queued or running
job per order (SQLite and PostgreSQL both support partial indexes). `flash_messages` keeps the messages a page
flashed until the next page of the same server-side session shows them, instead of the size-limited cookie.

Revision ID: 0014_jobs
Revises: 0013_templates_files
Create Date: 2026-12-08 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_jobs'
down_revision = '0013_templates_files'
branch_labels = None
depends_on = None

ACTIVE = "state IN ('queued', 'running')"


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_jobs_state')),
        sa.CheckConstraint('done >= 0 AND total >= 0 AND done <= total', name=op.f('ck_jobs_progress')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_jobs_order_id_orders'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_jobs_actor_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_jobs_state_lease_until', ['state', 'lease_until'], unique=False)
        batch_op.create_index(
            'uq_jobs_active_order',
            ['order_id'],
            unique=True,
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        )

    op.create_table(
        'flash_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=16), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['session_id'], ['user_sessions.id'], name=op.f('fk_flash_messages_session_id_user_sessions'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_flash_messages')),
    )
    with op.batch_alter_table('flash_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flash_messages_session_id'), ['session_id'], unique=False)


def downgrade():
    with op.batch_alter_table('flash_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flash_messages_session_id'))
    op.drop_table('flash_messages')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_jobs_active_order')
        batch_op.drop_index('ix_jobs_state_lease_until')
        batch_op.drop_index(batch_op.f('ix_jobs_order_id'))
    op.drop_table('jobs')
