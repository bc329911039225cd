"""Money: the social categories on the student record (orphan, visual or hearing disability) with the supporting
document and validity dates, which the state scholarship reads.

Reviewed by hand: one new table, nothing changed in existing ones.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('student_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('orphan', 'visual_disability', 'hearing_disability')", name=op.f('ck_student_categories_category')),
    sa.CheckConstraint('valid_to IS NULL OR valid_from <= valid_to', name=op.f('ck_student_categories_dates')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_student_categories_created_by_id_users')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_student_categories_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_student_categories'))
    )
    with op.batch_alter_table('student_categories', schema=None) as batch_op:
        batch_op.create_index('ix_student_categories_student_id_category', ['student_id', 'category'], unique=False)


def downgrade():
    with op.batch_alter_table('student_categories', schema=None) as batch_op:
        batch_op.drop_index('ix_student_categories_student_id_category')
    op.drop_table('student_categories')
