"""Keyed, invisible fingerprints in numeric cells, one code word per buyer (指纹).

The scheme (docs/market.md, "指纹与溯源") joins Agrawal & Kiernan's keyed watermarking of
relational data (a secret key picks the cells; the low-order digits carry the mark) with a
symmetric Tardos code (Škorić et al.) for collusion resistance:

1. **Row identity.** A row is known by its key columns (never altered), as delivered text:
   ``d = HMAC-SM3(K_rows, key text)`` — 32 pseudo-random bytes per row, the same for every
   buyer, computed in one vectorised pass (:func:`row_digests`; kept with the product's
   prepared file, since they depend on the delivered keys only).
2. **Positions and biases.** A row is marked when ``d₀ < fraction`` (``d₀``: the digest's first
   word as a number in [0, 1)); every markable column ``c`` (salt ``σ_c`` from the secret) of a
   marked row is a *position*, with its Tardos bias ``p = sin²(r)``, ``r`` uniform in
   ``[arcsin √t, π/2 − arcsin √t]``, taken from ``mix(d₁ ⊕ σ_c)`` (:func:`bias_table`).
3. **The buyer's bits.** ``e = SM4_{K_b}(d[16:32])`` with ``K_b = HMAC-SM3(secret, "buyer|" + buyer)``
   (a PRF of secret, buyer and row key); the bit at ``(row, c)`` is ``mix(e ⊕ σ_c) < p``.
4. **Embedding.** A value ``v`` with the seller's tolerance ``s`` is put on the grid of ``s``
   with the parity of ``round(v / s)`` equal to the bit, moving it by at most ``s``.

``mix`` is the SplitMix64 finaliser, a bijection of 64-bit words, applied to outputs of the
keyed functions above (it spreads them over columns; it adds no secrecy and needs none).

>>> t = pa.table({"编号": ["a1", "a2", "a3"], "金额": [100.25, 3.5, None], "人数": [7, 8, 9]})
>>> spec = FingerprintSpec(key_columns=("编号",), columns={"金额": 0.01, "人数": 1}, fraction=1.0)
>>> out = embed(t, spec, secret=b"s" * 32, buyer="buyer-1")
>>> out.column("编号").to_pylist(), out.column("金额").null_count
(['a1', 'a2', 'a3'], 1)
>>> all(abs(a - b) <= 0.01 + 1e-9 for a, b in zip(out.column("金额").to_pylist()[:2], [100.25, 3.5]))
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shudata.core.errors import InvalidInput
from shudata.security.crypto.prf import sm4_blocks
from shudata.security.crypto.sm3 import hmac_sm3
from shudata.security.crypto.sm3_vec import hmac_sm3_many

U64 = npt.NDArray[np.uint64]
KEY_SEPARATOR = "\x1f"
_NUMERIC = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)


class FingerprintSpec(BaseModel):
    """The seller's fingerprinting settings for one product.

    ``key_columns`` identify a row (never altered; a leaked file must keep them);
    ``columns`` maps each numeric column that may carry the mark to its tolerance, the largest
    change allowed to one value (a whole number for integer columns); ``fraction`` is the share
    of those cells that are marked; ``cutoff`` is the Tardos bias cutoff ``t``.
    """

    model_config = ConfigDict(frozen=True)

    key_columns: tuple[str, ...] = Field(min_length=1)
    columns: dict[str, float] = Field(min_length=1)
    fraction: float = Field(default=0.5, gt=0, le=1)
    cutoff: float = Field(default=0.1, gt=0, lt=0.5)

    @model_validator(mode="after")
    def _disjoint(self) -> FingerprintSpec:
        both = sorted(set(self.key_columns) & set(self.columns))
        if both:
            raise ValueError(f"键列不能携带指纹：{'、'.join(both)}")
        bad = sorted(c for c, s in self.columns.items() if not (s > 0 and math.isfinite(s)))
        if bad:
            raise ValueError(f"容差必须是正数：{'、'.join(bad)}")
        return self


def suggest_spec(schema: pa.Schema, key_columns: tuple[str, ...], exclude: tuple[str, ...] = (),
                 fraction: float = 0.5) -> FingerprintSpec:
    """A starting point for the seller: every numeric column but the keys and ``exclude``,
    tolerance 1 for integers and 0.01 for the others (the seller reviews it).

    >>> s = suggest_spec(pa.schema({"id": pa.int64(), "n": pa.int32(), "x": pa.float64(), "t": pa.string()}), ("id",))
    >>> s.columns
    {'n': 1.0, 'x': 0.01}
    """
    cols = {f.name: (1.0 if pa.types.is_integer(f.type) else 0.01) for f in schema
            if any(k(f.type) for k in _NUMERIC) and f.name not in key_columns and f.name not in exclude}
    if not cols:
        raise InvalidInput("没有可以携带指纹的数值列（键列与排除的列除外）",
                           "No numeric column can carry the fingerprint (keys and excluded columns aside)",
                           code="no_fingerprint_columns")
    return FingerprintSpec(key_columns=key_columns, columns=cols, fraction=fraction)


def check_spec(spec: FingerprintSpec, schema: pa.Schema) -> None:
    """Refuse a spec that does not fit the delivered columns (missing, not numeric, an integer
    column with a fractional tolerance)."""
    names = set(schema.names)
    missing = [c for c in (*spec.key_columns, *spec.columns) if c not in names]
    if missing:
        raise InvalidInput(f"指纹设置中的列不在交付数据中：{'、'.join(missing)}",
                           f"Fingerprint columns not in the delivered data: {', '.join(missing)}",
                           code="fingerprint_column_missing", details={"columns": missing})
    for col, tol in spec.columns.items():
        t = schema.field(col).type
        if not any(k(t) for k in _NUMERIC):
            raise InvalidInput(f"列“{col}”不是数值列，不能携带指纹", f"Column {col!r} is not numeric",
                               code="fingerprint_column_not_numeric", details={"column": col})
        if pa.types.is_integer(t) and (tol < 1 or tol != int(tol)):
            raise InvalidInput(f"整数列“{col}”的容差必须是不小于 1 的整数", f"Integer column {col!r} needs a whole "
                               "tolerance of at least 1", code="fingerprint_bad_tolerance", details={"column": col})


def key_text(table: pa.Table, key_columns: tuple[str, ...]) -> pa.Array:
    """The row key as text, the same from a delivered table and from a leaked file read as
    text: each key cell as written (numbers as Arrow formats them), trimmed, joined by U+001F.

    >>> key_text(pa.table({"a": [1, 2], "b": [" x", None]}), ("a", "b")).to_pylist()
    ['1\\x1fx', '2\\x1f']
    """
    parts = []
    for name in key_columns:
        col = table.column(name)
        text = col if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) else pc.cast(col, pa.string())
        parts.append(pc.fill_null(pc.utf8_trim_whitespace(text.cast(pa.string())), ""))
    if len(parts) == 1:
        return parts[0].combine_chunks() if isinstance(parts[0], pa.ChunkedArray) else parts[0]
    joined = pc.binary_join_element_wise(*parts, KEY_SEPARATOR)
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


@dataclass(frozen=True)
class Keys:
    """The keys derived from a product's fingerprint secret."""

    rows: bytes
    salts: Mapping[str, int]
    secret: bytes

    @classmethod
    def derive(cls, secret: bytes, columns: tuple[str, ...] | list[str]) -> Keys:
        salts = {c: int.from_bytes(hmac_sm3(secret, f"col|{c}".encode())[:8], "little") for c in columns}
        return cls(rows=hmac_sm3(secret, b"rows"), salts=salts, secret=secret)

    def buyer_key(self, buyer: str) -> bytes:
        return hmac_sm3(self.secret, f"buyer|{buyer}".encode())[:16]


def row_digests(keys: Keys, text: pa.Array) -> npt.NDArray[np.uint8]:
    """HMAC-SM3 of every row key: an (n, 32) byte array (vectorised, no Python per row)."""
    return hmac_sm3_many(keys.rows, text)


def _mix(x: U64) -> U64:
    """SplitMix64's finaliser over an array (wrapping 64-bit arithmetic)."""
    with np.errstate(over="ignore"):
        z = x ^ (x >> np.uint64(30))
        z = z * np.uint64(0xBF58476D1CE4E5B9)
        z = z ^ (z >> np.uint64(27))
        z = z * np.uint64(0x94D049BB133111EB)
        out: U64 = z ^ (z >> np.uint64(31))
    return out


def _unit(x: U64) -> npt.NDArray[np.float64]:
    """64-bit words as floats uniform in [0, 1)."""
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _words(digests: npt.NDArray[np.uint8], start: int) -> U64:
    """The 64-bit little-endian word at byte ``start`` of every digest (a view when possible)."""
    if digests.flags.c_contiguous and start % 8 == 0:
        whole: U64 = digests.view("<u8")
        return whole[:, start // 8]
    return np.ascontiguousarray(digests[:, start:start + 8]).view("<u8").reshape(-1)


def selected_rows(digests: npt.NDArray[np.uint8], fraction: float) -> npt.NDArray[np.intp]:
    """The rows that carry a mark (in every markable column): ``d₀ < fraction`` (``d`` is keyed)."""
    return np.flatnonzero(_unit(_words(digests, 0)) < fraction)


@functools.lru_cache(maxsize=8)
def bias_table(cutoff: float) -> tuple[npt.NDArray[np.float64], U64]:
    """The Tardos biases ``p_k = sin²(r_k)`` on 65,536 evenly spaced ``r_k`` in
    ``[arcsin √t, π/2 − arcsin √t]``, and ``⌊p_k · 2³²⌋`` for integer comparisons."""
    lo = math.asin(math.sqrt(cutoff))
    r = lo + (math.pi / 2 - 2 * lo) * (np.arange(1 << 16) + 0.5) / (1 << 16)
    p = np.sin(r) ** 2
    return p, np.floor(p * 2.0**32).astype(np.uint64)


def bias_index(digests: npt.NDArray[np.uint8], salt: int) -> npt.NDArray[np.uint64]:
    """Each position's index into :func:`bias_table` (16 pseudo-random bits of ``mix(d₁ ⊕ σ_c)``)."""
    k: npt.NDArray[np.uint64] = _mix(_words(digests, 8) ^ np.uint64(salt)) >> np.uint64(48)
    return k


def biases(digests: npt.NDArray[np.uint8], salt: int, cutoff: float) -> npt.NDArray[np.float64]:
    """The Tardos bias of each position."""
    p: npt.NDArray[np.float64] = bias_table(cutoff)[0][bias_index(digests, salt)]
    return p


def buyer_words(keys: Keys, buyer: str, digests: npt.NDArray[np.uint8]) -> U64:
    """``SM4_{K_b}(d[16:32])`` per row, as one 64-bit word (the buyer's PRF output)."""
    block = np.ascontiguousarray(digests[:, 16:32]).tobytes()
    out = np.frombuffer(sm4_blocks(keys.buyer_key(buyer), block), dtype="<u8").reshape(-1, 2)
    words: U64 = out[:, 0] ^ out[:, 1]
    return words


def buyer_bits(words: U64, salt: int, k: npt.NDArray[np.uint64], cutoff: float) -> npt.NDArray[np.bool_]:
    """The buyer's code bits for one column: 1 with probability ``p_k`` (bias index ``k``)."""
    u = _mix(words ^ np.uint64(salt ^ 0x5DEECE66D)) >> np.uint64(32)
    bits: npt.NDArray[np.bool_] = u < bias_table(cutoff)[1][k]
    return bits


def _grid(step: float) -> tuple[float, float | None]:
    """A tolerance as (step, 1/step when that is a whole number: dividing by it rounds exactly)."""
    inv = 1.0 / step
    return step, (round(inv) if abs(inv - round(inv)) < 1e-9 and inv >= 1 else None)


def set_parity(values: npt.NDArray[np.float64], bits: npt.NDArray[np.bool_], step: float) -> npt.NDArray[np.float64]:
    """Each value on the grid of ``step`` with ``round(v / step) mod 2 == bit``, moved by at most
    ``step`` (towards the original when the parity has to change).

    >>> set_parity(np.array([10.0, 10.0, 2.5, -3.0]), np.array([True, False, False, False]), 1.0).tolist()
    [11.0, 10.0, 2.0, -2.0]
    """
    step, inv = _grid(step)
    scaled = values * inv if inv else values / step
    q = np.rint(scaled)
    wrong = (np.mod(q, 2) == 1) != bits
    q += np.where(scaled >= q, 1.0, -1.0) * wrong
    out: npt.NDArray[np.float64] = q / inv if inv else q * step
    return out


def set_parity_int(values: npt.NDArray[np.int64], bits: npt.NDArray[np.bool_], step: int) -> npt.NDArray[np.int64]:
    """:func:`set_parity` for integers with a whole ``step``, in integer arithmetic.

    >>> set_parity_int(np.array([10, 10, 7, -3]), np.array([True, False, False, False]), 1).tolist()
    [11, 10, 8, -4]
    """
    if step == 1:
        out: npt.NDArray[np.int64] = values + ((values & 1) != bits) * np.where(values >= 0, 1, -1)
        return out
    q, r = np.divmod(values, step)
    up = 2 * r >= step  # round half up to the nearer multiple
    q = q + up
    err_pos = np.where(up, r - step, r) >= 0
    q = q + ((q & 1) != bits) * np.where(err_pos, 1, -1)
    return q * step


def read_parity(values: npt.NDArray[np.float64], step: float) -> npt.NDArray[np.bool_]:
    """The bit a value carries: ``round(v / step)`` is odd."""
    _, inv = _grid(step)
    q = np.rint(values * inv) if inv else np.rint(values / step)
    odd: npt.NDArray[np.bool_] = np.mod(q, 2) == 1
    return odd


def _mark_column(col: pa.ChunkedArray | pa.Array, rows: npt.NDArray[np.intp], digests: npt.NDArray[np.uint8],
                 words: U64, salt: int, spec: FingerprintSpec, step: float) -> pa.Array:
    """The column with the buyer's bits in the selected ``rows`` (``digests`` and ``words`` are theirs)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    typ = arr.type
    if arr.null_count:
        ok = np.asarray(arr.is_valid())[rows]
        rows, digests, words = rows[ok], digests[ok], words[ok]
    bits = buyer_bits(words, salt, bias_index(digests, salt), spec.cutoff)
    mask = np.asarray(arr.is_null()) if arr.null_count else None
    if pa.types.is_integer(typ):
        ints = _numpy(arr, pa.int64(), 0)
        ints[rows] = set_parity_int(ints[rows], bits, int(step))
        out = pa.array(ints, mask=mask)
    else:
        values = _numpy(arr, pa.float64(), 0.0)
        sub = values[rows]
        finite = np.isfinite(sub)
        values[rows[finite]] = set_parity(sub[finite], bits[finite], step)
        out = pa.array(values, mask=mask)
    return out.cast(typ, safe=False) if out.type != typ else out


def _numpy(arr: pa.Array, typ: pa.DataType, fill: float) -> Any:
    """A writable NumPy copy of ``arr`` as ``typ`` (nulls as ``fill``): one pass when no cast is needed."""
    if arr.type != typ:
        arr = arr.cast(typ)
    if arr.null_count:
        arr = pc.fill_null(arr, fill)
    return arr.to_numpy(zero_copy_only=False).copy()


def embed(table: pa.Table, spec: FingerprintSpec, *, secret: bytes, buyer: str,
          digests: npt.NDArray[np.uint8] | None = None) -> pa.Table:
    """``table`` with ``buyer``'s fingerprint in the spec's columns (others untouched).

    ``digests`` are :func:`row_digests` of the table's keys when prepared in advance.
    """
    check_spec(spec, table.schema)
    keys = Keys.derive(secret, list(spec.columns))
    if digests is None:
        digests = row_digests(keys, key_text(table, spec.key_columns))
    rows = selected_rows(digests, spec.fraction)
    marked = np.ascontiguousarray(digests[rows])
    words = buyer_words(keys, buyer, marked)
    for name, step in spec.columns.items():
        col = _mark_column(table.column(name), rows, marked, words, keys.salts[name], spec, step)
        table = table.set_column(table.schema.get_field_index(name), table.schema.field(name), col)
    return table
