"""casework: returns for correction, claim versions, documents, appeals, quality samples

``claim_returns`` (退回补正 with reason and note), ``claim_versions`` (the content a
correction replaced), ``claim_documents`` (metadata; the bytes are content-addressed
files), ``claim_appeals`` and ``quality_samples`` (事后抽查). New tables only; no existing
table changes. Runs on SQLite (batch mode) and PostgreSQL.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 16:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('claim_returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('claim_version', sa.Integer(), nullable=False),
    sa.Column('reason_code', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('returned_by', sa.String(length=64), nullable=False),
    sa.Column('returned_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_returns_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_returns'))
    )
    with op.batch_alter_table('claim_returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_returns_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_returns_state'), ['state'], unique=False)

    op.create_table('claim_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('replaced_by_batch', sa.Integer(), nullable=True),
    sa.Column('replaced_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_versions_claim_id_claims')),
    sa.ForeignKeyConstraint(['batch_id'], ['file_imports.id'], name=op.f('fk_claim_versions_batch_id_file_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_versions')),
    sa.UniqueConstraint('claim_id', 'version_no', name=op.f('uq_claim_versions_claim_id'))
    )

    op.create_table('claim_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_documents_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_documents')),
    sa.UniqueConstraint('claim_id', 'kind', 'sha256', name=op.f('uq_claim_documents_claim_id'))
    )
    with op.batch_alter_table('claim_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_documents_claim_id'), ['claim_id'], unique=False)

    op.create_table('claim_appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('appealed_decided_by', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('settled_by', sa.String(length=64), nullable=True),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.Column('settlement_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_appeals_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_appeals'))
    )
    with op.batch_alter_table('claim_appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_appeals_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_appeals_state'), ['state'], unique=False)

    op.create_table('quality_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('reason', sa.String(length=12), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('payout_fen', sa.BigInteger(), nullable=False),
    sa.Column('sampled_by', sa.String(length=64), nullable=False),
    sa.Column('sampled_at', sa.DateTime(), nullable=False),
    sa.Column('verdict', sa.String(length=12), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('checked_by', sa.String(length=64), nullable=True),
    sa.Column('checked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_quality_samples_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_samples')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_quality_samples_claim_id'))
    )
    with op.batch_alter_table('quality_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_samples_month'), ['month'], unique=False)


def downgrade() -> None:
    op.drop_table('quality_samples')
    op.drop_table('claim_appeals')
    op.drop_table('claim_documents')
    op.drop_table('claim_versions')
    op.drop_table('claim_returns')
