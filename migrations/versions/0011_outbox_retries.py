"""Outbox retries on a schedule: when a pending row is next handed to the broker, and until when a failing row is
retried before it is marked failed.

Reviewed by hand: two nullable columns on `outbox_messages`, and the sweep's index moves from (status, created_at)
to (status, next_attempt_at). Rows pending at the upgrade keep NULL, which the sweep reads as "due now".

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retry_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index('ix_outbox_messages_status_created_at')
        batch_op.create_index('ix_outbox_messages_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_status_next_attempt_at')
        batch_op.create_index('ix_outbox_messages_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.drop_column('retry_until')
        batch_op.drop_column('next_attempt_at')
