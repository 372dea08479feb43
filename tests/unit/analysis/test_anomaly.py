"""Anomaly detection: spikes, level shifts and seasonal breaks on generated seasonal series, nothing on
a clean one, and the real series (seasonal strength, an injected spike found in M0)."""

from __future__ import annotations

import numpy as np
import pytest

from shudata.analysis import anomaly as an
from shudata.core.errors import InvalidInput
from support.analysis_data import monthly_series


def _series(n: int = 84, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 + 0.3 * np.arange(n) + 10 * np.sin(np.arange(n) * 2 * np.pi / 12) + rng.normal(0, 1, n)


def test_clean_series_raises_nothing() -> None:
    assert an.detect(_series()) == []


def test_spike() -> None:
    y = _series()
    y[50] -= 9
    found = an.detect(y)
    assert [(a.index, a.kind) for a in found] == [(50, "spike")]
    assert found[0].score < -3.5 and found[0].expected == pytest.approx(y[50] + 9, abs=4)


def test_level_shift_is_one_warning_at_its_start() -> None:
    y = _series()
    y[55:] += 12
    found = an.detect(y)
    assert [(a.index, a.kind) for a in found] == [(55, "level_shift")]


def test_a_spike_is_one_spike_not_the_level_shift_it_moves() -> None:
    """One odd month moves a median of 3 to its next order statistic, so the change-point statistic can
    cross the threshold next to a strong spike; the change point is weighed against the outlier in its
    window (as Chen & Liu weigh an additive outlier against a level shift) and the event is the spike."""
    y = _series(seed=12)
    assert an.detect(y) == []
    y[62] -= 6
    _, seasonal, _ = an.decompose(y, 12, seasonal_deg=0)
    shifts = an._level_shifts(y - seasonal, 3, an.critical_value(84, 0.025), 36)
    assert any(abs(t - 62) <= 3 for t, _, _ in shifts)  # the statistic alone sees a change point here
    assert [(a.index, a.kind) for a in an.detect(y)] == [(62, "spike")]


def test_strong_spikes_are_rarely_reported_as_level_shifts() -> None:
    """A 6 σ spike in 60 clean 7-year series: found as a spike at its month in at least 54 (52 before the
    change points were weighed against outliers), a level shift within 3 months of it in at most 2 (5)."""
    as_shift = as_spike = 0
    for seed in range(60):
        y = _series(seed=seed)
        u, k = (48, 55, 62, 69)[seed % 4], (6.0 if seed % 8 < 4 else -6.0)
        before = {a.index for a in an.detect(y)}
        y[u] += k
        new = [(a.index, a.kind) for a in an.detect(y) if a.index not in before]
        as_shift += any(kind == "level_shift" and abs(i - u) <= 3 for i, kind in new)
        as_spike += (u, "spike") in new
    assert as_spike >= 54 and as_shift <= 2, (as_spike, as_shift)


def test_seasonal_break() -> None:
    y = _series()
    y[52::12] += 9  # the same month of every year from 52 on
    found = {(a.index, a.kind) for a in an.detect(y)}
    assert (52, "seasonal_break") in found and (64, "seasonal_break") in found


def test_a_moderate_recurrence_a_cycle_apart_is_one_seasonal_break() -> None:
    """Two excursions of the same month a year apart, each below the spike threshold, are judged
    together: their remainders' sum in units of √2 σ (the pair scan)."""
    y = _series()
    one = y.copy()
    one[50] += 2.5
    assert [(a.index, a.kind) for a in an.detect(one)] == [(50, "spike")]  # seed 7's month 50 is already high
    both = one.copy()
    both[62] += 2.5
    found = an.detect(both)
    assert [(a.index, a.kind) for a in found] == [(50, "seasonal_break"), (62, "seasonal_break")]
    assert found[0].score == found[1].score > an.critical_value(84 - 12, 0.025)
    alone = y.copy()
    alone[62] += 2.5
    assert an.detect(alone) == []  # month 62 alone is nothing


def test_start_only_judges_the_new_periods() -> None:
    y = _series()
    y[45] += 9
    y[70] += 9
    assert [a.index for a in an.detect(y, start=60)] == [70]


def test_short_or_incomplete_series_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        an.detect(np.ones(30))
    assert e.value.code == "analysis_bad_series"
    y = _series()
    y[3] = np.nan
    with pytest.raises(InvalidInput):
        an.detect(y)


def test_real_series() -> None:
    series = monthly_series(48)
    assert an.seasonal_strength(series["出口总值当期值|000000|"][1]) > 0.5
    assert an.seasonal_strength(series["居民消费价格指数|000000|"][1]) < 0.5  # a 上年同月=100 index
    y = np.asarray(series["流通中现金(M0)供应量期末值|000000|"][1])
    sigma = float(np.std(an.decompose(y, 12, robust=False)[2]))
    before = {a.index for a in an.detect(y[:200], start=180)}
    y2 = y.copy()
    y2[190] += 8 * sigma
    after = {a.index for a in an.detect(y2[:200], start=180)}
    assert 190 not in before and 190 in after


def test_real_level_shift_is_a_change_point_not_a_run_of_spikes() -> None:
    y = np.asarray(monthly_series(48)["货币(M1)供应量期末值|000000|"][1])[:170]
    d = np.diff(y[126:170])  # the month-on-month noise around the shift (M1 grew tenfold: a local scale)
    noise = 1.4826 * float(np.median(np.abs(d - np.median(d))))
    before = {a.index for a in an.detect(y, start=140)}
    shifted = y.copy()
    shifted[150:] += 4 * noise
    new = [(a.index, a.kind) for a in an.detect(shifted, start=140) if a.index not in before]
    assert len(new) == 1 and new[0][1] == "level_shift" and abs(new[0][0] - 150) <= 1, new


def test_default_threshold_is_the_bonferroni_critical_value_of_the_series_length() -> None:
    assert an.critical_value(84) == pytest.approx(3.434, abs=0.001)  # Φ⁻¹(1 − 0.05 / 168)
    assert an.critical_value(48) < an.critical_value(84) < an.critical_value(258)
    assert an.critical_value(84, alpha=0.01) > an.critical_value(84)
    y = _series()
    y[50] -= 5
    y[66] += 4
    y[70] += 2.6  # with y[58] below: a recurrence a cycle apart, for the pair scan
    y[58] += 2.6
    for alpha in (0.05, 0.01):
        found = an.detect(y, alpha=alpha)
        # α is split between the n periods (shifts, spikes) and the n − 12 pairs (seasonal breaks)
        single, pair = an.critical_value(len(y), alpha / 2), an.critical_value(len(y) - 12, alpha / 2)
        assert found and all(abs(a.score) > (pair if a.kind == "seasonal_break" else single) for a in found)
        assert {a.index for a in found} <= {a.index for a in an.detect(y, threshold=min(single, pair))}
        assert {a.index for a in an.detect(y, threshold=max(single, pair))} <= {a.index for a in found}
    with pytest.raises(InvalidInput):
        an.detect(y, alpha=0)


@pytest.mark.parametrize(("k", "least"), [(6.0, 17), (8.0, 20)])
def test_a_spike_of_k_sigma_in_a_seasonal_series_is_found(k: float, least: int) -> None:
    """STL keeps about 0.89 of an interior spike of a 7-year monthly series in robust units of its
    remainder, so a spike of k σ on top of the month's own noise ε scores about 0.89 (k + ε) against the
    critical value 3.62 (α / 2 of the family-wise α: the other half is the pair scan's): 6 σ is found
    unless ε < −1.9 σ (about 3 % of months; 17 of these 20, 19 with the whole α), 8 σ always."""
    found = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        y = _series(seed=200 + seed)
        u = int(rng.integers(40, 80))
        sign = float(rng.choice([-1.0, 1.0]))
        before = {a.index for a in an.detect(y)}
        y[u] += sign * k  # the noise's σ is 1
        new = [(a.index, a.kind, a.score) for a in an.detect(y) if a.index not in before]
        found += any(i == u and kind == "spike" and np.sign(z) == sign for i, kind, z in new)
    assert found >= least, found


def test_false_alarm_rate_on_clean_seasonal_series() -> None:
    """Gaussian noise around a trend and a seasonal pattern: the share of 7-year series (46 judged months)
    with any alarm stays near the rate docs/analysis.md gives (0.235 over 200 series; 0.21 with the old
    fixed 3.5) — a regression guard, not a proof of α = 0.05 (the scales are estimated from the series)."""
    alarms = sum(bool(an.detect(_series(seed=1000 + s))) for s in range(100))
    assert alarms <= 30, alarms
