"""Forecasts: the model chosen by a backtest inside the given values only, intervals that contain the
mean, calibration, and the real money-supply series beating the seasonal naive method."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shudata.analysis import forecast as fc
from shudata.core.errors import InvalidInput
from support.analysis_data import monthly_series


def _seasonal(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 200 + 0.8 * np.arange(n) + 15 * np.sin(np.arange(n) * 2 * np.pi / 12) + rng.normal(0, 2, n)


def test_seasonal_naive_repeats_the_last_cycle_with_widening_intervals() -> None:
    y = _seasonal(48)
    mean, lo, hi = fc.snaive(y, 24, 12, 0.8)
    assert np.allclose(mean[:12], y[36:48]) and np.allclose(mean[12:], y[36:48])
    half = hi - mean
    assert np.allclose(mean - lo, half) and half[12] > half[11]  # the second cycle is less certain


def test_backtest_origins_stay_inside_the_values() -> None:
    for n in (30, 48, 100):
        for o in fc.origins(n, 12, 4, 4):
            assert o >= fc.MIN_LENGTH and o + 12 <= n


def test_forecast_does_not_look_past_its_values() -> None:
    y = _seasonal(72)
    a = fc.forecast(y[:60], 12, candidates=("snaive", "ets", "theta"), origins_count=2)
    changed = y.copy()
    changed[60:] += 1000  # the held-out year: nothing the forecast may see
    b = fc.forecast(changed[:60], 12, candidates=("snaive", "ets", "theta"), origins_count=2)
    assert a.model == b.model and np.allclose(a.mean, b.mean) and np.allclose(a.upper, b.upper)
    assert set(a.backtest_mase) == {"snaive", "ets", "theta"}
    assert np.all(a.lower <= a.mean) and np.all(a.mean <= a.upper)
    # a trending seasonal series: the trend-aware models beat repeating last year
    assert a.model != "snaive"
    assert float(np.mean(np.abs(a.mean - y[60:]))) < float(np.mean(np.abs(fc.snaive(y[:60], 12, 12, 0.8)[0] - y[60:])))


def test_calibration_widens_intervals_that_were_too_narrow() -> None:
    actual = np.zeros(12)
    runs = [(actual, np.full(12, 2.0), np.full(12, 1.0), np.full(12, 3.0))]  # errors of 2, half-widths of 1
    assert fc._calibration(runs, 0.8) == pytest.approx(2.0)
    runs = [(actual, np.full(12, 0.1), np.full(12, -0.9), np.full(12, 1.1))]  # far too wide: shrink, at most ½
    assert fc._calibration(runs, 0.8) == pytest.approx(0.5)


def test_bad_series_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        fc.forecast([1.0, float("nan"), 3.0, 4.0, 5.0])
    assert e.value.code == "analysis_bad_series"
    with pytest.raises(InvalidInput):
        fc.forecast([1.0, 2.0])


def test_real_m2_beats_seasonal_naive_and_covers() -> None:
    _, values = monthly_series(48)["货币和准货币(M2)供应量期末值|000000|"]
    y = np.asarray(values)
    f = fc.forecast(y[:-12], 12, candidates=("snaive", "ets", "theta"), origins_count=2)
    base = fc.snaive(y[:-12], 12, 12, 0.8)[0]
    assert np.mean(np.abs(f.mean - y[-12:])) < 0.5 * np.mean(np.abs(base - y[-12:]))
    assert np.mean((y[-12:] >= f.lower) & (y[-12:] <= f.upper)) >= 0.5


def test_horizon_calibration_per_horizon_never_narrower() -> None:
    # errors growing with the horizon against constant model half-widths of 1
    runs = [(o, np.linspace(0.5, 3.0, 12), np.ones(12), np.arange(12, dtype=float)) for o in range(30)]
    c = fc.horizon_calibration(runs, 12, 0.8)
    assert np.all(np.diff(c) >= 0) and c[0] >= 1.0 and c[-1] > 2.5 and c[-1] <= 4.0
    calm = [(o, np.full(12, 0.1), np.ones(12), np.arange(12, dtype=float)) for o in range(30)]
    assert np.allclose(fc.horizon_calibration(calm, 12, 0.8), 1.0)  # a calm backtest never shrinks
    rng = np.random.default_rng(5)
    noisy = [(o, np.abs(rng.normal(0, 1.5, 12)), np.ones(12), np.arange(12, dtype=float)) for o in range(40)]
    plain, bound = fc.horizon_calibration(noisy[:8], 12, 0.8), fc.horizon_calibration(noisy[:8], 12, 0.8, delta=0.1)
    assert np.all(bound >= plain) and bound[0] > plain[0]  # 8 origins cannot vouch for 80 %: the bound errs wide
    ratios = np.sort(np.concatenate([err[:3] for _, err, _, _ in noisy[:8]]))  # horizons 0 ± 2
    assert plain[0] == pytest.approx(max(1.0, ratios[math.ceil(25 * 0.8) - 1]))


def test_rolling_runs_stay_inside_the_values() -> None:
    y = _seasonal(40)
    runs = fc.rolling_runs(y, "snaive", 12, 12, 0.8)
    assert [o for o, *_ in runs] == list(range(28, 40))  # the last 12 origins
    assert [o for o, *_ in fc.rolling_runs(y, "snaive", 12, 12, 0.8, max_origins=30)] == list(range(24, 40))
    for o, err, half, hz in runs:
        assert len(err) == len(half) == len(hz) == min(12, 40 - o)
        assert np.allclose(err, np.abs(y[o:o + len(err)] - fc.snaive(y[:o], 12, 12, 0.8)[0][:len(err)]))


LONG = [f"{name}|000000|" for name in (
    "货币和准货币(M2)供应量期末值", "货币(M1)供应量期末值", "流通中现金(M0)供应量期末值",
    "货币和准货币(M2)供应量同比增长", "货币(M1)供应量同比增长", "流通中现金(M0)供应量同比增长")]


def test_intervals_widen_with_the_horizon_on_real_series() -> None:
    y = np.asarray(monthly_series(48)[LONG[1]][1])
    f = fc.forecast(y[:-12], 12, candidates=("snaive", "ets", "theta"), origins_count=2)
    width = f.upper - f.lower
    assert np.all(np.diff(width) >= -1e-9 * width[0]) and width[-1] > 1.5 * width[0]


def test_interval_coverage_on_held_out_real_series_is_sane() -> None:
    """The 80 % intervals of the long money-supply series, each cut twice (a year held out 6 and 0 months
    before the end): about 80 % of the held-out months inside — not the 40–60 % of one shrinking factor,
    not everything (intervals so wide they say nothing)."""
    series = monthly_series(48)
    inside = total = 0
    for key in LONG:
        y = np.asarray(series[key][1])
        for end in (len(y) - 6, len(y)):
            train, test = y[:end - 12], y[end - 12:end]
            f = fc.forecast(train, 12, candidates=("snaive", "ets", "theta"), origins_count=2)
            inside += int(np.sum((test >= f.lower) & (test <= f.upper)))
            total += 12
    assert 0.7 <= inside / total <= 0.95, inside / total


def test_training_conditional_calibration_covers_with_high_probability() -> None:
    """On errors of a known distribution (|N(0, 1)|, the model's half-widths 0.5 where 80 % needs 1.28): over
    200 backtests of 12 origins, the plain split-conformal factor covers 80 % only on average (about half the
    backtests fall short), the training-conditional one (δ = 0.1, the default of ``forecast``) in at least
    90 % of them — and never by more than the cap."""
    from statistics import NormalDist

    rng = np.random.default_rng(11)
    plain_cover, bound_cover = [], []
    for _ in range(200):
        runs = [(o, np.abs(rng.normal(0, 1, 12)), np.full(12, 0.5), np.arange(12, dtype=float)) for o in range(12)]
        for delta, out in ((None, plain_cover), (fc.CALIBRATION_DELTA, bound_cover)):
            c = fc.horizon_calibration(runs, 12, 0.8, delta=delta)
            out.append(2 * NormalDist().cdf(0.5 * float(c[0])) - 1)  # the true coverage at horizon 1
    assert fc.CALIBRATION_DELTA == 0.1
    assert abs(float(np.mean(plain_cover)) - 0.8) < 0.03
    assert 0.3 < float(np.mean(np.asarray(plain_cover) >= 0.8)) < 0.7
    assert float(np.mean(np.asarray(bound_cover) >= 0.8)) >= 0.9
    assert max(bound_cover) <= 2 * NormalDist().cdf(0.5 * 4.0) - 1 + 1e-12
