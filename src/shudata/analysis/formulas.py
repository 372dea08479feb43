"""Indicator formulas over long-form tables (``layouts.LONG_SCHEMA``): pure functions, NULL-safe, with units.

Every function takes a long table and returns a new long table (same schema, a new indicator
name and unit); a series is one (indicator, region_code, site). Periods are matched by date, not
by position, so a missing month gives NULL where it is needed, never a shifted comparison; a
zero or missing denominator gives NULL, never infinity. ``source_row`` / ``source_column`` are
kept from the value the result is computed for (the current period).

>>> import datetime as dt
>>> t = long_table("GDP", "亿元", "510000", [("2022", 100.0), ("2023", 110.0), ("2024", None)])
>>> [(r["indicator"], r["unit"], r["period"], r["value"]) for r in yoy(t).to_pylist()]
[('GDP同比增长', '%', '2023', 10.000000000000009), ('GDP同比增长', '%', '2024', None)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from shudata.analysis.layouts import LONG_SCHEMA, parse_period
from shudata.core.errors import InvalidInput

KEYS = ["indicator", "region_code", "site"]
_NULL = "\u2205"  # stands for NULL in the series keys while merging and grouping (pandas drops NULL keys)
_LAG = {"年": 1, "季": 4, "月": 12, "日": 365, "时": 24 * 365}  # periods in one year
_STEP = {"年": pd.DateOffset(years=1), "季": pd.DateOffset(months=3), "月": pd.DateOffset(months=1),
         "日": pd.DateOffset(days=1), "时": pd.DateOffset(hours=1)}


def long_table(indicator: str, unit: str | None, region_code: str | None,
               values: Sequence[tuple[str, float | None]], *, region: str | None = None) -> pa.Table:
    """A one-series long table from (period label, value) pairs — for tests and small formulas.

    Labels are canonical periods (2024, 2024Q1, 2024-03) or NBS labels (2024年3月)."""
    rows: dict[str, list[Any]] = {f.name: [] for f in LONG_SCHEMA}
    for label, value in values:
        parsed = parse_period(label) or _canonical(label)
        if parsed is None:
            raise InvalidInput(f"无法识别的时期：{label}", f"Unknown period {label!r}", code="analysis_bad_period")
        freq, period, start = parsed
        for k, v in (("indicator", indicator), ("unit", unit), ("region", region or region_code),
                     ("region_code", region_code), ("site", None), ("frequency", freq), ("period", period),
                     ("period_start", start), ("value", value), ("source_row", None), ("source_column", None)):
            rows[k].append(v)
    return pa.Table.from_pydict(rows, schema=LONG_SCHEMA)


def _canonical(label: str) -> tuple[str, str, dt.datetime] | None:
    s = label.strip()
    try:
        if len(s) == 7 and s[4] == "-":
            return "月", s, dt.datetime(int(s[:4]), int(s[5:]), 1)
        if len(s) == 6 and s[4] == "Q":
            q = int(s[5])
            return "季", s, dt.datetime(int(s[:4]), 3 * q - 2, 1)
        if len(s) == 10:
            d = dt.datetime.strptime(s, "%Y-%m-%d")
            return "日", s, d
    except ValueError:
        return None
    return None


def _frame(table: pa.Table) -> pd.DataFrame:
    df = table.select([f.name for f in LONG_SCHEMA]).to_pandas(types_mapper=None)
    df["value"] = df["value"].astype("float64")
    for k in KEYS:
        df[k] = df[k].astype(object).where(df[k].notna(), None)
    return df


def _key_frame(df: pd.DataFrame) -> pd.DataFrame:
    """KEYS with None replaced by a sentinel so that merges and groupbys keep those rows."""
    out = df.copy()
    for k in KEYS:
        out[k] = out[k].fillna(_NULL)
    return out


def _to_table(df: pd.DataFrame) -> pa.Table:
    df = df.copy()
    for k in KEYS:
        df[k] = df[k].where(df[k] != _NULL, None)
    df["value"] = df["value"].astype("float64")
    df.loc[~np.isfinite(df["value"].to_numpy(dtype="float64", na_value=np.nan)), "value"] = np.nan
    df = df.sort_values(["indicator", "region_code", "site", "period_start"], na_position="first", kind="stable")
    cols = {f.name: df[f.name].tolist() for f in LONG_SCHEMA}
    for f in LONG_SCHEMA:
        if pa.types.is_string(f.type):
            cols[f.name] = [None if _missing(v) else str(v) for v in cols[f.name]]
    cols["value"] = [None if (v is None or (isinstance(v, float) and np.isnan(v))) else float(v)
                     for v in cols["value"]]
    cols["source_row"] = [None if pd.isna(v) else int(v) for v in cols["source_row"]]
    cols["period_start"] = [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in cols["period_start"]]
    return pa.Table.from_pydict(cols, schema=LONG_SCHEMA)


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def _one_frequency(df: pd.DataFrame) -> str:
    freqs = set(df["frequency"].dropna())
    if len(freqs) > 1:
        raise InvalidInput(f"公式的输入混合了不同频度（{'、'.join(sorted(freqs))}），请先按频度筛选",
                           f"Mixed frequencies {sorted(freqs)}: filter by frequency first",
                           code="analysis_mixed_frequency")
    return freqs.pop() if freqs else "年"


def _renamed(df: pd.DataFrame, suffix: str, unit: str | None) -> pd.DataFrame:
    df = df.copy()
    df["indicator"] = df["indicator"] + suffix
    df["unit"] = unit
    return df


def _pct_change(cur: pd.Series, prev: pd.Series) -> pd.Series:
    ok = prev.notna() & cur.notna() & (prev != 0)
    out = pd.Series(np.nan, index=cur.index)
    out[ok] = (cur[ok] / prev[ok] - 1.0) * 100.0
    return out


def _lagged(df: pd.DataFrame, offset: pd.DateOffset) -> pd.Series:
    """The value of the same series at period_start - offset (NaN when absent)."""
    k = _key_frame(df)
    prev = k[[*KEYS, "period_start", "value"]].copy()
    prev["period_start"] = prev["period_start"] + offset
    merged = k[[*KEYS, "period_start"]].merge(prev, on=[*KEYS, "period_start"], how="left")
    return pd.Series(merged["value"].to_numpy(), index=df.index)


def growth(table: pa.Table, periods: int = 1, *, suffix: str | None = None) -> pa.Table:
    """Growth in % against ``periods`` periods earlier (matched by date): (x_t / x_{t-k} − 1) × 100.

    Rows whose comparison period is absent (the first k) are left out; a NULL or zero base gives NULL.
    """
    df = _frame(table)
    if df.empty:
        return table.slice(0, 0)
    freq = _one_frequency(df)
    lagged = _lagged(df, _STEP[freq] * periods)
    has_base = _lagged(df.assign(value=1.0), _STEP[freq] * periods).notna()
    out = _renamed(df, suffix or f"增长({periods}期)", "%")
    out["value"] = _pct_change(df["value"], lagged)
    return _to_table(_key_frame(out)[has_base.to_numpy()])


def yoy(table: pa.Table) -> pa.Table:
    """同比增长 (%): against the same period a year earlier."""
    df = _frame(table)
    if df.empty:
        return table.slice(0, 0)
    return growth(table, _LAG[_one_frequency(df)], suffix="同比增长")


def mom(table: pa.Table) -> pa.Table:
    """环比增长 (%): against the previous period (month, quarter, year)."""
    return growth(table, 1, suffix="环比增长")


def index_to(table: pa.Table, base_period: str, *, base: float = 100.0) -> pa.Table:
    """指数化: x_t / x_base × 100 (per series; NULL when the base is missing or zero).

    >>> t = long_table("GDP", "亿元", "510000", [("2022", 80.0), ("2023", 100.0), ("2024", 120.0)])
    >>> [r["value"] for r in index_to(t, "2023").to_pylist()]
    [80.0, 100.0, 120.0]
    """
    df = _frame(table)
    k = _key_frame(df)
    bases = k[k["period"] == base_period].drop_duplicates(KEYS)[[*KEYS, "value"]].rename(columns={"value": "b"})
    merged = k.merge(bases, on=KEYS, how="left")
    ok = merged["b"].notna() & (merged["b"] != 0) & merged["value"].notna()
    val = pd.Series(np.nan, index=merged.index)
    val[ok] = merged.loc[ok, "value"] / merged.loc[ok, "b"] * base
    out = _renamed(merged.drop(columns="b"), f"指数({base_period}={base:g})", f"{base_period}={base:g}")
    out["value"] = val
    return _to_table(out)


def ytd(table: pa.Table) -> pa.Table:
    """累计: the running sum within each calendar year of a monthly or quarterly series.

    A missing period makes the cumulative value of that period and every later one of the same year
    NULL (the sum is unknown), as it must be.

    >>> t = long_table("投资", "亿元", "510000", [("2024-01", 1.0), ("2024-02", 2.0), ("2024-03", None),
    ...                                            ("2024-04", 4.0), ("2025-01", 5.0)])
    >>> [r["value"] for r in ytd(t).to_pylist()]
    [1.0, 3.0, None, None, 5.0]
    """
    df = _frame(table)
    if df.empty:
        return table.slice(0, 0)
    freq = _one_frequency(df)
    if freq not in ("月", "季"):
        raise InvalidInput("累计只适用于月度或季度数据", "Cumulation needs monthly or quarterly data",
                           code="analysis_bad_frequency")
    k = _key_frame(df).sort_values([*KEYS, "period_start"], kind="stable")
    step = 1 if freq == "月" else 3
    k = k.assign(_y=k["period_start"].dt.year, _p=(k["period_start"].dt.month - 1) // step)
    acc = pd.Series(np.nan, index=k.index)
    for _, g in k.groupby([*KEYS, "_y"], sort=False):
        total, ok, expect = 0.0, True, 0
        for i, p, v in zip(g.index, g["_p"], g["value"], strict=True):
            ok = ok and p == expect and not pd.isna(v)  # a gap or a NULL: the sum is unknown from here
            expect = p + 1
            if ok:
                total += v
                acc[i] = total
    out = _renamed(k.drop(columns=["_y", "_p"]), "累计", None)
    out["unit"] = k["unit"]
    out["value"] = acc
    return _to_table(out)


def decumulate(table: pa.Table, *, suffix: str = "当期") -> pa.Table:
    """From an NBS 累计 (year-to-date) series back to the value of each period.

    The first published period of a year keeps its cumulative value (NBS publishes January and
    February together, so February's value covers 1–2月); a period whose previous period of the same
    year is missing is NULL (its own value is unknown).

    >>> t = long_table("投资累计值", "亿元", "510000", [("2019-02", 736.71), ("2019-03", 1308.31),
    ...                                                  ("2019-05", 2392.65), ("2019-06", 3101.11)])
    >>> [round(r["value"], 2) if r["value"] is not None else None for r in decumulate(t).to_pylist()]
    [736.71, 571.6, None, 708.46]
    """
    df = _frame(table)
    if df.empty:
        return table.slice(0, 0)
    freq = _one_frequency(df)
    if freq not in ("月", "季"):
        raise InvalidInput("去累计只适用于月度或季度数据", "De-cumulation needs monthly or quarterly data",
                           code="analysis_bad_frequency")
    k = _key_frame(df)
    prev = _lagged(df, _STEP[freq])
    prev_exists = _lagged(df.assign(value=1.0), _STEP[freq]).notna()
    same_year = (k["period_start"] - _STEP[freq]).dt.year == k["period_start"].dt.year
    first_of_year = ~same_year | (~prev_exists & _first_in_year(k))
    val = pd.Series(np.nan, index=k.index)
    val[first_of_year] = k.loc[first_of_year, "value"]
    rest = ~first_of_year & prev.notna() & k["value"].notna()
    val[rest] = k.loc[rest, "value"] - prev[rest]
    name = k["indicator"].str.replace("累计值", "", regex=False).str.replace("累计", "", regex=False) + suffix
    out = k.copy()
    out["indicator"] = name
    out["value"] = val
    return _to_table(out)


def _first_in_year(k: pd.DataFrame) -> pd.Series:
    first = k.groupby([*KEYS, k["period_start"].dt.year])["period_start"].transform("min")
    return k["period_start"] == first


def _pair(a: pa.Table, b: pa.Table, on: Sequence[str]) -> pd.DataFrame:
    da, db = _key_frame(_frame(a)), _key_frame(_frame(b))
    return da.merge(db[[*on, "value", "unit"]].rename(columns={"value": "_b", "unit": "_bu"}), on=list(on), how="left")


def ratio(num: pa.Table, den: pa.Table, *, indicator: str, unit: str | None, factor: float = 1.0,
          match: Literal["period", "year"] = "period") -> pa.Table:
    """x / y × factor per region and period (人均 = X / 人口, 占比 = 部分 / 总体 × 100).

    ``match="year"`` divides a monthly or quarterly numerator by the annual denominator of its year
    (for example monthly investment per head of the year's population). NULL or zero → NULL.
    """
    dn = _frame(den)
    if match == "year":
        dn = dn.assign(period_start=pd.to_datetime(dn["period_start"].dt.year.astype(str) + "-01-01"))
    dn = dn.drop(columns="indicator").assign(indicator=_NULL)
    a = _key_frame(_frame(num))
    a["_year"] = pd.to_datetime(a["period_start"].dt.year.astype(str) + "-01-01")
    d = _key_frame(dn)[["region_code", "period_start", "value"]].rename(
        columns={"value": "_b", "period_start": "_join"})
    d = d.drop_duplicates(["region_code", "_join"])
    a["_join"] = a["_year"] if match == "year" else a["period_start"]
    m = a.merge(d, on=["region_code", "_join"], how="left")
    ok = m["value"].notna() & m["_b"].notna() & (m["_b"] != 0)
    val = pd.Series(np.nan, index=m.index)
    val[ok] = m.loc[ok, "value"] / m.loc[ok, "_b"] * factor
    out = m.drop(columns=["_b", "_year", "_join"])
    out["indicator"] = indicator
    out["unit"] = unit
    out["value"] = val
    return _to_table(out)


def per_capita(values: pa.Table, population: pa.Table, *, indicator: str, unit: str, factor: float = 1.0,
               match: Literal["period", "year"] = "period") -> pa.Table:
    """人均 = X / 人口 × factor (亿元 / 万人 → 元/人: factor 10,000)."""
    return ratio(values, population, indicator=indicator, unit=unit, factor=factor, match=match)


def proportion(part: pa.Table, whole: pa.Table, *, indicator: str) -> pa.Table:
    """占比 (%) of one indicator in another, per region and period (住宅投资 / 房地产投资)."""
    return ratio(part, whole, indicator=indicator, unit="%", factor=100.0)


def share(table: pa.Table, *, suffix: str = "占各地区合计比重") -> pa.Table:
    """A region's share (%) of the sum over all regions of the same indicator and period.

    NULL values count as absent from the sum, and their share is NULL.

    >>> t = pa.concat_tables([long_table("GDP", "亿元", c, [("2024", v)]) for c, v in
    ...                       (("510000", 3.0), ("500000", 1.0), ("110000", None))])
    >>> [(r["region_code"], r["value"]) for r in share(t).to_pylist()]
    [('110000', None), ('500000', 25.0), ('510000', 75.0)]
    """
    df = _key_frame(_frame(table))
    total = df.groupby(["indicator", "site", "period_start"])["value"].transform(lambda s: s.sum(min_count=1))
    ok = df["value"].notna() & total.notna() & (total != 0)
    val = pd.Series(np.nan, index=df.index)
    val[ok] = df.loc[ok, "value"] / total[ok] * 100.0
    out = _renamed(df, suffix, "%")
    out["value"] = val
    return _to_table(out)


def rank(table: pa.Table, *, ascending: bool = False, suffix: str = "位次") -> pa.Table:
    """Rank among regions for each indicator and period (1 = largest unless ``ascending``); ties share
    the smaller rank (1, 2, 2, 4); NULL values are not ranked.

    >>> t = pa.concat_tables([long_table("GDP", "亿元", c, [("2024", v)]) for c, v in
    ...                       (("510000", 3.0), ("500000", 5.0), ("110000", 3.0), ("120000", None))])
    >>> sorted((r["region_code"], r["value"]) for r in rank(t).to_pylist())
    [('110000', 2.0), ('120000', None), ('500000', 1.0), ('510000', 2.0)]
    """
    df = _key_frame(_frame(table))
    val = df.groupby(["indicator", "site", "period_start"])["value"].rank(method="min", ascending=ascending)
    out = _renamed(df, suffix, "位")
    out["value"] = val
    return _to_table(out)


def resample(table: pa.Table, to: Literal["日", "月", "季", "年"], *, how: Literal["mean", "sum", "max"] = "mean",
             min_coverage: float = 0.75) -> pa.Table:
    """Aggregate a finer series (hourly readings, monthly values) to a coarser frequency.

    A target period gets a value only when at least ``min_coverage`` of its sub-periods have data
    (e.g. 75 % of a month's hours), otherwise NULL; sums need complete periods.
    """
    df = _key_frame(_frame(table))
    if df.empty:
        return table.slice(0, 0)
    freq = _one_frequency(df)
    starts = pd.to_datetime(df["period_start"])
    target = starts.dt.to_period({"日": "D", "月": "M", "季": "Q", "年": "Y"}[to]).dt.start_time
    per_target = {"时": {"日": 24.0}, "日": {}, "月": {"季": 3.0, "年": 12.0}, "季": {"年": 4.0}}.get(freq, {})
    df = df.assign(_t=target)
    agg = df.groupby([*KEYS, "_t"], sort=True).agg(
        value=("value", how), n=("value", "count"), unit=("unit", "first"), region=("region", "first"),
        source_row=("source_row", "first"))
    agg = agg.reset_index()
    expected = _expected_count(agg["_t"], freq, to, per_target)
    need = expected if how == "sum" else expected * min_coverage
    agg.loc[agg["n"] < need, "value"] = np.nan
    label = {"日": "%Y-%m-%d", "月": "%Y-%m", "年": "%Y"}
    agg["period"] = (agg["_t"].dt.strftime(label[to]) if to in label else
                     agg["_t"].dt.year.astype(str) + "Q" + agg["_t"].dt.quarter.astype(str))
    agg["period_start"] = agg["_t"]
    agg["frequency"] = to
    agg["source_column"] = None
    return _to_table(agg.drop(columns=["_t", "n"]))


def _expected_count(t: pd.Series, freq: str, to: str, fixed: dict[str, float]) -> pd.Series:
    if to in fixed:
        return pd.Series(fixed[to], index=t.index)
    end = t + {"日": pd.DateOffset(days=1), "月": pd.DateOffset(months=1), "季": pd.DateOffset(months=3),
               "年": pd.DateOffset(years=1)}[to]
    if freq == "时":
        return (end - t).dt.total_seconds() / 3600.0
    if freq == "日":
        return (end - t).dt.days.astype(float)
    return pd.Series(1.0, index=t.index)
