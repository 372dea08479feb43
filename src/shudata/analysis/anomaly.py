"""Statistical anomaly detection on seasonal series, in the manner of Twitter's S-H-ESD and ADTK's
seasonal and level-shift detectors: a series is decomposed (STL, statsmodels) and read with everything
it holds, so a period is judged again, with hindsight, as later periods arrive. Kinds:

- ``level_shift`` (水平突变): a change point of the seasonally adjusted series — the median of the
  ``confirm`` periods from it off the median of the ``confirm`` periods before by more than the local
  trend explains, in robust units (1.4826 × MAD ≈ σ for normal noise) of that statistic nearby —
  unless one period of the statistic's window is a stronger outlier (one odd value moves a median of
  ``confirm`` values: the event is that outlier, as Chen & Liu weigh an additive outlier against a
  level shift);
- ``spike`` (离群值): with the shifts taken out, a period whose STL remainder is more than
  ``threshold`` robust units off, taken one at a time as the generalized ESD test does (the flagged
  value is replaced by the decomposition's before the next pass, so it bends nothing);
- ``seasonal_break`` (季节模式变化): a spike a cycle before or after a spike of the same sign, or a
  pair of periods a cycle apart whose remainders together are beyond the threshold (their sum in units
  of √2 robust σ: a change of one season's pattern recurs, so two moderate excursions are evidence
  that neither is alone).

The threshold, in robust units, is by default the critical value S-H-ESD takes for a series of n
periods at family-wise level α = 0.05, split (Bonferroni) between the two families of tests: the n
periods of the level-shift and spike scans, Φ⁻¹(1 − α / 4n) (3.47 for 48 months, 3.62 for 84, 3.90
for 258), and the n − period pairs of the seasonal-break scan, Φ⁻¹(1 − α / 4(n − period)), so a
longer series needs a larger excursion. ``threshold=`` fixes it for both instead. On
Gaussian noise the realised false-alarm rate is higher than α (the scales are estimated in windows
of the series itself): docs/analysis.md gives the measured rates.

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
from statistics import NormalDist
from typing import Any

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


def seasonal_strength(y: Sequence[float] | NDArray[Any], period: int = 12) -> float:
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


def decompose(y: Array, period: int, *, robust: bool = True, seasonal: int = 13,
              seasonal_deg: int = 1) -> tuple[Array, Array, Array]:
    """(trend, seasonal, remainder) by STL (robust by default). ``seasonal`` is the seasonal smoother's
    length in cycles: 13 keeps a monthly series' seasonal pattern stable over about a decade, so that
    one odd month stays in the remainder instead of bending the pattern. ``seasonal_deg`` 0 holds each
    season's component level (a local mean) instead of letting it tilt with the last cycles."""
    from statsmodels.tsa.seasonal import STL  # noqa: PLC0415 - heavy, used on demand

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = STL(y, period=period, robust=robust, seasonal=seasonal, seasonal_deg=seasonal_deg).fit()
    return (np.asarray(res.trend, float), np.asarray(res.seasonal, float), np.asarray(res.resid, float))


def critical_value(n: int, alpha: float = 0.05) -> float:
    """Φ⁻¹(1 − α / 2n): the two-sided normal critical value of n tests at family-wise level α (Bonferroni),
    as Seasonal-Hybrid ESD sets its thresholds from the length of the series it scans.

    >>> round(critical_value(84), 2), round(critical_value(258), 2)
    (3.43, 3.73)
    """
    if n < 1 or not 0 < alpha < 1:
        raise InvalidInput("异常检测参数无效：alpha 须在 0 与 1 之间", "alpha must be between 0 and 1",
                           code="analysis_bad_series")
    return NormalDist().inv_cdf(1 - alpha / (2 * n))


def _spread(errors: Array) -> tuple[float, float]:
    med = float(np.median(errors))
    mad = 1.4826 * float(np.median(np.abs(errors - med)))
    if mad == 0 or not math.isfinite(mad):
        mad = float(np.std(errors)) or 1.0
    return med, mad


def _local(x: Array, lo: int, hi: int) -> Array:
    return x[max(lo, 0):max(hi, 0)]


def _local_scale(x: Array, u: int, half: int) -> float:
    """1.4826 · MAD of ``x`` in the centred window u ± ``half`` (the noise of a long series changes with
    its level, so one scale for all of it would be too wide early on and too narrow late)."""
    return _spread(_local(x, u - half, u + half + 1))[1]


def _level_shifts(adjusted: Array, w: int, threshold: float, half: int) -> list[tuple[int, float, float]]:
    """Change points of the seasonally adjusted series: ``(t, step, z)`` where the median of the ``w``
    values from t differs from the median of the ``w`` values before t by more than the local drift
    explains, by more than ``threshold`` robust units of that same statistic around t (a median of w ≥ 3
    values ignores one odd month, so spikes and seasonal breaks do not look like shifts). The shift is
    dated inside its run of large statistics where the means of the two sides differ most."""
    n = len(adjusted)
    diffs = np.diff(adjusted)
    stat = np.full(n, np.nan)
    for t in range(w, n - w + 1):
        drift = float(np.median(_local(diffs, t - 12, t + 12)))  # the local trend, one month
        stat[t] = (float(np.median(adjusted[t:t + w])) - float(np.median(adjusted[t - w:t]))) - w * drift
    valid = np.flatnonzero(np.isfinite(stat))
    z = np.zeros(n)
    for v in valid.tolist():
        window = stat[valid[(valid >= v - half) & (valid <= v + half)]]
        med, mad = _spread(window)
        z[v] = (stat[v] - med) / mad
    out: list[tuple[int, float, float]] = []
    t = w
    while t <= n - w:
        if abs(z[t]) <= threshold:
            t += 1
            continue
        sign = np.sign(z[t])
        end = t
        while end + 1 <= n - w and abs(z[end + 1]) > threshold and np.sign(z[end + 1]) == sign:
            end += 1
        # the date: where the two sides' means differ most (one side of the run of medians to the other)
        best = max(range(t, end + 1), key=lambda c: sign * (float(np.mean(adjusted[c:c + w]))
                                                              - float(np.mean(adjusted[c - w:c]))))
        out.append((best, float(stat[best]), float(z[best])))
        t = end + 1
    return out


def _spikes(y: Array, period: int, threshold: float, memory: int, skip: set[int]) -> dict[int, Anomaly]:
    """Outliers of the remainder, one at a time as the generalized ESD test takes them: decompose (plain
    STL: its remainder is close to normal on clean data, where the robust fit's is heavy-tailed), take the
    period whose remainder is furthest off in robust units (1.4826 · MAD of the remainders within
    ± ``memory`` periods), flag it if beyond ``threshold``, put the decomposition's value in its place
    (so it bends neither the trend nor the seasonal pattern) and decompose again."""
    work = y.copy()
    n = len(work)
    found: dict[int, Anomaly] = {}
    for _ in range(max(1, n // 10)):
        trend, seasonal, resid = decompose(work, period, robust=False, seasonal_deg=0)
        z = np.zeros(n)
        for u in range(n):
            if u in skip or u in found:
                continue
            med, mad = _spread(_local(resid, u - memory, u + memory + 1))
            z[u] = (float(resid[u]) - med) / mad
        u = int(np.argmax(np.abs(z)))
        if abs(z[u]) <= threshold:
            break
        fitted = float(trend[u] + seasonal[u])
        found[u] = Anomaly(u, "spike", float(z[u]), fitted)
        work[u] = fitted
    return found


def _recurring(y: Array, period: int, threshold: float, memory: int, spikes: dict[int, Anomaly],
               skip: set[int], first: int) -> dict[int, Anomaly]:
    """Seasonal breaks the spike scan cannot see one period at a time: with the spikes replaced by the
    decomposition's values, a pair of periods u and u + ``period`` (u from ``first``) whose plain-STL
    remainders sum to more than ``threshold`` times √2 robust units (1.4826 · MAD of the remainders
    within ± ``memory`` periods; the sum of two independent remainders has √2 times their σ). Both
    periods of such a pair are flagged; a pair touching a spike or a shift is not judged."""
    work = y.copy()
    for u, a in spikes.items():
        work[u] = a.expected
    trend, seasonal, resid = decompose(work, period, robust=False, seasonal_deg=0)
    taken = skip | set(spikes)
    found: dict[int, Anomaly] = {}
    for u in range(max(first, 0), len(work) - period):
        v = u + period
        if {u, v} & (taken | set(found)):
            continue
        med, mad = _spread(_local(resid, u - memory, v + memory + 1))
        z = (float(resid[u] + resid[v]) - 2 * med) / (math.sqrt(2) * mad)
        if abs(z) > threshold:
            for k in (u, v):
                found[k] = Anomaly(k, "seasonal_break", z, float(trend[k] + seasonal[k]))
    return found


def _not_outliers(y: Array, shifts: list[tuple[int, float, float]], period: int, w: int,
                  memory: int) -> list[tuple[int, float, float]]:
    """The change points that a single outlier does not explain better (one event, one warning). A median
    of ``w`` values ignores one odd value only in part: it moves to the next order statistic, so a spike
    or a seasonal break biases the change-point statistic at the w periods either side of it, and a
    strong one can carry it over the threshold there. As Chen & Liu's procedure weighs an additive
    outlier against a level shift at the same place, each change point t is weighed against the
    alternative: with the other shifts taken out (but not this one), the plain-STL remainder of the
    periods in its statistic's window [t − w, t + w), in robust units within ± ``memory`` periods. If one
    of them is further off than the change point's own z, the event is that outlier (the spike scan
    then sees it, no longer skipped as next to a shift) and the change point is dropped."""
    kept = []
    for i, (t, step, z) in enumerate(shifts):
        level = np.zeros(len(y))
        for c, other, _ in shifts[:i] + shifts[i + 1:]:
            level[c:] += other
        _, _, resid = decompose(y - level, period, robust=False, seasonal_deg=0)
        outlier = 0.0
        for u in range(max(t - w, 0), min(t + w, len(y))):
            med, mad = _spread(_local(resid, u - memory, u + memory + 1))
            outlier = max(outlier, abs(float(resid[u]) - med) / mad)
        if outlier <= abs(z):
            kept.append((t, step, z))
    return kept


def detect(values: Sequence[float] | NDArray[Any], period: int = 12, *, threshold: float | None = None,
           alpha: float = 0.05, confirm: int = 3, memory: int = 36, start: int | None = None) -> list[Anomaly]:
    """Anomalies of a complete, regular series, judged with everything the series holds (a period is
    judged again, with hindsight, as later periods arrive — the way S-H-ESD and ADTK's seasonal
    detectors read a window):

    1. ``level_shift``: a change point of the seasonally adjusted series (robust STL), where the
       median of the ``confirm`` periods from it moves off the median of the ``confirm`` periods before
       by more than the local trend explains — ``threshold`` robust units of that statistic within
       ± ``memory`` periods. A shift needs ``confirm`` periods after it to be seen.
    2. The shifts are taken out and the series decomposed again; a period whose remainder is more than
       ``threshold`` robust units (1.4826 · MAD of the remainders within ± ``memory`` periods) off is a
       ``spike``, unless it sits next to a shift (the shift explains it). A change point is kept only
       if no period of its statistic's window is a stronger outlier (in robust units of the remainder,
       the shift itself not taken out): one spike moves a median of ``confirm`` values, and the event is
       then the spike, not a shift (one event, one warning).
    3. A spike a cycle before or after a spike of the same sign in the same season makes both a
       ``seasonal_break``; so does a pair of periods a cycle apart whose remainders (spikes replaced)
       sum to more than the pair threshold in units of √2 robust σ.

    Only periods from ``start`` on are reported (default: after three cycles); the periods before it
    build the decomposition and the scales. ``threshold`` (robust units) defaults to
    :func:`critical_value` of the series' length n at ``alpha / 2`` for the level-shift and spike
    scans, and of the n − period pairs at ``alpha / 2`` for the pair scan (family-wise ``alpha``
    over both, Bonferroni); a given ``threshold`` is used for both.
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
    if threshold is None:  # family-wise α: half for the n periods, half for the n − period pairs
        threshold = critical_value(len(y), alpha / 2)
        pair_threshold = critical_value(len(y) - period, alpha / 2)
    else:
        pair_threshold = threshold
    if confirm < 1 or memory < period or threshold <= 0:
        raise InvalidInput("异常检测参数无效：confirm ≥ 1，memory ≥ 周期长度，threshold > 0",
                           "Invalid anomaly detection parameters", code="analysis_bad_series")
    begin = max(0, start if start is not None else fit + period)
    n = len(y)
    w = max(confirm, 3)
    _, seasonal, _ = decompose(y, period, seasonal_deg=0)
    shifts = _not_outliers(y, _level_shifts(y - seasonal, w, threshold, memory), period, w, memory)
    level = np.zeros(n)
    for t, step, _ in shifts:
        level[t:] += step
    near_shift = {t + k for t, _, _ in shifts for k in (-1, 0, 1)}
    spikes = _spikes(y - level, period, threshold, memory, near_shift)
    pairs = _recurring(y - level, period, pair_threshold, memory, spikes, near_shift, begin - period)
    out: dict[int, Anomaly] = {}
    for t, step, z in shifts:
        if t >= begin:
            out[t] = Anomaly(t, "level_shift", z, float(y[t] - step))
    for u, a in spikes.items():
        twin = [spikes.get(u - period), spikes.get(u + period)]
        kind = "seasonal_break" if any(b is not None and np.sign(b.score) == np.sign(a.score) for b in twin) \
            else "spike"
        if u >= begin:
            out[u] = Anomaly(u, kind, a.score, a.expected + float(level[u]))
    for u, a in pairs.items():
        if u >= begin and u not in out:
            out[u] = Anomaly(u, a.kind, a.score, a.expected + float(level[u]))
    return [out[t] for t in sorted(out)]
