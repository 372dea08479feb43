"""Catalog tables. ``CatalogResource`` holds the current metadata of an entry;
``CatalogRevision`` keeps every version of it (who, when, what)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shudata.core.clock import utcnow
from shudata.db.base import Base
from shudata.security.models import Department


class CatalogResource(Base):
    __tablename__ = "catalog_resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, index=True)  # 101001/000123
    alias: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    classification: Mapped[str] = mapped_column(String(10))
    category_path: Mapped[str | None] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("security_department.id"), index=True)
    format_category: Mapped[str] = mapped_column(String(20))
    format_type: Mapped[str] = mapped_column(String(40))
    information_items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sharing_type: Mapped[int] = mapped_column(Integer, index=True)
    sharing_condition: Mapped[str | None] = mapped_column(Text)
    sharing_method: Mapped[str] = mapped_column(String(10))
    open_type: Mapped[str] = mapped_column(String(10))
    open_condition: Mapped[str | None] = mapped_column(Text)
    update_cycle: Mapped[str] = mapped_column(String(10), index=True)
    publish_date: Mapped[dt.date | None]
    related_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    base_registry: Mapped[str | None] = mapped_column(String(20))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    revision: Mapped[int] = mapped_column(default=1)
    is_deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    provider: Mapped[Department] = relationship(lazy="joined")


class CatalogRevision(Base):
    """One version of an entry's metadata: the full snapshot after the change."""

    __tablename__ = "catalog_revision"
    __table_args__ = (UniqueConstraint("resource_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    revision: Mapped[int]
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CatalogDemand(Base):
    """需求清单: data a department needs, and the entry that answers it once linked."""

    __tablename__ = "catalog_demand"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("security_department.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    wanted_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # open/matched/closed
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resource.id"))
    linked_by: Mapped[str | None] = mapped_column(String(120))
    linked_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")


class CatalogSearchTerm(Base):
    """One posting of the portable inverted index: ``impact`` is the entry's field-weighted,
    length-normalised term weight ×1000 (an integer, so ranking is identical on every backend)."""

    __tablename__ = "catalog_search_term"
    __table_args__ = (
        Index("ix_catalog_search_term_rank", "term", "impact", "resource_id"),
        {"sqlite_with_rowid": False},
    )

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    impact: Mapped[int] = mapped_column(Integer)


class CatalogSearchDoc(Base):
    """The terms an entry is indexed under (to remove its postings and keep ``df`` exact)."""

    __tablename__ = "catalog_search_doc"

    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), primary_key=True)
    terms: Mapped[list[Any]] = mapped_column(JSON, default=list)


class CatalogSearchStat(Base):
    """Document frequency per term; the reserved term ``#docs`` counts indexed entries."""

    __tablename__ = "catalog_search_stat"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    df: Mapped[int] = mapped_column(Integer, default=0)
