"""Approvals: route versions, substitutes, deadline notices, round snapshots, any route step as an order state.

Reviewed by hand: the state check now admits `review_<step>` for steps an admin adds; open orders get their
`step_entered_at` from `updated_at` so deadlines count from a real moment.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 12:50:58.624870

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('route_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('version >= 2', name=op.f('ck_route_versions_version')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_route_versions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_route_versions')),
    sa.UniqueConstraint('name', 'version', name='uq_route_versions_name_version')
    )
    op.create_table('substitutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=False),
    sa.Column('substitute_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('principal_id <> substitute_id', name=op.f('ck_substitutions_not_self')),
    sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_substitutions_dates')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_substitutions_created_by_id_users')),
    sa.ForeignKeyConstraint(['principal_id'], ['users.id'], name=op.f('fk_substitutions_principal_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['substitute_id'], ['users.id'], name=op.f('fk_substitutions_substitute_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_substitutions'))
    )
    with op.batch_alter_table('substitutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_substitutions_principal_id'), ['principal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_substitutions_substitute_id'), ['substitute_id'], unique=False)

    op.create_table('deadline_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('reminder', 'escalation')", name=op.f('ck_deadline_notices_kind')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_deadline_notices_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_notices')),
    sa.UniqueConstraint('order_id', 'round', 'step', 'kind', name='uq_deadline_notices_once')
    )
    with op.batch_alter_table('deadline_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_notices_order_id'), ['order_id'], unique=False)

    op.create_table('order_rounds',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_rounds_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'round', name=op.f('pk_order_rounds'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step_entered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_due_at'), ['due_at'], unique=False)
        batch_op.drop_constraint(op.f('ck_orders_state'), type_='check')
        batch_op.create_check_constraint(
            'state', "state IN ('draft', 'awaiting_signature', 'signed', 'rejected', 'withdrawn') "
                     "OR state LIKE 'review\\_%' ESCAPE '\\'")
    # Open orders: the step began at their last change; their due time is set when they next move.
    op.execute("UPDATE orders SET step_entered_at = updated_at WHERE state NOT IN ('signed', 'rejected', 'withdrawn')")



def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_orders_state'), type_='check')
        batch_op.create_check_constraint(
            'state', "state IN ('draft', 'review_dean', 'review_registrar', 'review_lawyer', 'review_finance', "
                     "'awaiting_signature', 'signed', 'rejected', 'withdrawn')")
        batch_op.drop_index(batch_op.f('ix_orders_due_at'))
        batch_op.drop_column('due_at')
        batch_op.drop_column('step_entered_at')

    op.drop_table('order_rounds')
    with op.batch_alter_table('deadline_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_notices_order_id'))

    op.drop_table('deadline_notices')
    with op.batch_alter_table('substitutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_substitutions_substitute_id'))
        batch_op.drop_index(batch_op.f('ix_substitutions_principal_id'))

    op.drop_table('substitutions')
    op.drop_table('route_versions')
