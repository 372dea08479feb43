"""False alarms of the anomaly detector on clean seasonal series (issue 18).

    .venv/bin/python bench/anomaly_false_alarms.py [--quick] [--series 200]

A clean series is 100 + 0.3 t + 10 sin(2π t / 12) + ε, ε ~ N(0, 1), as
``tests/unit/analysis/test_anomaly.py`` builds it (seeds 1000, 1001, …), at the lengths of the real
monthly series (48: trade, 84: the unit tests', 258: money supply). ``detect`` runs with its defaults
(threshold Φ⁻¹(1 − α / 2n), α = 0.05, judged from month 38 on). Everything it flags is a false alarm;
the family-wise α is nominally the share of series with any alarm. Printed per length: that share,
flags per judged month and flags per kind; one JSON line per length at the end.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from shudata.analysis.anomaly import detect


def clean(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.3 * t + 10 * np.sin(t * 2 * np.pi / 12) + rng.normal(0, 1, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=200, help="clean series per length (258 months: a third)")
    ap.add_argument("--quick", action="store_true", help="30 series per length")
    args = ap.parse_args()
    if args.quick:
        args.series = min(args.series, 30)
    out = []
    for n in (48, 84, 258):
        count = args.series if n < 200 else max(1, args.series // 3)
        t0 = time.perf_counter()
        alarmed = flags = 0
        kinds: dict[str, int] = {}
        for s in range(count):
            found = detect(clean(n, 1000 + s), 12)
            alarmed += bool(found)
            flags += len(found)
            for a in found:
                kinds[a.kind] = kinds.get(a.kind, 0) + 1
        judged = count * (n - 38)
        print(f"  n={n}: {count} series, {alarmed} with an alarm ({alarmed / count:.3f}), {flags} flags "
              f"({flags / judged:.4f} per judged month) {kinds} in {time.perf_counter() - t0:.1f} s")
        out.append({"figure": "analysis.anomaly_false_alarm_series", "months": n, "series": count,
                    "value": round(alarmed / count, 3), "target": None, "unit": "share of clean series with any alarm",
                    "nominal": 0.05, "flags_per_month": round(flags / judged, 4),
                    "by_kind": kinds})
    for row in out:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
