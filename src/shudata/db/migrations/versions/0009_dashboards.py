"""analysis: dashboards (仪表板) (issue 18)

- ``analysis_dashboard``: one row per dashboard — title, owner, department, sharing (private /
  department / public) and its declarative document (grid layout, panels, filters) as JSON.

Revision ID: 0009_dashboards
Revises: 0008_analysis
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shudata.db.base

revision: str = "0009_dashboards"
down_revision: str | None = "0008_analysis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analysis_dashboard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("sharing", sa.String(length=12), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("published_at", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=120), nullable=True),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["security_department.id"],
                                name=op.f("fk_analysis_dashboard_department_id_security_department")),
        sa.ForeignKeyConstraint(["owner_user_id"], ["security_user.id"],
                                name=op.f("fk_analysis_dashboard_owner_user_id_security_user"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_dashboard")),
    )
    with op.batch_alter_table("analysis_dashboard", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analysis_dashboard_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_analysis_dashboard_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_analysis_dashboard_sharing"), ["sharing"], unique=False)


def downgrade() -> None:
    op.drop_table("analysis_dashboard")
