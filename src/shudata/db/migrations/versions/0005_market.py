"""market: the data-trading core (issue 16)

- ``market_participant`` (交易主体), ``market_member`` (accounts acting for one), ``market_document``
  (qualification documents, encrypted), ``market_review`` (operator decisions), ``market_signing_key``
  (SM2 keys held by the exchange, wrapped);
- ``market_product``, ``market_product_source``, ``market_listing_event``, ``market_price_plan``;
- ``market_order``, ``market_offer``, ``market_order_event``, ``market_contract``, ``market_signature``;
- ``market_account``, ``market_journal``, ``market_posting`` (double-entry settlement).

Revision ID: 0005_market
Revises: 0004_workbench
Create Date: 2026-12-07 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shudata.db.base

revision: str = "0005_market"
down_revision: str | None = "0004_workbench"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("legal_representative", sa.String(length=100), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("contact_email", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("authorisation", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["security_department.id"],
            name=op.f("fk_market_participant_department_id_security_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_participant")),
        sa.UniqueConstraint("name", name=op.f("uq_market_participant_name")),
        sa.UniqueConstraint("uscc", name=op.f("uq_market_participant_uscc")),
    )
    with op.batch_alter_table("market_participant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_participant_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_participant_status"), ["status"], unique=False)

    op.create_table(
        "market_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["market_participant.id"],
            name=op.f("fk_market_account_participant_id_market_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_account")),
        sa.UniqueConstraint("kind", "participant_id", name=op.f("uq_market_account_kind")),
    )
    with op.batch_alter_table("market_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_account_participant_id"), ["participant_id"], unique=False)

    op.create_table(
        "market_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_path", sa.String(length=500), nullable=False),
        sa.Column("key_wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["market_participant.id"],
            name=op.f("fk_market_document_participant_id_market_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_document")),
    )
    with op.batch_alter_table("market_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_document_participant_id"), ["participant_id"], unique=False)

    op.create_table(
        "market_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["market_participant.id"],
            name=op.f("fk_market_member_participant_id_market_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["security_user.id"], name=op.f("fk_market_member_user_id_security_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_member")),
        sa.UniqueConstraint("user_id", name=op.f("uq_market_member_user_id")),
    )
    with op.batch_alter_table("market_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_member_participant_id"), ["participant_id"], unique=False)

    op.create_table(
        "market_product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("sheet", sa.JSON(), nullable=False),
        sa.Column("delivery_modes", sa.JSON(), nullable=False),
        sa.Column("masking_profile", sa.String(length=40), nullable=False),
        sa.Column("rights", sa.JSON(), nullable=False),
        sa.Column("source_evidence", sa.Text(), nullable=False),
        sa.Column("personal_authorisation", sa.Text(), nullable=True),
        sa.Column("contains_personal", sa.Boolean(), nullable=False),
        sa.Column("sample", sa.JSON(), nullable=False),
        sa.Column("assessment", sa.JSON(), nullable=False),
        sa.Column("derivation", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("listed_at", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["market_participant.id"], name=op.f("fk_market_product_seller_id_market_participant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_product")),
        sa.UniqueConstraint("code", name=op.f("uq_market_product_code")),
    )
    with op.batch_alter_table("market_product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_product_seller_id"), ["seller_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_product_status"), ["status"], unique=False)

    op.create_table(
        "market_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["market_participant.id"],
            name=op.f("fk_market_review_participant_id_market_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_review")),
    )
    with op.batch_alter_table("market_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_review_participant_id"), ["participant_id"], unique=False)

    op.create_table(
        "market_signing_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("private_key_wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["market_participant.id"],
            name=op.f("fk_market_signing_key_participant_id_market_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_signing_key")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_market_signing_key_participant_id")),
    )
    op.create_table(
        "market_listing_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("assessment", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["market_product.id"],
            name=op.f("fk_market_listing_event_product_id_market_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_listing_event")),
    )
    with op.batch_alter_table("market_listing_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_listing_event_product_id"), ["product_id"], unique=False)

    op.create_table(
        "market_price_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("free_units", sa.BigInteger(), nullable=False),
        sa.Column("monthly_cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("buyer_id", sa.Integer(), nullable=True),
        sa.Column("valid_until", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["market_participant.id"], name=op.f("fk_market_price_plan_buyer_id_market_participant")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["market_product.id"],
            name=op.f("fk_market_price_plan_product_id_market_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_price_plan")),
    )
    with op.batch_alter_table("market_price_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_price_plan_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_price_plan_product_id"), ["product_id"], unique=False)

    op.create_table(
        "market_product_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["market_product.id"],
            name=op.f("fk_market_product_source_product_id_market_product"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["catalog_resource.id"], name=op.f("fk_market_product_source_resource_id_catalog_resource")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_product_source")),
        sa.UniqueConstraint("product_id", "resource_id", name=op.f("uq_market_product_source_product_id")),
    )
    with op.batch_alter_table("market_product_source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_product_source_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_product_source_resource_id"), ["resource_id"], unique=False)

    op.create_table(
        "market_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("broker_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("territory", sa.String(length=100), nullable=False),
        sa.Column("term_days", sa.Integer(), nullable=False),
        sa.Column("delivery_mode", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("accept_due_at", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["broker_id"], ["market_participant.id"], name=op.f("fk_market_order_broker_id_market_participant")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["market_participant.id"], name=op.f("fk_market_order_buyer_id_market_participant")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["market_price_plan.id"], name=op.f("fk_market_order_plan_id_market_price_plan")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["market_product.id"], name=op.f("fk_market_order_product_id_market_product")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["market_participant.id"], name=op.f("fk_market_order_seller_id_market_participant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_order")),
        sa.UniqueConstraint("code", name=op.f("uq_market_order_code")),
    )
    with op.batch_alter_table("market_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_order_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_order_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_order_seller_id"), ["seller_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_order_status"), ["status"], unique=False)

    op.create_table(
        "market_contract",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("valid_from", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["market_order.id"], name=op.f("fk_market_contract_order_id_market_order"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_contract")),
        sa.UniqueConstraint("number", name=op.f("uq_market_contract_number")),
        sa.UniqueConstraint("order_id", name=op.f("uq_market_contract_order_id")),
    )
    op.create_table(
        "market_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["market_order.id"], name=op.f("fk_market_journal_order_id_market_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_journal")),
    )
    with op.batch_alter_table("market_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_journal_order_id"), ["order_id"], unique=False)

    op.create_table(
        "market_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=10), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["market_order.id"], name=op.f("fk_market_offer_order_id_market_order"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_offer")),
    )
    with op.batch_alter_table("market_offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_offer_order_id"), ["order_id"], unique=False)

    op.create_table(
        "market_order_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["market_order.id"],
            name=op.f("fk_market_order_event_order_id_market_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_order_event")),
    )
    with op.batch_alter_table("market_order_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_order_event_order_id"), ["order_id"], unique=False)

    op.create_table(
        "market_posting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["market_account.id"], name=op.f("fk_market_posting_account_id_market_account")
        ),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["market_journal.id"],
            name=op.f("fk_market_posting_journal_id_market_journal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_posting")),
    )
    with op.batch_alter_table("market_posting", schema=None) as batch_op:
        batch_op.create_index("ix_market_posting_account_journal", ["account_id", "journal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_posting_journal_id"), ["journal_id"], unique=False)

    op.create_table(
        "market_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=10), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("signature", sa.String(length=300), nullable=False),
        sa.Column("signed_by", sa.String(length=120), nullable=False),
        sa.Column("signed_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["market_contract.id"],
            name=op.f("fk_market_signature_contract_id_market_contract"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["market_participant.id"],
            name=op.f("fk_market_signature_participant_id_market_participant"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_signature")),
        sa.UniqueConstraint("contract_id", "party", name=op.f("uq_market_signature_contract_id")),
    )
    with op.batch_alter_table("market_signature", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_signature_contract_id"), ["contract_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("market_signature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_signature_contract_id"))

    op.drop_table("market_signature")
    with op.batch_alter_table("market_posting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_posting_journal_id"))
        batch_op.drop_index("ix_market_posting_account_journal")

    op.drop_table("market_posting")
    with op.batch_alter_table("market_order_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_order_event_order_id"))

    op.drop_table("market_order_event")
    with op.batch_alter_table("market_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_offer_order_id"))

    op.drop_table("market_offer")
    with op.batch_alter_table("market_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_journal_order_id"))

    op.drop_table("market_journal")
    op.drop_table("market_contract")
    with op.batch_alter_table("market_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_order_status"))
        batch_op.drop_index(batch_op.f("ix_market_order_seller_id"))
        batch_op.drop_index(batch_op.f("ix_market_order_product_id"))
        batch_op.drop_index(batch_op.f("ix_market_order_buyer_id"))

    op.drop_table("market_order")
    with op.batch_alter_table("market_product_source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_product_source_resource_id"))
        batch_op.drop_index(batch_op.f("ix_market_product_source_product_id"))

    op.drop_table("market_product_source")
    with op.batch_alter_table("market_price_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_price_plan_product_id"))
        batch_op.drop_index(batch_op.f("ix_market_price_plan_buyer_id"))

    op.drop_table("market_price_plan")
    with op.batch_alter_table("market_listing_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_listing_event_product_id"))

    op.drop_table("market_listing_event")
    op.drop_table("market_signing_key")
    with op.batch_alter_table("market_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_review_participant_id"))

    op.drop_table("market_review")
    with op.batch_alter_table("market_product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_product_status"))
        batch_op.drop_index(batch_op.f("ix_market_product_seller_id"))

    op.drop_table("market_product")
    with op.batch_alter_table("market_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_member_participant_id"))

    op.drop_table("market_member")
    with op.batch_alter_table("market_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_document_participant_id"))

    op.drop_table("market_document")
    with op.batch_alter_table("market_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_account_participant_id"))

    op.drop_table("market_account")
    with op.batch_alter_table("market_participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_participant_status"))
        batch_op.drop_index(batch_op.f("ix_market_participant_department_id"))

    op.drop_table("market_participant")
