"""A table encoded for the lattice search: distinct quasi-identifier tuples with counts.

Each quasi-identifier becomes leaf codes of its hierarchy; ``gen[j][l]`` maps leaf codes
to the codes of level ``l``. Rows with equal QI tuples (and sensitive value) are counted
once, so a node is evaluated over distinct tuples, not rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from shudata.core.errors import InvalidInput
from shudata.privacy.kanon.hierarchy import Hierarchy

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Encoded:
    qis: tuple[str, ...]
    hierarchies: tuple[Hierarchy, ...]
    tuples: IntArray  # (m, q) leaf codes
    weights: IntArray  # (m,) rows per distinct tuple
    sensitive: IntArray | None  # (m,) sensitive code per distinct tuple, or None
    sensitive_values: tuple[str, ...]
    gen: tuple[tuple[IntArray, ...], ...]  # gen[j][l]: leaf code -> level-l code
    radix: tuple[tuple[int, ...], ...]  # radix[j][l]: number of level-l codes
    rows: int
    row_tuple: IntArray  # (rows,) distinct-tuple index of every input row
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)  # per-leaf metric costs

    @property
    def heights(self) -> tuple[int, ...]:
        return tuple(h.height for h in self.hierarchies)

    def codes(self, j: int, level: int) -> IntArray:
        """Level-``level`` codes of QI ``j`` for every distinct tuple (cached, contiguous)."""
        key = ("codes", j, level)
        if key not in self.cache:
            self.cache[key] = np.ascontiguousarray(self.gen[j][level][self.tuples[:, j]])
        out: IntArray = self.cache[key]
        return out


def _text(col: pa.ChunkedArray | pa.Array) -> pd.Series:
    s = col.to_pandas()
    return s.astype("string").fillna("NULL").astype(object)


def _level_codes(h: Hierarchy) -> tuple[tuple[IntArray, ...], tuple[int, ...]]:
    codes, radix = [], []
    for level in h.levels:
        c, uniques = pd.factorize(pd.Series(level, dtype=object), sort=False)
        codes.append(c.astype(np.int64))
        radix.append(len(uniques))
    return tuple(codes), tuple(radix)


def encode(table: pa.Table, qis: Sequence[str], hierarchies: Mapping[str, Hierarchy],
           sensitive: str | None = None) -> Encoded:
    """Encode ``table`` for the search; clear errors for unknown QIs or uncovered values."""
    missing = [q for q in qis if q not in table.column_names]
    if missing:
        raise InvalidInput(f"准标识符列不存在：{'、'.join(missing)}；现有列：{'、'.join(table.column_names)}",
                           f"Quasi-identifiers not in the table: {', '.join(missing)}", code="unknown_qi")
    if sensitive is not None and sensitive not in table.column_names:
        raise InvalidInput(f"敏感属性列“{sensitive}”不存在", f"Sensitive attribute {sensitive!r} is not in the table",
                           code="unknown_qi")
    if sensitive in qis:
        raise InvalidInput("敏感属性不能同时是准标识符", "The sensitive attribute cannot be a quasi-identifier",
                           code="bad_privacy_model")
    no_h = [q for q in qis if q not in hierarchies]
    if no_h:
        raise InvalidInput(f"缺少这些准标识符的泛化层次：{'、'.join(no_h)}", f"No hierarchy for: {', '.join(no_h)}",
                           code="missing_hierarchy")
    cols, gens, radixes = [], [], []
    for q in qis:
        h = hierarchies[q]
        values = _text(table.column(q))
        h.require_covers(values.unique())
        cols.append(pd.Categorical(values, categories=list(h.leaves)).codes.astype(np.int64))
        g, r = _level_codes(h)
        gens.append(g)
        radixes.append(r)
    frame = pd.DataFrame(np.column_stack(cols) if cols else np.zeros((table.num_rows, 0), np.int64))
    s_values: tuple[str, ...] = ()
    if sensitive is not None:
        s_codes, s_uniques = pd.factorize(_text(table.column(sensitive)), sort=True)
        frame["__s"] = s_codes
        s_values = tuple(str(v) for v in s_uniques)
    groups = frame.groupby(list(frame.columns), sort=False)
    grouped = groups.size().reset_index(name="__n")
    row_tuple = groups.ngroup().to_numpy(dtype=np.int64)
    tuples = grouped[list(range(len(qis)))].to_numpy(dtype=np.int64)
    return Encoded(qis=tuple(qis), hierarchies=tuple(hierarchies[q] for q in qis), tuples=tuples,
                   weights=grouped["__n"].to_numpy(dtype=np.int64),
                   sensitive=grouped["__s"].to_numpy(dtype=np.int64) if sensitive is not None else None,
                   sensitive_values=s_values, gen=tuple(gens), radix=tuple(radixes), rows=table.num_rows,
                   row_tuple=row_tuple)


@dataclass
class Rollup:
    """Class tables of evaluated nodes, so a more general node is computed from the classes
    of a less general one (fewer rows) instead of from every distinct tuple."""

    nodes: list[tuple[int, ...]] = field(default_factory=list)
    tables: list[tuple[IntArray, IntArray]] = field(default_factory=list)  # (tuple -> class, class -> a tuple)
    limit: int = 256

    def best_base(self, node: Sequence[int]) -> tuple[IntArray, IntArray] | None:
        if not self.nodes:
            return None
        arr = np.array(self.nodes)
        ok = np.nonzero(np.all(arr <= np.asarray(node), axis=1))[0]
        if not len(ok):
            return None
        best = min(ok, key=lambda i: len(self.tables[i][1]))
        return self.tables[best]

    def add(self, node: Sequence[int], tuple_class: IntArray, reps: IntArray) -> None:
        if len(self.nodes) >= self.limit:
            self.nodes.pop(0)
            self.tables.pop(0)
        self.nodes.append(tuple(int(x) for x in node))
        self.tables.append((tuple_class, reps))


def class_ids(enc: Encoded, node: Sequence[int], rollup: Rollup | None = None) -> tuple[IntArray, int]:
    """Equivalence class of every distinct tuple at ``node``, and the number of classes.

    With a ``rollup``, the classes come from the cached classes of a less general node.
    """
    base = rollup.best_base(node) if rollup is not None else None
    if base is None:
        cls, n = _class_ids_direct(enc, node)
    else:
        tuple_class, reps = base
        key = np.zeros(len(reps), dtype=np.int64)
        for j, level in enumerate(node):
            key = key * enc.radix[j][level] + enc.codes(j, level)[reps]
        sub, uniq = pd.factorize(key, sort=False)
        cls, n = sub.astype(np.int64)[tuple_class], len(uniq)
    if rollup is not None:
        reps_new = np.zeros(n, dtype=np.int64)
        reps_new[cls] = np.arange(len(cls))
        rollup.add(node, cls, reps_new)
    return cls, n


def _class_ids_direct(enc: Encoded, node: Sequence[int]) -> tuple[IntArray, int]:
    m = len(enc.tuples)
    if not enc.qis:
        return np.zeros(m, dtype=np.int64), 1
    key = np.zeros(m, dtype=np.int64)
    span = 1
    for j, level in enumerate(node):
        r = enc.radix[j][level]
        if span * r >= 2**62:  # too wide for one integer key: fall back to row-wise unique
            return _class_ids_rows(enc, node)
        key = key * r + enc.codes(j, level)
        span *= r
    inv, uniq = pd.factorize(key, sort=False)
    return inv.astype(np.int64), len(uniq)


def _class_ids_rows(enc: Encoded, node: Sequence[int]) -> tuple[IntArray, int]:
    cols = np.column_stack([enc.codes(j, lvl) for j, lvl in enumerate(node)])
    uniq, inv = np.unique(cols, axis=0, return_inverse=True)
    return inv.reshape(-1).astype(np.int64), len(uniq)
