"""Compiled rules agree with the pure-Python reference validators, value by value, on DuckDB."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from shudata.quality.checks import formats as F
from shudata.quality.compile import failing_rows_sql
from shudata.quality.compile_exprs import Ctx
from shudata.quality.rules import parse_rule, parse_rule_set
from shudata.quality.run import Target, evaluate
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.standards import cn_id, luhn, uscc
from shudata.standards.regions import sichuan_counties

Stage = Callable[[pa.Table, str], Target]
AS_OF = dt.date(2024, 6, 1)


def _ids(n: int, rng: random.Random) -> list[str]:
    """Valid IDs and near misses: wrong check digit, bad date, unknown region, 15-digit, junk."""
    regions = [r.code for r in sichuan_counties()]
    out = []
    for _ in range(n):
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(25_000))
        first17 = rng.choice(regions) + birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
        good = first17 + cn_id.compute_check_char(first17)
        out.append(rng.choice([
            good, good, good.lower(), first17 + rng.choice("0123456789X"), first17[:10] + "1332" + first17[14:] + "0",
            "999999" + good[6:], good[:6] + good[8:17], good[:-1], "ABC", good + "1",
        ]))
    return out


def _failing(engine: DuckDBEngine, stage: Stage, lookups: dict[str, TableSource], spec: dict[str, Any],
             values: list[str | None]) -> list[str | None]:
    target = stage(pa.table({"v": pa.array(values, pa.string())}), "t")
    rule = parse_rule(spec)
    sql = failing_rows_sql(rule, table="t", columns=["v"], ctx=Ctx(as_of=AS_OF), dialect="duckdb")
    tables = {"t": target.source, **lookups}
    return sorted((r["v"] for r in engine.query(sql, tables).to_pylist()), key=_order)


def _order(x: str | None) -> tuple[bool, str]:
    return (x is None, x or "")


def _ref_id(v: str) -> bool:
    if v != v.strip():
        return False
    p = cn_id.parse_resident_id(v)
    return p is not None and p.birth_date <= AS_OF


def test_resident_id_sql_matches_python(engine: DuckDBEngine, stage: Stage, lookups: dict[str, TableSource]) -> None:
    values = _ids(400, random.Random(7))
    got = _failing(engine, stage, lookups, {"type": "cn_id", "column": "v"}, values)
    assert got == sorted(v for v in values if not _ref_id(v))
    assert 0 < len(got) < len(values)


def test_resident_id_refuses_values_only_a_number_cast_would_read(engine: DuckDBEngine, stage: Stage,
                                                                  lookups: dict[str, TableSource]) -> None:
    """TRY_CAST to BIGINT reads exponents, ``_``, spaces and signs: "51010419900101e03" casts to
    51010419900101000, whose region, birth date and check digit ("0") are all valid."""
    good = "510104199001010000"
    values = [good, "51010419900101e030", "51010419900101E030", " 51010419900101000", "+5101041990010100",
              "5_1010419900101000", "5101041990010100 0"]
    got = _failing(engine, stage, lookups, {"type": "cn_id", "column": "v"}, values)
    assert got == sorted(v for v in values if not _ref_id(v))
    assert good not in got and "51010419900101e030" in got


def test_id_sex_reads_the_17th_character_of_any_id_like_value(engine: DuckDBEngine, stage: Stage,
                                                              lookups: dict[str, TableSource]) -> None:
    """The parity comes from the shared ID helper for 17 digits and from the character otherwise."""
    rows = {"id": ["510104199001010000", "51010419900101001X", "ABCDEFGHIJKLMNOP1Q", "510104199001010000",
                   "ABCDEFGHIJKLMNOP2Q", "51010419900101e030"],
            "sex": ["女", "男", "男", "男", "男", "女"]}
    target = stage(pa.table(rows), "t")
    rule = parse_rule({"type": "id_sex", "id_column": "id", "sex_column": "sex"})
    sql = failing_rows_sql(rule, table="t", columns=["id", "sex"], ctx=Ctx(as_of=AS_OF), dialect="duckdb")
    got = sorted((r["id"], r["sex"]) for r in engine.query(sql, {"t": target.source}).to_pylist())
    assert got == sorted([("51010419900101e030", "女"), ("510104199001010000", "男"), ("ABCDEFGHIJKLMNOP2Q", "男")])


def test_resident_id_accepts_legacy_15_when_allowed(engine: DuckDBEngine, stage: Stage,
                                                    lookups: dict[str, TableSource]) -> None:
    values = ["110105491231002", "110105491331002", "999999491231002"]
    got = _failing(engine, stage, lookups, {"type": "cn_id", "column": "v", "allow_15": True}, values)
    assert got == ["110105491331002", "999999491231002"]  # bad month; unknown region


def _usccs(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        body = rng.choice("19ANY") + rng.choice("123") + rng.choice(["510100", "510104", "110105"]) + "".join(
            rng.choice(uscc.ALPHABET) for _ in range(9))
        good = uscc.complete(body)
        out.append(rng.choice([good, good, body + rng.choice(uscc.ALPHABET), good[:-1], good.replace("0", "O")]))
    return out


@pytest.mark.parametrize(("spec", "make", "reference"), [
    ({"type": "uscc", "column": "v"}, _usccs, uscc.is_valid_uscc),
    ({"type": "bank_card", "column": "v"},
     lambda n, rng: [str(rng.randrange(10 ** 15, 10 ** 18)) for _ in range(n)]
     + [b + luhn.luhn_check_digit(b) for b in (str(rng.randrange(10 ** 14, 10 ** 18)) for _ in range(n))],
     luhn.is_valid_luhn),
    ({"type": "org_code", "column": "v"},
     lambda n, rng: [b + rng.choice([uscc.org_code_check_char(b), "0", "X"]) for b in
                     ("".join(rng.choice("0123456789ABCDEFGHJ") for _ in range(8)) for _ in range(n))],
     uscc.is_valid_org_code),
], ids=["uscc", "bank_card", "org_code"])
def test_check_digit_sql_matches_python(engine: DuckDBEngine, stage: Stage, lookups: dict[str, TableSource],
                                        spec: dict[str, Any], make: Callable[[int, random.Random], list[str]],
                                        reference: Callable[[str], bool]) -> None:
    values = make(300, random.Random(3))
    got = _failing(engine, stage, lookups, spec, values)
    assert got == sorted(v for v in values if not reference(v))
    assert 0 < len(got) < len(values)


@pytest.mark.parametrize(("fmt", "reference", "values"), [
    ("mobile", F.is_mobile, ["13800138000", "+8613800138000", "12800138000", "1380013800", "138 0013 8000"]),
    ("landline", F.is_landline, ["028-85123456", "02885123456", "010-1234567", "85123456", "028-0512345"]),
    ("email", F.is_email, ["a.b@gov.cn", "x@y", "张@gov.cn", "a@b.c", "first.last+tag@sc.gov.cn"]),
    ("postal_code", F.is_postal_code, ["610041", "61004", "6100411", "61004a"]),
])
def test_formats_match_python(engine: DuckDBEngine, stage: Stage, lookups: dict[str, TableSource], fmt: str,
                              reference: Callable[[str], bool], values: list[str]) -> None:
    got = _failing(engine, stage, lookups, {"type": "format", "format": fmt, "column": "v"}, values)
    assert got == sorted(v for v in values if not reference(v))


@pytest.mark.parametrize(("spec", "values", "failing"), [
    ({"type": "not_null", "column": "v"}, ["a", None, " ", "无", "N/A", "b"], [None, " ", "N/A", "无"]),
    ({"type": "date", "column": "v"}, ["2020-02-29", "2019-02-29", "2020/01/01", None], ["2019-02-29", "2020/01/01"]),
    ({"type": "enum", "column": "v", "values": ["5A", "4A"]}, ["5A", "3A", None, "4A "], ["3A", "4A "]),
    ({"type": "range", "column": "v", "min": 0, "max": 10}, ["0", "10", "10.5", "-1", "x"], ["-1", "10.5", "x"]),
    ({"type": "regex", "column": "v", "pattern": "^[0-9]{3}$"}, ["123", "12", "1234"], ["12", "1234"]),
    ({"type": "length", "column": "v", "min": 2, "max": 3}, ["a", "ab", "abcd", "四川省"], ["a", "abcd"]),
    ({"type": "data_type", "column": "v", "data_type": "I"}, ["12", "-3", "1.5", "x"], ["1.5", "x"]),
    ({"type": "data_type", "column": "v", "data_type": "N", "length": 4}, ["1.5", "1e3", "12345", "x"], ["12345", "x"]),
    ({"type": "region_code", "column": "v"}, ["510104", "519999", "51010"], ["51010", "519999"]),
    ({"type": "unique", "columns": ["v"]}, ["a", "b", "a", None, None], ["a", "a"]),
])
def test_rule_semantics(engine: DuckDBEngine, stage: Stage, lookups: dict[str, TableSource], spec: dict[str, Any],
                        values: list[str | None], failing: list[str | None]) -> None:
    got = _failing(engine, stage, lookups, spec, values)
    assert got == sorted(failing, key=_order)


PEOPLE = pa.table({
    "身份证号": ["11010519491231002X", "110105194912310021", "510104199001010011", None],
    "出生日期": ["1949-12-31", "19491231", "1990-01-02", "1990-01-01"],
    "性别": ["女", "男", "女", "男"],
    "区划": ["110105", "110105", "510105", "510104"],
    "开始": ["2020-01-01", "2020-05-01", "20200101", "2020-01-01"],
    "结束": ["2020-02-01", "2020-04-01", "2020-01-01", None],
})


@pytest.mark.parametrize(("spec", "failed"), [
    ({"type": "id_birth", "id_column": "身份证号", "birth_column": "出生日期"}, 1),  # row 3: birth differs
    ({"type": "id_sex", "id_column": "身份证号", "sex_column": "性别"}, 2),  # rows 2, 3: digit 17 disagrees
    ({"type": "id_region", "id_column": "身份证号", "region_column": "区划"}, 1),  # row 3: 510104 vs 510105
    ({"type": "id_region", "id_column": "身份证号", "region_column": "区划", "level": "city"}, 0),
    ({"type": "compare", "left": "开始", "right": "结束"}, 1),  # row 2: start after end
])
def test_cross_field_consistency(engine: DuckDBEngine, stage: Stage, lookups: dict[str, TableSource],
                                 spec: dict[str, Any], failed: int) -> None:
    report = evaluate(engine, stage(PEOPLE, "t"), parse_rule_set([spec]), lookups=lookups, as_of=AS_OF)
    assert report.results[0].failed == failed
    assert report.results[0].total == 4


def test_report_counts_samples_sql_and_scores(engine: DuckDBEngine, stage: Stage,
                                              lookups: dict[str, TableSource], scenic: pa.Table) -> None:
    rs = parse_rule_set([
        {"type": "not_null", "column": "所在区县", "severity": "block"},
        {"type": "not_null", "column": "地址"},
        {"type": "unique", "columns": ["名称"]},
        {"type": "enum", "column": "等级", "values": ["5A", "4A", "3A", "2A", "1A"]},
        {"type": "range", "column": "经度", "min": 97.3, "max": 108.6},
        {"type": "range", "column": "纬度", "min": 26.0, "max": 34.4},
        {"type": "row_count", "min": 800},
    ])
    target = stage(scenic, "t")
    report = evaluate(engine, target, rs, lookups=lookups)
    by = {r.key: r for r in report.results}
    assert report.rows == 819
    assert (by["not_null:所在区县"].failed, by["not_null:所在区县"].status) == (2, "fail")
    assert by["not_null:地址"].failed == 1 and by["not_null:地址"].status == "warn"
    assert by["unique:名称"].failed == 4 and len(set(by["unique:名称"].samples)) == 2
    for key in ("enum:等级", "range:经度", "range:纬度", "row_count"):
        assert by[key].passed, key
    # the stored SQL reproduces exactly the failing rows
    rows = engine.query(by["unique:名称"].sql or "", {"t": target.source}).to_pylist()
    assert len(rows) == 4
    assert report.scores["completeness"] < 100 and report.scores["validity"] == 100
    nulls = {c.column: c.nulls for c in report.columns}
    assert nulls["所在区县"] == 2 and nulls["地址"] == 1


def test_uscc_sql_matches_python_on_near_misses(engine: DuckDBEngine, stage: Stage,
                                                lookups: dict[str, TableSource]) -> None:
    """The join-free credit-code check (digits 3–8 as one number, 11 characters by their place in
    the alphabet) against the reference: letters outside the alphabet (I, O, S, V, Z), a letter
    among the region digits, a bad first character, lower case, full-width digits, wrong length,
    every alphabet character at every letter position."""
    rng = random.Random(11)
    good = [uscc.complete(rng.choice("19ANY") + rng.choice("123") + "510104"
                          + "".join(rng.choice(uscc.ALPHABET) for _ in range(9))) for _ in range(40)]
    values = list(good)
    for g in good[:10]:
        values += [g[:k] + c + g[k + 1:] for k in (0, 1, 8, 12, 16, 17) for c in "IOSVZ"]
        values += [g[:4] + "A" + g[5:], "B" + g[1:], g.lower(), g[:17], g + "0", g[:3] + "１" + g[4:], g[:-1] + "I"]
    for k in (0, 1, 8, 9, 10, 11, 12, 13, 14, 15, 16):
        for c in uscc.ALPHABET:
            body = good[0][:k] + c + good[0][k + 1:17]
            values += [uscc.complete(body), body + "0"]
    values = [v for v in dict.fromkeys(values) if v == v.strip().upper()]  # the reference strips and upper-cases
    got = _failing(engine, stage, lookups, {"type": "uscc", "column": "v"}, values)
    assert got == sorted(v for v in values if not uscc.is_valid_uscc(v))
    assert 0 < len(got) < len(values)


def test_counting_query_samples_are_the_smallest_and_largest_failing_values(
        engine: DuckDBEngine, stage: Stage, lookups: dict[str, TableSource]) -> None:
    """Samples come from the counting scan: read under FILTER for rules whose failing rows always
    hold a text value, through a CASE (missing shown as ∅) otherwise."""
    table = pa.table({"name": ["a", None, " ", "b", "N/A"], "level": ["5A", "9A", "1Z", None, "5A"],
                      "score": [1.0, -2.5, 300.0, None, 50.0], "region": ["510104", "519999", "51010", "510104", None],
                      "id": ["510104199001010000", "510104199001010000", None, "51010419900101001X", "x"],
                      "sex": ["女", "男", "男", "女", "男"]})
    rs = parse_rule_set([
        {"type": "not_null", "column": "name"}, {"type": "enum", "column": "level", "values": ["5A", "4A"]},
        {"type": "range", "column": "score", "min": 0, "max": 100}, {"type": "region_code", "column": "region"},
        {"type": "id_sex", "id_column": "id", "sex_column": "sex"},
    ])
    report = evaluate(engine, stage(table, "t"), rs, lookups=lookups, as_of=AS_OF)
    got = {r.key: (r.failed, r.samples) for r in report.results}
    assert got == {
        "not_null:name": (3, [" ", "∅"]),  # MIN and MAX of " ", "N/A", ∅ (NULL)
        "enum:level": (2, ["1Z", "9A"]),
        "range:score": (2, ["-2.5", "300.0"]),
        "region_code:region": (2, ["51010", "519999"]),
        "id_sex:id,sex": (2, ["510104199001010000 | 男", "51010419900101001X | 女"]),
    }
