"""market: the ledger (存证账本) and rights registration (确权登记) (issue 16)

- ``market_ledger_entry`` (market events, SM3 hash-chained), ``market_ledger_checkpoint`` (the
  exchange's SM2 signatures over the chain head), ``market_ledger_head`` (the single head row);
- ``market_rights_registration`` (registrations and their signed certificates),
  ``market_rights_objection`` (objections during the public notice), ``market_licence``
  (licences of 数据加工使用权 issued by purchases or 许可登记);
- ``market_valuation`` (数据资产评估 reports kept beside a product's price).

Revision ID: 0007_market_rights
Revises: 0006_market_delivery
Create Date: 2026-12-07 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shudata.db.base

revision: str = "0007_market_rights"
down_revision: str | None = "0006_market_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("market_valuation", "market_licence", "market_rights_objection", "market_rights_registration",
          "market_ledger_head", "market_ledger_entry", "market_ledger_checkpoint")


def upgrade() -> None:
    op.create_table('market_ledger_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('public_key', sa.String(length=200), nullable=False),
    sa.Column('signature', sa.String(length=200), nullable=False),
    sa.Column('ts', shudata.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_ledger_checkpoint')),
    sa.UniqueConstraint('seq', name=op.f('uq_market_ledger_checkpoint_seq'))
    )
    op.create_table('market_ledger_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('ts', shudata.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=120), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_ledger_entry')),
    sa.UniqueConstraint('hash', name=op.f('uq_market_ledger_entry_hash')),
    sa.UniqueConstraint('seq', name=op.f('uq_market_ledger_entry_seq'))
    )
    op.create_index(op.f('ix_market_ledger_entry_kind'), 'market_ledger_entry', ['kind'], unique=False)
    op.create_index(op.f('ix_market_ledger_entry_subject_id'), 'market_ledger_entry', ['subject_id'], unique=False)
    op.create_table('market_ledger_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_ledger_head'))
    )
    op.create_table('market_rights_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('right', sa.String(length=20), nullable=False),
    sa.Column('reg_type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=False),
    sa.Column('counterparty_id', sa.Integer(), nullable=True),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=120), nullable=True),
    sa.Column('notice_start', sa.Date(), nullable=True),
    sa.Column('notice_end', sa.Date(), nullable=True),
    sa.Column('disputed', sa.Boolean(), nullable=False),
    sa.Column('certificate_number', sa.String(length=40), nullable=True),
    sa.Column('certificate', sa.Text(), nullable=True),
    sa.Column('signature', sa.String(length=200), nullable=True),
    sa.Column('public_key', sa.String(length=200), nullable=True),
    sa.Column('issued_at', shudata.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', shudata.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shudata.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shudata.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['applicant_id'], ['market_participant.id'], name=op.f('fk_market_rights_registration_applicant_id_market_participant')),
    sa.ForeignKeyConstraint(['counterparty_id'], ['market_participant.id'], name=op.f('fk_market_rights_registration_counterparty_id_market_participant')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['market_rights_registration.id'], name=op.f('fk_market_rights_registration_ended_by_id_market_rights_registration')),
    sa.ForeignKeyConstraint(['holder_id'], ['market_participant.id'], name=op.f('fk_market_rights_registration_holder_id_market_participant')),
    sa.ForeignKeyConstraint(['product_id'], ['market_product.id'], name=op.f('fk_market_rights_registration_product_id_market_product')),
    sa.ForeignKeyConstraint(['target_id'], ['market_rights_registration.id'], name=op.f('fk_market_rights_registration_target_id_market_rights_registration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_rights_registration')),
    sa.UniqueConstraint('certificate_number', name=op.f('uq_market_rights_registration_certificate_number')),
    sa.UniqueConstraint('number', name=op.f('uq_market_rights_registration_number'))
    )
    op.create_index(op.f('ix_market_rights_registration_applicant_id'), 'market_rights_registration', ['applicant_id'], unique=False)
    op.create_index(op.f('ix_market_rights_registration_holder_id'), 'market_rights_registration', ['holder_id'], unique=False)
    op.create_index(op.f('ix_market_rights_registration_product_id'), 'market_rights_registration', ['product_id'], unique=False)
    op.create_index(op.f('ix_market_rights_registration_right'), 'market_rights_registration', ['right'], unique=False)
    op.create_index(op.f('ix_market_rights_registration_status'), 'market_rights_registration', ['status'], unique=False)
    op.create_index(op.f('ix_market_rights_registration_target_id'), 'market_rights_registration', ['target_id'], unique=False)
    op.create_table('market_valuation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('quality_score', sa.Float(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shudata.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['market_product.id'], name=op.f('fk_market_valuation_product_id_market_product'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_valuation'))
    )
    op.create_index(op.f('ix_market_valuation_product_id'), 'market_valuation', ['product_id'], unique=False)
    op.create_table('market_rights_objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('objector', sa.String(length=200), nullable=False),
    sa.Column('objector_participant_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', shudata.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shudata.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['objector_participant_id'], ['market_participant.id'], name=op.f('fk_market_rights_objection_objector_participant_id_market_participant')),
    sa.ForeignKeyConstraint(['registration_id'], ['market_rights_registration.id'], name=op.f('fk_market_rights_objection_registration_id_market_rights_registration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_rights_objection'))
    )
    op.create_index(op.f('ix_market_rights_objection_registration_id'), 'market_rights_objection', ['registration_id'], unique=False)
    op.create_table('market_licence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('right', sa.String(length=20), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('licensor_id', sa.Integer(), nullable=False),
    sa.Column('licensee_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', shudata.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['licensee_id'], ['market_participant.id'], name=op.f('fk_market_licence_licensee_id_market_participant')),
    sa.ForeignKeyConstraint(['licensor_id'], ['market_participant.id'], name=op.f('fk_market_licence_licensor_id_market_participant')),
    sa.ForeignKeyConstraint(['order_id'], ['market_order.id'], name=op.f('fk_market_licence_order_id_market_order')),
    sa.ForeignKeyConstraint(['product_id'], ['market_product.id'], name=op.f('fk_market_licence_product_id_market_product')),
    sa.ForeignKeyConstraint(['registration_id'], ['market_rights_registration.id'], name=op.f('fk_market_licence_registration_id_market_rights_registration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_licence')),
    sa.UniqueConstraint('number', name=op.f('uq_market_licence_number')),
    sa.UniqueConstraint('order_id', name=op.f('uq_market_licence_order_id'))
    )
    op.create_index(op.f('ix_market_licence_licensee_id'), 'market_licence', ['licensee_id'], unique=False)
    op.create_index(op.f('ix_market_licence_product_id'), 'market_licence', ['product_id'], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
