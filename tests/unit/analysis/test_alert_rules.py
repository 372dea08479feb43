"""The ``anomaly`` alert rule's parameters: a fixed threshold in robust units or a false-alarm rate
``alpha`` (default: the detector's, 0.05 over the series' periods), and what the rule runs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from shudata.analysis import alerts
from shudata.analysis import anomaly as an
from shudata.core.errors import InvalidInput


@pytest.mark.parametrize("params", [{}, {"alpha": 0.01}, {"threshold": 3.5}, {"threshold": 4, "alpha": 0.1}])
def test_anomaly_rule_params_accepted(params: dict[str, float]) -> None:
    alerts.check_rule("anomaly", params, "警告")


@pytest.mark.parametrize("params", [{"alpha": 0}, {"alpha": 0.5}, {"alpha": "0.05"}, {"threshold": 0.5},
                                   {"threshold": 11}, {"threshold": "3"}])
def test_anomaly_rule_params_refused(params: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as e:
        alerts.check_rule("anomaly", params, "警告")
    assert e.value.code == "analysis_bad_rule"


def _table(values: np.ndarray) -> pa.Table:
    periods = [dt.date(2015 + i // 12, i % 12 + 1, 1) for i in range(len(values))]
    return pa.table({"region_code": ["510000"] * len(values), "site": [""] * len(values),
                     "period": [p.strftime("%Y-%m") for p in periods], "period_start": periods,
                     "value": [float(v) for v in values]})


def test_the_rule_runs_the_detector_with_its_params() -> None:
    rng = np.random.default_rng(3)
    y = 100 + 10 * np.sin(np.arange(84) * 2 * np.pi / 12) + rng.normal(0, 1, 84)
    y[80] += 6
    table = _table(y)
    fresh = {("510000", "", f"{2015 + i // 12}-{i % 12 + 1:02d}") for i in range(78, 84)}
    got = {(a["period"], a["kind"]) for a in alerts._anomalies(table, "月", {}, fresh)}
    want = {(f"{2015 + a.index // 12}-{a.index % 12 + 1:02d}", a.kind) for a in an.detect(y, 12, start=78)}
    assert got == want and ("2021-09", "spike") in got
    fixed = {(a["period"], a["kind"]) for a in alerts._anomalies(table, "月", {"threshold": 9}, fresh)}
    assert fixed == set()
