"""Vectorised evaluation of row rules over Arrow batches: the fast path of :func:`run.evaluate`.

The compiled SQL (:mod:`shudata.quality.compile_exprs`) is the specification of every rule
and stays what other engines (Spark) run. For local Parquet files the common rule types also
have *kernels*: numpy / Arrow functions over a whole row group at a time that read each
value's bytes once (an 18-character ID becomes one column of a transposed ``(18, n)`` byte
matrix, its check digit a dozen integer vector operations), instead of the dozens of string
functions the SQL needs per value. Row groups are checked in parallel threads (Arrow and
numpy release the GIL).

A kernel only decides what it can decide exactly: the common shapes (an ID of 18 ASCII
characters, a phone number of digits only, …); blanks at either end are trimmed with the
engine's own TRIM set. Every other row is *undecided* (a spaced or +86 phone number, a
15-digit ID where allowed, NaN, …) and is checked by the rule's own compiled SQL, run by the
query engine on just those rows;
failures and samples of both parts are added up (sample = the smallest and largest failing
value, so the union's extremes are the extremes of the parts). The results are therefore
those of the SQL by construction, and ``tests/unit/quality/test_vectorised.py`` proves it on
generated adversarial values (spaces, U+3000, NBSP, full-width digits, placeholders, wrong
check digits, 15-digit IDs …).

Nothing loops over rows in Python.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shudata.quality import rules as R
from shudata.quality.checks import formats as F
from shudata.quality.compile import compile_check
from shudata.quality.compile_exprs import (
    FEMALE,
    MALE,
    REGIONS_TABLE,
    STRING_TYPES,
    Ctx,
    is_missing,
    qi,
    text,
)
from shudata.quality.rule_base import RuleBase
from shudata.query.engines.base import Engine, Limits, TableSource
from shudata.standards.cn_id import WEIGHTS as ID_WEIGHTS
from shudata.standards.uscc import ALPHABET as USCC_ALPHABET
from shudata.standards.uscc import WEIGHTS as USCC_WEIGHTS

Bool = npt.NDArray[np.bool_]
LONG = Limits(timeout_s=3600.0)
NUMERIC_PREFIXES = ("int", "uint", "float", "double", "halffloat")
MOBILE_LENGTHS = (11, 13)


# -- strings as bytes --------------------------------------------------------------------------

@dataclass
class Strings:
    """One string array seen as bytes: offsets (``n + 1``), the data buffer, lengths, not-null mask."""

    arr: pa.Array
    off: npt.NDArray[Any]
    data: npt.NDArray[np.uint8]
    lens: npt.NDArray[Any]
    valid: Bool
    _fixed: dict[int, tuple[npt.NDArray[np.uint8], Bool]] = field(default_factory=dict)
    _missing: tuple[Bool, Bool] | None = None
    _id: IdParts | None = None
    _edge: Bool | None = None  # values with a trimmable character at either end (set by :func:`missing`)

    @classmethod
    def of(cls, col: pa.ChunkedArray | pa.Array) -> Strings:
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = arr.cast(pa.string())
        n = len(arr)
        bufs = arr.buffers()
        large = pa.types.is_large_string(arr.type)
        dtype = np.int64 if large else np.int32
        if bufs[1] is None or n == 0:
            off = np.zeros(n + 1, dtype=dtype)
        else:
            off = np.frombuffer(bufs[1], dtype=dtype, count=n + 1, offset=arr.offset * (8 if large else 4))
        data = np.frombuffer(bufs[2], dtype=np.uint8) if len(bufs) > 2 and bufs[2] is not None \
            else np.zeros(0, dtype=np.uint8)
        lens = np.diff(off)
        if arr.null_count == 0:
            return cls(arr, off, data, lens, np.ones(n, dtype=np.bool_))
        valid = np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=np.bool_)
        return cls(arr, off, data, np.where(valid, lens, 0), valid)

    def __len__(self) -> int:
        return len(self.lens)

    def fixed(self, width: int) -> tuple[npt.NDArray[np.uint8], Bool]:
        """The bytes of the values exactly ``width`` bytes long, *transposed*: a ``(width, n)``
        matrix whose row ``k`` holds every value's byte ``k`` (contiguous, so each per-position
        test is one fast vector operation), and which values those are (the others' columns hold
        arbitrary bytes: every use masks with it)."""
        if width not in self._fixed:
            ok = self.valid & (self.lens == width)
            n = len(self)
            start = int(self.off[0]) if n else 0
            if ok.all() and int(self.off[-1]) - start == n * width:
                mat = np.ascontiguousarray(self.data[start:start + n * width].reshape(n, width).T)
            else:
                mat = np.zeros((width, n), dtype=np.uint8)
                count = int(ok.sum())
                if 0 < count * 4 < n:  # a few values of this width: gather just those
                    idx = np.flatnonzero(ok)
                    mat[:, idx] = self.data[self.off[idx][None, :] + np.arange(width)[:, None]]
                elif count:  # one gather per position; other values' columns hold arbitrary bytes
                    starts = np.where(ok, self.off[:-1], 0)
                    for k in range(width):
                        np.take(self.data, starts + k, out=mat[k], mode="clip")
            self._fixed[width] = (mat, ok)
        return self._fixed[width]

    def byte(self, index: npt.NDArray[Any], mask: Bool) -> npt.NDArray[np.uint8]:
        """``data[index]`` where ``mask`` (0 elsewhere)."""
        if len(self.data) == 0:
            return np.zeros(len(self), dtype=np.uint8)
        got = np.take(self.data, index, mode="clip")
        return got if mask.all() else np.where(mask, got, np.uint8(0))

    def all_in(self, table: npt.NDArray[np.bool_]) -> Bool:
        """Per value: every byte is in ``table`` (a 256-entry class); empty values count as True."""
        if len(self.data) == 0:
            return np.ones(len(self), dtype=np.bool_)
        hits = np.concatenate(([0], np.cumsum(np.take(table, self.data), dtype=np.int64)))
        return np.asarray(hits[self.off[1:]] - hits[self.off[:-1]] == self.lens, dtype=np.bool_)


@dataclass
class Coded:
    """A dictionary-encoded string column (read as Parquet stored it, never expanded): the
    distinct values as :class:`Strings` and each row's index. Kernels run on the distinct
    values and are expanded with the indices."""

    values: Strings
    idx: npt.NDArray[np.int32] | npt.NDArray[np.int64]
    valid: Bool

    @classmethod
    def of(cls, col: pa.ChunkedArray | pa.Array) -> Coded:
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if isinstance(arr, pa.ChunkedArray):  # combine_chunks of dictionaries may still unify
            arr = arr.chunk(0)
        indices = arr.indices
        valid = np.ones(len(arr), dtype=np.bool_) if indices.null_count == 0 else \
            np.asarray(pc.is_valid(indices).to_numpy(zero_copy_only=False), dtype=np.bool_)
        idx = np.asarray(pc.fill_null(indices, 0).to_numpy(zero_copy_only=False))
        return cls(Strings.of(arr.dictionary), idx, valid)

    def expand(self, per_value: Bool, null: bool) -> Bool:
        got = np.take(per_value, self.idx) if len(per_value) else np.zeros(len(self.idx), dtype=np.bool_)
        return got if self.valid.all() else np.where(self.valid, got, null)


def strings_rowwise(col: Strings | Coded, fn: Callable[[Strings], tuple[Bool, ...]],
                    nulls: tuple[bool, ...]) -> tuple[Bool, ...]:
    """``fn`` per row of a plain or a dictionary-encoded column (``nulls``: the values of NULL rows)."""
    if isinstance(col, Strings):
        return fn(col)
    return tuple(col.expand(v, null) for v, null in zip(fn(col.values), nulls, strict=True))


def byte_class(chars: str) -> npt.NDArray[np.bool_]:
    table = np.zeros(256, dtype=np.bool_)
    table[[ord(c) for c in chars]] = True
    return table


DIGITS = byte_class("0123456789")


# -- missing values (NULL, blank, placeholders): the SQL of compile_exprs.is_missing ------------

LEAD_CLASS = np.zeros(256, dtype=np.uint8)  # 1: the value starts with a blank; 2: it may (a multi-byte one)
LEAD_CLASS[:0x21] = 1
LEAD_CLASS[[0xC2, 0xE1, 0xE2, 0xE3]] = 2
TRAIL_CLASS = np.zeros(256, dtype=np.uint8)  # 1: ends with a space; 2: may end with a multi-byte blank
TRAIL_CLASS[0x20] = 1
TRAIL_CLASS[[0xA0, *range(0x80, 0x8B), 0xAF, 0x9F]] = 2


def _trim_char_at_start(s: Strings, nonempty: Bool) -> Bool:
    """The value starts with a character DuckDB's TRIM removes (space, U+00A0, U+1680,
    U+2000–U+200A, U+202F, U+205F, U+3000) or with any byte below ``!``."""
    start = s.off[:-1]
    b0 = s.byte(start, nonempty)
    cls = np.take(LEAD_CLASS, b0)
    lead = nonempty & (cls == 1)
    multi = nonempty & (cls == 2)
    if multi.any():
        b1 = s.byte(start + 1, multi & (s.lens >= 2))
        b2 = s.byte(start + 2, multi & (s.lens >= 3))
        lead |= multi & (
            ((b0 == 0xC2) & (b1 == 0xA0))
            | ((b0 == 0xE1) & (b1 == 0x9A) & (b2 == 0x80))
            | ((b0 == 0xE2) & (b1 == 0x80) & (((b2 >= 0x80) & (b2 <= 0x8A)) | (b2 == 0xAF)))
            | ((b0 == 0xE2) & (b1 == 0x81) & (b2 == 0x9F))
            | ((b0 == 0xE3) & (b1 == 0x80) & (b2 == 0x80)))
    return lead


def _trim_char_at_end(s: Strings, nonempty: Bool) -> Bool:
    end = s.off[1:] - 1
    z = s.byte(end, nonempty)
    cls = np.take(TRAIL_CLASS, z)
    trail = nonempty & (cls == 1)
    maybe = nonempty & (cls == 2)
    if maybe.any():
        y = s.byte(end - 1, maybe & (s.lens >= 2))
        x = s.byte(end - 2, maybe & (s.lens >= 3))
        trail |= maybe & (
            ((y == 0xC2) & (z == 0xA0))
            | ((x == 0xE1) & (y == 0x9A) & (z == 0x80))
            | ((x == 0xE2) & (y == 0x80) & (((z >= 0x80) & (z <= 0x8A)) | (z == 0xAF)))
            | ((x == 0xE2) & (y == 0x81) & (z == 0x9F))
            | ((x == 0xE3) & (y == 0x80) & (z == 0x80)))
    return trail


TRIM_CHARS = " \u00a0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u202f\u205f\u3000"
"""The characters DuckDB's TRIM removes (every code point was tried), trimmed the same way by Arrow."""


def trimmed(arr: pa.Array) -> pa.Array:
    """``TRIM(value)`` as the engine computes it."""
    return pc.utf8_trim(arr, characters=TRIM_CHARS)


def _as_bool(arr: pa.Array | pa.ChunkedArray) -> Bool:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def missing(s: Strings, env: Env) -> tuple[Bool, Bool]:
    """``(missing, undecided)`` — the SQL of :func:`compile_exprs.is_missing`, decided for
    every value (``undecided`` is all False; kept for the kernels' common shape). A value
    with no trimmable character at either end equals its TRIM, so it is missing exactly when
    it is a placeholder (or empty); the few others are trimmed as the engine trims (its set of
    characters, :data:`TRIM_CHARS`): missing when the trimmed value is a placeholder and the
    value is at most ``short`` characters long, or when nothing is left (a blank, which starts
    with one of the characters the SQL's first-character test lets through)."""
    if s._missing is None:
        nonempty = s.valid & (s.lens > 0)
        edge = _trim_char_at_start(s, nonempty) | _trim_char_at_end(s, nonempty)
        miss = ~nonempty
        short = nonempty & ~edge & (s.lens <= env.mark_bytes)
        if short.any():
            miss[short] = _as_bool(pc.is_in(s.arr.filter(pa.array(short)), value_set=env.marks))
        if edge.any():
            values = s.arr.filter(pa.array(edge))
            t = trimmed(values)
            placeholder = pc.and_(pc.less_equal(pc.utf8_length(values), env.short_chars),
                                  pc.is_in(t, value_set=env.marks))
            miss[edge] = _as_bool(pc.or_(placeholder, pc.equal(t, "")))
        s._missing, s._edge = (miss, np.zeros(len(s), dtype=np.bool_)), edge
    return s._missing


# -- environment: placeholders, as-of date, region tables ------------------------------------

@dataclass(frozen=True)
class Env:
    marks: pa.Array
    mark_bytes: int
    short_chars: int  # the SQL's LENGTH bound for placeholders (the longest + 4)
    as_of: int  # YYYYMMDD
    id_regions: npt.NDArray[np.bool_]  # TRY_CAST(code AS INTEGER) of the historical table, 0..999999
    regions: Mapping[str, npt.NDArray[np.bool_]]  # table name -> 6-digit codes present

    @classmethod
    def build(cls, ctx: Ctx, engine: Engine, lookups: Mapping[str, TableSource], needed: set[str]) -> Env:
        marks = [p for p in ("", *ctx.placeholders)]
        id_regions = np.zeros(0, dtype=np.bool_)
        tables: dict[str, npt.NDArray[np.bool_]] = {}
        if "id" in needed:
            id_regions = _code_table(engine, lookups[REGIONS_TABLE], "TRY_CAST(\"code\" AS INTEGER)")
        for name in sorted(n for n in needed if n != "id"):
            tables[name] = _code_table(engine, lookups[name], "CASE WHEN REGEXP_MATCHES(CAST(\"code\" AS VARCHAR), "
                                                              "'^[0-9]{6}$') THEN CAST(\"code\" AS INTEGER) END")
        return cls(pa.array(marks, pa.string()), max(len(m.encode()) for m in marks),
                   max((len(p) for p in ctx.placeholders), default=0) + 4, int(ctx.as_of.strftime("%Y%m%d")),
                   id_regions, tables)


_CODE_TABLES: dict[tuple[tuple[str, ...], str], npt.NDArray[np.bool_]] = {}
_LOCK = threading.Lock()


def _code_table(engine: Engine, source: TableSource, key: str) -> npt.NDArray[np.bool_]:
    """A boolean table over 0..999999 of the integer keys the SQL join would match."""
    cache_key = (tuple(str(f) for f in source.files), key)
    with _LOCK:
        if cache_key in _CODE_TABLES:
            return _CODE_TABLES[cache_key]
    sql = f"SELECT DISTINCT {key} AS k FROM {qi(source.name)}"
    keys = engine.query(sql, {source.name: source}).column("k").to_numpy(zero_copy_only=False)
    keys = np.asarray([k for k in keys if k is not None and not (isinstance(k, float) and np.isnan(k))],
                      dtype=np.int64)
    table = np.zeros(1_000_000, dtype=np.bool_)
    table[keys[(keys >= 0) & (keys < 1_000_000)]] = True
    with _LOCK:
        _CODE_TABLES[cache_key] = table
    return table


# -- kernels -------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """A kernel's verdict on one batch: failing rows (meaningful where decided), undecided rows,
    and whether the failing rows' samples are the value itself (``sample="value"``), the value with
    NULL shown as ∅ (``"shown"``), a joined pair (``"pair"``) or must come from the SQL (``"sql"``)."""

    fails: Bool
    undecided: Bool
    sample: str = "value"


Kernel = Callable[[Any, Mapping[str, Any], Env], Outcome]


def _strings(batch: Mapping[str, Any], col: str) -> Strings:
    value = batch[col]
    if not isinstance(value, Strings):  # an invariant, not input: a bug if it breaks
        raise TypeError(f"value is {type(value).__name__}, not Strings")
    return value


def _present_then(s: Strings, env: Env, valid: Bool, undecided: Bool | None = None) -> Outcome:
    miss, edge = missing(s, env)
    und = edge if undecided is None else (edge | (undecided & ~miss))
    return Outcome(~miss & ~valid, und)


def k_not_null(r: R.NotNull, batch: Mapping[str, Any], env: Env) -> Outcome:
    value = batch[r.column]
    if isinstance(value, Strings) and r.blank_is_null:
        miss, edge = missing(value, env)
        return Outcome(miss, edge, "shown")
    nulls = ~value.valid if isinstance(value, Strings) else np.asarray(
        pc.is_null(value).to_numpy(zero_copy_only=False), dtype=np.bool_)
    return Outcome(nulls, np.zeros(len(nulls), dtype=np.bool_), "shown")


def weighted(mat: npt.NDArray[Any], weights: Sequence[int], dtype: type[np.signedinteger[Any]] = np.int32
             ) -> npt.NDArray[Any]:
    """Σ weights[k]·mat[k] over the rows of a transposed byte matrix (integer vector operations;
    no BLAS, whose worker threads would compete with the row-group threads)."""
    out = np.zeros(mat.shape[1], dtype=dtype)
    for k, w in enumerate(weights):
        if w:
            out += mat[k] * dtype(w)  # a NumPy scalar of ``dtype``: the product is computed in ``dtype``
    return out


def _days_table() -> npt.NDArray[np.bool_]:
    """``table[y * 416 + m * 32 + d]``: whether (y, m, d) is a real day, years 0–9999 (Gregorian
    leap years, as DuckDB's dates)."""
    y = np.arange(10000)[:, None, None]
    m = np.arange(13)[None, :, None]
    d = np.arange(32)[None, None, :]
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    last = np.where((m == 4) | (m == 6) | (m == 9) | (m == 11), 30, np.where(m == 2, np.where(leap, 29, 28), 31))
    return np.asarray(((m >= 1) & (d >= 1) & (d <= last)).reshape(-1), dtype=np.bool_)


DAYS = _days_table()


def _ymd_ok(y: npt.NDArray[Any], m: npt.NDArray[Any], d: npt.NDArray[Any]) -> Bool:
    """A real day (y in 0–9999; anything else is not)."""
    inside = (y >= 0) & (y <= 9999) & (m >= 0) & (m <= 12) & (d >= 0) & (d <= 31)
    return inside & np.take(DAYS, np.where(inside, y.astype(np.int32) * 416 + m * 32 + d, 0))


@dataclass
class IdParts:
    shape: Bool  # 18 ASCII bytes, the first 17 digits, the first not 0
    checksum: npt.NDArray[np.int16]  # Σ digit·weight of the first 17 (at most 900)
    region: npt.NDArray[np.int32]  # the first 6 digits
    ymd: tuple[npt.NDArray[np.int32], npt.NDArray[np.int16], npt.NDArray[np.int16]]
    mat: npt.NDArray[np.uint8]  # (18, n)


def id_parts(s: Strings) -> IdParts:
    """The 18-character view of an ID column, shared by every rule on it."""
    if s._id is None:
        mat, ok = s.fixed(18)
        d = mat - np.uint8(48)
        shape = ok & (d[:17].max(axis=0) <= 9) & (mat[0] >= 49)
        ymd = (weighted(d[6:10], (1000, 100, 10, 1)), weighted(d[10:12], (10, 1), np.int16),
               weighted(d[12:14], (10, 1), np.int16))
        s._id = IdParts(shape, weighted(d, ID_WEIGHTS, np.int16), weighted(d, [10 ** (5 - k) for k in range(6)]), ymd,
                        mat)
    return s._id


def k_cn_id(r: R.CnId, batch: Mapping[str, Any], env: Env) -> Outcome:
    s = _strings(batch, r.column)
    p = id_parts(s)
    last = p.mat[17].astype(np.int32)
    check = np.where((last >= 48) & (last <= 57), last - 48, np.where((last == 88) | (last == 120), 10, -100))
    y, m, d = p.ymd
    ymd = y * 10000 + m * 100 + d
    valid = (p.shape & (check >= 0) & ((p.checksum + check) % 11 == 1) & (ymd >= 18800101) & (ymd <= env.as_of)
             & _ymd_ok(y, m, d))
    if r.check_region:
        valid &= np.take(env.id_regions, np.where(valid, p.region, 0))
    undecided = (s.lens == 15) if r.allow_15 else None
    return _present_then(s, env, valid, undecided)


USCC_VALUES = np.full(256, -1, dtype=np.int8)
USCC_VALUES[[ord(c) for c in USCC_ALPHABET]] = np.arange(len(USCC_ALPHABET), dtype=np.int8)
USCC_FIRST = byte_class("123456789ANY")


def k_uscc(r: R.Uscc, batch: Mapping[str, Any], env: Env) -> Outcome:
    """Valid = the shape of :data:`compile_exprs.USCC_SHAPE_RE` and Σ value·weight + check ≡ 0 (mod 31)."""
    s = _strings(batch, r.column)
    mat, ok = s.fixed(18)
    vals = np.take(USCC_VALUES, mat)
    shape = ok & (vals.min(axis=0) >= 0) & np.take(USCC_FIRST, mat[0]) & (vals[2:8].max(axis=0) <= 9)
    total = weighted(vals[:17], USCC_WEIGHTS, np.int16) + vals[17]  # at most 30·305 + 30
    return _present_then(s, env, shape & (total % 31 == 0))


def k_mobile(s: Strings, env: Env) -> Outcome:
    """Values of digits only are decided (11 digits ``1[3-9]…`` or 13 digits ``861[3-9]…``, any
    other number of digits is invalid); values with spaces or ``+`` go to the SQL."""
    valid = np.zeros(len(s), dtype=np.bool_)
    digits = np.zeros(len(s), dtype=np.bool_)
    for width in MOBILE_LENGTHS:
        mat, ok = s.fixed(width)
        if not ok.any():
            continue
        all_digits = ok & ((mat - np.uint8(48)).max(axis=0) <= 9)
        lead = 2 if width == 13 else 0
        hit = all_digits & (mat[lead] == 49) & (mat[lead + 1] >= 51) & (mat[lead + 1] <= 57)
        if width == 13:
            hit &= (mat[0] == 56) & (mat[1] == 54)
        valid |= hit
        digits |= all_digits
    other = s.valid & (s.lens != MOBILE_LENGTHS[0]) & (s.lens != MOBILE_LENGTHS[1])
    if other.any():
        digits |= other & s.all_in(DIGITS)
    return _present_then(s, env, valid, ~digits)


def k_regex(s: Strings, env: Env, pattern: str) -> Outcome:
    """RE2 in Arrow, as RE2 in the engine (same library, same default options)."""
    miss, edge = missing(s, env)
    hit = pc.match_substring_regex(s.arr, pattern)
    valid = np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=np.bool_)
    return Outcome(~miss & ~valid, edge)


def k_digits(s: Strings, env: Env, width: int) -> tuple[npt.NDArray[np.uint8], Bool]:
    mat, ok = s.fixed(width)
    return mat, ok & ((mat - np.uint8(48)).max(axis=0) <= 9)


def k_format(r: R.Format, batch: Mapping[str, Any], env: Env) -> Outcome:
    s = _strings(batch, r.column)
    if r.format == "mobile":
        return k_mobile(s, env)
    if r.format == "postal_code":
        return _present_then(s, env, k_digits(s, env, 6)[1])
    return k_regex(s, env, F.EMAIL_RE)


def k_regex_rule(r: R.Regex, batch: Mapping[str, Any], env: Env) -> Outcome:
    return k_regex(_strings(batch, r.column), env, r.pattern)


def k_enum(r: R.Enum, batch: Mapping[str, Any], env: Env) -> Outcome:
    s = _strings(batch, r.column)
    hit = pc.is_in(s.arr, value_set=pa.array(r.values, pa.string()))
    return _present_then(s, env, np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=np.bool_))


def k_length(r: R.Length, batch: Mapping[str, Any], env: Env) -> Outcome:
    s = _strings(batch, r.column)
    n = np.asarray(pc.fill_null(pc.utf8_length(s.arr), 0).to_numpy(zero_copy_only=False))
    valid = np.ones(len(s), dtype=np.bool_)
    if r.min is not None:
        valid &= n >= r.min
    if r.max is not None:
        valid &= n <= r.max
    return _present_then(s, env, valid)


def _ymd_int(lit: str) -> int:
    return int(dt.date.fromisoformat(lit).strftime("%Y%m%d"))


def k_date(r: R.DateValid, batch: Mapping[str, Any], env: Env) -> Outcome:
    """``YYYY-MM-DD`` naming a real day (years 1–9999; year 0 goes to the SQL)."""
    s = _strings(batch, r.column)
    mat, ok = s.fixed(10)
    num = mat.astype(np.int32) - 48
    digit_rows = num[[0, 1, 2, 3, 5, 6, 8, 9]]
    shape = ok & (mat[4] == 45) & (mat[7] == 45) & (digit_rows.min(axis=0) >= 0) & (digit_rows.max(axis=0) <= 9)
    y = num[0] * 1000 + num[1] * 100 + num[2] * 10 + num[3]
    m, d = num[5] * 10 + num[6], num[8] * 10 + num[9]
    valid = shape & _ymd_ok(y, m, d)
    ymd = y * 10000 + m * 100 + d
    if r.min:
        valid &= ymd >= _ymd_int(r.min)
    if r.max:
        valid &= ymd <= _ymd_int(r.max)
    return _present_then(s, env, valid, shape & (y == 0))


def k_region_code(r: R.RegionCode, batch: Mapping[str, Any], env: Env) -> Outcome:
    s = _strings(batch, r.column)
    mat, ok = k_digits(s, env, 6)
    code = weighted(mat - np.uint8(48), (100000, 10000, 1000, 100, 10, 1))
    table = env.regions[REGIONS_TABLE if r.historical else REGIONS_TABLE + "_current"]
    return _present_then(s, env, ok & np.take(table, np.where(ok, code, 0)))


def k_range(r: R.Range, batch: Mapping[str, Any], env: Env) -> Outcome:
    """A numeric column; NaN goes to the SQL (SQL orders NaN above every number). The samples
    are the text of the failing numbers in the engine's own formatting: the distinct failing
    values go to the SQL for them."""
    col = batch[r.column]
    x = np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    null = np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=np.bool_)
    ok = ~null & ~np.isnan(x)
    with np.errstate(invalid="ignore"):
        inside = np.ones(len(x), dtype=np.bool_)
        if r.min is not None:
            inside &= x >= r.min
        if r.max is not None:
            inside &= x <= r.max
    return Outcome(ok & ~inside, ~null & np.isnan(x), "sql")


def _sex_parts(sex: Strings, env: Env) -> tuple[Bool, Bool, Bool, Bool]:
    """(missing, undecided, male, female) of a sex column: TRIM(value) in the lists."""
    miss, undecided = missing(sex, env)
    lists = [pa.array(MALE, pa.string()), pa.array(FEMALE, pa.string())]
    male, female = (_as_bool(pc.is_in(sex.arr, value_set=v)) for v in lists)
    edge = sex._edge
    if edge is not None and edge.any():  # only these differ from their TRIM
        value = trimmed(sex.arr.filter(pa.array(edge)))
        male[edge], female[edge] = (_as_bool(pc.is_in(value, value_set=v)) for v in lists)
    return miss, undecided, male, female


def _id_sex_parts(ids: Strings, env: Env) -> tuple[Bool, Bool, Bool, Bool]:
    """(first 17 are digits, the 17th is odd, missing, 18 characters long) of an ID column."""
    p = id_parts(ids)
    odd = np.asarray(p.mat[16] % 2 == 1, dtype=np.bool_)  # '0' is 48: the byte's parity is the digit's
    miss, _undecided = missing(ids, env)
    length18 = p.shape | (_as_bool(pc.equal(pc.utf8_length(ids.arr), 18)) if not p.shape.all() else p.shape)
    return p.shape, odd, miss, length18


def k_id_sex(r: R.IdSex, batch: Mapping[str, Any], env: Env) -> Outcome:
    """The 17th digit's parity against the sex column (TRIM(sex) in the male / female lists).
    The rule only looks at IDs of 18 characters: other lengths pass; an 18-character value
    whose first 17 are not plain digits (the SQL then reads the 17th character alone) goes
    to the SQL."""
    shape, odd, id_miss, length18 = strings_rowwise(batch[r.id_column], lambda s: _id_sex_parts(s, env),
                                                    (False, False, True, False))
    sex_miss, sex_edge, male, female = strings_rowwise(batch[r.sex_column], lambda s: _sex_parts(s, env),
                                                       (True, False, False, False))
    known = male | female
    both = ~id_miss & ~sex_miss
    fails = both & shape & (~known | (male != odd))
    undecided = sex_edge | (both & ~shape & length18)
    return Outcome(fails, undecided, "pair")


def run_kernel(rule: RuleBase, batch: Mapping[str, Any], env: Env) -> Outcome:
    """The rule's kernel on one batch; a one-column rule on a dictionary-encoded column runs on
    the distinct values and is expanded (a NULL row fails only ``not_null``)."""
    cols = rule.columns_used()
    if len(cols) == 1 and isinstance(batch[cols[0]], Coded):
        coded: Coded = batch[cols[0]]
        out = KERNELS[rule.type](rule, {cols[0]: coded.values}, env)
        return Outcome(coded.expand(out.fails, rule.type == "not_null"), coded.expand(out.undecided, False),
                       out.sample)
    return KERNELS[rule.type](rule, batch, env)


KERNELS: dict[str, Kernel] = {
    "not_null": k_not_null, "cn_id": k_cn_id, "uscc": k_uscc, "format": k_format, "regex": k_regex_rule,
    "enum": k_enum, "length": k_length, "date": k_date, "region_code": k_region_code, "range": k_range,
    "id_sex": k_id_sex,
}


def _is_string(t: str) -> bool:
    return t.lower() in STRING_TYPES


def has_kernel(rule: RuleBase, types: Mapping[str, str]) -> bool:
    """Whether ``rule`` on columns of these Arrow types is evaluated by a kernel."""
    if rule.scope != "row" or rule.type not in KERNELS:
        return False
    cols = rule.columns_used()
    if any(c not in types for c in cols):
        return False
    if rule.type == "not_null":
        return True
    if rule.type == "range":
        return types[cols[0]].lower().startswith(NUMERIC_PREFIXES)
    if rule.type == "format" and getattr(rule, "format", "") not in ("mobile", "email", "postal_code"):
        return False
    if rule.type == "date" and getattr(rule, "timestamp", False):
        return False
    return all(_is_string(types[c]) for c in cols)


def lookups_needed(rules: Sequence[RuleBase]) -> set[str]:
    needed: set[str] = set()
    for r in rules:
        if isinstance(r, R.CnId) and r.check_region:
            needed.add("id")
        if isinstance(r, R.RegionCode):
            needed.add(REGIONS_TABLE if r.historical else REGIONS_TABLE + "_current")
    return needed


# -- the executor ------------------------------------------------------------------------------

@dataclass
class Partial:
    """What one rule (or one column's null count) found in one row group."""

    failed: int = 0
    lo: str | None = None
    hi: str | None = None
    rest: list[pa.Table] = field(default_factory=list)  # undecided rows, for the SQL
    shown: list[pa.Table] = field(default_factory=list)  # failing values whose samples the SQL writes

    def add(self, other: Partial) -> None:
        self.failed += other.failed
        self.lo = _pick(min, self.lo, other.lo)
        self.hi = _pick(max, self.hi, other.hi)
        self.rest += other.rest
        self.shown += other.shown


def _pick(fn: Callable[[str, str], str], a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return fn(a, b)


def _min_max(values: pa.Array) -> tuple[str | None, str | None]:
    if len(values) == 0:
        return None, None
    mm = pc.min_max(values)
    return mm["min"].as_py(), mm["max"].as_py()


def _samples(rule: RuleBase, out: Outcome, decided_fails: Bool, raw: pa.Table) -> tuple[str | None, str | None]:
    if not decided_fails.any():
        return None, None
    mask = pa.array(decided_fails)
    cols = rule.columns_used()
    if out.sample == "pair":
        a, b = (pc.fill_null(raw.column(c).filter(mask).cast(pa.string()), "∅") for c in cols)
        return _min_max(pc.binary_join_element_wise(a, b, " | "))
    values = raw.column(cols[0]).filter(mask)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if out.sample == "shown":
        values = pc.fill_null(values.cast(pa.string()), "∅")
    return _min_max(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)


@dataclass(frozen=True)
class Plan:
    rules: tuple[RuleBase, ...]  # the row rules with kernels, in their report order
    null_columns: tuple[str, ...]
    columns: tuple[str, ...]  # what is read


def coded_columns(path: Path, columns: Sequence[str], types: Mapping[str, str]) -> list[str]:
    """String columns worth reading dictionary-encoded: every row group stores them with a
    dictionary page that is small next to the data or small outright (a dictionary that
    overflowed, and fell back to plain pages, is neither). A choice of
    speed only: kernels give the same results on both forms."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    out = []
    for c in columns:
        if not _is_string(types[c]) or c not in names:
            continue
        k = names.index(c)
        chunks = [meta.row_group(g).column(k) for g in range(meta.num_row_groups)]
        if chunks and all(ch.has_dictionary_page and ch.dictionary_page_offset is not None
                          and _small_dictionary(ch.data_page_offset - ch.dictionary_page_offset,
                                                ch.total_compressed_size) for ch in chunks):
            out.append(c)
    return out


def _small_dictionary(size: int, total: int) -> bool:
    return size * 4 < total or size < 65_536


def _column(raw: pa.Table, c: str, types: Mapping[str, str]) -> Any:
    col = raw.column(c)
    if pa.types.is_dictionary(col.type):
        return Coded.of(col)
    return Strings.of(col) if _is_string(types[c]) else col


def _row_group(path: Path, index: int, plan: Plan, types: Mapping[str, str], env: Env, coded: Sequence[str]
               ) -> tuple[int, list[Partial], list[Partial]]:
    raw = pq.ParquetFile(path, read_dictionary=list(coded)).read_row_group(index, columns=list(plan.columns),
                                                                           use_threads=False)
    batch: dict[str, Any] = {c: _column(raw, c, types) for c in plan.columns}
    parts: list[Partial] = []
    for rule in plan.rules:
        out = run_kernel(rule, batch, env)
        decided = out.fails & ~out.undecided
        lo, hi = (None, None) if out.sample == "sql" else _samples(rule, out, decided, raw)
        rest = [_plain(raw.select(list(rule.columns_used())).filter(pa.array(out.undecided)))] \
            if out.undecided.any() else []
        shown = [_distinct(_plain(raw.select(list(rule.columns_used())).filter(pa.array(decided))))] \
            if out.sample == "sql" and decided.any() else []
        parts.append(Partial(int(decided.sum()), lo, hi, rest, shown))
    nulls: list[Partial] = []
    for c in plan.null_columns:
        value = batch[c]
        if isinstance(value, (Strings, Coded)):
            miss, edge = strings_rowwise(value, lambda s: missing(s, env), (True, False))
            rest = [_plain(raw.select([c]).filter(pa.array(edge)))] if edge.any() else []
            nulls.append(Partial(int((miss & ~edge).sum()), rest=rest))
        else:
            nulls.append(Partial(int(value.null_count)))
    return raw.num_rows, parts, nulls


def _distinct(table: pa.Table) -> pa.Table:
    return table.group_by(table.column_names, use_threads=False).aggregate([])


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns decoded (the undecided rows are few)."""
    return pa.table({n: (pc.cast(c, c.type.value_type) if pa.types.is_dictionary(c.type) else c)
                     for n, c in zip(table.column_names, table.columns, strict=True)})


def _run_sql_on(engine: Engine, rows: list[pa.Table], rule: RuleBase | None, column: str | None, ctx: Ctx,
                lookups: Mapping[str, TableSource], tmp: Path) -> Partial:
    """The compiled SQL of ``rule`` (or the missing-value test of ``column``) on the undecided rows."""
    table = pa.concat_tables(rows)
    path = tmp / f"rest-{id(rows)}.parquet"
    pq.write_table(table, path)
    source = {"t": TableSource("t", [path])}
    if rule is not None:
        compiled = compile_check([rule], table="t", columns=table.column_names, ctx=ctx)
        tables = {**source, **{n: lookups[n] for n in compiled.lookups}}
        row = engine.query(compiled.sql(engine.dialect), tables, LONG).to_pylist()[0]
        lo, hi = row["__lo0"], row["__hi0"]
        return Partial(int(row["__fail0"] or 0), None if lo is None else str(lo), None if hi is None else str(hi))
    if column is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("column is unexpectedly None")
    sql = f'SELECT COUNT_IF({is_missing(text(column, ctx), ctx)}) AS "n" FROM "t"'
    return Partial(int(engine.query(sql, source, LONG).column("n")[0].as_py() or 0))


@dataclass(frozen=True)
class VectorisedResult:
    rows: int
    rules: list[Partial]  # per rule, in the order given
    nulls: dict[str, int]


def row_groups(files: Sequence[Path]) -> list[tuple[Path, int]]:
    return [(Path(f), i) for f in files for i in range(pq.ParquetFile(f).num_row_groups)]


def evaluate_vectorised(engine: Engine, files: Sequence[Path], types: Mapping[str, str], rules: Sequence[RuleBase],
                        null_columns: Sequence[str], ctx: Ctx, lookups: Mapping[str, TableSource],
                        threads: int | None = None) -> VectorisedResult:
    """Failures (with samples) of ``rules`` (each :func:`has_kernel`) and missing values per
    column of ``null_columns``, over local Parquet ``files``."""
    cols = tuple(dict.fromkeys([c for r in rules for c in r.columns_used()] + list(null_columns)))
    plan = Plan(tuple(rules), tuple(null_columns), cols)
    env = Env.build(ctx, engine, lookups, lookups_needed(rules))
    groups = row_groups(files)
    coded = {f: coded_columns(f, cols, types) for f in {g[0] for g in groups}}
    workers = max(1, threads or int(getattr(engine, "threads", 0) or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda g: _row_group(g[0], g[1], plan, types, env, coded[g[0]]), groups))
    total = sum(r[0] for r in results)
    by_rule = [Partial() for _ in rules]
    by_col = [Partial() for _ in null_columns]
    for _n, parts, nulls in results:
        for acc, part in zip(by_rule, parts, strict=True):
            acc.add(part)
        for acc, part in zip(by_col, nulls, strict=True):
            acc.add(part)
    with tempfile.TemporaryDirectory(prefix="shudata-quality-") as tmpdir:
        tmp = Path(tmpdir)
        for i, rule in enumerate(rules):
            if by_rule[i].rest:
                by_rule[i].add(_run_sql_on(engine, by_rule[i].rest, rule, None, ctx, lookups, tmp))
            if by_rule[i].shown:  # the samples only: these values were counted already
                got = _run_sql_on(engine, [_distinct(pa.concat_tables(by_rule[i].shown))], rule, None, ctx, lookups,
                                  tmp)
                by_rule[i].add(Partial(0, got.lo, got.hi))
        for n, col in enumerate(null_columns):
            if by_col[n].rest:
                by_col[n].add(_run_sql_on(engine, by_col[n].rest, None, col, ctx, lookups, tmp))
    return VectorisedResult(total, by_rule,
                            {c: by_col[n].failed for n, c in enumerate(null_columns)})


def local_files(source: TableSource) -> list[Path] | None:
    """The source's files when they are all local Parquet files (the vectorised path's input)."""
    files = [Path(f) for f in source.files]
    if not files or not all(f.is_file() and f.suffix == ".parquet" for f in files):
        return None
    return files
