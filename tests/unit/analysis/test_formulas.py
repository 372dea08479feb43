"""Indicator formulas: properties on generated series (gaps, NULLs, zeros), the SQL versions through the
sandbox agreeing with the Arrow ones, and the formulas on the real NBS series."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shudata.analysis import formulas as f
from shudata.analysis import sql as fsql
from shudata.analysis.layouts import LONG_SCHEMA
from shudata.core.errors import InvalidInput
from shudata.query.access import ResolvedTable
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.sandbox import compile_sandboxed
from support.analysis_data import DATA, reshaped

values = st.one_of(st.none(), st.just(0.0), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


def _month(i: int) -> str:
    return f"{2015 + i // 12}-{i % 12 + 1:02d}"


@st.composite
def monthly(draw: st.DrawFn, regions: tuple[str, ...] = ("510000", "500000")) -> pa.Table:
    """A few monthly series with random gaps, NULLs and zeros."""
    parts = []
    for code in draw(st.lists(st.sampled_from(regions), min_size=1, max_size=len(regions), unique=True)):
        months = draw(st.lists(st.integers(0, 40), min_size=1, max_size=30, unique=True))
        parts.append(f.long_table("投资", "亿元", code, [(_month(i), draw(values)) for i in sorted(months)]))
    return pa.concat_tables(parts)


def _by(t: pa.Table) -> dict[tuple[str, str], float | None]:
    return {(r["region_code"], r["period"]): r["value"] for r in t.to_pylist()}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _shift(period: str, months: int) -> str:
    y, m = int(period[:4]), int(period[5:])
    k = y * 12 + m - 1 - months
    return f"{k // 12}-{k % 12 + 1:02d}"


@given(monthly())
@settings(max_examples=35, deadline=None)
def test_yoy_and_mom_match_by_date_and_are_null_safe(t: pa.Table) -> None:
    src = _by(t)
    for fn, lag, name in ((f.yoy, 12, "投资同比增长"), (f.mom, 1, "投资环比增长")):
        out = fn(t)
        assert out.schema == LONG_SCHEMA
        got = _by(out)
        expected_keys = {(c, p) for (c, p) in src if (c, _shift(p, lag)) in src}
        assert set(got) == expected_keys  # the first periods of a series (no base) are left out
        for (c, p), v in got.items():
            cur, base = src[(c, p)], src[(c, _shift(p, lag))]
            want = None if cur is None or base is None or base == 0 else (cur / base - 1) * 100
            assert _close(v, want)
        assert set(out["indicator"].to_pylist()) <= {name} and set(out["unit"].to_pylist()) <= {"%"}


@given(monthly(regions=("510000",)))
@settings(max_examples=35, deadline=None)
def test_ytd_is_null_after_a_gap_and_decumulate_inverts_it(t: pa.Table) -> None:
    src = _by(t)
    cum = _by(f.ytd(t))
    for (c, p), v in cum.items():
        months = [f"{p[:4]}-{m:02d}" for m in range(1, int(p[5:]) + 1)]
        parts = [src.get((c, q)) for q in months]
        want = None if any(x is None for x in parts) else sum(parts)  # type: ignore[arg-type,misc]
        assert _close(v, want)
    # back from the cumulative values: every month whose cumulative value and previous one are known
    cum_table = f.ytd(t).filter(pa.compute.is_valid(f.ytd(t)["value"]))
    back = _by(f.decumulate(cum_table, suffix=""))
    for (c, p), v in back.items():
        if p.endswith("-01"):
            assert _close(v, src[(c, p)])
        elif v is not None:
            assert _close(v, src[(c, p)]) or math.isclose(v, src[(c, p)] or 0.0, abs_tol=1e-6)


def test_decumulate_nbs_realestate_sichuan() -> None:
    t = reshaped(DATA / "economy/nbs_province_monthly_realestate_2017-2019/csv_utf8bom/四川.csv").table
    cum = t.filter(pa.compute.equal(t["indicator"], "房地产投资累计值"))
    monthly_ = _by(f.decumulate(cum))
    # February carries January–February together (NBS publishes them combined), later months the difference
    assert monthly_[("510000", "2019-02")] == 736.71
    assert monthly_[("510000", "2019-03")] == pytest.approx(1308.31 - 736.71)
    assert monthly_[("510000", "2019-12")] == pytest.approx(6573.24 - 6011.53)
    assert ("510000", "2019-01") not in monthly_
    # cumulating again is strict: January is absent, so the running sum of the year is unknown
    assert _by(f.ytd(f.decumulate(cum)))[("510000", "2019-12")] is None
    assert set(f.decumulate(cum)["indicator"].to_pylist()) == {"房地产投资当期"}


@given(st.lists(st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)), min_size=1, max_size=8))
@settings(max_examples=50, deadline=None)
def test_share_and_rank_across_regions(vals: list[float | None]) -> None:
    codes = ["110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000"]
    t = pa.concat_tables([f.long_table("GDP", "亿元", c, [("2024", v)]) for c, v in zip(codes, vals, strict=False)])
    shares = _by(f.share(t))
    present = [v for v in vals if v is not None]
    total = sum(present)
    if present and total > 0:
        assert math.isclose(sum(v for v in shares.values() if v is not None), 100.0, rel_tol=1e-9)
    ranks = _by(f.rank(t))
    for (c, _), r in ranks.items():
        v = vals[codes.index(c)]
        if v is None:
            assert r is None
        else:
            assert r == 1 + sum(1 for x in present if x > v)  # competition ranking: 1, 2, 2, 4


@given(monthly())
@settings(max_examples=40, deadline=None)
def test_index_to_base(t: pa.Table) -> None:
    base = t["period"][0].as_py()
    src = _by(t)
    for (c, p), v in _by(f.index_to(t, base)).items():
        b = src.get((c, base))
        want = None if b is None or b == 0 or src[(c, p)] is None else src[(c, p)] / b * 100  # type: ignore[operator]
        assert _close(v, want)


def test_per_capita_and_proportion_units_and_nulls() -> None:
    gdp = pa.concat_tables([f.long_table("地区生产总值", "亿元", "510000", [("2023", 60132.9), ("2024", 64697.0)]),
                            f.long_table("地区生产总值", "亿元", "500000", [("2024", 30145.8)])])
    pop = pa.concat_tables([f.long_table("常住人口", "万人", "510000", [("2023", 8368.0), ("2024", 0.0)]),
                            f.long_table("常住人口", "万人", "500000", [("2024", None)])])
    out = f.per_capita(gdp, pop, indicator="人均地区生产总值", unit="元", factor=10_000)
    got = _by(out)
    assert got[("510000", "2023")] == pytest.approx(60132.9 / 8368.0 * 10_000)
    assert got[("510000", "2024")] is None and got[("500000", "2024")] is None  # zero and NULL population
    assert set(out["unit"].to_pylist()) == {"元"}
    part = f.long_table("住宅投资", "亿元", "510000", [("2019-12", 4665.31)])
    whole = f.long_table("房地产投资", "亿元", "510000", [("2019-12", 6573.24)])
    assert _by(f.proportion(part, whole, indicator="住宅投资占比"))[("510000", "2019-12")] == \
        pytest.approx(4665.31 / 6573.24 * 100)
    # monthly over annual: match="year"
    monthly_ = f.long_table("投资", "亿元", "510000", [("2024-03", 10.0)])
    assert _by(f.per_capita(monthly_, pop, indicator="人均投资", unit="元", factor=10_000,
                            match="year"))[("510000", "2024-03")] is None  # 2024 population is zero


def test_mixed_frequencies_refused() -> None:
    t = pa.concat_tables([f.long_table("x", "亿元", "510000", [("2024", 1.0)]),
                          f.long_table("x", "亿元", "510000", [("2024-03", 1.0)])])
    with pytest.raises(InvalidInput) as e:
        f.yoy(t)
    assert e.value.code == "analysis_mixed_frequency"
    with pytest.raises(InvalidInput):
        f.ytd(f.long_table("x", "亿元", "510000", [("2024", 1.0)]))


def test_resample_hourly_to_monthly_with_coverage() -> None:
    t = reshaped(DATA / "environment/chengdu_pm25_hourly_2010-2015_uci.csv").table
    temp = t.filter(pa.compute.equal(t["indicator"], "气温"))
    monthly_ = f.resample(temp, "月")
    assert monthly_.num_rows == 72 and set(monthly_["frequency"].to_pylist()) == {"月"}
    assert monthly_["site"].null_count == 72  # a NULL key stays NULL (not an empty string) through the grouping
    assert f.yoy(monthly_)["site"].null_count == 60
    rows = temp.filter(pa.compute.starts_with(temp["period"], "2014-07")).to_pylist()
    jul = _by(monthly_)[("510100", "2014-07")]
    assert jul == pytest.approx(sum(r["value"] for r in rows) / len(rows))
    # a month with fewer than 75 % of its hours gets no mean
    sparse = f.resample(temp.slice(0, 100), "月")
    assert sparse["value"].to_pylist() == [None]


# ------------------------------------------------------------------ SQL through the sandbox

def _sandboxed(sql: str, t: pa.Table, tmp: Path) -> pa.Table:
    path = tmp / "long.parquet"
    pq.write_table(t, path)
    tables = {"long": ResolvedTable("src_long", tuple(LONG_SCHEMA.names))}
    engine = DuckDBEngine(threads=1, memory_limit="256MB")
    return engine.query(compile_sandboxed(sql, tables, max_rows=10_000), {"src_long": TableSource("src_long", [path])})


def _rows(t: pa.Table) -> set[tuple[object, ...]]:
    return {(r["indicator"], r["unit"], r["region_code"], r["period"],
             None if r["value"] is None else round(r["value"], 6)) for r in t.to_pylist()}


@given(monthly())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sql_formulas_agree_with_arrow(tmp_path: Path, t: pa.Table) -> None:
    assert _rows(_sandboxed(fsql.growth_sql("long", months=12, suffix="同比增长"), t, tmp_path)) == _rows(f.yoy(t))
    assert _rows(_sandboxed(fsql.growth_sql("long", months=1, suffix="环比增长"), t, tmp_path)) == _rows(f.mom(t))
    assert _rows(_sandboxed(fsql.share_sql("long"), t, tmp_path)) == _rows(f.share(t))
    assert _rows(_sandboxed(fsql.rank_sql("long"), t, tmp_path)) == _rows(f.rank(t))


def test_real_province_gdp_share_rank_growth() -> None:
    gdp = reshaped(DATA / "economy/nbs_province_annual_gbk/gdp_100m_yuan.csv").table
    ranks = _by(f.rank(gdp))
    assert ranks[("440000", "2024")] == 1  # 广东
    assert ranks[("510000", "2024")] == 5  # 四川: 广东, 江苏, 山东, 浙江, then 四川
    share = _by(f.share(gdp))[("510000", "2024")]
    total = sum(v for (c, p), v in _by(gdp).items() if p == "2024" and v is not None)
    assert share == pytest.approx(64537.9 / total * 100)
    assert _by(f.yoy(gdp))[("510000", "2024")] == pytest.approx((64537.9 / 61353.4 - 1) * 100)
    assert _by(f.growth(gdp, 5))[("510000", "2024")] == pytest.approx((64537.9 / 47168.6 - 1) * 100)
    assert dt.datetime(2024, 1, 1) in f.yoy(gdp)["period_start"].to_pylist()
