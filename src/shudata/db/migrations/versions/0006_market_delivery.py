"""market delivery: entitlements, fingerprinted file deliveries, traces, hosted jobs (issue 16)

- ``market_entitlement``: what a purchase in ``delivering`` opens (fields, row filter, masking profile,
  expiry, quota and usage, release rules for hosted jobs, fingerprint settings);
- ``market_file_delivery``: each fingerprinted file handed to a buyer (no rows stored);
- ``market_trace``: each trace of a found file and its verdict;
- ``market_hosted_job``: each hosted job, released or refused.

Revision ID: 0006_market_delivery
Revises: 0005_market
Create Date: 2026-12-07 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shudata.db.base

revision: str = "0006_market_delivery"
down_revision: str | None = "0005_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = shudata.db.base.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "market_entitlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("delivery_mode", sa.String(length=20), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.Text(), nullable=True),
        sa.Column("masking_profile", sa.String(length=40), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("quota_calls", sa.BigInteger(), nullable=True),
        sa.Column("quota_rows", sa.BigInteger(), nullable=True),
        sa.Column("calls_used", sa.BigInteger(), nullable=False),
        sa.Column("rows_used", sa.BigInteger(), nullable=False),
        sa.Column("metered", sa.Boolean(), nullable=False),
        sa.Column("release_rules", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.JSON(), nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        _fk("market_entitlement", "order_id", "market_order", "CASCADE"),
        _fk("market_entitlement", "product_id", "market_product"),
        _fk("market_entitlement", "buyer_id", "market_participant"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_entitlement")),
        sa.UniqueConstraint("order_id", name=op.f("uq_market_entitlement_order_id")),
    )
    op.create_index(op.f("ix_market_entitlement_product_id"), "market_entitlement", ["product_id"])
    op.create_index(op.f("ix_market_entitlement_buyer_id"), "market_entitlement", ["buyer_id"])
    op.create_table(
        "market_file_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("entitlement_id", sa.Integer(), nullable=True),
        sa.Column("buyer_id", sa.Integer(), nullable=True),
        sa.Column("buyer_label", sa.String(length=120), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("market_file_delivery", "product_id", "market_product"),
        _fk("market_file_delivery", "entitlement_id", "market_entitlement"),
        _fk("market_file_delivery", "buyer_id", "market_participant"),
        _fk("market_file_delivery", "resource_id", "catalog_resource"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_file_delivery")),
    )
    for col in ("product_id", "entitlement_id", "buyer_id"):
        op.create_index(op.f(f"ix_market_file_delivery_{col}"), "market_file_delivery", [col])
    op.create_table(
        "market_trace",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("market_trace", "product_id", "market_product"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_trace")),
    )
    op.create_index(op.f("ix_market_trace_product_id"), "market_trace", ["product_id"])
    op.create_table(
        "market_hosted_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entitlement_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=True),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("epsilon", sa.Double(), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("market_hosted_job", "entitlement_id", "market_entitlement"),
        _fk("market_hosted_job", "product_id", "market_product"),
        _fk("market_hosted_job", "buyer_id", "market_participant"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_hosted_job")),
    )
    for col in ("entitlement_id", "product_id", "buyer_id"):
        op.create_index(op.f(f"ix_market_hosted_job_{col}"), "market_hosted_job", [col])


def downgrade() -> None:
    for table, cols in (("market_hosted_job", ("entitlement_id", "product_id", "buyer_id")),
                        ("market_trace", ("product_id",)),
                        ("market_file_delivery", ("product_id", "entitlement_id", "buyer_id")),
                        ("market_entitlement", ("product_id", "buyer_id"))):
        for col in cols:
            op.drop_index(op.f(f"ix_{table}_{col}"), table_name=table)
        op.drop_table(table)
