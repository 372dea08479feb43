"""analysis: the indicator store (指标体系) and early warning (预警) (issue 18)

- ``analysis_indicator`` (indicators: code, names, unit, frequency, region level, hierarchy, definition,
  owner department, publication profile), ``analysis_value`` (indicator × region × site × period → value,
  with the lake versions it came from and its source rows);
- ``analysis_layout`` (the NBS / monitoring layout a catalog resource declares), ``analysis_recompute``
  (recompute runs);
- ``analysis_alert_rule``, ``analysis_subscription`` (in-app, webhook), ``analysis_alert`` (the alert log
  with acknowledgements), ``analysis_delivery`` (each alert sent to each subscription, attempts kept).

Revision ID: 0008_analysis
Revises: 0007_market_rights
Create Date: 2026-12-07 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shudata.db.base

revision: str = "0008_analysis"
down_revision: str | None = "0007_market_rights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "analysis_delivery",
    "analysis_alert",
    "analysis_subscription",
    "analysis_alert_rule",
    "analysis_recompute",
    "analysis_layout",
    "analysis_value",
    "analysis_indicator",
)


def upgrade() -> None:
    op.create_table(
        "analysis_indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=True),
        sa.Column("frequency", sa.String(length=4), nullable=False),
        sa.Column("region_level", sa.String(length=8), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_department_id", sa.Integer(), nullable=False),
        sa.Column("publication", sa.String(length=20), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("computed_at", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("compute_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_department_id"],
            ["security_department.id"],
            name=op.f("fk_analysis_indicator_owner_department_id_security_department"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["analysis_indicator.id"], name=op.f("fk_analysis_indicator_parent_id_analysis_indicator")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_indicator")),
    )
    with op.batch_alter_table("analysis_indicator", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_indicator_code"), ["code"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_analysis_indicator_owner_department_id"), ["owner_department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_analysis_indicator_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "analysis_alert_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["analysis_indicator.id"],
            name=op.f("fk_analysis_alert_rule_indicator_id_analysis_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_alert_rule")),
    )
    with op.batch_alter_table("analysis_alert_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_alert_rule_indicator_id"), ["indicator_id"], unique=False)

    op.create_table(
        "analysis_layout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("layout", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resource.id"],
            name=op.f("fk_analysis_layout_resource_id_catalog_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_layout")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_analysis_layout_resource_id")),
    )
    op.create_table(
        "analysis_recompute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("values", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalog_resource.id"],
            name=op.f("fk_analysis_recompute_resource_id_catalog_resource"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_recompute")),
    )
    op.create_table(
        "analysis_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("min_severity", sa.String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["analysis_indicator.id"],
            name=op.f("fk_analysis_subscription_indicator_id_analysis_indicator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["security_user.id"],
            name=op.f("fk_analysis_subscription_user_id_security_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_subscription")),
    )
    with op.batch_alter_table("analysis_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_subscription_user_id"), ["user_id"], unique=False)

    op.create_table(
        "analysis_value",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=60), nullable=True),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("period_start", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("source_rows", sa.JSON(), nullable=True),
        sa.Column("computed_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["analysis_indicator.id"],
            name=op.f("fk_analysis_value_indicator_id_analysis_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_value")),
        sa.UniqueConstraint(
            "indicator_id", "region_code", "site", "period", name=op.f("uq_analysis_value_indicator_id")
        ),
    )
    with op.batch_alter_table("analysis_value", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_value_indicator_id"), ["indicator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_analysis_value_period"), ["period"], unique=False)
        batch_op.create_index(batch_op.f("ix_analysis_value_region_code"), ["region_code"], unique=False)

    op.create_table(
        "analysis_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("region", sa.String(length=60), nullable=True),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("recompute_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=120), nullable=True),
        sa.Column("acknowledged_at", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ack_comment", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["analysis_indicator.id"],
            name=op.f("fk_analysis_alert_indicator_id_analysis_indicator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recompute_id"],
            ["analysis_recompute.id"],
            name=op.f("fk_analysis_alert_recompute_id_analysis_recompute"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["analysis_alert_rule.id"],
            name=op.f("fk_analysis_alert_rule_id_analysis_alert_rule"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_alert")),
        sa.UniqueConstraint("key", name=op.f("uq_analysis_alert_key")),
    )
    with op.batch_alter_table("analysis_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_alert_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_analysis_alert_indicator_id"), ["indicator_id"], unique=False)

    op.create_table(
        "analysis_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["analysis_alert.id"],
            name=op.f("fk_analysis_delivery_alert_id_analysis_alert"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["analysis_subscription.id"],
            name=op.f("fk_analysis_delivery_subscription_id_analysis_subscription"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["security_user.id"],
            name=op.f("fk_analysis_delivery_user_id_security_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_delivery")),
        sa.UniqueConstraint("alert_id", "subscription_id", name=op.f("uq_analysis_delivery_alert_id")),
    )
    with op.batch_alter_table("analysis_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_delivery_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_analysis_delivery_subscription_id"), ["subscription_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_analysis_delivery_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
