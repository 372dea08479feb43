"""Readers that produce rows of cells (XLS, XLSX, JSON) share this: find the header, the
footer and a sample in the rows, then convert and write them in blocks.

>>> info = inspect_rows([["标题"], ["地区", "值"], ["成都", "1"], ["注：测试"]], name="t.xlsx",
...                     fmt="xlsx", options=IngestOptions())
>>> info.header_row, info.columns, info.footer_rows, info.sample
(2, ['地区', '值'], 1, [['成都', '1']])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shudata.core.errors import InvalidInput
from shudata.lake import layout
from shudata.lake.ingest import rows as rowsmod
from shudata.lake.ingest.convert import convert_table, strings_table
from shudata.lake.ingest.csv import conversion_error
from shudata.lake.ingest.missing import clean_rows
from shudata.lake.ingest.source import Cell, IngestOptions, Progress, SourceInfo, StageStats, empty_file
from shudata.lake.ingest.types import ColumnSpec, ConversionError
from shudata.lake.parquet import write_part

BLOCK_ROWS = 50_000
SAMPLE_ROWS = 2000


def cell_text(value: Any) -> Cell:
    """A spreadsheet value as text: integral floats without ``.0``, dates in ISO form.

    >>> cell_text(1.0), cell_text(2.5), cell_text(dt.datetime(2020, 1, 2)), cell_text(None)
    ('1', '2.5', '2020-01-02', None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def trim_width(rows: Sequence[Sequence[Cell]]) -> list[list[Cell]]:
    """Drop trailing columns that are empty in every row."""
    width = 0
    for r in rows:
        for i in range(len(r) - 1, -1, -1):
            if r[i] is not None and str(r[i]).strip():
                width = max(width, i + 1)
                break
    return [list(r[:width]) + [None] * (width - len(r[:width])) for r in rows]


def inspect_rows(rows: Sequence[Sequence[Cell]], *, name: str, fmt: str, options: IngestOptions,
                 sheet: str | None = None, sheets: Sequence[str] = (), path: Path | None = None,
                 size: int = 0) -> SourceInfo:
    """Header, columns, footer and sample of a sheet already read as text rows."""
    table = trim_width(rows)
    if not any(rowsmod.filled(r) for r in table):
        raise empty_file(name)
    h = (options.header_row - 1) if options.header_row else rowsmod.guess_header(table)
    if h >= len(table):
        raise InvalidInput(f"表头行 {h + 1} 超出了表格的行数 {len(table)}",
                           f"Header row {h + 1} is beyond the {len(table)} rows of the sheet", code="bad_header_row")
    width = len(table[h])
    names = rowsmod.column_names(table[h], width)
    body = table[h + 1:]
    footer = options.skip_footer if options.skip_footer is not None else rowsmod.footer_count(body, width)
    data = body[: len(body) - footer] if footer else body
    sample = [r for r in data if not (options.skip_sections and rowsmod.is_section_row(r, width))]
    sample = clean_rows(sample[:SAMPLE_ROWS], options.missing_tokens())
    return SourceInfo(path=path or Path(name), name=name, format=fmt, columns=names, head_rows=table[:30],
                      sample=sample, header_row=h + 1, footer_rows=min(footer, len(body)),
                      sheet=sheet, sheets=list(sheets), size=size)


def data_rows(rows: Sequence[Sequence[Cell]], info: SourceInfo) -> list[list[Cell]]:
    """The rows between the header and the footer."""
    table = trim_width(rows)
    if info.header_row is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("info.header_row is unexpectedly None")
    body = table[info.header_row:]
    return body[: len(body) - info.footer_rows] if info.footer_rows else body


def stage_rows(rows: Sequence[Sequence[Cell]], info: SourceInfo, specs: Sequence[ColumnSpec], staging: Path,
               options: IngestOptions, progress: Progress | None = None) -> StageStats:
    """Convert and write data rows in blocks of ``BLOCK_ROWS`` (one Parquet part per block)."""
    stats = StageStats(footer_rows=info.footer_rows)
    width = len(info.columns)
    tokens = options.missing_tokens()
    if tokens is None:
        tokens = frozenset()  # blank and whitespace-only cells are NULL in sheets in any case
    for start in range(0, max(len(rows), 1), BLOCK_ROWS):
        block = [list(r[:width]) for r in rows[start:start + BLOCK_ROWS]]
        table = strings_table(info.columns, block)
        try:
            out, skipped = convert_table(table, specs, skip_sections=options.skip_sections, missing=tokens,
                                         counts=stats.missing)
        except ConversionError as exc:
            raise conversion_error({"column": exc.column, "row": exc.row, "value": exc.value[:100],
                                    "data_type": exc.data_type, "length": exc.length},
                                   start) from None
        write_part(out, staging / layout.part_name(stats.files))
        stats.files += 1
        stats.rows += out.num_rows
        stats.skipped_rows += skipped
        if progress is not None:
            progress(min(start + BLOCK_ROWS, len(rows)), len(rows))
    return stats
