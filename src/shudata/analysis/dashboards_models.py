"""The dashboards' table (issue 18): one row per dashboard, its declarative document as JSON.

A dashboard's panels, grid layout and filters live in ``document`` (validated by
:class:`shudata.analysis.dashboards.DashboardDoc` on every write), so that export and import are the
same document and a department can ship one with its data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class AnalysisDashboard(Base):
    """A dashboard (仪表板): ``sharing`` is ``private``, ``department`` or ``public`` (published on the portal)."""

    __tablename__ = "analysis_dashboard"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120), index=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("security_user.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("security_department.id"), index=True)
    sharing: Mapped[str] = mapped_column(String(12), default="private", index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    published_at: Mapped[dt.datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
