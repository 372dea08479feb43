"""Apply a chosen transformation: generalise the QIs and suppress failing records (``*``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from shudata.privacy.kanon.data import Encoded, class_ids
from shudata.privacy.kanon.hierarchy import TOP
from shudata.privacy.kanon.models import PrivacyModel


def suppressed_rows(enc: Encoded, node: Sequence[int], models: Sequence[PrivacyModel]) -> np.ndarray:
    """Boolean mask of input rows whose class fails a model at ``node``."""
    cls, n_classes = class_ids(enc, node)
    sizes = np.bincount(cls, weights=enc.weights, minlength=n_classes).astype(np.float64)
    failing = np.zeros(n_classes, dtype=bool)
    for m in models:
        failing |= m.failing(enc, cls, n_classes, sizes)
    out: np.ndarray = failing[cls][enc.row_tuple]
    return out


def apply_node(table: pa.Table, enc: Encoded, node: Sequence[int], models: Sequence[PrivacyModel]) -> pa.Table:
    """``table`` with every QI generalised to ``node`` and failing records' QIs set to ``*``."""
    suppress = suppressed_rows(enc, node, models)
    out = table
    for j, (qi, level) in enumerate(zip(enc.qis, node, strict=True)):
        h = enc.hierarchies[j]
        leaf_of_tuple = enc.tuples[:, j]
        values = np.array(h.levels[level], dtype=object)[leaf_of_tuple][enc.row_tuple]
        values[suppress] = TOP
        out = out.set_column(out.column_names.index(qi), qi, pa.array(values, type=pa.string()))
    return out
