"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 20:52:10.085419
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_key', sa.String(length=64), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('file_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('stored', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_file_imports'))
    )
    with op.batch_alter_table('file_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_file_imports_fingerprint'), ['fingerprint'], unique=False)

    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('id_number', name=op.f('uq_members_id_number'))
    )
    op.create_table('recon_resolutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('item_key', sa.String(length=80), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('resolved_by', sa.String(length=64), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_resolutions')),
    sa.UniqueConstraint('month', 'item_key', name=op.f('uq_recon_resolutions_month'))
    )
    op.create_table('recon_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('inputs_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_runs'))
    )
    with op.batch_alter_table('recon_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_runs_month'), ['month'], unique=False)

    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('code', name=op.f('uq_units_code'))
    )
    op.create_table('enrollments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=8), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('premium_fen', sa.BigInteger(), nullable=False),
    sa.Column('bank_account', sa.String(length=19), nullable=True),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['file_imports.id'], name=op.f('fk_enrollments_import_id_file_imports')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_enrollments_member_id_members')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_enrollments_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollments')),
    sa.UniqueConstraint('member_id', 'product', 'start_date', name=op.f('uq_enrollments_member_id'))
    )
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollments_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrollments_unit_id'), ['unit_id'], unique=False)

    op.create_table('ledger_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voucher_no', sa.String(length=64), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('entry_type', sa.String(length=20), nullable=False),
    sa.Column('product', sa.String(length=8), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['file_imports.id'], name=op.f('fk_ledger_lines_import_id_file_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_lines')),
    sa.UniqueConstraint('voucher_no', name=op.f('uq_ledger_lines_voucher_no'))
    )
    with op.batch_alter_table('ledger_lines', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_date', ['entry_date'], unique=False)
        batch_op.create_index('ix_ledger_reference', ['reference'], unique=False)

    op.create_table('recon_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=80), nullable=False),
    sa.Column('claim_no', sa.String(length=64), nullable=True),
    sa.Column('product', sa.String(length=8), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('approved_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('difference_fen', sa.BigInteger(), nullable=False),
    sa.Column('vouchers', sa.Text(), nullable=False),
    sa.Column('days_outstanding', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['recon_runs.id'], name=op.f('fk_recon_items_run_id_recon_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_items'))
    )
    with op.batch_alter_table('recon_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_items_run_id'), ['run_id'], unique=False)

    op.create_table('claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_no', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=8), nullable=False),
    sa.Column('member_id_number', sa.String(length=18), nullable=False),
    sa.Column('member_name', sa.String(length=100), nullable=False),
    sa.Column('submitted_date', sa.Date(), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('admission_date', sa.Date(), nullable=True),
    sa.Column('discharge_date', sa.Date(), nullable=True),
    sa.Column('hospital_name', sa.String(length=200), nullable=True),
    sa.Column('diagnosis_code', sa.String(length=16), nullable=True),
    sa.Column('cause', sa.String(length=16), nullable=True),
    sa.Column('total_cost_fen', sa.BigInteger(), nullable=True),
    sa.Column('insurance_paid_fen', sa.BigInteger(), nullable=True),
    sa.Column('in_policy_self_pay_fen', sa.BigInteger(), nullable=True),
    sa.Column('out_of_policy_self_pay_fen', sa.BigInteger(), nullable=True),
    sa.Column('diagnosis_date', sa.Date(), nullable=True),
    sa.Column('pathology_confirmed', sa.Boolean(), nullable=True),
    sa.Column('surgery', sa.String(length=20), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payout_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason_codes', sa.String(length=100), nullable=False),
    sa.Column('policy_version', sa.String(length=16), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('allowance_days', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=True),
    sa.Column('decision_seq', sa.BigInteger(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['file_imports.id'], name=op.f('fk_claims_batch_id_file_imports')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], name=op.f('fk_claims_enrollment_id_enrollments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims')),
    sa.UniqueConstraint('claim_no', name=op.f('uq_claims_claim_no'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_claims_member_product', ['member_id_number', 'product', 'event_date'], unique=False)
        batch_op.create_index('ix_claims_status', ['status'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payout_fen', sa.BigInteger(), nullable=False),
    sa.Column('computed_payout_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason_codes', sa.String(length=100), nullable=False),
    sa.Column('policy_version', sa.String(length=16), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('trace', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_decisions_claim_id_claims')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_claim_id'), ['claim_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_claim_id'))

    op.drop_table('decisions')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_status')
        batch_op.drop_index('ix_claims_member_product')
        batch_op.drop_index(batch_op.f('ix_claims_batch_id'))

    op.drop_table('claims')
    with op.batch_alter_table('recon_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_items_run_id'))

    op.drop_table('recon_items')
    with op.batch_alter_table('ledger_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_reference')
        batch_op.drop_index('ix_ledger_date')

    op.drop_table('ledger_lines')
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollments_unit_id'))
        batch_op.drop_index(batch_op.f('ix_enrollments_member_id'))

    op.drop_table('enrollments')
    op.drop_table('units')
    with op.batch_alter_table('recon_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_runs_month'))

    op.drop_table('recon_runs')
    op.drop_table('recon_resolutions')
    op.drop_table('members')
    with op.batch_alter_table('file_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_file_imports_fingerprint'))

    op.drop_table('file_imports')
    op.drop_table('audit_log')
