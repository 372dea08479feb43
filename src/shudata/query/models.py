"""Workbench tables: saved queries (private or shared within the department) and each user's runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class QuerySaved(Base):
    """A query a user saved from the workbench.

    ``visibility`` is ``private`` (the owner only) or ``department`` (everyone of the owner's
    department may open and run it — running it still reads only what each reader may read).
    Only the owner edits or deletes it. Names are unique per owner.
    """

    __tablename__ = "query_saved"
    __table_args__ = (UniqueConstraint("owner", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(120), index=True)  # the account's user name
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("security_user.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("security_department.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    sql: Mapped[str] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(20), default="private")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QueryHistory(Base):
    """One run of the workbench by a user: the SQL, how it ended and what it read.

    ``status`` is ``success``, ``refused`` (4xx from the sandbox or the access rules),
    ``timeout`` or ``cancelled``; ``error_code`` names the refusal.
    """

    __tablename__ = "query_history"
    __table_args__ = (Index("ix_query_history_owner_created_at", "owner", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("security_user.id"))
    sql: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(80))
    message: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int | None] = mapped_column(Integer)
    elapsed_ms: Mapped[float | None] = mapped_column(Float)
    tables: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    saved_id: Mapped[int | None] = mapped_column(ForeignKey("query_saved.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
