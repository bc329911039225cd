"""Document verification and PDFs: a random verification token and the extracts' shared words on each signed
document, every student's extract frozen per order line, and the PDF cache keyed by the DOCX's SHA-256.

Reviewed by hand: two nullable columns on `order_documents` (documents signed before keep NULL: no QR code, no
stored extracts), two new tables. Works on SQLite (batch mode) and PostgreSQL.

Revision ID: 0012_document_verification
Revises: 0011
Create Date: 2026-12-08 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_document_verification'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('order_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('extract_common', sa.JSON(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_order_documents_verify_token'), ['verify_token'])
    op.create_table('order_extracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('rendered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_extracts_order_id_orders')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_order_extracts_order_line_id_order_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_extracts')),
    sa.UniqueConstraint('order_line_id', name=op.f('uq_order_extracts_order_line_id'))
    )
    with op.batch_alter_table('order_extracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_extracts_order_id'), ['order_id'], unique=False)
    op.create_table('document_pdfs',
    sa.Column('docx_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('converted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'ready', 'failed')", name=op.f('ck_document_pdfs_status')),
    sa.PrimaryKeyConstraint('docx_sha256', name=op.f('pk_document_pdfs'))
    )


def downgrade():
    op.drop_table('document_pdfs')
    with op.batch_alter_table('order_extracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_extracts_order_id'))
    op.drop_table('order_extracts')
    with op.batch_alter_table('order_documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_order_documents_verify_token'), type_='unique')
        batch_op.drop_column('extract_common')
        batch_op.drop_column('verify_token')
