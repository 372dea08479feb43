"""Lake storage: find versions, store a new version atomically, clean up after crashes.

Other packages (catalog freshness, query sandbox, privacy, quality cleaning runs) call
these; the names are a contract. The lake is storage only (it imports no catalog, audit or
authorisation, see the import contracts in pyproject.toml): writing a version as a use case
— the ``lake.version.create`` check and the audit record — is
:func:`shudata.catalog.writes.write_version`, which calls :func:`store_version`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, NotFound
from shudata.lake import layout, parquet
from shudata.lake.models import LakeVersion

log = logging.getLogger("shudata.lake")


def latest_version(session: Session, resource_id: int) -> LakeVersion | None:
    """The newest version of a resource, or ``None`` when it has no data yet."""
    stmt = (select(LakeVersion).where(LakeVersion.resource_id == resource_id)
            .order_by(LakeVersion.version.desc()).limit(1))
    return session.scalars(stmt).first()


def get_version(session: Session, resource_id: int, version: int | None = None) -> LakeVersion:
    """Version ``version`` of a resource (the newest when ``None``); ``NotFound`` otherwise."""
    if version is None:
        found = latest_version(session, resource_id)
        if found is None:
            raise NotFound("该资源尚无数据版本，请先上传数据",
                           "This resource has no data version yet; upload data first", code="version_not_found")
        return found
    stmt = select(LakeVersion).where(LakeVersion.resource_id == resource_id, LakeVersion.version == version)
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound(f"数据版本 {version} 不存在", f"Data version {version} does not exist",
                       code="version_not_found")
    return found


def list_versions(session: Session, resource_id: int) -> list[LakeVersion]:
    """Every version of a resource, newest first."""
    stmt = select(LakeVersion).where(LakeVersion.resource_id == resource_id).order_by(LakeVersion.version.desc())
    return list(session.scalars(stmt))


def version_dir(settings: Settings, v: LakeVersion) -> Path:
    return layout.resolve(settings.lake_dir, v.storage_path)


def version_files(settings: Settings, v: LakeVersion) -> list[Path]:
    """The Parquet files of a version (absolute paths, in order)."""
    return parquet.parts(version_dir(settings, v))


def schema_columns(schema: pa.Schema) -> list[dict[str, str]]:
    """``[{"name", "type"}]`` with Arrow type strings.

    >>> schema_columns(pa.schema([("地区", pa.string()), ("值", pa.float64())]))
    [{'name': '地区', 'type': 'string'}, {'name': '值', 'type': 'double'}]
    """
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def store_version(
    *,
    session: Session,
    settings: Settings,
    resource_id: int,
    created_by: str,
    batches_or_table: pa.Table | Iterable[pa.RecordBatch] | None = None,
    staged: parquet.WriteResult | None = None,
    source_name: str,
    source_format: str,
    schema: pa.Schema | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    sheet: str | None = None,
    skipped_rows: int = 0,
    source_sha256: str | None = None,
    source_bytes: int | None = None,
    quarantined_rows: int = 0,
    comment: str | None = None,
) -> LakeVersion:
    """Store data as the next numbered version of resource ``resource_id``, atomically.

    Give the data as ``batches_or_table`` (written here) or as ``staged`` files already
    sealed with :func:`shudata.lake.parquet.finish_staged` (the ingest pipeline writes
    parts in parallel). Staged files are moved, never copied.

    Staged files are fsynced and published by rename before the row is flushed; when the
    caller's transaction rolls back, the published directory is removed again, so a
    version exists on disk and in the database together or not at all (a process killed
    in between leaves a directory no row points at, removed by :func:`cleanup`).
    """
    number = _next_number(session, resource_id)
    if staged is None:
        if batches_or_table is None:
            raise ValueError("write_version needs batches_or_table or staged")
        staged = parquet.write_staged(settings.lake_dir, batches_or_table, schema)
    final = layout.new_version_path(settings.lake_dir, resource_id, number)
    try:
        parquet.publish(staged.staging, final)
    except BaseException:
        parquet.discard(staged.staging)
        raise
    _discard_on_rollback(session, final)
    row = LakeVersion(
        resource_id=resource_id, version=number, rows=staged.rows, bytes=staged.bytes,
        columns=schema_columns(staged.schema), source_name=source_name[:255], source_format=source_format,
        source_sha256=source_sha256, source_bytes=source_bytes, encoding=encoding, header_row=header_row,
        sheet=sheet, skipped_rows=skipped_rows, quarantined_rows=quarantined_rows,
        storage_path=layout.relative(settings.lake_dir, final), comment=comment,
        created_by=created_by, created_at=utcnow(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("另一个上传同时生成了相同的版本号，请重试", "Another upload took the same version number; retry",
                       code="version_conflict") from exc
    return row


def _next_number(session: Session, resource_id: int) -> int:
    current = session.scalar(select(func.max(LakeVersion.version)).where(LakeVersion.resource_id == resource_id))
    return int(current or 0) + 1


def _discard_on_rollback(session: Session, path: Path) -> None:
    """Remove ``path`` if the session's transaction rolls back instead of committing."""
    state = {"done": False}

    def on_commit(_s: Session) -> None:
        state["done"] = True

    def on_rollback(_s: Session) -> None:
        if not state["done"]:
            state["done"] = True
            parquet.discard(path)

    def on_soft_rollback(s: Session, previous: Any) -> None:
        # A savepoint rolled back inside the outer transaction says nothing about the row;
        # leaving the directory is the safe side (cleanup() removes it if the row never commits).
        if not getattr(previous, "nested", False):
            on_rollback(s)

    event.listen(session, "after_commit", on_commit, once=True)
    event.listen(session, "after_soft_rollback", on_soft_rollback)


def cleanup(*, session: Session, settings: Settings, grace_s: float = 3600.0) -> list[Path]:
    """Remove stale staging directories and published directories no database row names.

    Safe at start-up with ``grace_s=0``; while other writers may be running, a directory is
    removed only when its writing process is gone or it is older than ``grace_s`` seconds.
    Returns the removed paths.
    """
    removed: list[Path] = []
    now = time.time()
    staging = layout.staging_root(settings.lake_dir)
    for d in sorted(staging.iterdir()) if staging.is_dir() else []:
        pid = layout.staging_pid(d)
        if (pid is not None and not _alive(pid)) or now - d.stat().st_mtime > grace_s or grace_s == 0:
            parquet.discard(d)
            removed.append(d)
    known = set(session.scalars(select(LakeVersion.storage_path)))
    root = settings.lake_dir / layout.RESOURCES
    for rdir in sorted(root.iterdir()) if root.is_dir() else []:
        for vdir in sorted(rdir.iterdir()):
            rel = layout.relative(settings.lake_dir, vdir)
            if rel not in known and now - vdir.stat().st_mtime >= grace_s:
                parquet.discard(vdir)
                removed.append(vdir)
    if removed:
        log.info("lake cleanup removed %d orphaned directories", len(removed))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
