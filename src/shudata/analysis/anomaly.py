"""Statistical anomaly detection on seasonal series, as the early warning sees each period arrive:
robust STL decomposition (statsmodels, robust mode: outliers get small weights and stay out of the
trend and the seasonal pattern) of the periods before, an expectation for the new period (the
trend carried one step on, plus the seasonal component a cycle back), and a robust score of the
new value's error in units of the scaled MAD (1.4826 × MAD ≈ σ for normal noise) of the recent
one-step errors. Kinds:

- ``spike`` (离群值): one period off its expectation by more than ``threshold``;
- ``level_shift`` (水平突变): ``confirm`` consecutive flags of one sign — the series moved to a new level;
- ``seasonal_break`` (季节模式变化): a flag that recurs a cycle later in the same season.

``seasonal_strength`` says whether a series is seasonal at all (the detector is meant for those).

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> y = 100 + 10 * np.sin(np.arange(72) * 2 * np.pi / 12) + rng.normal(0, 1, 72)
>>> y[40] += 12
>>> [(a.index, a.kind) for a in detect(y, 12)]
[(40, 'spike')]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shudata.core.errors import InvalidInput

Array = NDArray[np.float64]
KIND_LABELS = {"spike": "离群值", "level_shift": "水平突变", "seasonal_break": "季节模式变化"}


@dataclass(frozen=True)
class Anomaly:
    index: int  # position in the series
    kind: str  # spike | level_shift | seasonal_break
    score: float  # robust z (positive: above expectation)
    expected: float  # the value the decomposition expected there


def seasonal_strength(y: Sequence[float], period: int = 12) -> float:
    """Wang, Smith & Hyndman's F_s = max(0, 1 − var(remainder) / var(seasonal + remainder)) of a plain STL.

    >>> import numpy as np
    >>> round(seasonal_strength(10 * np.sin(np.arange(60) * 2 * np.pi / 12) + np.arange(60)), 2)
    1.0
    """
    _, seasonal, resid = decompose(np.asarray(y, dtype=float), period, robust=False)
    total = float(np.var(seasonal + resid))
    return max(0.0, 1.0 - float(np.var(resid)) / total) if total > 0 else 0.0


def robust_z(x: Array) -> Array:
    """(x − median) / (1.4826 · MAD); a constant series scores 0 everywhere."""
    med = float(np.median(x))
    mad = 1.4826 * float(np.median(np.abs(x - med)))
    if mad == 0 or not math.isfinite(mad):
        mad = float(np.std(x)) or 1.0
    return (x - med) / mad


def decompose(y: Array, period: int, *, robust: bool = True, seasonal: int = 13) -> tuple[Array, Array, Array]:
    """(trend, seasonal, remainder) by STL (robust by default). ``seasonal`` is the seasonal smoother's
    length in cycles: 13 keeps a monthly series' seasonal pattern stable over about a decade, so that
    one odd month stays in the remainder instead of bending the pattern."""
    from statsmodels.tsa.seasonal import STL  # noqa: PLC0415 - heavy, used on demand

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = STL(y, period=period, robust=robust, seasonal=seasonal).fit()
    return (np.asarray(res.trend, float), np.asarray(res.seasonal, float), np.asarray(res.resid, float))


def _expectation(hist: Array, period: int) -> float:
    """What the robust decomposition of ``hist`` expects next: the trend carried one step on plus the
    seasonal component one cycle back."""
    trend, seasonal, _ = decompose(hist, period)
    return float(2 * trend[-1] - trend[-2] + seasonal[len(hist) - period])


def _spread(errors: Array) -> tuple[float, float]:
    med = float(np.median(errors))
    mad = 1.4826 * float(np.median(np.abs(errors - med)))
    if mad == 0 or not math.isfinite(mad):
        mad = float(np.std(errors)) or 1.0
    return med, mad


def detect(values: Sequence[float], period: int = 12, *, threshold: float = 3.5, confirm: int = 3,
           memory: int = 36, start: int | None = None) -> list[Anomaly]:
    """Anomalies of a complete, regular series, each period judged as the early warning sees it arrive:
    against what the robust decomposition of the periods before it expects, in units of the robust
    spread of the last ``memory`` such one-step errors. Flagged values are replaced by their expected
    value in the history the later periods are judged with (one odd month does not distort the next
    year's expectation); ``confirm`` consecutive flags of the same sign are a level shift, dated at the
    first of them (the history then keeps the new level and the flags of the following cycle, while the
    decomposition adapts, belong to it); a flag a cycle after a flag of the same sign
    is a seasonal break. Periods before ``start`` (default: three cycles in, after a cycle of one-step
    errors has set the scale) only build the history.
    """
    y = np.asarray(values, dtype=float)
    if y.ndim != 1 or not np.all(np.isfinite(y)):
        raise InvalidInput("异常检测需要完整的数值序列（不能有缺失值）",
                           "Anomaly detection needs a complete numeric series", code="analysis_bad_series")
    fit = 2 * period + 2  # STL needs two full cycles
    if len(y) <= fit + period:
        raise InvalidInput(f"序列太短：异常检测至少需要 {fit + period + 1} 个值（三个周期以上）",
                           "The series is too short for anomaly detection (more than three cycles needed)",
                           code="analysis_bad_series")
    # the scale is the spread of real one-step errors, so a cycle of them is gathered before any flag
    begin = max(fit + period, start if start is not None else fit + period)
    scan_from = max(fit, begin - memory)
    clean = y.copy()
    errors: list[float] = []
    out: dict[int, Anomaly] = {}
    run: list[int] = []  # consecutive flags of one sign (a level shift in the making)
    quiet_until = -1
    for u in range(scan_from, len(y)):
        expected = _expectation(clean[:u], period)
        error = float(y[u]) - expected
        if len(errors) < period:
            errors.append(error)
            continue
        med, mad = _spread(np.asarray(errors[-memory:]))
        z = (error - med) / mad
        if abs(z) <= threshold or u <= quiet_until:
            errors.append(error)
            run = []
            continue
        clean[u] = expected  # a flagged value neither enters the history nor the error spread
        if u < begin:
            continue
        run = [*run, u] if run and run[-1] == u - 1 and np.sign(out[run[-1]].score) == np.sign(z) else [u]
        out[u] = Anomaly(u, "spike", z, expected)
        if len(run) >= confirm:
            t0 = run[0]
            for v in run[1:]:
                out.pop(v, None)
            out[t0] = Anomaly(t0, "level_shift", out[t0].score, out[t0].expected)
            clean[t0:u + 1] = y[t0:u + 1]
            quiet_until = u + period  # a cycle for the decomposition to take the new level in
            run = []
            continue
        prior = out.get(u - period)
        if prior is not None and prior.kind in ("spike", "seasonal_break") and np.sign(prior.score) == np.sign(z):
            out[u - period] = Anomaly(prior.index, "seasonal_break", prior.score, prior.expected)
            out[u] = Anomaly(u, "seasonal_break", z, expected)
    return [out[t] for t in sorted(out)]
