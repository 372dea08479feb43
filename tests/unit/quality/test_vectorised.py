"""The vectorised path gives exactly the results of the compiled SQL: failure counts, samples
and missing values per column, on adversarial values, plain and dictionary-encoded, in
several row groups."""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shudata.quality import vectorised as V
from shudata.quality.rules import parse_rule_set
from shudata.quality.run import Target, evaluate
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.standards import cn_id, uscc
from shudata.standards.regions import sichuan_counties

AS_OF = dt.date(2024, 6, 1)
BLANKS = [" ", "\u3000", "\u00a0", "\u2003", "\u202f", "\u205f", "\u1680", "\t", "\n", "\u2010", "\u00a5", "\u3001"]
PLACEHOLDERS = ["无", "N/A", "-", "—", "空", "NULL", "null", "", "NA"]

RULES: list[dict[str, Any]] = [
    {"type": "not_null", "column": "姓名"},
    {"type": "not_null", "column": "姓名", "blank_is_null": False, "id": "strict-null"},
    {"type": "cn_id", "column": "身份证号"},
    {"type": "cn_id", "column": "身份证号", "allow_15": True, "id": "id15"},
    {"type": "cn_id", "column": "身份证号", "check_region": False, "id": "id-no-region"},
    {"type": "uscc", "column": "信用代码"},
    {"type": "format", "format": "mobile", "column": "手机"},
    {"type": "format", "format": "email", "column": "邮箱"},
    {"type": "format", "format": "postal_code", "column": "区划", "id": "postal"},
    {"type": "regex", "column": "邮箱", "pattern": "^[a-z]+[0-9]*@", "id": "re"},
    {"type": "enum", "column": "性别", "values": ["男", "女"]},
    {"type": "length", "column": "姓名", "min": 2, "max": 3},
    {"type": "date", "column": "登记日期"},
    {"type": "date", "column": "登记日期", "min": "2016-01-01", "max": "2020-12-31", "id": "date-window"},
    {"type": "region_code", "column": "区划"},
    {"type": "region_code", "column": "区划", "historical": False, "id": "region-now"},
    {"type": "range", "column": "金额", "min": 0, "max": 100000},
    {"type": "range", "column": "件数", "min": 1, "id": "count-min"},
    {"type": "id_sex", "id_column": "身份证号", "sex_column": "性别"},
]


def _decorate(rng: random.Random, v: str) -> str | None:
    """Surround, replace or keep a value: blanks of every kind, placeholders, NULL, full width."""
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.10:
        return rng.choice(PLACEHOLDERS)
    if roll < 0.15:
        return rng.choice(BLANKS) + v
    if roll < 0.20:
        return v + rng.choice(BLANKS)
    if roll < 0.22:
        return rng.choice(BLANKS) * rng.randint(1, 20)
    if roll < 0.24:
        return rng.choice(BLANKS) + rng.choice(PLACEHOLDERS) + rng.choice(BLANKS)
    if roll < 0.26:
        return v.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})  # full-width digits
    return v


def _id(rng: random.Random, regions: list[str]) -> str:
    birth = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(46_000))
    body = rng.choice(regions) + birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    good = body + cn_id.compute_check_char(body)
    return rng.choice([good, good, good.lower(), body + rng.choice("0123456789Xx"),
                       body[:6] + "20991231" + body[14:] + "0", "000000" + good[6:], "0" + good[1:],
                       good[:6] + good[8:17], good[:-1], good + "1",
                       body[:10] + "0230" + body[14:] + "5", body[:10] + "1301" + body[14:] + "3", good[:17] + "e",
                       "1" * 17 + "Z", "12345678901234567.", "+2345678901234567X", "ABC", "110101200001011234"])


def _uscc(rng: random.Random) -> str:
    alpha = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = rng.choice("19ANY5") + rng.choice(alpha) + f"{rng.randrange(10**6):06d}" + \
        "".join(rng.choice(alpha) for _ in range(9))
    good = body + uscc.compute_check_char(body)
    return rng.choice([good, good, good.lower(), body + rng.choice(alpha + "IOSVZ"), "I" + good[1:], good[:-1],
                       good[:2] + "ABCDEF" + good[8:], "0" + good[1:]])


def _mobile(rng: random.Random) -> str:
    n = f"1{rng.choice('0123456789')}{rng.randrange(10**9):09d}"
    return rng.choice([n, n, "86" + n, "+86" + n, "+86 " + n, n[:3] + " " + n[3:7] + " " + n[7:], n[:-1], n + "0",
                       "12" + n, "0" + n, "8612" + n[2:], n[:5] + "a" + n[6:]])


def _frame(n: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    regions = [r.code for r in sichuan_counties()]
    names = ["张三", "李四", "王小明", "欧阳娜娜", "赵", "钱多多多"]
    cols: dict[str, list[Any]] = {k: [] for k in ("姓名", "身份证号", "信用代码", "手机", "邮箱", "性别", "登记日期",
                                                  "区划", "金额", "件数")}
    for _ in range(n):
        cols["姓名"].append(_decorate(rng, rng.choice(names)))
        cols["身份证号"].append(_decorate(rng, _id(rng, regions)))
        cols["信用代码"].append(_decorate(rng, _uscc(rng)))
        cols["手机"].append(_decorate(rng, _mobile(rng)))
        cols["邮箱"].append(_decorate(rng, rng.choice(["a.b@gov.cn", "x1@sc.gov.cn", "bad@", "q@q.c", "中文@a.cn",
                                                       "z9@a-b.c.org", "a@b..cn", "A@B.CN\n"])))
        sex = rng.choice(["男", "女", "男", "女", "M", "f", "1", "2", "0", "未知", "male"])
        cols["性别"].append(_decorate(rng, sex))
        date = (dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(5000))).isoformat()
        cols["登记日期"].append(_decorate(rng, rng.choice([date, date, "2019-02-29", "2020-02-29", "2020/01/02",
                                                            "20200102", "2020-13-01", "0000-01-01", "1900-02-29",
                                                            "2000-02-29", "9999-12-31", "2020-1-02"])))
        cols["区划"].append(_decorate(rng, rng.choice([*rng.sample(regions, 3), "519999", "510000", "5101",
                                                      "510100", "000000", "51010a"])))
        cols["金额"].append(rng.choice([1.5, -1.0, 0.0, 100000.0, 100000.01, None, math.nan, 42.0, 1e9]))
        cols["件数"].append(rng.choice([0, 1, 5, None, -3]))
    types = {"金额": pa.float64(), "件数": pa.int64()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})


@pytest.fixture(scope="module")
def engine() -> DuckDBEngine:
    return DuckDBEngine(threads=2, memory_limit="512MB")


def _both(engine: DuckDBEngine, lookups: dict[str, TableSource], path: Path,
          rules: list[dict[str, Any]] = RULES) -> tuple[Any, Any]:
    rs = parse_rule_set(rules)
    target = Target.from_parquet("t", [path])
    fast = evaluate(engine, target, rs, lookups=lookups, as_of=AS_OF, vectorised=True)
    slow = evaluate(engine, target, rs, lookups=lookups, as_of=AS_OF, vectorised=False)
    return fast, slow


def _assert_same(fast: Any, slow: Any) -> None:
    assert fast.rows == slow.rows
    for a, b in zip(fast.results, slow.results, strict=True):
        assert (a.key, a.failed, a.samples, a.status) == (b.key, b.failed, b.samples, b.status), a.key
    assert fast.columns == slow.columns
    assert fast.scores == slow.scores


@pytest.mark.parametrize("dictionary", [True, False])
def test_same_results_as_the_sql(engine: DuckDBEngine, lookups: dict[str, TableSource], tmp_path: Path,
                                 dictionary: bool) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(_frame(6000, seed=7), path, row_group_size=1000, use_dictionary=dictionary)
    target = Target.from_parquet("t", [path])
    coded = V.coded_columns(path, target.columns, target.types)
    assert bool(coded) is dictionary  # both forms of string columns are exercised
    rs = parse_rule_set(RULES)
    assert all(V.has_kernel(r, target.types) for r in rs.rules)  # every rule here takes the fast path
    fast, slow = _both(engine, lookups, path)
    _assert_same(fast, slow)
    failed = {r.key: r.failed for r in fast.results}
    assert all(failed[k] > 0 for k in failed), failed  # every rule meets failing values
    assert fast.columns[0].nulls > 0


def test_undecided_rows_go_to_the_sql(engine: DuckDBEngine, lookups: dict[str, TableSource], tmp_path: Path) -> None:
    """Values a kernel cannot decide (blanks at the edges, spaced phone numbers, 15-digit IDs)
    are counted by the SQL on those rows alone, and their samples win when they are extremes."""
    body = "51010419900101123"
    good = body + cn_id.compute_check_char(body)
    table = pa.table({
        "身份证号": [good, "\u3000" + good, "\u3000", " 无 ", "510104900101123", None, good[:-1] + "1"],
        "手机": ["13800138000", "138 0013 8000", "+86 13800138000", "12800138000", "\u00a0", "1380013800a", "x"],
    })
    path = tmp_path / "u.parquet"
    pq.write_table(table, path)
    rules: list[dict[str, Any]] = [{"type": "cn_id", "column": "身份证号"},
             {"type": "cn_id", "column": "身份证号", "allow_15": True, "id": "15"},
             {"type": "format", "format": "mobile", "column": "手机"}]
    fast, slow = _both(engine, lookups, path, rules)
    _assert_same(fast, slow)
    by_key = {r.key: r for r in fast.results}
    assert by_key["cn_id:身份证号"].failed == 3  # "\u3000"+id, the 15-digit one, the wrong check digit
    assert by_key["cn_id:身份证号"].samples == [good[:-1] + "1", "\u3000" + good]  # smallest, largest
    assert by_key["15"].failed == 2
    assert by_key["mobile:手机"].failed == 3
    assert {c.column: c.nulls for c in fast.columns} == {"身份证号": 3, "手机": 1}


def test_rules_without_a_kernel_run_in_sql_beside_them(engine: DuckDBEngine, lookups: dict[str, TableSource],
                                                       tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    pq.write_table(_frame(1500, seed=3), path, row_group_size=400)
    rules = [*RULES[:4], {"type": "unique", "columns": ["姓名"]},
             {"type": "format", "format": "landline", "column": "手机"}, {"type": "bank_card", "column": "手机"},
             {"type": "range", "column": "区划", "min": 0, "id": "text-range"},
             {"type": "date", "column": "登记日期", "timestamp": True, "id": "ts"}, RULES[5]]
    target = Target.from_parquet("t", [path])
    kernels = [V.has_kernel(r, target.types) for r in parse_rule_set(rules).rules]
    assert kernels == [True] * 4 + [False] * 5 + [True]
    fast, slow = _both(engine, lookups, path, rules)
    _assert_same(fast, slow)
    assert [r.key for r in fast.results] == [r.key for r in parse_rule_set(rules).rules]


def test_sliced_and_large_strings() -> None:
    arr = pa.array(["x", "510104199001011234", "abc", None, "510104199001011235"], pa.large_string()).slice(1)
    s = V.Strings.of(arr)
    mat, ok = s.fixed(18)
    assert ok.tolist() == [True, False, False, True]
    assert bytes(mat[:, 0]).decode() == "510104199001011234"
    assert bytes(mat[:, 3]).decode() == "510104199001011235"
    assert V.Strings.of(pa.array([], pa.string())).fixed(3)[1].tolist() == []


ALPHABET = st.sampled_from(["0", "1", "5", "9", "X", "x", "a", "-", "@", ".", " ", "\u3000", "\u00a0", "无", "男", "女",
                            "\u2003", "\u202f", "\u205f", "\u1680", "\u2010", "—", "\u00a5", "\ufeff", "M", "f",
                            "１", "\t", "N/A", "13800138000", "510104", "2020-02-29", "510104199001011234",
                            "91510100MA61R0XA3N"])
VALUES = st.lists(st.one_of(st.none(), st.lists(ALPHABET, max_size=6).map("".join)), min_size=1, max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUES, dictionary=st.booleans())
def test_property_any_values(engine: DuckDBEngine, lookups: dict[str, TableSource],
                             tmp_path_factory: pytest.TempPathFactory, values: list[str | None],
                             dictionary: bool) -> None:
    """For any column of text, every string rule with a kernel agrees with its SQL."""
    path = tmp_path_factory.mktemp("p") / "v.parquet"
    table = pa.table({c: pa.array(values, pa.string()) for c in ("姓名", "身份证号", "信用代码", "手机", "邮箱", "性别",
                                                                 "登记日期", "区划")})
    pq.write_table(table, path, row_group_size=17, use_dictionary=dictionary)
    rules = [r for r in RULES if r.get("column") not in ("金额", "件数")]
    fast, slow = _both(engine, lookups, path, rules)
    _assert_same(fast, slow)


def test_padded_values_are_decided_without_the_sql(engine: DuckDBEngine, lookups: dict[str, TableSource],
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns exported from fixed-width CHAR fields end in spaces (or U+3000): the kernels trim
    as the engine does, so such a table needs no SQL fallback and still gives the SQL's results."""
    body = "51010419900101123"
    good = body + cn_id.compute_check_char(body)
    table = pa.table({
        "姓名": ["张三  ", "无  ", "\u3000", "   ", "李四\u3000", None],
        "身份证号": [good + "  ", good, "无 ", good + "\u3000", good + " ", good],
        "性别": ["男 ", "女\u3000", "男", " 女", "未知 ", "男  "],
    })
    path = tmp_path / "padded.parquet"
    pq.write_table(table, path)
    rules: list[dict[str, Any]] = [{"type": "not_null", "column": "姓名"}, {"type": "cn_id", "column": "身份证号"},
                                   {"type": "enum", "column": "性别", "values": ["男", "女"]},
                                   {"type": "id_sex", "id_column": "身份证号", "sex_column": "性别"}]
    calls: list[object] = []
    real = V._run_sql_on
    monkeypatch.setattr(V, "_run_sql_on", lambda *a, **k: calls.append(a) or real(*a, **k))
    fast, slow = _both(engine, lookups, path, rules)
    _assert_same(fast, slow)
    assert calls == []  # decided by the kernels alone (the SQL-only run does not go through them)
    by_key = {r.key: r.failed for r in fast.results}
    assert by_key["not_null:姓名"] == 4 and by_key["cn_id:身份证号"] == 3


def test_the_trim_set_is_duckdbs() -> None:
    """Every code point: the kernels' TRIM characters are exactly those DuckDB's TRIM removes
    (a DuckDB upgrade that changed them would make the two paths disagree)."""
    import duckdb

    cps = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    table = pa.table({"c": pa.array(cps), "s": pa.array([chr(c) * 2 for c in cps])})
    con = duckdb.connect()
    con.register("t", table)
    removed = {c for (c,) in con.execute("SELECT c FROM t WHERE TRIM(s) = ''").fetchall()}
    assert removed == {ord(c) for c in V.TRIM_CHARS}
    assert V.trimmed(pa.array(["\u3000 甲\u00a0", "\t乙 "])).to_pylist() == ["甲", "\t乙"]
