"""Benchmark of the analysis layer on the real series (issue 18).

    .venv/bin/python bench/analysis.py [--quick] [--figures forecast,anomaly]

The real series are the files of tests/data/economy and tests/data/environment (copies of the
team's NBS exports and monitoring readings) reshaped by their declared layouts
(tests/data/economy/layouts.yaml). Measured in the same run:

(a) ``analysis.forecast_mase``: every monthly real series with at least 48 complete months is cut
    12 months before its end; ``shudata.analysis.forecast.forecast`` sees only the months before
    the cut (its rolling-origin backtest, which picks ETS / ARIMA / Theta / seasonal naive per
    series and calibrates the intervals, cuts its origins inside them too) and forecasts the last
    12. The figure is the mean over series of MAE(chosen) ÷ MAE(seasonal naive) on those 12 months:
    the seasonal naive baseline, measured in the same run, scores 1.0 by construction (target ≤ 0.9).
    The classic MASE (scaled by the in-sample seasonal naive error) of both is printed beside it.
(b) ``analysis.interval_coverage``: the share of those held-out months inside the 80 % prediction
    intervals (target 0.75–0.88); the seasonal naive method's own 80 % intervals are the baseline.
(c) ``analysis.anomaly_f1``: 200 anomalies (spikes, level shifts, seasonal breaks in turn; size 3–6
    standard deviations of the series' irregular part around the month — ``inject`` says why local and
    how σ is estimated (the residual degrees of freedom of the STL fit);
    random sign; seed fixed, ``--seed`` for another draw) injected into the
    seasonal real monthly series (seasonal strength F_s ≥ 0.5: exports, imports, M0, M1, M2), one per
    copy, at a month the detector does not flag on the original; each copy is scanned by
    ``shudata.analysis.anomaly.detect`` from just before the anomaly to a year after it. A hit is a
    new flag at the month (±1; a shift ±2; a seasonal break at any later same month ±1); every other
    new flag is a false positive. F1 target ≥ 0.8. Baseline in the same run: a plain 3-sigma rule.
    Exactly: with anomaly month t, both the original and the copy are cut at min(len, t + 15) and
    scanned with ``start=t - 2``; the *new* flags are the copy's flagged months that the original's
    scan does not flag (whatever their kind). A case scores one true positive when a new flag lies in
    its window — {t-1, t, t+1} for a spike, t-2 … t+2 for a level shift, u-1 … u+1 for every u = t,
    t+12, … for a seasonal break — else one false negative; every new flag outside the window is one
    false positive. The injections (series, month, kind, size, sign) come from the seeded generator
    alone and never from the detector, except that a month the detector already flags on the original
    (inside the window) is skipped and a new position drawn. Precision, recall and F1 per kind are
    printed on stderr.

``--quick`` uses 2 backtest origins per series instead of 4 and 45 injected anomalies instead of 200.
``--protocol prev12`` holds out the 12 months before the last 12 instead (a second origin for the
intervals); ``--seed N`` draws other injections; ``--sigma remainder`` sizes them by the plain spread of the STL
remainder (until 2026-12-07), ``--sigma global`` as the first version did; ``--sigma-check`` prints how
well the first two recover a known noise σ on simulated series.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from shudata.analysis.anomaly import decompose, detect, seasonal_strength
from shudata.analysis.forecast import forecast, scale, snaive
from support.analysis_data import monthly_series

H = 12


def bench_forecast(quick: bool, protocol: str = "last12") -> list[dict[str, object]]:
    """``protocol`` ``last12`` holds out each series' last 12 months (the issue's figure); ``prev12`` holds
    out the 12 months before those (the last 12 dropped first): a second, earlier origin — for the CPI
    series 2018-03 … 2019-02 instead of the 2019 pork-price year — to show that the intervals are not fitted
    to one backtest."""
    series = monthly_series(48)
    if protocol == "prev12":
        series = {k: (p[:-H], v[:-H]) for k, (p, v) in series.items()}
    rel, mase_model, mase_snaive, cover, cover_snaive, n_points = [], [], [], 0, 0, 0
    chosen: dict[str, int] = {}
    t0 = time.perf_counter()
    for key, (_, values) in series.items():
        y = np.asarray(values)
        train, test = y[:-H], y[-H:]
        fc = forecast(train, H, origins_count=2 if quick else 4)
        base_mean, base_lo, base_hi = snaive(train, H, 12, 0.8)
        mae, mae_base, sc = (float(np.mean(np.abs(test - fc.mean))), float(np.mean(np.abs(test - base_mean))),
                             scale(train, 12))
        rel.append(mae / mae_base if mae_base > 0 else 1.0)
        mase_model.append(mae / sc)
        mase_snaive.append(mae_base / sc)
        inside = int(np.sum((test >= fc.lower) & (test <= fc.upper)))
        cover += inside
        cover_snaive += int(np.sum((test >= base_lo) & (test <= base_hi)))
        n_points += H
        chosen[fc.model] = chosen.get(fc.model, 0) + 1
        print(f"  {key:<40} {fc.model:<7} MAE/snaive {rel[-1]:.3f}  MASE {mase_model[-1]:.3f} "
              f"(snaive {mase_snaive[-1]:.3f})  in 80% PI {inside}/{H}", file=sys.stderr)
    secs = time.perf_counter() - t0
    print(f"  {len(series)} series in {secs:.1f} s; chosen models {chosen}; classic MASE mean "
          f"{np.mean(mase_model):.3f} vs seasonal naive {np.mean(mase_snaive):.3f}; relative MAE geometric mean "
          f"{float(np.exp(np.mean(np.log(np.maximum(rel, 1e-9))))):.3f}; seasonal naive 80% PI coverage "
          f"{cover_snaive / n_points:.3f}", file=sys.stderr)
    return [
        {"figure": "analysis.forecast_mase", "value": round(float(np.mean(rel)), 3), "target": 0.9,
         "unit": "mean MAE ratio to seasonal naive (seasonal naive = 1.0)", "series": len(series),
         "baseline_snaive": 1.0, "protocol": protocol},
        {"figure": "analysis.interval_coverage", "value": round(cover / n_points, 3), "target": [0.75, 0.88],
         "unit": "share of held-out months inside the 80% interval",
         "baseline_snaive": round(cover_snaive / n_points, 3), "protocol": protocol},
    ]


KINDS = ("spike", "level_shift", "seasonal_break")
SEED = 20261207
LOCAL = 36  # months either side of the anomaly whose irregular part sets its size
SIGMA = "local"  # or "remainder" (until 2026-12-07) or "global" (the first version's); see ``inject``


def _robust_sd(x: np.ndarray) -> float:
    return 1.4826 * float(np.median(np.abs(x - np.median(x)))) or float(np.std(x)) or 1.0


@functools.cache
def remainder_variance(n: int) -> np.ndarray:
    """diag((I − H)(I − H)ᵀ) of the plain STL of ``n`` months: the share of white noise's variance that
    stays in each month's remainder. Plain (non-robust) STL with fixed settings is a linear smoother —
    remainder = (I − H)·y; ``(I − H)`` is built column by column from the n unit vectors (linearity
    checked to ~1e-15) — and its fit takes part of the noise with it: on 48 months (four cycles) the
    remainder keeps ~42 % of the noise variance on average and ~22 % in the last months."""
    eye = np.eye(n)
    resid = np.column_stack([decompose(eye[:, j], 12, robust=False)[2] for j in range(n)])
    out: np.ndarray = np.einsum("ij,ij->i", resid, resid)
    return out


def noise_sigma(y: np.ndarray, t: int) -> float:
    """The σ an injected anomaly at ``t`` is sized by (see ``inject``)."""
    remainder = decompose(y, 12, robust=False)[2]
    if SIGMA == "global":
        return float(np.std(remainder))
    window = slice(max(0, t - LOCAL), t + LOCAL + 1)
    if SIGMA == "remainder":
        return float(np.std(remainder[window]))
    share = remainder_variance(len(y))[window]
    return float(np.sqrt(np.sum(remainder[window] ** 2) / np.sum(share)))


def sigma_check(series: int = 300, seed: int = 0) -> None:
    """How well each ``--sigma`` estimate recovers the noise: seasonal + trend + Gaussian noise of σ = 1,
    the window ending 6 months before the end (as the bench's cases), ``series`` draws per length."""
    global SIGMA
    rng = np.random.default_rng(seed)
    saved = SIGMA
    for n in (48, 84, 258):
        est: dict[str, list[float]] = {"remainder": [], "local": []}
        for _ in range(series):
            y = 10 * np.sin(2 * np.pi * np.arange(n) / 12) + 0.05 * np.arange(n) + rng.normal(size=n)
            for mode, values in est.items():
                SIGMA = mode
                values.append(noise_sigma(y, n - 6))
        print(f"  {n} months, noise σ 1: " + ", ".join(f"--sigma {m} {np.mean(v):.3f} (10–90 %: "
              f"{np.quantile(v, 0.1):.2f}–{np.quantile(v, 0.9):.2f})" for m, v in est.items()), file=sys.stderr)
    SIGMA = saved


def inject(y: np.ndarray, kind: str, t: int, size: float) -> tuple[np.ndarray, set[int]]:
    """A copy of ``y`` with one anomaly at ``t`` of ``size`` standard deviations of the series' irregular
    part around ``t`` (within ± ``LOCAL`` months of ``t``), and the indices a detector may flag for it (the
    month, ±1; a shift ±2; a seasonal break at each later season, ±1).

    The irregular part's σ is estimated from the remainder r of a plain, non-robust STL decomposition,
    with the residual degrees of freedom of a linear smoother (Hastie & Tibshirani's σ̂² = ‖r‖² /
    tr((I − H)ᵀ(I − H)), taken over the window: Σ r_u² / Σ v_u with v = ``remainder_variance``). Until
    2026-12-07 (``--sigma remainder``) it was the plain standard deviation of r in the window, which
    understates the noise because the fit takes part of it: on simulated series (seasonal + trend +
    noise of σ 1, the window ending 6 months before the end, 300 series) that estimate averages 0.66 on
    48 months, 0.78 on 84 and 0.80 on 258, this one 0.99 / 1.00 / 1.00 (``--sigma-check``). So a "3–6 σ" anomaly on the
    48-month trade series was 2–4 σ of their noise — below what a detector at a Bonferroni threshold of
    3.5 can see even knowing the trend and season exactly.

    ``--sigma global`` takes the standard deviation of the whole remainder instead, as the first version
    did. That was a bug for the money-supply series (M0, M1, M2 grew ten- to twentyfold over 1999–2021
    and their irregular part with them): the remainder's spread within ± 36 months of a month is 0.16 to
    1.5 times its spread over the whole series, so a "3–6 σ" anomaly was 10–30 local σ in the early years
    (trivial) and 2–4 local σ in the late ones (below any sane alarm threshold). The sizes (3–6), signs,
    positions and seed are unchanged in both corrections; only the σ they multiply."""
    sigma = noise_sigma(y, t)
    out = y.copy()
    if kind == "spike":
        out[t] += size * sigma
        return out, {t - 1, t, t + 1}
    if kind == "level_shift":
        out[t:] += size * sigma
        return out, set(range(t - 2, t + 3))
    out[t::12] += size * sigma
    return out, {u + k for u in range(t, len(y), 12) for k in (-1, 0, 1)}


def three_sigma(y: np.ndarray) -> set[int]:
    sd = float(np.std(y)) or 1.0
    return {int(i) for i in np.flatnonzero(np.abs(y - np.mean(y)) > 3 * sd)}


def bench_anomaly(quick: bool, seed: int = SEED) -> list[dict[str, object]]:
    """Injected anomalies in the seasonal real series (F_s ≥ 0.5), at months where the detector is
    quiet on the original series; only flags the copy raises and the original does not count."""
    series = [np.asarray(v) for _, v in monthly_series(48).values()]
    series = [y for y in series if seasonal_strength(y) >= 0.5]
    rng = np.random.default_rng(seed)
    cases = 45 if quick else 200
    tally = {"detector": [0, 0, 0], "3-sigma": [0, 0, 0]}  # TP, FP, FN
    by_kind = {k: [0, 0, 0] for k in KINDS}  # the detector's TP, FP, FN on the cases of each kind
    done = tries = 0
    t0 = time.perf_counter()
    while done < cases and tries < 20 * cases:
        tries += 1
        kind = KINDS[done % 3]
        first = 3 * 12 + 2  # the detector's first judged month (two cycles to fit, one of errors)
        pool = [y for y in series if len(y) > first + (13 if kind == "seasonal_break" else 4)]
        y = pool[int(rng.integers(len(pool)))]
        t = int(rng.integers(first, len(y) - (13 if kind == "seasonal_break" else 4)))
        size = float(rng.uniform(3, 6)) * float(rng.choice([-1.0, 1.0]))
        copy, explained = inject(y, kind, t, size)
        hi = min(len(y), t + 15)  # the anomaly's month and the next year (a seasonal break recurs)
        before = {a.index for a in detect(y[:hi], 12, start=t - 2)}
        if before & explained:
            continue  # the detector already flags the original there: no clean ground truth
        done += 1
        for name, flags, base in (("detector", {a.index for a in detect(copy[:hi], 12, start=t - 2)}, before),
                                  ("3-sigma", {i for i in three_sigma(copy[:hi]) if i >= t - 2},
                                   {i for i in three_sigma(y[:hi]) if i >= t - 2})):
            new = flags - base
            hit = bool(new & explained)
            tally[name][0] += hit
            tally[name][2] += not hit
            tally[name][1] += len(new - explained)
            if name == "detector":
                by_kind[kind][0] += hit
                by_kind[kind][1] += len(new - explained)
                by_kind[kind][2] += not hit

    def f1(tp: int, fp: int, fn: int) -> float:
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    secs = time.perf_counter() - t0
    print(f"  {done} injected anomalies ({tries - done} positions skipped: already flagged) on {len(series)} "
          f"seasonal series in {secs:.1f} s; detector TP/FP/FN "
          f"{tally['detector']}; 3-sigma TP/FP/FN {tally['3-sigma']}", file=sys.stderr)
    for k, (tp, fp, fn) in by_kind.items():
        print(f"  {k:<15} cases {tp + fn:>3}  recall {tp / max(tp + fn, 1):.3f}  precision "
              f"{tp / max(tp + fp, 1):.3f}  (TP {tp}, FP {fp}, FN {fn})  F1 {f1(tp, fp, fn):.3f}", file=sys.stderr)
    return [{"figure": "analysis.anomaly_f1", "value": round(f1(*tally["detector"]), 3), "target": 0.8,
             "unit": "F1 of flagged months vs injected anomalies", "cases": done, "seed": seed, "sigma": SIGMA,
             "baseline_3sigma": round(f1(*tally["3-sigma"]), 3)}]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--figures", default="forecast,anomaly")
    ap.add_argument("--protocol", choices=("last12", "prev12"), default="last12",
                    help="forecast hold-out: the last 12 months (the issue's figure) or the 12 before them")
    ap.add_argument("--seed", type=int, default=SEED, help="the anomaly injections' seed")
    ap.add_argument("--sigma-check", action="store_true",
                    help="only print how well each --sigma estimate recovers a known noise σ (simulated series)")
    ap.add_argument("--sigma", choices=("local", "remainder", "global"), default="local",
                    help="the σ the injected sizes multiply: the irregular part's around the month (residual "
                         "degrees of freedom of the STL fit), the plain spread of the STL remainder there "
                         "(until 2026-12-07), or the whole series' remainder (the first version's); see inject")
    args = ap.parse_args()
    global SIGMA
    SIGMA = args.sigma
    if args.sigma_check:
        sigma_check()
        return
    wanted = set(args.figures.split(","))
    out: list[dict[str, object]] = []
    if "forecast" in wanted:
        out += bench_forecast(args.quick, args.protocol)
    if "anomaly" in wanted:
        out += bench_anomaly(args.quick, args.seed)
    for figure in out:
        print(json.dumps(figure, ensure_ascii=False))


if __name__ == "__main__":
    main()
