"""Turn a table of text columns into the stored, typed table: drop section rows, read
placeholders (N/A, 无, - …) as NULL, convert each column per its :class:`ColumnSpec`, report
the first bad value with its row. Sections are found *before* placeholders are removed (a row
``成都, N/A, N/A`` is data, not a section heading); typing runs after (a numeric column with
``N/A`` is numeric).

>>> t = pa.table({"a": ["x", "四川省（2所）", "y"], "b": ["1", None, "2"], "c": ["3", None, "4"]})
>>> out, skipped = convert_table(t, [ColumnSpec("a", "地区", "C"), ColumnSpec("b", "b", "I"),
...                                  ColumnSpec("c", "c", "N")], skip_sections=True)
>>> out.column_names, out.num_rows, skipped
(['地区', 'b', 'c'], 2, 1)
>>> counts = {}
>>> out, _ = convert_table(pa.table({"v": ["1.5", "N/A", "-"]}), [ColumnSpec("v", "值", "N")],
...                        missing=frozenset({"n/a", "-"}), counts=counts)
>>> out.column("值").to_pylist(), counts
([1.5, None, None], {'值': 2})
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from shudata.lake.ingest.missing import blank_nan, blank_placeholders
from shudata.lake.ingest.types import ColumnSpec, ConversionError, convert


@dataclass(frozen=True)
class BadValue:
    """Where conversion failed: ``row`` is the 0-based row in the *input* table."""

    column: str
    row: int
    value: str
    data_type: str
    length: int | None


def _non_empty(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(col), ""), False)
    return pc.is_valid(col)


def section_mask(table: pa.Table) -> pa.Array | None:
    """True for rows whose only filled cell is the first one (tables of 3+ columns)."""
    if table.num_columns < 3 or table.num_rows == 0:
        return None
    if any(table.column(i).null_count == 0 for i in range(1, table.num_columns)):
        return None  # a column filled in every row: no row can be a lone first cell
    others = [_non_empty(table.column(i)) for i in range(1, table.num_columns)]
    any_other = others[0]
    for m in others[1:]:
        any_other = pc.or_(any_other, m)
    return pc.and_(_non_empty(table.column(0)), pc.invert(any_other))


def convert_table(table: pa.Table, specs: Sequence[ColumnSpec], *, skip_sections: bool = True,
                  missing: frozenset[str] | None = None, counts: dict[str, int] | None = None
                  ) -> tuple[pa.Table, int]:
    """The typed table (columns named and ordered as ``specs``) and the number of section rows dropped.

    ``missing``: normalised placeholder tokens read as NULL (``None``: none, only blanks stay
    as they are); ``counts`` receives, per stored column, how many values were placeholders.

    Raises:
        ConversionError: with ``row`` relative to the input table.
    """
    positions: pa.Array | None = None
    skipped = 0
    if skip_sections and (mask := section_mask(table)) is not None:
        skipped = int(pc.sum(mask).as_py() or 0)
        if skipped:
            keep = pc.invert(mask)
            positions = pc.indices_nonzero(keep)
            table = table.filter(keep)
    arrays = []
    for spec in specs:
        col = table.column(spec.source)
        if missing is not None:
            col, n = blank_placeholders(col, missing)
            if not n:
                col, n = blank_nan(col, missing)
            if counts is not None and n:
                counts[spec.name] = counts.get(spec.name, 0) + n
        try:
            arrays.append(convert(col, spec))
        except ConversionError as exc:
            row = int(positions[exc.row].as_py()) if positions is not None else exc.row
            raise ConversionError(exc.column, row, exc.value, exc.data_type, exc.length) from None
    schema = pa.schema([pa.field(s.name, s.arrow_type) for s in specs])
    return pa.Table.from_arrays(arrays, schema=schema), skipped


def strings_table(names: Sequence[str], rows: Sequence[Sequence[str | None]]) -> pa.Table:
    """Rows of text cells as a table of string columns (short rows padded with nulls; empty
    cells NULL, whitespace-only cells kept for :func:`convert_table` to blank and count, as in CSV).

    >>> strings_table(["a", "b"], [["1", ""], ["2", "3"]]).to_pydict()
    {'a': ['1', '2'], 'b': [None, '3']}
    """
    cols: list[list[str | None]] = [[] for _ in names]
    for row in rows:
        for i in range(len(names)):
            v = row[i] if i < len(row) else None
            cols[i].append(v if v != "" else None)
    return pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, cols, strict=True)})
