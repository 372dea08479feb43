"""security: actor kind in the audit trail, server-side web sessions, login throttle

- ``audit_entry.actor_kind``: user | token | peer | developer | system | anonymous. Entries
  written before this revision keep NULL, so that their chain hashes still verify.
- ``security_web_session``: browser logins held server-side (ended by logout, a password
  change or reset, or disabling the account).
- ``security_login_throttle``: failed logins and lock-outs per account and per address.

Revision ID: 0002_security_sessions
Revises: 0001_initial
Create Date: 2026-12-06 16:41:34.855649
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shudata.db.base

revision: str = "0002_security_sessions"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "security_login_throttle",
        sa.Column("bucket", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_security_login_throttle")),
    )
    op.create_table(
        "security_web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("principal", sa.String(length=20), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shudata.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", shudata.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_web_session")),
        sa.UniqueConstraint("sid_hash", name=op.f("uq_security_web_session_sid_hash")),
    )
    with op.batch_alter_table("security_web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_web_session_principal_id"), ["principal_id"], unique=False)

    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_kind", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_column("actor_kind")

    with op.batch_alter_table("security_web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_web_session_principal_id"))

    op.drop_table("security_web_session")
    op.drop_table("security_login_throttle")
