"""Forecasts with prediction intervals: ETS, ARIMA, Theta and seasonal naive (statsmodels), the model
chosen per series by a rolling-origin backtest on the series' own past.

``forecast(y, h)`` never looks past the values it is given: the backtest that picks the model cuts
its origins inside ``y`` only, so an evaluation window held out by the caller stays unseen. The
intervals are the models' own (``level`` 80 % by default), then calibrated per horizon on a second,
step-1 rolling-origin backtest of the chosen model inside ``y`` (``horizon_calibration``): at each
horizon the half-widths are scaled by a training-conditional conformal quantile of |error| / half-width
there (Vovk 2012: the quantile at ``level`` + sqrt(ln(1/δ) / 2m) for m origins, δ = 0.1, so that with
probability 0.9 over the backtest the interval covers ``level`` — the plain split-conformal rank is only
right on average, and a dozen origins of one calm stretch make it too narrow), never narrower than the
model's own and at most 4 times it. With the 12 origins of a monthly series this is, at each horizon,
the largest backtest ratio there (capped). (The first version scaled all horizons
by one factor from 3 origins 4 months apart and let it shrink the intervals down to half: on the real
series 60 % of the held-out months fell inside the 80 % intervals.)

statsforecast would be the faster library, but its 2.x releases require pandas < 3 and the
project runs pandas 3; statsmodels gives the same model families.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from shudata.core.errors import InvalidInput

Array = NDArray[np.float64]
MIN_LENGTH = 24  # the shortest series forecast by anything but the seasonal naive method
# the training-conditional calibration's δ: the backtest vouches for ``level`` with probability 1 − δ
CALIBRATION_DELTA = 0.1
_Z = {0.8: 1.2815515655446004, 0.9: 1.6448536269514722, 0.95: 1.959963984540054}


@dataclass(frozen=True)
class Forecast:
    model: str  # ets | arima | theta | snaive
    mean: Array
    lower: Array
    upper: Array
    level: float = 0.8
    backtest_mase: dict[str, float] = field(default_factory=dict)  # each candidate's backtest score


def _z(level: float) -> float:
    if level in _Z:
        return _Z[level]
    from statistics import NormalDist  # noqa: PLC0415 - only for an unusual level

    return NormalDist().inv_cdf(0.5 + level / 2)


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn()


# ------------------------------------------------------------------ the models: y, h, m, level -> mean, lo, hi

def snaive(y: Array, h: int, m: int, level: float) -> tuple[Array, Array, Array]:
    """Seasonal naive: the value one season earlier; intervals from the seasonal differences."""
    if len(y) <= m:
        m = 1
    idx = np.arange(h)
    mean = y[len(y) - m + idx % m]
    resid = y[m:] - y[:-m]
    sd = float(np.std(resid, ddof=1)) if len(resid) > 1 else 0.0
    half = _z(level) * sd * np.sqrt(idx // m + 1)
    return mean, mean - half, mean + half


def ets(y: Array, h: int, m: int, level: float) -> tuple[Array, Array, Array]:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # noqa: PLC0415 - heavy, used on demand

    seasonal = "add" if len(y) >= 2 * m + 2 and m > 1 else None
    model = ETSModel(pd.Series(y),  # an index: the prediction frame needs one
                     error="add", trend="add", damped_trend=True, seasonal=seasonal,
                     seasonal_periods=m if seasonal else None)
    res = _quiet(lambda: model.fit(disp=False, maxiter=200))
    frame = _quiet(lambda: res.get_prediction(start=len(y), end=len(y) + h - 1).summary_frame(alpha=1 - level))
    return (frame["mean"].to_numpy(float), frame["pi_lower"].to_numpy(float), frame["pi_upper"].to_numpy(float))


def theta(y: Array, h: int, m: int, level: float) -> tuple[Array, Array, Array]:
    from statsmodels.tsa.forecasting.theta import ThetaModel  # noqa: PLC0415 - heavy, used on demand

    seasonal = len(y) >= 2 * m and m > 1
    res = _quiet(lambda: ThetaModel(y, period=m if seasonal else 1, deseasonalize=seasonal).fit())
    mean = np.asarray(_quiet(lambda: res.forecast(h)), float)
    pi = _quiet(lambda: res.prediction_intervals(h, alpha=1 - level))
    return mean, np.asarray(pi["lower"], float), np.asarray(pi["upper"], float)


def _differences(y: Array) -> int:
    """0 or 1 differences, by the KPSS test as auto-ARIMA does (level stationarity at 5 %)."""
    from statsmodels.tsa.stattools import kpss  # noqa: PLC0415 - heavy, used on demand

    try:
        p = _quiet(lambda: kpss(y, regression="c", nlags="auto"))[1]
    except (ValueError, OverflowError):
        return 1
    return 1 if p < 0.05 else 0


def arima(y: Array, h: int, m: int, level: float) -> tuple[Array, Array, Array]:
    """A small auto-ARIMA: d by KPSS, (p, q) in {(1,0), (0,1), (1,1)} by AICc; drift when differenced,
    a mean otherwise; a seasonal difference when the seasonal pattern dominates."""
    from statsmodels.tsa.arima.model import ARIMA  # noqa: PLC0415 - heavy, used on demand

    d = _differences(y)
    seasonal = m > 1 and len(y) >= 3 * m and _seasonal_strength(y, m) > 0.64
    best: tuple[float, Any] | None = None
    for p, q in ((1, 0), (0, 1), (1, 1)):
        order = (p, 0 if seasonal else d, q)
        trend = "c" if seasonal or d == 0 else "t"
        sorder = (0, 1, 0, m) if seasonal else (0, 0, 0, 0)
        model = ARIMA(y, order=order, seasonal_order=sorder, trend=trend)
        try:
            res = _quiet(model.fit)
        except (ValueError, np.linalg.LinAlgError):
            continue
        score = float(res.aicc) if np.isfinite(res.aicc) else math.inf
        if best is None or score < best[0]:
            best = (score, res)
    if best is None:
        return snaive(y, h, m, level)
    fc = _quiet(lambda: best[1].get_forecast(h))
    ci = np.asarray(fc.conf_int(alpha=1 - level), float)
    return np.asarray(fc.predicted_mean, float), ci[:, 0], ci[:, 1]


def _seasonal_strength(y: Array, m: int) -> float:
    """Share of the detrended variance that the seasonal means explain (0 … 1)."""
    if len(y) < 2 * m:
        return 0.0
    x = np.diff(y)
    n = len(x) // m * m
    x = x[-n:]
    total = float(np.var(x))
    if total == 0:
        return 0.0
    means = np.array([x[i::m].mean() for i in range(m)])
    return float(np.var(np.tile(means, n // m))) / total


MODELS: dict[str, Callable[[Array, int, int, float], tuple[Array, Array, Array]]] = {
    "snaive": snaive, "ets": ets, "theta": theta, "arima": arima,
}
LABELS = {"snaive": "季节朴素", "ets": "指数平滑(ETS)", "theta": "Theta", "arima": "ARIMA"}


def scale(y: Array, m: int) -> float:
    """The MASE scale: in-sample mean absolute seasonal difference (lag 1 when too short or flat)."""
    for lag in (m, 1):
        if len(y) > lag:
            s = float(np.mean(np.abs(y[lag:] - y[:-lag])))
            if s > 0:
                return s
    return 1.0


def origins(n: int, h: int, count: int, step: int) -> list[int]:
    """Backtest origins (training lengths) inside a series of ``n`` values, newest first."""
    out = [n - h - i * step for i in range(count)]
    return [o for o in out if o >= MIN_LENGTH]


def backtest(y: Array, h: int, m: int, level: float, candidates: Sequence[str], count: int = 3,
             step: int = 4) -> dict[str, tuple[float, list[tuple[Array, Array, Array, Array]]]]:
    """Each candidate's mean MASE over rolling origins inside ``y`` (and its forecasts, for calibration)."""
    out: dict[str, tuple[float, list[tuple[Array, Array, Array, Array]]]] = {}
    cuts = origins(len(y), h, count, step)
    for name in candidates:
        scores, runs = [], []
        for o in cuts:
            train, actual = y[:o], y[o:o + h]
            try:
                mean, lo, hi = MODELS[name](train, len(actual), m, level)
            except (ValueError, np.linalg.LinAlgError):
                scores.append(math.inf)
                continue
            if not np.all(np.isfinite(mean)):
                scores.append(math.inf)
                continue
            scores.append(float(np.mean(np.abs(actual - mean))) / scale(train, m))
            runs.append((actual, mean, lo, hi))
        out[name] = (float(np.mean(scores)) if scores else math.inf, runs)
    return out


def _calibration(runs: list[tuple[Array, Array, Array, Array]], level: float) -> float:
    """The factor on the interval half-widths that would have covered ``level`` of the backtest."""
    ratios = []
    for actual, mean, lo, hi in runs:
        half = (hi - lo) / 2
        ok = half > 0
        ratios.extend((np.abs(actual - mean)[ok] / half[ok]).tolist())
    if len(ratios) < 8:
        return 1.0
    # split-conformal rank: the ceil((n + 1) * level)-th smallest ratio covers ``level`` of new errors
    k = min(math.ceil((len(ratios) + 1) * level), len(ratios))
    return float(min(max(sorted(ratios)[k - 1], 0.5), 4.0))


def rolling_runs(y: Array, name: str, h: int, m: int, level: float,
                 max_origins: int = 12) -> list[tuple[int, Array, Array, Array]]:
    """The model ``name`` refitted at every origin of the last ``max_origins`` (step 1, at least
    ``MIN_LENGTH`` values of training), each forecast compared with as many of the following ``h`` values
    as ``y`` holds: ``(origin, errors, model half-widths, horizons)``. Everything stays inside ``y``."""
    out = []
    for o in range(max(MIN_LENGTH, len(y) - max_origins), len(y)):
        k = min(h, len(y) - o)
        try:
            mean, lo, hi = MODELS[name](y[:o], h, m, level)
        except (ValueError, np.linalg.LinAlgError):
            continue
        half = ((hi - lo) / 2)[:k]
        if not (np.all(np.isfinite(mean[:k])) and np.all(np.isfinite(half))):
            continue
        out.append((o, np.abs(y[o:o + k] - mean[:k]).astype(float), half, np.arange(k, dtype=float)))
    return out


def horizon_calibration(runs: list[tuple[int, Array, Array, Array]], h: int, level: float,
                        delta: float | None = None, band: int = 2, cap: float = 4.0) -> Array:
    """Per-horizon factors on the model's half-widths from the rolling-origin errors: at horizon k the
    ratios |error| / half-width of horizons k ± ``band``, and their split-conformal quantile (rank
    ceil((n + 1) · level) of n). With ``delta`` the quantile is taken at ``level`` + sqrt(ln(1/delta) / 2m)
    for m distinct origins instead (a training-conditional bound, which ``forecast`` uses with
    ``CALIBRATION_DELTA``; with the few origins of a monthly series it is the largest backtest ratio).
    Never narrower than the model's own interval (factor ≥ 1: a short backtest that happened to be calm
    does not shrink it), at most ``cap`` times it, and not narrowing as the horizon grows."""
    out = np.ones(h)
    for k in range(h):
        ratios, seen = [], set()
        for o, err, half, hz in runs:
            sel = (np.abs(hz - k) <= band) & (half > 0)
            if np.any(sel):
                ratios.extend((err[sel] / half[sel]).tolist())
                seen.add(o)
        if len(ratios) < 4:
            out[k] = out[k - 1] if k else 1.0
            continue
        a = level if delta is None else min(level + math.sqrt(math.log(1 / delta) / (2 * len(seen))), 1.0)
        rank = min(math.ceil((len(ratios) + 1) * a), len(ratios))
        out[k] = sorted(ratios)[rank - 1]
    return np.clip(np.maximum.accumulate(out), 1.0, cap)


def forecast(values: Sequence[float] | NDArray[Any], h: int = 12, *, season: int = 12, level: float = 0.8,
             candidates: Sequence[str] = ("snaive", "ets", "theta", "arima"), origins_count: int = 3,
             calibrate: bool = True) -> Forecast:
    """Forecast ``h`` periods after ``values`` (a complete, regular series) with a ``level`` interval.

    >>> import numpy as np
    >>> y = 100 + 10 * np.sin(np.arange(60) * 2 * np.pi / 12)
    >>> f = forecast(y, 6, candidates=("snaive",))
    >>> f.model, np.allclose(f.mean, y[48:54])
    ('snaive', True)
    """
    y = np.asarray(values, dtype=float)
    if y.ndim != 1 or not np.all(np.isfinite(y)):
        raise InvalidInput("预测需要完整的数值序列（不能有缺失值）", "A forecast needs a complete numeric series",
                           code="analysis_bad_series")
    if len(y) < 4 or h < 1:
        raise InvalidInput("序列太短，无法预测（至少 4 个值）", "The series is too short to forecast",
                           code="analysis_bad_series")
    usable = [c for c in candidates if c == "snaive" or len(y) >= MIN_LENGTH]
    scores = backtest(y, h, season, level, usable, count=origins_count) if len(usable) > 1 else {}
    chosen = min(scores, key=lambda k: scores[k][0]) if scores else usable[0]
    mean, lo, hi = MODELS[chosen](y, h, season, level)
    if calibrate and scores:
        c = horizon_calibration(rolling_runs(y, chosen, h, season, level), h, level, delta=CALIBRATION_DELTA)
        half_lo, half_hi = mean - lo, hi - mean
        lo, hi = mean - half_lo * c, mean + half_hi * c
    return Forecast(chosen, mean, lo, hi, level, {k: v[0] for k, v in scores.items()})
