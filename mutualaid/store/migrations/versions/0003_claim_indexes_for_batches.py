"""claims: indexes the batch job's chunks need; the status-only index goes

The batch job reads, chunk by chunk, the undecided claims of a range of members and
the next processing number. Without ``ix_claims_status_member`` (status, member) and
``ix_claims_decision_seq`` both scanned every undecided claim per chunk: quadratic over
a million-claim run. ``ix_claims_status`` is a prefix of both status indexes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 00:15:00
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_status')
        batch_op.create_index('ix_claims_status_member', ['status', 'member_id_number'], unique=False)
        batch_op.create_index('ix_claims_decision_seq', ['decision_seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_decision_seq')
        batch_op.drop_index('ix_claims_status_member')
        batch_op.create_index('ix_claims_status', ['status'], unique=False)
