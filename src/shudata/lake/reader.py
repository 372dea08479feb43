"""Fast reads of one version's rows: page by offset without scanning the whole version.

Version files never change once published, so their Parquet metadata and recently read
row groups are cached (bounded by bytes) and shared by every request. A page costs a
slice of a cached row group, nothing more.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

CACHE_BYTES = 256 << 20
V = TypeVar("V")


@dataclass(frozen=True)
class Layout:
    """Row groups of a version in order: (file, group index) with their first row numbers."""

    groups: tuple[tuple[Path, int], ...]
    starts: tuple[int, ...]
    total: int
    schema: pa.Schema


class _Cache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self.layouts: dict[tuple[Path, ...], Layout] = {}
        self.groups: OrderedDict[tuple[Path, int], pa.Table] = OrderedDict()
        self.size = 0

    def layout(self, files: Sequence[Path]) -> Layout:
        key = tuple(files)
        with self.lock:
            hit = self.layouts.get(key)
        if hit is not None:
            return hit
        groups: list[tuple[Path, int]] = []
        starts: list[int] = []
        total = 0
        schema: pa.Schema | None = None
        for f in files:
            meta = pq.ParquetFile(f)
            schema = schema or meta.schema_arrow
            for i in range(meta.metadata.num_row_groups):
                groups.append((f, i))
                starts.append(total)
                total += meta.metadata.row_group(i).num_rows
        lay = Layout(tuple(groups), tuple(starts), total, schema or pa.schema([]))
        with self.lock:
            if len(self.layouts) > 4096:
                self.layouts.clear()
            self.layouts[key] = lay
        return lay

    def group(self, path: Path, index: int) -> pa.Table:
        key = (path, index)
        with self.lock:
            hit = self.groups.get(key)
            if hit is not None:
                self.groups.move_to_end(key)
                return hit
        table = pq.ParquetFile(path).read_row_group(index)
        with self.lock:
            if key not in self.groups:
                self.groups[key] = table
                self.size += table.nbytes
                while self.size > self.max_bytes and len(self.groups) > 1:
                    _, old = self.groups.popitem(last=False)
                    self.size -= old.nbytes
        return table


_CACHE = _Cache(CACHE_BYTES)


class BytesLRU(Generic[V]):
    """A thread-safe LRU of encoded responses, bounded by their total size (``len`` of a bytes
    value, or the ``nbytes`` given to :meth:`put`), that keeps only what is asked for again.

    A page is stored on its ``admit_after``-th miss among the keys that missed recently (the
    last ``remember`` of them): paging through a large version at arbitrary offsets asks for
    most pages once, and storing every one of them filled both caches of encoded pages (64 MB
    each) at about 0.3 MB/s under ``bench/load.py``, for hits that save 0.3–0.6 ms of
    encoding each. Pages read again — the first pages of popular entries — are still kept.
    ``admit_after=1`` stores every page.

    >>> c = BytesLRU(5, admit_after=1)
    >>> c.put("a", b"123"); c.put("b", b"45"); c.put("c", b"6")
    >>> c.get("a") is None, c.get("c")
    (True, b'6')
    >>> d = BytesLRU(100)
    >>> d.get("p"), d.put("p", b"page"), d.get("p")  # asked once: not kept
    (None, None, None)
    >>> d.put("p", b"page"); d.get("p")  # asked again (the second miss): kept
    b'page'
    """

    def __init__(self, max_bytes: int, *, admit_after: int = 2, remember: int = 1024) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.items: OrderedDict[object, tuple[V, int]] = OrderedDict()
        self.admit_after = admit_after
        self.remember = remember
        self.misses: OrderedDict[object, int] = OrderedDict()  # recent misses not stored (yet)
        self.lock = threading.Lock()

    def get(self, key: object) -> V | None:
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
                return hit[0]
            self.misses[key] = self.misses.pop(key, 0) + 1
            while len(self.misses) > self.remember:
                self.misses.popitem(last=False)
            return None

    def put(self, key: object, value: V, nbytes: int | None = None) -> None:
        if nbytes is None and not isinstance(value, bytes):
            raise TypeError("BytesLRU.put: give nbytes for a value that is not bytes (it would count as 0)")
        size = len(value) if nbytes is None and isinstance(value, bytes) else int(nbytes or 0)
        if size > self.max_bytes:
            return
        with self.lock:
            if self.admit_after > 1 and key not in self.items and self.misses.get(key, 0) < self.admit_after:
                return  # asked for once so far (or its miss is forgotten): not kept
            self.misses.pop(key, None)
            old = self.items.pop(key, None)
            self.size += size - (old[1] if old is not None else 0)
            self.items[key] = (value, size)
            while self.size > self.max_bytes:
                _, (_, dropped) = self.items.popitem(last=False)
                self.size -= dropped


def layout(files: Sequence[Path]) -> Layout:
    return _CACHE.layout(files)


def read_page(files: Sequence[Path], offset: int, limit: int) -> tuple[pa.Table, int]:
    """Rows ``offset`` … ``offset + limit`` of the version made of ``files``, and the total."""
    lay = _CACHE.layout(files)
    if offset >= lay.total or limit <= 0:
        return lay.schema.empty_table(), lay.total
    parts: list[pa.Table] = []
    i = bisect.bisect_right(lay.starts, offset) - 1
    need = min(limit, lay.total - offset)
    pos = offset
    while need > 0 and i < len(lay.groups):
        table = _CACHE.group(*lay.groups[i])
        local = pos - lay.starts[i]
        piece = table.slice(local, need)
        parts.append(piece)
        need -= piece.num_rows
        pos += piece.num_rows
        i += 1
    out = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
    return out, lay.total


def iter_batches(files: Sequence[Path], batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
    """Every row of the version, in batches (for downloads)."""
    for f in files:
        yield from pq.ParquetFile(f).iter_batches(batch_size=batch_rows)
