"""How many bytes the rows of an Arrow page will take once written out, measured before
any of it is converted: text and binary by their length, other values by a fixed allowance.
Every answer bounded in bytes (SQL pages, CKAN data pages, sharing pages, version pages,
downloads) measures with these.

>>> t = pa.table({"s": ["ab", "x" * 100, "c"], "n": [1, 2, 3]})
>>> row_sizes(t).tolist()
[30, 128, 29]
>>> rows_within(t, 200), rows_within(t, 180), rows_within(t, 10)
(3, 2, 0)
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

VALUE_ALLOWANCE = 24  # JSON bytes allowed for a number, date or boolean (and its separator)
STRING_OVERHEAD = 4  # quotes and separator around a text value


def _text_like(t: pa.DataType) -> bool:
    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_string_view(t) or pa.types.is_binary_view(t))


def row_sizes(table: pa.Table | pa.RecordBatch) -> np.ndarray:
    """Estimated bytes of each row once written out: text and binary by their length (binary
    counted twice: it travels as base64 or hex), fixed-width values by ``VALUE_ALLOWANCE``,
    nested values by their share of the column's Arrow buffers."""
    sizes = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        col = column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column
        t = col.type
        if _text_like(t):
            lengths = pc.fill_null(pc.binary_length(col), 0).to_numpy(zero_copy_only=False)
            factor = 2 if pa.types.is_binary(t) or pa.types.is_large_binary(t) else 1
            sizes += lengths.astype(np.int64) * factor + STRING_OVERHEAD
        elif pa.types.is_primitive(t) or pa.types.is_null(t) or pa.types.is_decimal(t):
            sizes += VALUE_ALLOWANCE
        else:
            sizes += col.nbytes // max(1, table.num_rows) + VALUE_ALLOWANCE
    return sizes


def rows_within(table: pa.Table | pa.RecordBatch, max_bytes: int) -> int:
    """How many leading rows of ``table`` fit in ``max_bytes``."""
    if table.num_rows == 0:
        return 0
    total = np.cumsum(row_sizes(table))
    return int(np.searchsorted(total, max_bytes, side="right"))
