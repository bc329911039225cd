"""Approval slots: the visas each open order still waits for, kept by `workflow.engine.fire()` for the inbox.

Reviewed by hand. One row per visa missing at an order's current step and per role of that step (per faculty for a
per-faculty step; `seat` 1..n for an n-of-m step; the signature as step `signature`). The inbox finds what waits for
a person by an index lookup on (role, faculty_id) instead of an anti-join over every visa (bench/README.md, inbox).

The backfill writes the rows of the orders already in review or awaiting signature, set-based, one INSERT ... SELECT
per route step: from the built-in routes (version 1, copied below as they are at this revision, so that a later change
of the defaults does not change this migration) and the saved versions in `route_versions`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 14:40:00

"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_DEAN = {'name': 'dean', 'roles': ['dean'], 'mode': 'per_faculty', 'n': 1}
# Version 1 of each built-in route (workflow/routes.py DEFAULT_ROUTES at this revision): steps and signer.
DEFAULT_ROUTES = {
    'movement': {'steps': [_DEAN, {'name': 'registrar', 'roles': ['registrar']}], 'signer_role': 'rector'},
    'legal': {'steps': [_DEAN, {'name': 'registrar', 'roles': ['registrar']}, {'name': 'lawyer', 'roles': ['lawyer']}],
              'signer_role': 'rector'},
    'money': {'steps': [_DEAN, {'name': 'registrar', 'roles': ['registrar']},
                        {'name': 'finance', 'roles': ['finance']}], 'signer_role': 'rector'},
}

_ON_ROUTE = "o.route_name = :route AND o.route_version = :version AND o.state = :state"
_APPROVED = ("SELECT {what} FROM visas v WHERE v.order_id = o.id AND v.round = o.round AND v.step = :step "
             "AND v.decision = 'approved'")
PER_FACULTY = f"""INSERT INTO approval_slots (order_id, round, step, role, faculty_id, seat)
SELECT DISTINCT o.id, o.round, CAST(:step AS VARCHAR(32)), CAST(:role AS VARCHAR(16)), l.faculty_id, 1
FROM orders o JOIN order_lines l ON l.order_id = o.id
WHERE {_ON_ROUTE}
  AND NOT EXISTS ({_APPROVED.format(what='1')} AND v.faculty_id = l.faculty_id)"""
SEAT = f"""INSERT INTO approval_slots (order_id, round, step, role, faculty_id, seat)
SELECT o.id, o.round, CAST(:step AS VARCHAR(32)), CAST(:role AS VARCHAR(16)), NULL, :seat
FROM orders o
WHERE {_ON_ROUTE} AND ({_APPROVED.format(what='count(*)')}) <= :n - :seat"""


def _routes(connection):
    """(name, version, definition) of every route version an order may travel on."""
    yield from ((name, 1, definition) for name, definition in DEFAULT_ROUTES.items())
    for name, version, definition in connection.execute(
            sa.text("SELECT name, version, definition FROM route_versions ORDER BY name, version")):
        yield name, version, json.loads(definition) if isinstance(definition, str) else definition


def _backfill(connection):
    for name, version, definition in _routes(connection):
        on_route = {'route': name, 'version': version}
        connection.execute(sa.text(SEAT), {**on_route, 'state': 'awaiting_signature', 'step': 'signature',
                                           'role': definition.get('signer_role', 'rector'), 'n': 1, 'seat': 1})
        for step in definition.get('steps', []):
            at_step = {**on_route, 'state': f"review_{step['name']}", 'step': step['name']}
            roles = step.get('roles') or [step['role']]
            for role in roles:
                if step.get('mode', 'one') == 'per_faculty':
                    connection.execute(sa.text(PER_FACULTY), {**at_step, 'role': role})
                    continue
                n = step.get('n', 1) if step.get('mode') == 'n_of_m' else 1
                for seat in range(1, n + 1):
                    connection.execute(sa.text(SEAT), {**at_step, 'role': role, 'n': n, 'seat': seat})


def upgrade():
    op.create_table('approval_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('faculty_id', sa.Integer(), nullable=True),
    sa.Column('seat', sa.Integer(), nullable=False),
    sa.CheckConstraint('seat >= 1', name=op.f('ck_approval_slots_seat')),
    sa.ForeignKeyConstraint(['faculty_id'], ['faculties.id'], name=op.f('fk_approval_slots_faculty_id_faculties')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_approval_slots_order_id_orders'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_slots'))
    )
    with op.batch_alter_table('approval_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_slots_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_approval_slots_role_faculty_id_order_id', ['role', 'faculty_id', 'order_id'],
                              unique=False)
    _backfill(op.get_bind())


def downgrade():
    with op.batch_alter_table('approval_slots', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_slots_role_faculty_id_order_id')
        batch_op.drop_index(batch_op.f('ix_approval_slots_order_id'))
    op.drop_table('approval_slots')
