"""privacy: a steward's review of what a column holds (overrules detection, with who and why)

- ``privacy_column_review``: append-only decisions per (resource, column): an entity type, or
  NULL for "not personal information", or withdrawn; the newest row is in force.

Revision ID: 0003_detection_review
Revises: 0002_security_sessions
Create Date: 2026-12-06 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shudata.db.base

revision: str = "0003_detection_review"
down_revision: str | None = "0002_security_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_column_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=True),
        sa.Column("detected", sa.String(length=40), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["catalog_resource.id"],
                                name=op.f("fk_privacy_column_review_resource_id_catalog_resource")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_column_review")),
    )
    with op.batch_alter_table("privacy_column_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_column_review_resource_id"), ["resource_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("privacy_column_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_column_review_resource_id"))
    op.drop_table("privacy_column_review")
