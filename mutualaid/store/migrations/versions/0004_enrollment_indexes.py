"""enrollments: the member_id and unit_id indexes go

The unique constraint (member_id, product, start_date) already serves every lookup by
member; no query looks enrollments up by unit (they are reached from a member or a
claim, and joined to their unit by its primary key). Each index cost a B-tree insert per
enrolment row: a region-scale roster writes 1.5 million of them (the two together
~20 % of a region roster's import time).

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
        batch_op.drop_index('ix_enrollments_unit_id')


def downgrade() -> None:
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.create_index('ix_enrollments_member_id', ['member_id'], unique=False)
        batch_op.create_index('ix_enrollments_unit_id', ['unit_id'], unique=False)
