"""Output identity, Spark (local mode) vs DuckDB: every golden quality rule and masking policy,
and a generated 100,000-row citizens table with Chinese text, NULLs, padded values and bad check
digits — the same rows (content hash of the sorted output) and the same quality counts."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.support.spark import KEYS, POLICY, RULES, content_hash, messy_citizens
from tests.unit.privacy.test_compile_golden import CASES
from tests.unit.privacy.test_compile_golden import load as load_policy_case
from tests.unit.quality.examples import EXAMPLES
from tests.unit.quality.test_vectorised import _id, _mobile, _uscc

from shudata.privacy.compile import compile_plan
from shudata.privacy.mask import mask_source, mask_table
from shudata.privacy.policy import Policy
from shudata.quality.compile import compile_check, failing_rows_sql, split_sql
from shudata.quality.compile_exprs import Ctx
from shudata.quality.reference import default_cache_dir, region_sources
from shudata.quality.rules import parse_rule_set
from shudata.quality.run import Target, evaluate
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.spark import SparkEngine
from shudata.standards.regions import sichuan_counties

pytestmark = pytest.mark.spark

AS_OF = dt.date(2024, 1, 1)
LONG = Limits(timeout_s=900)  # a shared 2-core machine: Spark plans the one-scan query slowly
CTX = Ctx(column_types={"经度": "double"}, as_of=AS_OF, ref_tables={"reference:信用代码": "legal"})
ROW_RULES = sorted(k for k, v in EXAMPLES.items() if parse_rule_set([v]).rules[0].scope == "row")


def _messy(rng: random.Random, v: Any) -> Any:
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.08:
        return rng.choice(["无", "N/A", "", " ", "\u3000", "-"])
    if roll < 0.12 and isinstance(v, str):
        return rng.choice([" ", "\u3000", "\t"]) + v + rng.choice(["", " ", "\u3000"])
    return v


def golden_frame(n: int, seed: int = 5) -> pa.Table:
    """Values for every column the golden rules name, good and bad."""
    rng = random.Random(seed)
    regions = [r.code for r in sichuan_counties()]
    def day() -> str:
        return (dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(12_000))).isoformat()
    pools: dict[str, Any] = {
        "名称": lambda: rng.choice(["成都市锦江区人民政府", "张", "四川省大数据中心", "x" * 60, "王小明"]),
        "地址": lambda: rng.choice(["四川省成都市武侯区", "锦江区春熙路1号", "成都"]),
        "身份证号": lambda: _id(rng, regions),
        "信用代码": lambda: _uscc(rng),
        "机构代码": lambda: rng.choice(["MA6CA1234", "12345678-9", "ABCDEFGH-X", "00000000-0", "1234567"]),
        "卡号": lambda: rng.choice(["6222020200112233446", "6222020200112233445", "4111111111111111", "12",
                                    "62220202001122334a"]),
        "区划": lambda: rng.choice([*rng.sample(regions, 2), "510000", "519999", "000000", "5101"]),
        "电话": lambda: _mobile(rng),
        "日期": lambda: rng.choice([day(), day(), "1999-02-29", "2020/01/02", "20200102", "2020-13-01", "abc"]),
        "等级": lambda: rng.choice(["5A", "4A", "3A", "5a", "AAAAA"]),
        "编码": lambda: rng.choice(["0123456789", "123456789", "01234567890", "012345678a"]),
        "金额": lambda: rng.choice(["12.5", "-3", "1e5", "abc", "１２", "0x10"]),
        "出生日期": lambda: rng.choice([day(), "1990-01-01", "19900101"]),
        "性别": lambda: rng.choice(["男", "女", "1", "2", "未知", "M"]),
        "开始": day,
        "结束": day,
    }
    cols: dict[str, pa.Array] = {k: pa.array([_messy(rng, f()) for _ in range(n)], pa.string())
                                 for k, f in pools.items()}
    cols["经度"] = pa.array([rng.choice([96.5, 97.0, 104.06, 109.0, 109.5, None, float("nan")]) for _ in range(n)])
    return pa.table(cols)


@pytest.fixture(scope="module")
def golden_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableSource]:
    d = tmp_path_factory.mktemp("golden")
    pq.write_table(golden_frame(3000), d / "t.parquet", row_group_size=1000)
    legal = pa.table({"代码": [r for r in golden_frame(400, seed=9).column("信用代码").to_pylist() if r]})
    pq.write_table(legal, d / "legal.parquet")
    return {"t": TableSource("t", [d / "t.parquet"]), "legal": TableSource("legal", [d / "legal.parquet"]),
            **region_sources(default_cache_dir())}


def _both(duck: DuckDBEngine, spark: SparkEngine, sql_for: Any, tables: dict[str, TableSource]
          ) -> tuple[pa.Table, pa.Table]:
    return duck.query(sql_for("duckdb"), tables, LONG), spark.query(sql_for("spark"), tables, LONG)


@pytest.mark.parametrize("name", ROW_RULES)
def test_every_golden_rule_fails_the_same_rows(duck: DuckDBEngine, spark: SparkEngine,
                                               golden_tables: dict[str, TableSource], name: str) -> None:
    rule = parse_rule_set([EXAMPLES[name]]).rules[0]
    cols = golden_tables["t"].files and pq.read_schema(golden_tables["t"].files[0]).names
    a, b = _both(duck, spark, lambda d: failing_rows_sql(rule, table="t", columns=cols, ctx=CTX, dialect=d),
                 golden_tables)
    assert a.num_rows == b.num_rows
    assert content_hash(a) == content_hash(b)


def test_golden_rules_count_the_same_in_one_scan(duck: DuckDBEngine, spark: SparkEngine,
                                                 golden_tables: dict[str, TableSource]) -> None:
    rules = parse_rule_set([EXAMPLES[n] for n in ROW_RULES]).rules
    cols = pq.read_schema(golden_tables["t"].files[0]).names
    check = compile_check(rules, table="t", columns=cols, ctx=CTX, null_stats=True)
    a, b = _both(duck, spark, check.sql, golden_tables)
    got_a, got_b = a.to_pylist()[0], b.to_pylist()[0]
    # Known divergence (reported, not yet fixed in the compiler): the text of a NaN sample is
    # 'nan' on DuckDB and 'NaN' on Spark (the range rule over a DOUBLE column); counts agree.
    differ = {k: (got_a[k], got_b.get(k)) for k in got_a if got_a[k] != got_b.get(k)}
    assert all(str(x).lower() == str(y).lower() == "nan" for x, y in differ.values()), differ
    got_b.update({k: got_a[k] for k in differ})
    fails = {k: v for k, v in got_a.items() if k.startswith("__fail")}
    assert {k: got_b[k] for k in fails} == fails
    assert sum(1 for v in fails.values() if v) >= len(ROW_RULES) - 2  # the data meets (nearly) every rule
    assert {k: got_b[k] for k in got_a if k.startswith(("__null", "__lo", "__hi", "__rows"))} == \
        {k: v for k, v in got_a.items() if k.startswith(("__null", "__lo", "__hi", "__rows"))}


@pytest.mark.parametrize("case", CASES)
def test_every_golden_policy_masks_the_same(duck: DuckDBEngine, spark: SparkEngine, case: str) -> None:
    policy, table = load_policy_case(case)
    plan = compile_plan(policy, table.schema, keys=KEYS)
    a = mask_table(table, plan, engine=duck)
    b = mask_table(table, plan, engine=spark)
    assert a.num_rows == b.num_rows == table.num_rows
    assert content_hash(a) == content_hash(b)


@pytest.fixture(scope="module")
def citizens_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("citizens") / "citizens.parquet"
    pq.write_table(messy_citizens(100_000, seed=3), path, row_group_size=25_000)
    return path


def test_quality_run_and_quarantine_identical(duck: DuckDBEngine, spark: SparkEngine, citizens_file: Path) -> None:
    target = Target.from_parquet("t", [citizens_file])
    rs = parse_rule_set(RULES)
    lookups = region_sources(default_cache_dir())
    a = evaluate(duck, target, rs, lookups=lookups, as_of=AS_OF, vectorised=False)
    b = evaluate(spark, target, rs, lookups=lookups, as_of=AS_OF, vectorised=False)
    assert a.rows == b.rows == 100_000
    assert [(r.key, r.failed, r.samples, r.status) for r in a.results] == \
        [(r.key, r.failed, r.samples, r.status) for r in b.results]
    assert all(r.failed > 0 for r in a.results[:4]), [(r.key, r.failed) for r in a.results]  # bad values met
    assert a.columns == b.columns and a.scores == b.scores
    split = {d: split_sql(rs.rules, table="t", columns=target.columns, ctx=Ctx(column_types=dict(target.types),
                                                                              as_of=AS_OF), dialect=d)
             for d in ("duckdb", "spark")}
    tables = {"t": target.source, **lookups}
    for part in ("accepted", "quarantined"):
        x = duck.query(getattr(split["duckdb"], part), tables, LONG)
        y = spark.query(getattr(split["spark"], part), tables, LONG)
        assert x.num_rows == y.num_rows and content_hash(x) == content_hash(y), part


def test_masked_export_identical(duck: DuckDBEngine, spark: SparkEngine, citizens_file: Path,
                                 tmp_path: Path) -> None:
    policy = Policy.parse(POLICY)
    plan = compile_plan(policy, pq.read_schema(citizens_file), keys=KEYS)
    src = TableSource("t", [citizens_file])
    a = mask_source(src, plan, tmp_path / "duck.parquet", engine=duck)
    b = mask_source(src, plan, tmp_path / "spark.parquet", engine=spark)
    assert a.rows == b.rows == 100_000
    ta, tb = pq.read_table(a.path), pq.read_table(b.path)  # type: ignore[arg-type]
    assert ta.column_names == tb.column_names
    assert content_hash(ta) == content_hash(tb)
    assert not (tmp_path / "spark.parquet").with_name(".spark.parquet").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no work files left
