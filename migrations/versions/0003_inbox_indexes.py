"""Inbox indexes: per-order visa probes answered from the index alone, and a person's visas by person.

`bench/inbox.py` at 100,000 orders (EXPLAIN ANALYZE in bench/README.md): the inbox's NOT EXISTS probes on visas
(same order and round, then decided_by / acting_for / step / decision / faculty) become index-only scans, so the
planner keeps nested loops over the few open orders instead of hashing the whole visas table; and "orders I decided"
(the history view and its count) reads the person's visas from an index instead of scanning every visa.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 13:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visas', schema=None) as batch_op:
        batch_op.create_index('ix_visas_order_id_round_cover', ['order_id', 'round'], unique=False,
                              postgresql_include=['decided_by_id', 'acting_for_id', 'step', 'decision', 'faculty_id'])
        batch_op.create_index('ix_visas_decided_by_id_order_id', ['decided_by_id', 'order_id'], unique=False)


def downgrade():
    with op.batch_alter_table('visas', schema=None) as batch_op:
        batch_op.drop_index('ix_visas_decided_by_id_order_id')
        batch_op.drop_index('ix_visas_order_id_round_cover')
