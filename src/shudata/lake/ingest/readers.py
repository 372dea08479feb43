"""One entry point over every format: ``inspect`` a file, then ``stage`` its data, through the
format registry (:mod:`shudata.lake.ingest.formats`).

Both take the upload's :class:`~shudata.lake.ingest.limits.ReadLimits` (default: the
settings' defaults); every reader checks the file's shape against them before reading it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shudata.lake.ingest import formats
from shudata.lake.ingest.limits import ReadLimits, check_columns
from shudata.lake.ingest.source import IngestOptions, Progress, SourceInfo, StageStats, empty_file
from shudata.lake.ingest.types import ColumnSpec


def detect_format(path: Path, name: str) -> str:
    """The registered format of the file (:func:`shudata.lake.ingest.formats.sniff_format`)."""
    if path.stat().st_size == 0:
        raise empty_file(name)
    with path.open("rb") as f:
        head = f.read(4096)
    return formats.get(formats.sniff_format(head, name)).name


def inspect(path: Path, name: str, options: IngestOptions, limits: ReadLimits | None = None) -> SourceInfo:
    """Understand a file (format, encoding, header, footer, columns, sample) without storing anything.

    Raises:
        PayloadTooLarge: the file's shape passes ``limits`` (columns, cells, unpacked size,
            compression ratio, JSON depth, column-name length).
    """
    limits = limits or ReadLimits()
    info = _inspect(path, name, options, limits)
    try:
        check_columns(info.columns, limits)
    except Exception:
        forget(info)
        raise
    return info


def _inspect(path: Path, name: str, options: IngestOptions, limits: ReadLimits) -> SourceInfo:
    return formats.get(detect_format(path, name)).inspect(path, name, options, limits)


def stage(info: SourceInfo, specs: Sequence[ColumnSpec], staging: Path, options: IngestOptions,
          progress: Progress | None = None, limits: ReadLimits | None = None) -> StageStats:
    """Write the file's data rows, converted per ``specs``, as Parquet parts in ``staging``."""
    return formats.get(info.format).stage(info, specs, staging, options, progress, limits or ReadLimits())


def forget(info: SourceInfo) -> None:
    """Drop the rows kept by ``info`` (when it is not going to be staged)."""
    info.rows = None
