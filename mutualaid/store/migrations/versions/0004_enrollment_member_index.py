"""enrollments: the member_id index goes

The unique constraint (member_id, product, start_date) already serves every lookup by
member; the separate index only cost a second B-tree insert per enrolment row (a
region-scale roster writes 1.5 million of them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 03:00:00
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollments_member_id')


def downgrade() -> None:
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.create_index('ix_enrollments_member_id', ['member_id'], unique=False)
