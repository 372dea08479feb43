"""Lake tables. ``LakeVersion`` is one immutable, numbered data version of a catalog
resource, stored as Parquet files under ``settings.lake_dir / storage_path``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class LakeVersion(Base):
    """One published data version. A row exists only once its files are in place."""

    __tablename__ = "lake_version"
    __table_args__ = (UniqueConstraint("resource_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # [{"name": "地区", "type": "string"}, …] with Arrow type strings
    columns: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source_name: Mapped[str] = mapped_column(String(255))
    source_format: Mapped[str] = mapped_column(String(20))
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    source_bytes: Mapped[int | None] = mapped_column(BigInteger)
    encoding: Mapped[str | None] = mapped_column(String(20))
    header_row: Mapped[int | None] = mapped_column(Integer)
    sheet: Mapped[str | None] = mapped_column(String(120))
    skipped_rows: Mapped[int] = mapped_column(Integer, default=0)
    quarantined_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    storage_path: Mapped[str] = mapped_column(String(400))  # relative to settings.lake_dir
    comment: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
