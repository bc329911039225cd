"""Editable templates and the personal file: uploaded versions of the Word templates, the template an order was
rendered with, and basis documents on order lines (the frozen extracts are 0012's `order_extracts`).

Reviewed by hand: two new tables and one nullable column on `order_documents`. Documents signed before the upgrade
keep NULL (the built-in template, version 0). At most one active template version per kind and part: a partial
unique index, which SQLite and PostgreSQL both have.

Revision ID: 0013_templates_files
Revises: 0012_document_verification
Create Date: 2026-12-08 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_templates_files'
down_revision = '0012_document_verification'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'template_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('part', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('note', sa.String(length=300), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.CheckConstraint("part IN ('order', 'extract')", name=op.f('ck_template_versions_part')),
        sa.CheckConstraint('version > 0', name=op.f('ck_template_versions_version')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_template_versions_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_template_versions')),
        sa.UniqueConstraint('kind', 'part', 'version', name='uq_template_versions_kind_part_version'),
    )
    op.create_index(
        'ix_template_versions_one_active',
        'template_versions',
        ['kind', 'part'],
        unique=True,
        sqlite_where=sa.text('active'),
        postgresql_where=sa.text('active'),
    )
    op.create_table(
        'line_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('line_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('student_id', sa.Integer(), nullable=False),
        sa.Column('document_type', sa.String(length=32), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('mimetype', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('size > 0', name=op.f('ck_line_files_size')),
        sa.ForeignKeyConstraint(['line_id'], ['order_lines.id'], name=op.f('fk_line_files_line_id_order_lines'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_line_files_order_id_orders'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_line_files_student_id_students')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_line_files_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_line_files')),
    )
    op.create_index(op.f('ix_line_files_line_id'), 'line_files', ['line_id'], unique=False)
    op.create_index(op.f('ix_line_files_order_id'), 'line_files', ['order_id'], unique=False)
    op.create_index(op.f('ix_line_files_student_id'), 'line_files', ['student_id'], unique=False)
    with op.batch_alter_table('order_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_order_documents_template_id_template_versions'), 'template_versions', ['template_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('order_documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_documents_template_id_template_versions'), type_='foreignkey')
        batch_op.drop_column('template_id')
    op.drop_index(op.f('ix_line_files_student_id'), table_name='line_files')
    op.drop_index(op.f('ix_line_files_order_id'), table_name='line_files')
    op.drop_index(op.f('ix_line_files_line_id'), table_name='line_files')
    op.drop_table('line_files')
    op.drop_index('ix_template_versions_one_active', table_name='template_versions')
    op.drop_table('template_versions')
