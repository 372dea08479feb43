"""Optimal full-domain generalisation: search the lattice with pruning (Flash/OLA-like).

Nodes are vectors of generalisation levels, one per quasi-identifier. Two facts prune:

* **predictive tagging** — for monotonic models (k-anonymity, distinct l-diversity) with
  a suppression limit, a node that fails makes every less general node fail, and a node
  that passes makes every more general node pass;
* **bounds** — separable metrics (loss, precision, entropy) have a cheap per-node lower
  bound (the value without suppression). Nodes are visited in order of the bound and the
  search stops once the bound exceeds the best value found.

The result is the exact optimum (ties broken by level vector), which a test checks
against :func:`exhaustive` on small lattices.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shudata.core.errors import InvalidInput
from shudata.privacy.kanon.data import Encoded, Rollup, class_ids
from shudata.privacy.kanon.metrics import SEPARABLE, Metric, attribute_tables, evaluate
from shudata.privacy.kanon.models import KAnonymity, PrivacyModel

EPS = 1e-9


@dataclass(frozen=True)
class NodeResult:
    node: tuple[int, ...]
    anonymous: bool
    suppressed: int
    classes: int
    value: float


@dataclass
class SearchResult:
    optimum: NodeResult | None
    evaluated: int
    lattice_size: int
    seconds: float
    anonymous_nodes: int = 0
    notes: list[str] = field(default_factory=list)


def check_models(enc: Encoded, models: Sequence[PrivacyModel], suppression: float) -> None:
    """Clear errors for impossible requests (k larger than the table, no sensitive column)."""
    for m in models:
        if isinstance(m, KAnonymity) and m.k > enc.rows:
            raise InvalidInput(f"k={m.k} 大于数据行数 {enc.rows}，无法满足 k-匿名", f"k={m.k} is larger than the "
                               f"{enc.rows} rows of the table", code="k_too_large")
        if m.needs_sensitive and enc.sensitive is None:
            raise InvalidInput(f"{m.name} 需要指定敏感属性列", f"{m.name} needs a sensitive attribute",
                               code="bad_privacy_model")
    if not 0 <= suppression <= 1:
        raise InvalidInput("记录抑制上限应在 0 到 1 之间", "The suppression limit must be between 0 and 1",
                           code="bad_privacy_model")


def evaluate_node(enc: Encoded, node: Sequence[int], models: Sequence[PrivacyModel], suppression: float,
                  metric: Metric, tables: list[npt.NDArray[np.float64]] | None, *, value: bool = True,
                  rollup: Rollup | None = None) -> NodeResult:
    cls, n_classes = class_ids(enc, node, rollup)
    sizes = np.bincount(cls, weights=enc.weights, minlength=n_classes).astype(np.float64)
    failing = np.zeros(n_classes, dtype=bool)
    for m in models:
        failing |= m.failing(enc, cls, n_classes, sizes)
    suppressed = int(sizes[failing].sum())
    anonymous = suppressed <= math.floor(suppression * enc.rows + EPS)
    cost = evaluate(enc, metric, node, sizes, failing, cls, tables) if anonymous and value else math.inf
    return NodeResult(tuple(int(x) for x in node), anonymous, suppressed, int(n_classes - failing.sum()), cost)


def node_bounds(tables: list[npt.NDArray[np.float64]] | None, nodes: npt.NDArray[np.int64]
                ) -> npt.NDArray[np.float64]:
    """The separable lower bound of every node at once (zeros for other metrics)."""
    if tables is None:
        return np.zeros(len(nodes))
    out: npt.NDArray[np.float64] = np.sum([t[nodes[:, j]] for j, t in enumerate(tables)], axis=0)
    return out


def all_nodes(enc: Encoded) -> npt.NDArray[np.int64]:
    return np.array(list(itertools.product(*(range(h) for h in enc.heights))), dtype=np.int64).reshape(
        -1, len(enc.heights))


def _tag(status: npt.NDArray[np.int8], nodes: npt.NDArray[np.int64], node: npt.NDArray[np.int64],
         passed: bool) -> None:
    if passed:
        status[np.all(nodes >= node, axis=1)] = 1
    else:
        status[np.all(nodes <= node, axis=1)] = -1


def frontier(enc: Encoded, nodes: npt.NDArray[np.int64], order: npt.NDArray[np.int64], bounds: npt.NDArray[np.float64],
             models: Sequence[PrivacyModel], suppression: float) -> tuple[npt.NDArray[np.int8], int]:
    """Pass/fail of every node under *monotonic* models, with few evaluations (Flash-style):
    from each unknown node build a greedy path upwards through unknown nodes and binary-search
    it for the boundary; each evaluation tags a whole up-set or down-set."""
    heights = np.array(enc.heights)
    strides = np.cumprod([1, *heights[::-1][:-1]])[::-1]  # node id = levels · strides (product order)
    status = np.zeros(len(nodes), dtype=np.int8)
    evaluated = 0
    rollup = Rollup()
    for idx in order:
        if status[idx]:
            continue
        path = [int(idx)]
        cur = nodes[idx]
        while True:
            base = int(cur @ strides)
            succ = [base + int(strides[j]) for j in range(len(cur)) if cur[j] < heights[j] - 1]
            succ = [i for i in succ if status[i] == 0]
            if not succ:
                break
            nxt = min(succ, key=lambda i: (bounds[i], i))
            path.append(nxt)
            cur = nodes[nxt]
        lo, hi = 0, len(path) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            if status[path[mid]]:
                passed = status[path[mid]] == 1
            else:
                res = evaluate_node(enc, nodes[path[mid]], models, suppression, "loss", None, value=False,
                                    rollup=rollup)
                evaluated += 1
                passed = res.anonymous
                _tag(status, nodes, nodes[path[mid]], passed)
            if passed:
                hi = mid - 1
            else:
                lo = mid + 1
    return status, evaluated


def search(enc: Encoded, models: Sequence[PrivacyModel], *, suppression: float = 0.0,
           metric: Metric = "loss") -> SearchResult:
    """The transformation with minimal ``metric`` that satisfies every model."""
    check_models(enc, models, suppression)
    start = time.perf_counter()
    nodes = all_nodes(enc)
    tables = attribute_tables(enc, metric) if metric in SEPARABLE else None
    bounds = node_bounds(tables, nodes)
    order = np.lexsort((*nodes.T[::-1], nodes.sum(axis=1), bounds))
    mono = [m for m in models if m.monotonic]
    exact_bound = suppression == 0 and metric in SEPARABLE and len(mono) == len(models)
    if exact_bound:
        # without suppression an anonymous node's value equals its bound: classify the
        # lattice with few evaluations, then the first passing node in bound order wins
        status, evaluated = frontier(enc, nodes, order, bounds, mono, suppression)
    else:
        status, evaluated = np.zeros(len(nodes), dtype=np.int8), 0
    best: NodeResult | None = None
    rollup = Rollup()
    for idx in order:
        if status[idx] == -1:
            continue
        if best is not None and bounds[idx] > best.value + EPS:
            break
        if exact_bound and best is not None:
            continue  # later nodes have bound >= best: ties only, the first one wins
        res = evaluate_node(enc, nodes[idx], models, suppression, metric, tables, rollup=rollup)
        evaluated += 1
        if not res.anonymous:
            if len(mono) == len(models):
                _tag(status, nodes, nodes[idx], False)
            elif mono and not evaluate_node(enc, nodes[idx], mono, suppression, metric, None, value=False).anonymous:
                _tag(status, nodes, nodes[idx], False)  # the monotonic models alone fail: so does the down-set
            continue
        if best is None or res.value < best.value - EPS:
            best = res
    return SearchResult(best, evaluated, len(nodes), time.perf_counter() - start, int((status == 1).sum()))


def exhaustive(enc: Encoded, models: Sequence[PrivacyModel], *, suppression: float = 0.0,
               metric: Metric = "loss") -> SearchResult:
    """Evaluate every node (the reference the search is tested against)."""
    check_models(enc, models, suppression)
    start = time.perf_counter()
    nodes = all_nodes(enc)
    tables = attribute_tables(enc, metric) if metric in SEPARABLE else None
    best: NodeResult | None = None
    anonymous = 0
    for node in nodes:
        res = evaluate_node(enc, node, models, suppression, metric, tables)
        if res.anonymous:
            anonymous += 1
            if best is None or res.value < best.value - EPS or (abs(res.value - best.value) <= EPS
                                                                 and res.node < best.node):
                best = res
    return SearchResult(best, len(nodes), len(nodes), time.perf_counter() - start, anonymous)
