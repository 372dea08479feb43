"""Sharing file downloads (``/api/v1/shared/rows?format=csv|xlsx|parquet``) as files that HTTP
clients can read in ranges and revalidate.

A download is written once per *what shapes its bytes* — the grant's masked view of the
version (:func:`~shudata.sharing.delivery.masked_file_path`, whose name hashes the grant's
fields, row filter and masking SQL), the format, the caller's narrowing (``filter``, ``sort``)
and slice (``offset``, ``limit``) — to ``data_dir/delivery/downloads/g<grant>/<etag>.<fmt>``.
The ETag is that hash: a changed grant, masking policy or version gives another file and
another ETag. The whole masked view in Parquet is the masked file itself.

The grant is checked by the caller (:func:`~shudata.sharing.delivery.grant_view`) on every
request, ranged, ``HEAD`` or not. What is charged (the day's quota) and logged (delivery log
and audit trail):

- a whole ``GET``: the rows of the file, as any download (:func:`~shudata.sharing.delivery.fetch_file`);
- a ranged ``GET``: the rows of the file, unless this recipient already received at least as
  many rows of this version in this format today (a reader such as DuckDB's httpfs reads one
  file in many ranges; the first range is the delivery, the others are parts of it);
- ``HEAD`` and revalidations (``304``): nothing — no row leaves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.query.export import write_file
from shudata.sharing import delivery
from shudata.sharing.delivery import GrantView, check_quota, log_delivery, masked_file_path
from shudata.sharing.locks import KeyedLocks
from shudata.sharing.models import SharingDelivery

WRITER_REVISION = 1
TIDY_AFTER_S = 6 * 3600  # a grant's download file older than this is removed when another is written
CST = dt.timezone(dt.timedelta(hours=8))
_BUILDING = KeyedLocks()


class Charge(StrEnum):
    """How a request for a shared file is charged (see the module's docstring)."""

    WHOLE = "whole"
    RANGE = "range"
    NONE = "none"


@dataclass(frozen=True)
class SharedFile:
    path: Path
    etag: str
    rows: int
    total: int
    offset: int
    last_modified: dt.datetime

    @property
    def whole(self) -> bool:
        return self.rows == self.total


def etag_of(settings: Settings, view: GrantView, fmt: str, offset: int | None, limit: int | None,
            filter: str | None, sort: str | None) -> str:
    terms = [masked_file_path(settings, view).name, view.grant.id, fmt, offset, limit, filter, sort, WRITER_REVISION]
    return hashlib.sha256(json.dumps(terms, ensure_ascii=False).encode()).hexdigest()[:32]


def shared_file(*, session: Session, settings: Settings, actor: Actor, view: GrantView, fmt: str,
                offset: int | None, limit: int | None, filter: str | None, sort: str | None,
                charge: Callable[[str, dt.datetime], Charge]) -> SharedFile:
    """The prepared file of a download (written now when missing), charged as ``charge`` decides
    once the file's ETag and date are known (a revalidation that will answer 304 costs nothing,
    one that will not is a download)."""
    tag = etag_of(settings, view, fmt, offset, limit, filter, sort)
    dest = settings.data_dir / "delivery" / "downloads" / f"g{view.grant.id}" / f"{tag}.{fmt}"
    known = _read(dest, tag)
    if known is None:
        got = delivery.fetch_file(session=session, settings=settings, actor=actor, view=view, fmt=fmt,
                                  offset=offset, limit=limit, filter=filter, sort=sort, record=False)
        with _BUILDING.hold(dest):
            known = _read(dest, tag)
            if known is None:
                source = got.path if fmt == "parquet" and got.path is not None else None
                if source is None:
                    _write(dest, write_file(fmt, got.schema, got.batches, sheet=view.resource.name, rows=got.rows))
                meta = {"rows": got.rows, "total": got.total, "offset": got.offset, "file": str(source or dest)}
                dest.parent.mkdir(parents=True, exist_ok=True)
                _meta(dest).write_text(json.dumps(meta, ensure_ascii=False))
                known = _read(dest, tag)
                _tidy(dest.parent, tag)
        if known is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("the shared file was not written")
    how = charge(known.etag, known.last_modified)
    if how == Charge.WHOLE or (how == Charge.RANGE and not _received(session, actor, view, fmt, known.rows)):
        check_quota(session, view.grant, known.rows)
        log_delivery(session, actor, view, rows=known.rows, fmt=fmt, channel="rest")
    return known


def _tidy(folder: Path, keep: str) -> None:
    """Remove this grant's download files written more than :data:`TIDY_AFTER_S` ago (older terms,
    versions, slices: each distinct download is a file; one asked for again is written again)."""
    now = time.time()
    for f in folder.iterdir():
        try:
            if not f.name.startswith(keep) and now - f.stat().st_mtime > TIDY_AFTER_S:
                f.unlink()
        except OSError:
            continue


def _meta(dest: Path) -> Path:
    return dest.with_name(dest.name + ".json")


def _read(dest: Path, tag: str) -> SharedFile | None:
    try:
        meta = json.loads(_meta(dest).read_text())
        path = Path(meta["file"])
        mtime = path.stat().st_mtime
        return SharedFile(path=path, etag=tag, rows=int(meta["rows"]), total=int(meta["total"]),
                          offset=int(meta["offset"]), last_modified=dt.datetime.fromtimestamp(mtime, dt.UTC))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(dest: Path, src: IO[bytes]) -> None:
    """Copy the spooled file ``src`` to ``dest`` atomically (temp file, then rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with src, tmp.open("wb") as out:
            src.seek(0)
            while chunk := src.read(1 << 20):
                out.write(chunk)
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _received(session: Session, actor: Actor, view: GrantView, fmt: str, rows: int) -> bool:
    """Whether ``actor`` already received ``rows`` or more of this version in ``fmt`` today."""
    start = utcnow().astimezone(CST).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    found = session.scalar(select(func.count(SharingDelivery.id)).where(
        SharingDelivery.grant_id == view.grant.id, SharingDelivery.version == view.version.version,
        SharingDelivery.format == fmt, SharingDelivery.recipient == actor.username,
        SharingDelivery.delivered_at >= start, SharingDelivery.rows >= rows))
    return bool(found)
