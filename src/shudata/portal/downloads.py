"""The portal's download files, prepared once per publication and format.

A download (``/portal/datasets/{name}/download.{fmt}``) is the current publication's masked
Parquet file in one of four formats. Parquet is that file itself; CSV, JSON and XLSX are
written from it once, to ``data_dir/portal/downloads/<resource>/<etag>.<fmt>`` (temp file
then rename, one writer per file), with a sidecar ``.json`` holding the size and SHA-256 of
the bytes. A prepared file never changes, so HTTP clients can read it in ranges and
revalidate it (:mod:`shudata.web.files`), and CKAN's ``resources[].size``/``hash`` and
DCAT's ``byteSize``/``checksum`` can state them.

The ETag names what shaped the bytes: the publication (the version masked with the open
policy in force when the gate ran — a new policy means a new gate run, a new publication),
the published file's digest, the format, and :data:`WRITER_REVISION` (bumped when a writer's
output changes). Access is not part of it: a download is the same file for everyone who may
read it (有条件开放 adds a check, not a different content).

Files are prepared in the background once a publication commits (:func:`after_publish`;
one daemon thread, plain data only — it never touches the database), and on demand by the
first download that finds one missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from shudata.core.config import Settings
from shudata.lake import export
from shudata.lake.reader import iter_batches
from shudata.portal.gate import portal_dir
from shudata.portal.models import PortalPublication
from shudata.sharing.locks import KeyedLocks

log = logging.getLogger("shudata.portal.downloads")

WRITER_REVISION = 1
TIDY_AFTER_S = 24 * 3600  # a prepared file unused this long (an older publication's) is removed
SETTINGS_KEY = "shudata.settings"  # ``Session.info`` key: the settings an action call runs with (its data folder)
MEDIA_TYPES = {"csv": export.MEDIA_TYPES["csv"], "json": "application/json; charset=utf-8",
               "xlsx": export.MEDIA_TYPES["xlsx"], "parquet": export.MEDIA_TYPES["parquet"]}
FORMATS = tuple(MEDIA_TYPES)
_BUILDING = KeyedLocks()


@dataclass(frozen=True)
class Source:
    """What writing a publication's downloads needs (plain data: safe in another thread)."""

    publication_id: int
    resource_id: int
    sha256: str
    file: Path
    rows: int
    title: str

    @classmethod
    def of(cls, settings: Settings, pub: PortalPublication, title: str) -> Source:
        if pub.file is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("pub.file is unexpectedly None")
        return cls(pub.id, pub.resource_id, pub.sha256 or "", portal_dir(settings) / pub.file, pub.rows, title)


@dataclass(frozen=True)
class Download:
    """A prepared download: the file, its ETag, size and SHA-256 (hex)."""

    path: Path
    etag: str
    size: int
    sha256: str
    fmt: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]


def etag_of(publication_id: int, sha256: str, fmt: str) -> str:
    """The version-stable ETag of a publication's download in ``fmt``.

    >>> etag_of(7, "ab", "csv") == etag_of(7, "ab", "csv") != etag_of(7, "ab", "json")
    True
    """
    text = f"portal:{publication_id}:{sha256}:{fmt}:{WRITER_REVISION}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def etag(pub: PortalPublication, fmt: str) -> str:
    return etag_of(pub.id, pub.sha256 or "", fmt)


def _file(settings: Settings, resource_id: int, tag: str, fmt: str) -> Path:
    return portal_dir(settings) / "downloads" / str(resource_id) / f"{tag}.{fmt}"


def _path(settings: Settings, pub: PortalPublication, fmt: str) -> Path:
    return _file(settings, pub.resource_id, etag(pub, fmt), fmt)


def _facts_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def facts(settings: Settings, pub: PortalPublication, fmt: str) -> tuple[int, str] | None:
    """``(size, sha256)`` of a download when it is known (prepared, or Parquet: the published file)."""
    if fmt == "parquet":
        return (int(pub.bytes or 0), pub.sha256) if pub.sha256 else None
    try:
        data = json.loads(_facts_path(_path(settings, pub, fmt)).read_text())
        return int(data["size"]), str(data["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def all_facts(settings: Settings | None, pub: PortalPublication | None) -> dict[str, tuple[int, str]]:
    """:func:`facts` of every format that has them."""
    if settings is None or pub is None or pub.file is None:
        return {}
    return {fmt: got for fmt in FORMATS if (got := facts(settings, pub, fmt)) is not None}


def prepare(settings: Settings, pub: PortalPublication, fmt: str, title: str) -> Download:
    """The download of publication ``pub`` in ``fmt``, written now if missing (``title``: the
    XLSX sheet's name)."""
    src = Source.of(settings, pub, title)
    if fmt == "parquet":
        return Download(src.file, etag(pub, fmt), int(pub.bytes or 0), pub.sha256 or "", fmt)
    return _write(_path(settings, pub, fmt), etag(pub, fmt), fmt, src)


def _write(path: Path, tag: str, fmt: str, src: Source) -> Download:
    known = _read(path, tag, fmt)
    if known is not None:
        return known
    with _BUILDING.hold(path):
        known = _read(path, tag, fmt)
        if known is not None:
            return known
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
        digest, size = hashlib.sha256(), 0
        try:
            with tmp.open("wb") as out:
                for chunk in _chunks(fmt, [src.file], src.rows, src.title):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            tmp.replace(path)
            _facts_path(path).write_text(json.dumps({"size": size, "sha256": digest.hexdigest(), "etag": tag}))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    tidy(path.parent, current={etag_of(src.publication_id, src.sha256, f) for f in FORMATS})
    return Download(path, tag, size, digest.hexdigest(), fmt)


def tidy(folder: Path, *, current: set[str] | frozenset[str] = frozenset(), max_age_s: float = TIDY_AFTER_S) -> int:
    """Remove the prepared files in ``folder`` written more than ``max_age_s`` ago (those of older
    publications or terms; a file asked for again is written again) and temp files a crashed
    writer left; the ``current`` ones (by ETag) are kept whatever their age. Returns how many went."""
    now, removed = time.time(), 0
    for f in folder.iterdir() if folder.is_dir() else ():
        stem = f.name.split(".", 1)[0]
        try:
            if stem in current or now - f.stat().st_mtime < max_age_s:
                continue
            f.unlink()
            removed += 1
        except OSError:
            continue
    return removed


def _read(path: Path, tag: str, fmt: str) -> Download | None:
    try:
        data = json.loads(_facts_path(path).read_text())
        if path.stat().st_size != int(data["size"]):
            return None
        return Download(path, tag, int(data["size"]), str(data["sha256"]), fmt)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _chunks(fmt: str, files: Sequence[Path], rows: int, title: str) -> Iterable[bytes]:
    if fmt == "csv":
        return export.csv_stream(files)
    if fmt == "json":
        return json_stream(files)
    return export.file_chunks(export.xlsx_file(files, rows, title))


def json_stream(files: Sequence[Path]) -> Iterator[bytes]:
    """The rows as one JSON array of objects, batch by batch."""
    yield b"["
    first = True
    for batch in iter_batches(files):
        parts = [json.dumps(row, ensure_ascii=False, default=export.json_default, separators=(",", ":"))
                 for row in batch.to_pylist()]
        if parts:
            yield ((b"" if first else b",") + ",".join(parts).encode())
            first = False
    yield b"]"


# -- background preparation ---------------------------------------------------------------------

_INFO_KEY = "shudata.portal.downloads"
_queue: queue.Queue[tuple[Settings, Source] | None] = queue.Queue()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()
_marks: list[threading.Event] = []


def after_publish(session: Session, settings: Settings, pub: PortalPublication, title: str) -> None:
    """Prepare the CSV, JSON and XLSX downloads of ``pub`` once ``session`` commits."""
    if pub.file is None or not isinstance(session.get_bind(), Engine):
        return
    pending: list[Source] | None = session.info.get(_INFO_KEY)
    if pending is None:
        pending = session.info[_INFO_KEY] = []

        def on_commit(s: Session) -> None:
            for item in s.info.pop(_INFO_KEY, None) or []:
                submit(settings, item)

        def on_rollback(s: Session) -> None:
            s.info.pop(_INFO_KEY, None)

        event.listen(session, "after_commit", on_commit, once=True)
        event.listen(session, "after_rollback", on_rollback, once=True)
    pending.append(Source.of(settings, pub, title))


def submit(settings: Settings, src: Source) -> None:
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="shudata-portal-downloads", daemon=True)
            _worker.start()
    _queue.put((settings, src))


def wait(timeout: float = 60.0) -> bool:
    """Wait until the queued preparations are done (tests); True when they are."""
    if _worker is None:
        return True
    done = threading.Event()
    _marks.append(done)
    _queue.put(None)  # a marker: everything queued before it has been handled once it is reached
    return done.wait(timeout)


def _work() -> None:
    while True:
        item = _queue.get()
        if item is None:
            if _marks:
                _marks.pop(0).set()
            continue
        settings, src = item
        for fmt in ("csv", "json", "xlsx"):
            try:
                if src.file.exists():
                    tag = etag_of(src.publication_id, src.sha256, fmt)
                    _write(_file(settings, src.resource_id, tag, fmt), tag, fmt, src)
            except Exception:  # a cache: the first download writes the file itself
                log.warning("could not prepare the %s download of publication %s", fmt, src.publication_id,
                            exc_info=True)
