"""One entry point over every format: ``inspect`` a file, then ``stage`` its data.

Both take the upload's :class:`~shudata.lake.ingest.limits.ReadLimits` (default: the
settings' defaults); every reader checks the file's shape against them before reading it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shudata.core.errors import UnsupportedMedia
from shudata.lake.ingest import csv, json, parquet, sheet, xls, xlsx
from shudata.lake.ingest.detect import detect_encoding, sniff_format
from shudata.lake.ingest.limits import ReadLimits, check_columns
from shudata.lake.ingest.source import IngestOptions, Progress, SourceInfo, StageStats, empty_file
from shudata.lake.ingest.types import ColumnSpec

FORMATS = ("csv", "tsv", "xlsx", "xls", "json", "jsonl", "parquet")


def detect_format(path: Path, name: str) -> str:
    if path.stat().st_size == 0:
        raise empty_file(name)
    with path.open("rb") as f:
        head = f.read(4096)
    fmt = sniff_format(head, name)
    if fmt not in FORMATS:
        raise UnsupportedMedia(f"不支持的文件格式 {fmt}；支持 CSV、XLSX、XLS、JSON、JSONL、Parquet",
                               f"Unsupported format {fmt}; CSV, XLSX, XLS, JSON, JSONL and Parquet are supported",
                               code="unsupported_format")
    return fmt


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
    fmt = detect_format(path, name)
    size = path.stat().st_size
    if fmt in ("csv", "tsv"):
        return csv.inspect_csv(path, name, options)  # reads at most the first MiB and a tail
    if fmt == "parquet":
        return parquet.inspect_parquet(path, name, options, limits)
    enc = None
    if fmt in ("xlsx", "xls"):
        rows, chosen, sheets = (xlsx.read_xlsx if fmt == "xlsx" else xls.read_xls)(path, options.sheet, limits)
    else:
        enc = detect_encoding(path, options.encoding)
        rows, chosen, sheets = json.read_json(path, fmt, enc, limits), None, []
    info = sheet.inspect_rows(rows, name=name, fmt=fmt, options=options, sheet=chosen, sheets=sheets,
                              path=path, size=size)
    info.encoding = enc
    info.rows = sheet.data_rows(rows, info)
    return info


def stage(info: SourceInfo, specs: Sequence[ColumnSpec], staging: Path, options: IngestOptions,
          progress: Progress | None = None, limits: ReadLimits | None = None) -> StageStats:
    """Write the file's data rows, converted per ``specs``, as Parquet parts in ``staging``."""
    if info.format in ("csv", "tsv"):
        return csv.stage_csv(info, specs, staging, options, progress)
    if info.format == "parquet":
        return parquet.stage_parquet(info, specs, staging, options, progress)
    rows = info.rows if info.rows is not None else inspect(info.path, info.name, options, limits).rows or []
    info.rows = None
    return sheet.stage_rows(rows, info, specs, staging, options, progress)


def forget(info: SourceInfo) -> None:
    """Drop the rows kept by ``info`` (when it is not going to be staged)."""
    info.rows = None
