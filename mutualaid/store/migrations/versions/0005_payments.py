"""payment runs, their items and finance's account updates

``payment_runs`` (four-eyes batch payment files), ``payment_items`` (one claim's payment
and the bank's answer; ``live_claim_id`` unique: at most one live or paid item per claim)
and ``account_updates`` (bank accounts corrected by finance). SQLite and PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('product', sa.String(length=8), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('exported_by', sa.String(length=64), nullable=True),
    sa.Column('exported_at', sa.DateTime(), nullable=True),
    sa.Column('template', sa.String(length=32), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('cancelled_by', sa.String(length=64), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_runs'))
    )
    with op.batch_alter_table('payment_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_runs_status'), ['status'], unique=False)

    op.create_table('payment_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('live_claim_id', sa.Integer(), nullable=True),
    sa.Column('claim_no', sa.String(length=64), nullable=False),
    sa.Column('product', sa.String(length=8), nullable=False),
    sa.Column('member_id_number', sa.String(length=18), nullable=False),
    sa.Column('member_name', sa.String(length=100), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=True),
    sa.Column('account', sa.String(length=19), nullable=False),
    sa.Column('account_warning', sa.String(length=16), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('bank_date', sa.Date(), nullable=True),
    sa.Column('bank_txn', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('refund_date', sa.Date(), nullable=True),
    sa.Column('refund_txn', sa.String(length=64), nullable=True),
    sa.Column('result_import_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_payment_items_claim_id_claims')),
    sa.ForeignKeyConstraint(['result_import_id'], ['file_imports.id'],
                            name=op.f('fk_payment_items_result_import_id_file_imports')),
    sa.ForeignKeyConstraint(['run_id'], ['payment_runs.id'], name=op.f('fk_payment_items_run_id_payment_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_items')),
    sa.UniqueConstraint('live_claim_id', name=op.f('uq_payment_items_live_claim_id'))
    )
    with op.batch_alter_table('payment_items', schema=None) as batch_op:
        batch_op.create_index('ix_payment_items_claim_no', ['claim_no'], unique=False)
        batch_op.create_index('ix_payment_items_run_status', ['run_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_items_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_items_bank_txn'), ['bank_txn'], unique=False)

    op.create_table('account_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id_number', sa.String(length=18), nullable=False),
    sa.Column('account', sa.String(length=19), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_updates'))
    )
    with op.batch_alter_table('account_updates', schema=None) as batch_op:
        batch_op.create_index('ix_account_updates_member', ['member_id_number', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('account_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_account_updates_member')
    op.drop_table('account_updates')
    with op.batch_alter_table('payment_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_items_bank_txn'))
        batch_op.drop_index(batch_op.f('ix_payment_items_claim_id'))
        batch_op.drop_index('ix_payment_items_run_status')
        batch_op.drop_index('ix_payment_items_claim_no')
    op.drop_table('payment_items')
    with op.batch_alter_table('payment_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_runs_status'))
    op.drop_table('payment_runs')
