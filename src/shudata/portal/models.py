"""Portal tables: published datasets and versions, developers, keys, applications,
public data requests, daily usage counters, and harvesting."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class PortalDataset(Base):
    """An entry as the portal knows it: its public name and the version it serves.

    ``status`` is ``published`` (served: ``version`` is the newest published version) or
    ``withdrawn`` (nothing served). The counters are kept here for sorting by use.
    """

    __tablename__ = "portal_dataset"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # CKAN name: code with / as -
    # no index on status: nearly every row is "published", and an index there lures SQLite's
    # planner away from the unique resource_id index (100× slower page loads at 100k datasets)
    status: Mapped[str] = mapped_column(String(12))
    version: Mapped[int | None]
    theme: Mapped[str] = mapped_column(String(60), index=True)
    first_published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    api_calls: Mapped[int] = mapped_column(BigInteger, default=0)


class PortalPublication(Base):
    """One gate run of one version: ``published``, ``refused`` (with the findings) or ``withdrawn``."""

    __tablename__ = "portal_publication"
    __table_args__ = (Index("ix_portal_publication_res_ver", "resource_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(12))  # lookups go through (resource_id, version)
    policy: Mapped[str] = mapped_column(String(120))
    gate: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    operators: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    file: Mapped[str | None] = mapped_column(String(300))  # relative to data_dir/portal
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    columns: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(120))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)


class PortalDeveloper(Base):
    """A registered member of the public (开发者): email + phone, password hashed with argon2."""

    __tablename__ = "portal_developer"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PortalApiKey(Base):
    """A developer's API key. Only its SM3 hash is stored; the key is shown once."""

    __tablename__ = "portal_api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("portal_developer.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]


class PortalApplication(Base):
    """A developer's application for a conditional (有条件开放) dataset."""

    __tablename__ = "portal_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    developer_id: Mapped[int] = mapped_column(ForeignKey("portal_developer.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    provider_department_id: Mapped[int] = mapped_column(ForeignKey("security_department.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    agreement_sha: Mapped[str] = mapped_column(String(64))  # SM3 of the agreement text accepted
    accepted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending/approved/refused/revoked
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PortalDataRequest(Base):
    """A public data request (公众数据需求). Contact details are never shown publicly."""

    __tablename__ = "portal_data_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    requester_name: Mapped[str] = mapped_column(String(100))
    contact_email: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("security_department.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True, default="open")  # open/answered
    answer: Mapped[str | None] = mapped_column(Text)
    answer_resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resource.id"))
    answered_by: Mapped[str | None] = mapped_column(String(120))
    answered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class PortalUsage(Base):
    """Daily counters per dataset: ``kind`` is ``view``, ``download`` or ``api``."""

    __tablename__ = "portal_usage"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    resource_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class PortalKeyUsage(Base):
    """Daily API calls per developer key (the developer's own usage page)."""

    __tablename__ = "portal_key_usage"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    key_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class HarvestSource(Base):
    """Another CKAN-compatible portal this portal harvests."""

    __tablename__ = "portal_harvest_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    department_id: Mapped[int] = mapped_column(ForeignKey("security_department.id"))  # owner of imported entries
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[dt.datetime | None]


class HarvestJob(Base):
    """One harvest run: gather → fetch → import. ``heartbeat_at`` lets a crashed run be
    recognised and closed as failed (never left running)."""

    __tablename__ = "portal_harvest_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("portal_harvest_source.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # running/finished/failed
    stage: Mapped[str] = mapped_column(String(12), default="gather")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    pid: Mapped[int | None]
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    log: Mapped[list[Any]] = mapped_column(JSON, default=list)


class HarvestObject(Base):
    """A remote dataset as last imported: its remote id and modification time (incremental runs)."""

    __tablename__ = "portal_harvest_object"
    __table_args__ = (UniqueConstraint("source_id", "remote_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("portal_harvest_source.id"), index=True)
    remote_id: Mapped[str] = mapped_column(String(100))
    remote_name: Mapped[str] = mapped_column(String(200))
    remote_modified: Mapped[str | None] = mapped_column(String(40))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_resource.id"))
    last_job_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="imported")  # imported/failed/deleted
    message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
