"""Missing-value placeholders (N/A, NULL, 无, 空, -, —, / …) read as missing (NULL) on ingest.

Every reader that produces text cells (CSV, XLS, XLSX, JSON) passes its columns through
:func:`blank_placeholders` after section rows are dropped and *before* typing, so a numeric
column holding ``N/A`` becomes numeric. Values compare after trimming (Unicode whitespace,
U+3000 included), NFKC (full-width ``Ｎ／Ａ`` is ``N/A``) and case folding (``NULL``,
``null`` and ``Null`` are one token); a value must be the token as a whole (``无`` is
missing, ``无限公司`` is not). Blank and whitespace-only cells are always missing.

The list comes from the upload's options (``IngestOptions.missing_values``): the ingest job
and the preview set the entry's saved list (:mod:`shudata.quality.cleaning_missing`) or the
``ingest_missing_values`` setting (default :data:`DEFAULT_MISSING_VALUES`); left unset, the
readers make no placeholder pass (CSV then keeps pyarrow's own null strings, as before).
Parquet files are typed and keep their own nulls.

>>> values = pa.array(["12", " N/A ", "Ｎ／Ａ", "无", "无限公司", None, "　"])
>>> arr, n = blank_placeholders(values, token_set(["N/A", "无"]))
>>> arr.to_pylist(), n
(['12', None, None, None, '无限公司', None, None], 4)
"""

from __future__ import annotations

import functools
import itertools
import math
import unicodedata
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shudata.core.config import MISSING_VALUES_DEFAULT

DEFAULT_MISSING_VALUES: tuple[str, ...] = MISSING_VALUES_DEFAULT  # the setting ingest_missing_values
# Not in the list on purpose: 未知 and 不详 are codes of national code lists (GB/T 2261.1 性别
# 0 未知的性别), 0 is a value. An entry adds them to its own list when they mean "missing" there.


def normalize_token(value: str) -> str:
    """The form values and tokens are compared in: trimmed, NFKC, case-folded.

    >>> normalize_token("　ＮＵＬＬ "), normalize_token("——")
    ('null', '——')
    """
    return unicodedata.normalize("NFKC", value).strip().casefold()


def token_set(values: Iterable[str] | None) -> frozenset[str]:
    """Normalised tokens (``None`` = the built-in defaults); blanks are always missing anyway.

    >>> sorted(token_set(["N/A", "n/a", " - ", ""]))
    ['-', 'n/a']
    """
    source = DEFAULT_MISSING_VALUES if values is None else values
    return frozenset(t for t in (normalize_token(str(v)) for v in source) if t)


def parse_token_list(raw: str) -> list[str]:
    """Tokens typed into a form: one a line, or separated by commas (ASCII or full-width) or 、.

    >>> parse_token_list("N/A, -\\n无，空、 ")
    ['N/A', '-', '无', '空']
    """
    for sep in ("\r", "\n", "，", "、"):
        raw = raw.replace(sep, ",")
    out: list[str] = []
    for part in raw.split(","):
        t = part.strip()
        if t and t not in out:
            out.append(t)
    return out


def _forms(ch: str) -> tuple[str, ...]:
    """How one character of a normalised token may be written: half- or full-width, and a
    full-width letter in either case (ASCII letters are lower-cased before comparing)."""
    if not ("!" <= ch <= "~"):
        return (ch,)
    full = chr(ord(ch) + 0xFEE0)
    return (ch, full, full.upper()) if ch.isalpha() else (ch, full)


@functools.lru_cache(maxsize=64)
def written_forms(tokens: frozenset[str]) -> pa.Array:
    """Every way the tokens may be written once trimmed and ASCII-lower-cased, so one hash lookup
    replaces NFKC and Unicode case folding per value (they cost ~10x more on big columns).

    >>> forms = written_forms(frozenset({"n/a"})).to_pylist()
    >>> len(forms), all(f in forms for f in ("n/a", "Ｎ／Ａ", "n／a", "ｎ/ａ"))
    (18, True)
    """
    out: set[str] = set()
    for t in tokens:
        forms = [_forms(c) for c in t]
        if math.prod(len(f) for f in forms) > 1024:  # a long token: all half-width or all full-width only
            out.update({t, "".join(f[1] if len(f) > 1 else f[0] for f in forms),
                        "".join(f[-1] for f in forms)})
            continue
        out.update("".join(p) for p in itertools.product(*forms))
    return pa.array(sorted(out), pa.string())


def _is_text(arr: pa.Array | pa.ChunkedArray) -> bool:
    return pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)


# Whitespace as pyarrow's utf8_trim_whitespace (and Python's str.strip) know it; the unit test
# checks the list against every code point, so a pyarrow upgrade that trims more is caught.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_WS, _PH = 1, 2  # flags in the byte-pair tables


@functools.lru_cache(maxsize=64)
def _screens(tokens: frozenset[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables over a value's first two bytes, its last two bytes (each pair read as a
    little-endian ``uint16``) and its byte length that pass every value which could be a
    placeholder once trimmed and lower-cased: it starts or ends with whitespace (flag ``_WS``),
    or its first bytes, last bytes and length are those of a written form, in either ASCII case
    (flag ``_PH`` in all three). Every length but 0 has ``_WS``: empty values are not screened."""
    start = np.zeros(1 << 16, np.uint8)
    end = np.zeros(1 << 16, np.uint8)

    def cases(byte: int) -> set[int]:
        return {byte, byte - 32} if 0x61 <= byte <= 0x7A else {byte}

    for ch in WHITESPACE:
        w = ch.encode()
        if len(w) == 1:
            start[w[0]::256] |= _WS  # the second byte is the next value's: any
            end[w[0] << 8:(w[0] + 1) << 8] |= _WS
        else:
            start[w[1] << 8 | w[0]] |= _WS
            end[w[-1] << 8 | w[-2]] |= _WS
    forms = [f.encode() for f in written_forms(tokens).to_pylist()]
    lengths = np.full(max((len(f) for f in forms), default=0) + 2, _WS, np.uint8)
    lengths[0] = 0
    for f in forms:
        lengths[len(f)] |= _PH
        for a in cases(f[0]):
            if len(f) == 1:
                start[a::256] |= _PH
                end[a << 8:(a + 1) << 8] |= _PH
                continue
            for b in cases(f[1]):
                start[b << 8 | a] |= _PH
        for a in cases(f[-2]) if len(f) > 1 else ():
            for b in cases(f[-1]):
                end[b << 8 | a] |= _PH
    return start, end, lengths


def _candidates(arr: pa.Array, tokens: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the non-empty values that could be placeholders (a superset, found from
    the offsets and two bytes at each end of each value, not from the text as a whole), and
    the mask of empty values."""
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, width, len(arr) + 1, arr.offset * np.dtype(width).itemsize)
    lengths = np.diff(offsets)
    empty = lengths == 0
    if offsets[-1] == offsets[0]:
        return np.empty(0, np.intp), empty
    # Indices are clipped to the buffer, so a byte read before the first value or after the
    # last may be another value's: the tables give a 1-byte value the same flags whatever
    # the byte beside it, and an empty value never passes (its length).
    data = np.frombuffer(data_buf, np.uint8)

    def pair(at: np.ndarray) -> np.ndarray:  # bytes at and at+1 as one little-endian uint16
        key = data.take(at + 1, mode="clip").astype(np.uint16)
        key <<= 8
        key |= data.take(at, mode="clip")
        return key

    start_t, end_t, len_t = _screens(tokens)
    s = start_t.take(pair(offsets[:-1]))
    e = end_t.take(pair(offsets[1:] - 2))
    hit = (((s | e) & _WS) | (s & e)) & len_t.take(lengths, mode="clip")
    return np.flatnonzero(hit), empty


def _validity(arr: pa.Array) -> np.ndarray:
    if arr.null_count == 0:
        return np.ones(len(arr), bool)
    bits = np.unpackbits(np.frombuffer(arr.buffers()[0], np.uint8), bitorder="little")
    return bits[arr.offset:arr.offset + len(arr)].astype(bool)


def _exact(arr: pa.Array, tokens: frozenset[str]) -> pa.Array:
    """The rule itself: trimmed, empty or (ASCII-lower-cased) one of the written forms."""
    trimmed = pc.utf8_trim_whitespace(arr)
    hit = pc.equal(trimmed, "")
    if tokens:
        hit = pc.or_(hit, pc.is_in(pc.ascii_lower(trimmed), value_set=written_forms(tokens)))
    return pc.fill_null(hit, False)


def _blank_chunk(arr: pa.Array, tokens: frozenset[str]) -> tuple[pa.Array, int]:
    if len(arr) == 0:
        return arr, 0
    where, empty = _candidates(arr, tokens)
    valid = _validity(arr)
    hit = empty & valid
    n = 0
    if len(where):
        found = _exact(arr.take(pa.array(where)), tokens).to_numpy(zero_copy_only=False)
        n = int(found.sum())  # candidates are not empty: every hit among them counts
        hit[where[found]] = True
    if not hit.any():
        return arr, 0
    keep = np.concatenate([np.ones(arr.offset, bool), valid & ~hit])
    bitmap = pa.py_buffer(np.packbits(keep, bitorder="little"))
    _, offsets_buf, data_buf = arr.buffers()
    text = data_buf if data_buf is not None else pa.py_buffer(b"")
    return pa.Array.from_buffers(arr.type, len(arr), [bitmap, offsets_buf, text],
                                 null_count=len(arr) - int(keep[arr.offset:].sum()), offset=arr.offset), n


def blank_placeholders(arr: pa.Array | pa.ChunkedArray, tokens: frozenset[str]
                       ) -> tuple[pa.Array | pa.ChunkedArray, int]:
    """``arr`` with placeholders and whitespace-only values as NULL, and how many were replaced
    (empty strings and NULLs are not counted: they were missing already). Non-text arrays come
    back unchanged (a float NaN is handled by :func:`blank_nan`).

    Vectorised, no per-row Python, and cheap on the usual column that holds no placeholder:
    a screen reads only each value's length and its first and last two bytes (no text is
    copied) and passes the few values that could be one — starting or ending with whitespace,
    or with the length and end bytes of a written form; only those are trimmed, ASCII
    lower-cased and looked up (:func:`_exact`, the rule itself). Replaced values become NULL
    in a new validity bitmap over the same text buffers."""
    if not _is_text(arr) or len(arr) == 0:
        return arr, 0
    if isinstance(arr, pa.Array):
        return _blank_chunk(arr, tokens)
    chunks = arr.chunks
    parts = [_blank_chunk(c, tokens) for c in chunks]
    n = sum(k for _, k in parts)
    if all(new is old for (new, _), old in zip(parts, chunks, strict=True)):
        return arr, n
    return pa.chunked_array([new for new, _ in parts], arr.type), n


def blank_nan(arr: pa.Array | pa.ChunkedArray, tokens: frozenset[str]) -> tuple[pa.Array | pa.ChunkedArray, int]:
    """A float column parsed straight from CSV turns the text ``nan`` into NaN: NULL when ``nan``
    is a token (it was written as a placeholder).

    >>> blank_nan(pa.array([1.5, float("nan"), None]), frozenset({"nan"}))[0].to_pylist()
    [1.5, None, None]
    """
    if "nan" not in tokens or not pa.types.is_floating(arr.type):
        return arr, 0
    nan = pc.fill_null(pc.is_nan(arr), False)
    n = int(pc.sum(nan).as_py() or 0)
    return (pc.if_else(nan, pa.scalar(None, arr.type), arr), n) if n else (arr, 0)


def clean_rows(rows: list[list[str | None]], tokens: frozenset[str] | None) -> list[list[str | None]]:
    """Sample rows (for type inference and the column check) with placeholders as ``None``
    (unchanged when ``tokens`` is ``None``: no placeholder pass).

    >>> clean_rows([["成都", "N/A", "1"]], token_set(None))
    [['成都', None, '1']]
    """
    if tokens is None:
        return rows
    return [[None if c is None or normalize_token(str(c)) in tokens or not str(c).strip() else c for c in r]
            for r in rows]
