"""Differential-privacy mechanisms and re-identification risk metrics (pure)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from shudata.core.errors import InvalidInput
from shudata.privacy.dp import dp_count, dp_histogram, dp_mean, dp_sum
from shudata.privacy.kanon.risk import risk_of_sizes, table_risk


def test_laplace_noise_has_the_promised_scale() -> None:
    rng = np.random.default_rng(1)
    eps = 0.5
    noise = np.array([dp_count(range(100), epsilon=eps, rng=rng).value for _ in range(4000)]) - 100
    assert abs(noise.mean()) < 0.2
    assert noise.std() == pytest.approx(np.sqrt(2) / eps, rel=0.08)  # Laplace(b): sd = b·√2


def test_sums_clamp_to_the_declared_bounds() -> None:
    rng = np.random.default_rng(2)
    r = dp_sum([1e9, 5.0], epsilon=1e6, lower=0, upper=10, rng=rng)  # huge ε: almost no noise
    assert r.value == pytest.approx(15.0, abs=0.01)
    assert r.noise_scale == pytest.approx(10 / 1e6)


def test_mean_stays_within_bounds_and_histogram_keeps_declared_bins() -> None:
    rng = np.random.default_rng(3)
    m = dp_mean([5.0] * 50, epsilon=0.01, lower=0, upper=10, rng=rng)
    assert m.value is not None and 0 <= m.value <= 10
    h = dp_histogram(["a", "b", "a"], epsilon=1.0, bins=["a", "b", "c"], rng=rng)
    assert set(h.histogram or {}) == {"a", "b", "c"}  # an empty bin is released too: no membership leak


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"epsilon": 0.0, "lower": 0, "upper": 1}, "ε"),
    ({"epsilon": 1.0, "lower": None, "upper": 1}, "上下界"),
    ({"epsilon": 1.0, "lower": 5, "upper": 1}, "上下界"),
])
def test_bad_dp_parameters_are_refused(kwargs: dict[str, float | None], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        dp_sum([1.0], **kwargs)  # type: ignore[arg-type]


def test_risk_metrics_from_class_sizes() -> None:
    r = risk_of_sizes(np.array([1.0, 2.0, 5.0]))
    assert (r.rows, r.classes, r.prosecutor_max, r.unique_share) == (8, 3, 1.0, 0.125)
    assert r.prosecutor_avg == pytest.approx(3 / 8)
    assert r.highest_risk_share == pytest.approx(1 / 8)


def test_journalist_risk_uses_the_population() -> None:
    sample = pa.table({"a": ["x", "y"], "b": ["1", "1"]})
    population = pa.table({"a": ["x"] * 10 + ["y"] * 4, "b": ["1"] * 14})
    r = table_risk(sample, ["a", "b"], population)
    assert r.prosecutor_max == 1.0
    assert r.journalist_max == pytest.approx(0.25)
    assert r.marketer == pytest.approx((1 / 10 + 1 / 4) / 2)
