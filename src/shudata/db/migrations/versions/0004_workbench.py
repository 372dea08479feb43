"""query: the SQL workbench's saved queries and each user's run history

- ``query_saved``: queries saved by a user, private or shared within the owner's department
  (unique name per owner);
- ``query_history``: one row per workbench run (SQL, outcome, rows, time, tables read).

Revision ID: 0004_workbench
Revises: 0003_detection_review
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shudata.db.base


revision: str = "0004_workbench"
down_revision: str | None = "0003_detection_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "query_saved",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["security_department.id"], name=op.f("fk_query_saved_department_id_security_department")
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["security_user.id"], name=op.f("fk_query_saved_owner_user_id_security_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_saved")),
        sa.UniqueConstraint("owner", "name", name=op.f("uq_query_saved_owner")),
    )
    with op.batch_alter_table("query_saved", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_query_saved_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_query_saved_owner"), ["owner"], unique=False)

    op.create_table(
        "query_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=80), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("elapsed_ms", sa.Float(), nullable=True),
        sa.Column("tables", sa.JSON(), nullable=False),
        sa.Column("saved_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["security_user.id"], name=op.f("fk_query_history_owner_user_id_security_user")
        ),
        sa.ForeignKeyConstraint(
            ["saved_id"], ["query_saved.id"], name=op.f("fk_query_history_saved_id_query_saved"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_history")),
    )
    with op.batch_alter_table("query_history", schema=None) as batch_op:
        batch_op.create_index("ix_query_history_owner_created_at", ["owner", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("query_history", schema=None) as batch_op:
        batch_op.drop_index("ix_query_history_owner_created_at")

    op.drop_table("query_history")
    with op.batch_alter_table("query_saved", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_query_saved_owner"))
        batch_op.drop_index(batch_op.f("ix_query_saved_department_id"))

    op.drop_table("query_saved")
