"""Privacy models: k-anonymity, distinct / entropy l-diversity, t-closeness.

Each model says which equivalence classes *fail* it; failing classes are suppressed, and
a transformation is acceptable when the suppressed rows stay within the limit.
``monotonic`` models (k-anonymity, distinct l-diversity) allow predictive tagging: if a
node fails, every less general node fails too.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from shudata.privacy.kanon.data import Encoded, IntArray
from shudata.privacy.kanon.hierarchy import Hierarchy

FloatArray = npt.NDArray[np.float64]


class PrivacyModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: ClassVar[str]
    monotonic: ClassVar[bool] = True
    needs_sensitive: ClassVar[bool] = False

    def failing(self, enc: Encoded, cls: IntArray, n_classes: int, sizes: FloatArray) -> npt.NDArray[np.bool_]:
        raise NotImplementedError


class KAnonymity(PrivacyModel):
    """Every class has at least ``k`` records."""

    name: ClassVar[str] = "k-anonymity"
    k: int = Field(ge=1)

    def failing(self, enc: Encoded, cls: IntArray, n_classes: int, sizes: FloatArray) -> npt.NDArray[np.bool_]:
        return sizes < self.k


def _pair_counts(enc: Encoded, cls: IntArray, n_classes: int) -> tuple[IntArray, IntArray, FloatArray]:
    """(class, sensitive value) pairs with their row counts."""
    if enc.sensitive is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("enc.sensitive is unexpectedly None")
    ns = max(len(enc.sensitive_values), 1)
    key = cls * ns + enc.sensitive
    uniq, inv = np.unique(key, return_inverse=True)
    counts = np.bincount(inv.reshape(-1), weights=enc.weights, minlength=len(uniq)).astype(np.float64)
    pair_cls: IntArray = (uniq // ns).astype(np.int64)
    pair_s: IntArray = (uniq % ns).astype(np.int64)
    return pair_cls, pair_s, counts


class DistinctLDiversity(PrivacyModel):
    """Every class holds at least ``l`` distinct sensitive values."""

    name: ClassVar[str] = "distinct-l-diversity"
    needs_sensitive: ClassVar[bool] = True
    l: int = Field(ge=1)  # noqa: E741

    def failing(self, enc: Encoded, cls: IntArray, n_classes: int, sizes: FloatArray) -> npt.NDArray[np.bool_]:
        pair_cls, _s, _c = _pair_counts(enc, cls, n_classes)
        distinct = np.bincount(pair_cls, minlength=n_classes)
        return distinct < self.l


class EntropyLDiversity(PrivacyModel):
    """Every class has sensitive-value entropy of at least log(``l``)."""

    name: ClassVar[str] = "entropy-l-diversity"
    monotonic: ClassVar[bool] = False
    needs_sensitive: ClassVar[bool] = True
    l: int = Field(ge=1)  # noqa: E741

    def failing(self, enc: Encoded, cls: IntArray, n_classes: int, sizes: FloatArray) -> npt.NDArray[np.bool_]:
        pair_cls, _s, counts = _pair_counts(enc, cls, n_classes)
        p = counts / sizes[pair_cls]
        entropy = np.bincount(pair_cls, weights=-p * np.log(p), minlength=n_classes)
        return entropy < np.log(self.l) - 1e-12


class TCloseness(PrivacyModel):
    """Every class's sensitive distribution is within ``t`` of the whole table's (EMD).

    ``equal`` ground distance gives the variational distance; ``hierarchical`` uses the
    sensitive attribute's hierarchy (Li, Li & Venkatasubramanian 2007).
    """

    name: ClassVar[str] = "t-closeness"
    monotonic: ClassVar[bool] = False
    needs_sensitive: ClassVar[bool] = True
    t: float = Field(gt=0, le=1)
    distance: Literal["equal", "hierarchical"] = "equal"
    hierarchy: Hierarchy | None = None

    def failing(self, enc: Encoded, cls: IntArray, n_classes: int, sizes: FloatArray) -> npt.NDArray[np.bool_]:
        return emd(self, enc, cls, n_classes, sizes) > self.t + 1e-12


def distributions(enc: Encoded, cls: IntArray, n_classes: int, sizes: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per-class sensitive distributions (classes × values) and the overall one."""
    pair_cls, s, counts = _pair_counts(enc, cls, n_classes)
    ns = len(enc.sensitive_values)
    p = np.zeros((n_classes, ns))
    p[pair_cls, s] = counts
    p /= sizes[:, None]
    if enc.sensitive is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("enc.sensitive is unexpectedly None")
    q = np.bincount(enc.sensitive, weights=enc.weights, minlength=ns) / enc.weights.sum()
    return p, q


def emd(model: TCloseness, enc: Encoded, cls: IntArray, n_classes: int, sizes: FloatArray) -> FloatArray:
    p, q = distributions(enc, cls, n_classes, sizes)
    diff = p - q[None, :]
    if model.distance == "equal" or model.hierarchy is None:
        return 0.5 * np.abs(diff).sum(axis=1)
    return _hierarchical_emd(diff, enc.sensitive_values, model.hierarchy)


def _hierarchical_emd(diff: FloatArray, values: tuple[str, ...], h: Hierarchy) -> FloatArray:
    """Bottom-up EMD over the sensitive hierarchy: at each internal node, the mass that
    must move between its children costs ``level / (height - 1)``."""
    top = h.height - 1
    index = {v: i for i, v in enumerate(h.leaves)}
    h.require_covers(values)
    extra = diff  # children = leaves (level 0)
    child_of = np.array([index[v] for v in values])
    cost = np.zeros(diff.shape[0])
    parents_prev = np.arange(len(values))
    for level in range(1, h.height):
        names = np.array([h.levels[level][i] for i in child_of])
        parents, parent_idx = np.unique(names, return_inverse=True)
        pos = np.zeros((diff.shape[0], len(parents)))
        neg = np.zeros((diff.shape[0], len(parents)))
        np.add.at(pos.T, parent_idx, np.clip(extra, 0, None).T)
        np.add.at(neg.T, parent_idx, np.clip(-extra, 0, None).T)
        cost += (level / top) * np.minimum(pos, neg).sum(axis=1)
        extra = pos - neg
        # the next level groups these parents: keep one representative leaf per parent
        child_of = np.array([child_of[np.argmax(parent_idx == i)] for i in range(len(parents))])
        parents_prev = parents
    del parents_prev
    return cost
