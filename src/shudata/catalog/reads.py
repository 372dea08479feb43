"""Reading versions of a catalog entry: list them, page their rows, download them. Reading
data needs ``lake.version.read`` on the entry (:func:`shudata.catalog.access.require_read_data`)
and every read is audited (``lake.version.read``). The use cases live in catalog, above the
lake's storage (which imports no catalog, audit or authorisation)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource, require_read_data
from shudata.catalog.actions import RESOURCE_VIEW
from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.core.types import Actor
from shudata.lake import export, reader
from shudata.lake.models import LakeVersion
from shudata.lake.schemas import VersionRead
from shudata.lake.service import get_version, list_versions, version_files
from shudata.security.authz import require


def version_read(v: LakeVersion, resource: CatalogResource) -> VersionRead:
    return VersionRead.model_validate({**{c: getattr(v, c) for c in VersionRead.model_fields if hasattr(v, c)},
                                       "resource_code": resource.code})


def versions_of(*, session: Session, actor: Actor, resource_code: str) -> list[VersionRead]:
    """Every version of an entry, newest first (metadata: any logged-in user)."""
    require(actor, RESOURCE_VIEW)
    res = find_resource(session, resource_code)
    return [version_read(v, res) for v in list_versions(session, res.id)]


def version_meta(*, session: Session, actor: Actor, resource_code: str, version: int | None) -> VersionRead:
    require(actor, RESOURCE_VIEW)
    res = find_resource(session, resource_code)
    return version_read(get_version(session, res.id, version), res)


def _readable(session: Session, actor: Actor, resource_code: str, version: int | None
              ) -> tuple[CatalogResource, LakeVersion]:
    """The entry and its version, once the actor may read its data (one query for a code)."""
    stmt = (select(CatalogResource, LakeVersion).join(LakeVersion, LakeVersion.resource_id == CatalogResource.id)
            .where(CatalogResource.is_deleted.is_(False), CatalogResource.code == resource_code.strip()))
    stmt = stmt.where(LakeVersion.version == version) if version is not None else stmt
    hit = session.execute(stmt.order_by(LakeVersion.version.desc()).limit(1)).first()
    if hit is not None:
        require_read_data(actor, hit[0])
        return hit[0], hit[1]
    res = find_resource(session, resource_code)  # aliases, names, and the precise error
    require_read_data(actor, res)
    return res, get_version(session, res.id, version)


def _audit(session: Session, actor: Actor, res: CatalogResource, v: LakeVersion, **details: object) -> None:
    """Append the read to the audit chain in the request's transaction (the ledger serialises
    concurrent appends at the chain head on every backend)."""
    record(session, actor, events.LakeVersionRead(resource_id=res.code, details={"version": v.version, **details}))


_PAGES: reader.BytesLRU[bytes] = reader.BytesLRU(64 << 20)


@dataclass
class Page:
    table: pa.Table
    total: int
    offset: int
    limit: int
    version: int

    key: tuple[str, int, int] | None = None
    max_bytes: int | None = None  # the page is cut to this many bytes, and says so

    def to_json(self) -> bytes:
        """The page as JSON; pages of an immutable version are encoded once and reused."""
        if self.key is not None and (hit := _PAGES.get(self.key)) is not None:
            return hit
        body = export.page_json(self.table, total=self.total, offset=self.offset, limit=self.limit,
                                version=self.version, max_bytes=self.max_bytes)
        if self.key is not None:
            _PAGES.put(self.key, body)
        return body


def read_rows(*, session: Session, settings: Settings, actor: Actor, resource_code: str,
              version: int | None = None, offset: int = 0, limit: int = 100) -> Page:
    """One page of a version's rows (newest version when ``version`` is None)."""
    if offset < 0 or limit < 1 or limit > settings.page_size_max:
        raise InvalidInput(f"分页参数无效：offset ≥ 0，1 ≤ limit ≤ {settings.page_size_max}"
                           "（设置 SHUDATA_PAGE_SIZE_MAX）；按 next_offset 逐页获取，或下载文件取得全部行",
                           f"Bad paging: offset ≥ 0 and 1 ≤ limit ≤ {settings.page_size_max} (setting "
                           "SHUDATA_PAGE_SIZE_MAX); page with next_offset, or download CSV/XLSX/Parquet for every row",
                           code="bad_paging", details={"max_limit": settings.page_size_max})
    res, v = _readable(session, actor, resource_code, version)
    table, total = reader.read_page(version_files(settings, v), offset, limit)
    _audit(session, actor, res, v, offset=offset, limit=limit, format="json")
    return Page(table, total, offset, limit, v.version, key=(v.storage_path, offset, limit),
                max_bytes=settings.result_max_bytes)


@dataclass
class Download:
    filename: str
    media_type: str
    stream: Iterator[bytes] | None = None
    file: IO[bytes] | None = None


def download(*, session: Session, settings: Settings, actor: Actor, resource_code: str,
             version: int | None, fmt: str) -> Download:
    """The whole version as CSV (UTF-8 BOM), XLSX or Parquet; values neutralised in CSV/XLSX."""
    if fmt not in ("csv", "xlsx", "parquet"):
        raise InvalidInput(f"不支持的格式 {fmt}；可选 json、csv、xlsx、parquet",
                           f"Unsupported format {fmt}; use json, csv, xlsx or parquet", code="bad_format")
    res, v = _readable(session, actor, resource_code, version)
    files = version_files(settings, v)
    name = f"{res.name}_v{v.version}.{fmt}"
    _audit(session, actor, res, v, format=fmt, rows=v.rows)
    if fmt == "csv":
        return Download(name, export.MEDIA_TYPES["csv"], stream=export.csv_stream(files))
    if fmt == "xlsx":
        return Download(name, export.MEDIA_TYPES["xlsx"], file=export.xlsx_file(files, v.rows, res.name))
    return Download(name, export.MEDIA_TYPES["parquet"], file=export.parquet_file(files))
