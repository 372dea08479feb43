"""Differential privacy for released aggregates (counts, sums, means, histograms).

Laplace mechanism with noise scale sensitivity/ε; sums and means clamp values to declared
bounds first (otherwise sensitivity is unbounded); histograms use parallel composition
(each record is in one bin). Budgets per consumer are charged in
:func:`shudata.privacy.service.dp_release` before anything is returned.

>>> rng = np.random.default_rng(0)
>>> r = dp_count(np.arange(1000), epsilon=1.0, rng=rng)
>>> abs(r.value - 1000) < 20, r.epsilon
(True, 1.0)
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from shudata.core.errors import InvalidInput


class DpResult(BaseModel):
    kind: str
    value: float | None = None
    histogram: dict[str, float] | None = None
    epsilon: float
    noise_scale: float
    mechanism: str = "laplace"


def default_rng() -> np.random.Generator:
    """A generator seeded from the operating system's CSPRNG."""
    return np.random.default_rng(secrets.randbits(128))


def _check_eps(epsilon: float) -> None:
    if not epsilon > 0:
        raise InvalidInput("ε 必须大于 0", "epsilon must be positive", code="bad_epsilon")


def _bounds(lower: float | None, upper: float | None) -> tuple[float, float]:
    if lower is None or upper is None or not lower < upper:
        raise InvalidInput("求和与均值需要给出数值上下界（lower < upper），超出部分按边界截断",
                           "Sums and means need bounds lower < upper (values are clamped to them)", code="dp_bounds")
    return lower, upper


def laplace(value: float, sensitivity: float, epsilon: float, rng: np.random.Generator) -> float:
    return float(value + rng.laplace(0.0, sensitivity / epsilon))


def dp_count(values: npt.ArrayLike, *, epsilon: float, rng: np.random.Generator | None = None) -> DpResult:
    _check_eps(epsilon)
    n = len(np.asarray(values))
    return DpResult(kind="count", value=laplace(n, 1.0, epsilon, rng or default_rng()), epsilon=epsilon,
                    noise_scale=1.0 / epsilon)


def dp_sum(values: npt.ArrayLike, *, epsilon: float, lower: float | None, upper: float | None,
           rng: np.random.Generator | None = None) -> DpResult:
    _check_eps(epsilon)
    lo, hi = _bounds(lower, upper)
    x = np.clip(np.asarray(values, dtype=float), lo, hi)
    sens = max(abs(lo), abs(hi))
    return DpResult(kind="sum", value=laplace(float(x.sum()), sens, epsilon, rng or default_rng()), epsilon=epsilon,
                    noise_scale=sens / epsilon)


def dp_mean(values: npt.ArrayLike, *, epsilon: float, lower: float | None, upper: float | None,
            rng: np.random.Generator | None = None) -> DpResult:
    """Noisy sum / noisy count, each with ε/2, clamped to the bounds."""
    _check_eps(epsilon)
    lo, hi = _bounds(lower, upper)
    g = rng or default_rng()
    s = dp_sum(values, epsilon=epsilon / 2, lower=lo, upper=hi, rng=g)
    c = dp_count(values, epsilon=epsilon / 2, rng=g)
    if s.value is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("s.value is unexpectedly None")
    if c.value is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("c.value is unexpectedly None")
    mean = float(np.clip(s.value / max(c.value, 1.0), lo, hi))
    return DpResult(kind="mean", value=mean, epsilon=epsilon, noise_scale=s.noise_scale)


def dp_histogram(values: Sequence[object], *, epsilon: float, bins: Sequence[str] | None = None,
                 rng: np.random.Generator | None = None) -> DpResult:
    """Noisy counts per category. ``bins`` should be declared in advance: categories taken
    from the data would reveal which values exist."""
    _check_eps(epsilon)
    g = rng or default_rng()
    text = np.asarray([str(v) for v in values], dtype=object)
    cats = list(bins) if bins is not None else sorted(set(text.tolist()))
    uniq, counts = np.unique(text, return_counts=True) if len(text) else (np.array([]), np.array([]))
    lookup = dict(zip(uniq.tolist(), counts.tolist(), strict=True))
    hist = {c: laplace(float(lookup.get(c, 0)), 1.0, epsilon, g) for c in cats}
    return DpResult(kind="histogram", histogram=hist, epsilon=epsilon, noise_scale=1.0 / epsilon)
