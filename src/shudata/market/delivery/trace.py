"""Who leaked this file? Tardos scores of every buyer of a product, with a false-accusation bound.

A leaked table (any subset of rows, in any order, columns dropped or re-ordered, as text)
is matched back through its key columns: every marked position ``(row, column)`` that is
still there gives the bit ``y`` its value carries (:func:`~shudata.market.delivery.fingerprint.read_parity`).
A buyer ``j`` with bit ``x`` at a position of bias ``p`` scores (symmetric Tardos)

    y = x:  +√((1−p)/p) when x = 1, +√(p/(1−p)) when x = 0
    y ≠ x:  −√(p/(1−p)) when x = 0, −√((1−p)/p) when x = 1

For a buyer who did *not* leak, ``x`` is independent of ``y`` (a keyed PRF no one else holds),
so each term has mean 0, variance 1 and magnitude at most ``M = √((1−t)/t)``. Bernstein's
inequality bounds an innocent buyer's score over ``m`` positions:
``P(S ≥ z) ≤ exp(−z² / (2(m + M z / 3)))``. The threshold ``Z`` solves that for
``ε / n`` (``n`` candidates, ``ε`` = :data:`FALSE_ACCUSATION_BOUND`), so the probability that
*any* innocent buyer is named is at most ``ε``. A leaker's expected score is
``E[2√(p(1−p))] · m`` (about 0.86 m at ``t = 0.1``); each of two colluders who merged their
copies row-wise keeps it on the rows that came from them.

Repeated positions (the same row from two copies) count once when they agree and not at
all when they conflict (conflicting terms cancel for every buyer anyway).

>>> round(threshold(1000, 50, 0.1), 1)
206.9
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shudata.market.delivery.fingerprint import (
    FingerprintSpec,
    Keys,
    bias_index,
    bias_table,
    buyer_bits,
    buyer_words,
    key_text,
    read_parity,
    row_digests,
    selected_rows,
)

FALSE_ACCUSATION_BOUND = 1e-6  # P(an innocent buyer is named in one trace) ≤ this
_NUMBER_RE = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


def threshold(m: int, candidates: int, cutoff: float, bound: float = FALSE_ACCUSATION_BOUND) -> float:
    """The score an innocent buyer passes with probability at most ``bound / candidates``."""
    big_m = math.sqrt((1 - cutoff) / cutoff)
    lg = math.log(max(candidates, 1) / bound)
    a = big_m * lg / 3
    return a + math.sqrt(a * a + 2 * m * lg)


def innocent_tail(score: float, m: int, cutoff: float) -> float:
    """Bernstein's bound on P(an innocent buyer scores ≥ ``score``)."""
    if score <= 0 or m == 0:
        return 1.0
    big_m = math.sqrt((1 - cutoff) / cutoff)
    return math.exp(-score * score / (2 * (m + big_m * score / 3)))


@dataclass(frozen=True)
class Observed:
    """The marked positions found in a leaked table: per column, row digests, bias indexes, bits read."""

    columns: dict[str, tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64], npt.NDArray[np.bool_]]]

    @property
    def m(self) -> int:
        return sum(len(v[1]) for v in self.columns.values())


def _numbers(col: pa.ChunkedArray | pa.Array) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """A leaked column's values as floats, and which cells hold a number at all."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        ok = pc.fill_null(pc.match_substring_regex(arr, _NUMBER_RE), False)
        arr = pc.if_else(ok, arr, pa.scalar(None, arr.type)).cast(pa.float64())
    elif not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type)):
        return np.zeros(len(arr)), np.zeros(len(arr), dtype=bool)
    else:
        arr = arr.cast(pa.float64())
    valid = np.asarray(arr.is_valid())
    values = np.asarray(pc.fill_null(arr, 0.0), dtype=np.float64)
    return values, valid & np.isfinite(values)


def observe(table: pa.Table, spec: FingerprintSpec, secret: bytes) -> Observed:
    """The marked positions of ``spec`` that survive in ``table`` (keys present, value numeric)."""
    present = [c for c in spec.columns if c in table.column_names]
    keys = Keys.derive(secret, list(spec.columns))
    text = key_text(table, spec.key_columns)
    digests = row_digests(keys, text)
    rows = selected_rows(digests, spec.fraction)
    found: dict[str, tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64], npt.NDArray[np.bool_]]] = {}
    for name in present:
        values, valid = _numbers(table.column(name))
        where = rows[valid[rows]]
        marked = np.ascontiguousarray(digests[where])
        bits = read_parity(values[where], spec.columns[name])
        d, k, y = _dedupe(marked, bias_index(marked, keys.salts[name]), bits)
        found[name] = (d, k, y)
    return Observed(columns=found)


def _dedupe(digests: npt.NDArray[np.uint8], bias: npt.NDArray[np.uint64], bits: npt.NDArray[np.bool_]
            ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
    """One observation per position: repeats that agree count once, repeats that conflict not at all."""
    if len(bits) == 0:
        return digests, bias, bits
    ident = np.ascontiguousarray(digests[:, :16]).view("<u8").reshape(-1, 2)
    keyed = ident[:, 0] ^ ident[:, 1] * np.uint64(3)
    uniq, first, inverse = np.unique(keyed, return_index=True, return_inverse=True)
    ones = np.bincount(inverse, weights=bits.astype(np.float64), minlength=len(uniq))
    count = np.bincount(inverse, minlength=len(uniq))
    agree = (ones == 0) | (ones == count)
    keep = first[agree]
    return digests[keep], bias[keep], bits[keep]


def score(observed: Observed, spec: FingerprintSpec, secret: bytes, buyer: str) -> float:
    """``buyer``'s symmetric Tardos score over the observed positions."""
    keys = Keys.derive(secret, list(spec.columns))
    total = 0.0
    table = bias_table(spec.cutoff)[0]
    for name, (digests, k, y) in observed.columns.items():
        if len(y) == 0:
            continue
        bias = table[k]
        x = buyer_bits(buyer_words(keys, buyer, digests), keys.salts[name], k, spec.cutoff)
        up, down = np.sqrt((1 - bias) / bias), np.sqrt(bias / (1 - bias))
        terms = np.where(x, np.where(y, up, -up), np.where(y, -down, down))
        total += float(terms.sum())
    return total


@dataclass(frozen=True)
class Suspect:
    buyer: str
    score: float
    confidence: float  # 1 − n · (innocent tail bound at this score)


@dataclass(frozen=True)
class Verdict:
    """The accused buyers (empty: 无匹配), every candidate's score, and what the decision used."""

    accused: tuple[Suspect, ...]
    scores: dict[str, float]
    positions: int
    threshold: float
    bound: float = FALSE_ACCUSATION_BOUND
    notes: tuple[str, ...] = field(default=())

    @property
    def matched(self) -> bool:
        return bool(self.accused)


def decide(observed: Observed, spec: FingerprintSpec, secret: bytes, buyers: Sequence[str],
           bound: float = FALSE_ACCUSATION_BOUND) -> Verdict:
    """Score every candidate and name those above the threshold (highest first)."""
    m = observed.m
    n = max(len(buyers), 1)
    z = threshold(m, n, spec.cutoff, bound)
    scores = {b: score(observed, spec, secret, b) for b in buyers} if m else dict.fromkeys(buyers, 0.0)
    accused = sorted((Suspect(b, s, max(0.0, 1 - n * innocent_tail(s, m, spec.cutoff)))
                      for b, s in scores.items() if m and s >= z), key=lambda s: -s.score)
    notes = () if m else ("文件中没有找到带指纹的位置（键列或指纹列缺失）",)
    return Verdict(accused=tuple(accused), scores=scores, positions=m, threshold=z, bound=bound, notes=notes)
