"""Information-loss metrics of a transformation (lower is better).

``loss`` (Iyengar's LM, ARX "Loss"), ``precision`` (Sweeney's Prec), ``discernibility``,
``entropy`` (non-uniform entropy) and ``aecs`` (average equivalence-class size). Suppressed
records count as fully generalised. Separable metrics also give a per-node *lower bound*
(the value without suppression), used to prune the search.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from shudata.privacy.kanon.data import Encoded

Metric = Literal["loss", "precision", "discernibility", "entropy", "aecs"]
METRICS: tuple[Metric, ...] = ("loss", "precision", "discernibility", "entropy", "aecs")
SEPARABLE = frozenset({"loss", "precision", "entropy"})
FloatArray = npt.NDArray[np.float64]


def _cached(enc: Encoded, kind: str, j: int, level: int) -> FloatArray:
    key = (kind, j, level)
    if key not in enc.cache:
        enc.cache[key] = _leaf_count_loss_raw(enc, j, level) if kind == "loss" else _entropy_cost_raw(enc, j, level)
    out: FloatArray = enc.cache[key]
    return out


def _leaf_count_loss(enc: Encoded, j: int, level: int) -> FloatArray:
    return _cached(enc, "loss", j, level)


def _entropy_cost(enc: Encoded, j: int, level: int) -> FloatArray:
    return _cached(enc, "entropy", j, level)


def _leaf_count_loss_raw(enc: Encoded, j: int, level: int) -> FloatArray:
    """Per leaf: (leaves under its level-``level`` value − 1) / (all leaves − 1)."""
    codes = enc.gen[j][level]
    under = np.bincount(codes)[codes]
    total = len(codes)
    return (under - 1) / max(total - 1, 1)


def _entropy_cost_raw(enc: Encoded, j: int, level: int) -> FloatArray:
    """Per leaf: −log2 P(leaf | its generalised value), with P from the input frequencies."""
    freq = np.bincount(enc.tuples[:, j], weights=enc.weights, minlength=len(enc.gen[j][0]))
    codes = enc.gen[j][level]
    gen_freq = np.bincount(codes, weights=freq)[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = np.where(freq > 0, -np.log2(np.where(gen_freq > 0, freq / gen_freq, 1.0)), 0.0)
    return cost


def attribute_tables(enc: Encoded, metric: Metric) -> list[FloatArray]:
    """For separable metrics: table[j][level] = the metric's share from attribute j."""
    n = enc.weights.sum()
    out = []
    for j, h in enumerate(enc.hierarchies):
        vals = []
        for level in range(h.height):
            leaf = enc.tuples[:, j]
            if metric == "loss":
                vals.append(float((_leaf_count_loss(enc, j, level)[leaf] * enc.weights).sum() / n / len(enc.qis)))
            elif metric == "precision":
                vals.append(level / max(h.height - 1, 1) / len(enc.qis))
            else:
                vals.append(float((_entropy_cost(enc, j, level)[leaf] * enc.weights).sum()))
        out.append(np.array(vals))
    return out


def suppressed_cost(enc: Encoded, metric: Metric, tuple_mask: npt.NDArray[np.bool_]) -> float:
    """Extra cost when the tuples in ``tuple_mask`` are suppressed (fully generalised)."""
    w = enc.weights[tuple_mask]
    if metric in ("loss", "precision"):
        return float(w.sum() / enc.weights.sum())
    return sum(float(tuple_costs(enc, metric, j, enc.hierarchies[j].height - 1)[tuple_mask].sum())
               for j in range(len(enc.qis)))


def evaluate(enc: Encoded, metric: Metric, node: Sequence[int], sizes: FloatArray, failing: npt.NDArray[np.bool_],
             cls: npt.NDArray[np.int64], tables: list[FloatArray] | None) -> float:
    """The metric of ``node`` given its classes and which classes are suppressed."""
    n = float(enc.weights.sum())
    suppressed_rows = float(sizes[failing].sum())
    if metric == "discernibility":
        kept = sizes[~failing]
        return float((kept**2).sum() + suppressed_rows * n)
    if metric == "aecs":
        kept_classes = int((~failing).sum()) + (1 if suppressed_rows else 0)
        return n / max(kept_classes, 1)
    if tables is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("tables is unexpectedly None")
    tmask = failing[cls]
    base = sum(float(tables[j][lvl]) for j, lvl in enumerate(node))
    if not tmask.any():
        return base
    kept_mask = ~tmask
    if metric == "precision":
        frac_kept = float(enc.weights[kept_mask].sum() / n)
        return base * frac_kept + suppressed_cost(enc, metric, tmask)
    # loss / entropy: the generalised part of the kept tuples, plus the suppressed ones
    kept_part = sum(float(tuple_costs(enc, metric, j, lvl)[kept_mask].sum()) for j, lvl in enumerate(node))
    return kept_part + suppressed_cost(enc, metric, tmask)


def tuple_costs(enc: Encoded, metric: Metric, j: int, level: int) -> FloatArray:
    """The metric's share of every distinct tuple for QI ``j`` at ``level`` (cached)."""
    key = ("tuple_cost", metric, j, level)
    if key not in enc.cache:
        per_leaf = _leaf_count_loss(enc, j, level) if metric == "loss" else _entropy_cost(enc, j, level)
        cost = per_leaf[enc.tuples[:, j]] * enc.weights
        enc.cache[key] = cost / float(enc.weights.sum()) / len(enc.qis) if metric == "loss" else cost
    out: FloatArray = enc.cache[key]
    return out


def lower_bound(tables: list[FloatArray] | None, node: Sequence[int]) -> float:
    if tables is None:
        return 0.0
    return sum(float(tables[j][lvl]) for j, lvl in enumerate(node))


def describe(metric: str) -> str:
    return {"loss": "信息损失 Loss (LM)", "precision": "精度 Precision", "discernibility": "区分度 Discernibility",
            "entropy": "非均匀熵 Non-uniform entropy", "aecs": "平均等价类大小 AECS"}[metric]

