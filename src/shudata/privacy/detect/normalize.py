"""Vectorised value normalisation before matching (Arrow compute, no per-row Python).

Full-width characters become half-width (NFKC), surrounding spaces go, letters are
upper-cased for IDs, and separators (spaces, hyphens) inside numbers are removed.

>>> import pyarrow as pa
>>> normalise(pa.array([" １３８ 1234-5678 ", None, "11010519491231002x"]), strip=True).to_pylist()
['13812345678', None, '11010519491231002X']
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def as_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Any column as strings (numbers keep their digits; nulls stay null)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_floating(arr.type):
        whole = pc.equal(pc.floor(arr), arr)
        ints = pc.cast(pc.if_else(whole, arr, None), pa.int64(), safe=False)
        return pc.if_else(whole, pc.cast(ints, pa.string()), pc.cast(arr, pa.string()))
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        return pc.cast(arr, pa.string(), safe=False)
    return pc.cast(arr, pa.string())


def normalise(values: pa.Array, *, strip: bool) -> pa.Array:
    """NFKC, trimmed, upper-cased; with ``strip`` also without inner spaces and hyphens."""
    out = pc.utf8_trim_whitespace(pc.utf8_normalize(values, "NFKC"))
    out = pc.utf8_upper(out)
    if strip:
        out = pc.replace_substring_regex(out, r"[\s\-\x{3000}]+", "")
    return out
