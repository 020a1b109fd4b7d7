"""settlements: medical-insurance settlement rows of members; claims.source

Claims get a ``source``: ``clerk`` (filed in a clerk's batch, every claim so far) or
``settlement`` (made from the medical-insurance settlement extract, 免申即享). The new
``settlements`` table keeps the inpatient settlement rows of enrolled members, each
linked to the claim it stands for.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='clerk'))
    op.create_table('settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_no', sa.String(length=64), nullable=False),
    sa.Column('member_id_number', sa.String(length=18), nullable=False),
    sa.Column('member_name', sa.String(length=100), nullable=False),
    sa.Column('hospital_name', sa.String(length=200), nullable=False),
    sa.Column('hospital_code', sa.String(length=32), nullable=True),
    sa.Column('visit_type', sa.String(length=16), nullable=False),
    sa.Column('admission_date', sa.Date(), nullable=False),
    sa.Column('discharge_date', sa.Date(), nullable=False),
    sa.Column('diagnosis_code', sa.String(length=16), nullable=True),
    sa.Column('total_cost_fen', sa.BigInteger(), nullable=False),
    sa.Column('fund_paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('serious_illness_paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('medical_aid_paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('in_policy_self_pay_fen', sa.BigInteger(), nullable=False),
    sa.Column('out_of_policy_self_pay_fen', sa.BigInteger(), nullable=False),
    sa.Column('settlement_date', sa.Date(), nullable=False),
    sa.Column('is_reversal', sa.Boolean(), nullable=False),
    sa.Column('reverses', sa.String(length=64), nullable=True),
    sa.Column('reversed_by', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('created_claim_id', sa.Integer(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_settlements_claim_id_claims')),
    sa.ForeignKeyConstraint(['created_claim_id'], ['claims.id'], name=op.f('fk_settlements_created_claim_id_claims')),
    sa.ForeignKeyConstraint(['import_id'], ['file_imports.id'], name=op.f('fk_settlements_import_id_file_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlements')),
    sa.UniqueConstraint('settlement_no', name=op.f('uq_settlements_settlement_no'))
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlements_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_settlements_member_stay', ['member_id_number', 'admission_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index('ix_settlements_member_stay')
        batch_op.drop_index(batch_op.f('ix_settlements_claim_id'))
    op.drop_table('settlements')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_column('source')
