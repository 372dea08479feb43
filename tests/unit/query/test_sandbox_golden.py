"""Golden rewrites (tests/golden/sandbox/rewrites.yaml): input SQL -> the exact engine SQL,
and each rewritten query actually runs on DuckDB over Parquet files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from sqlglot import parse_one

from shudata.query.access import ResolvedTable, TableAccess
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.sandbox import compile_sandboxed

GOLDEN: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parents[2] / "golden" / "sandbox" / "rewrites.yaml").read_text(encoding="utf-8"))

PEOPLE = pa.table({
    "姓名": ["张三", "李四", "王五", "赵六"],
    "身份证号": ["510104199001011234", "510105198502023456", "510106197703035678", "510107200004047890"],
    "城市": ["成都", "绵阳", "成都", "德阳"],
    "年龄": [35, 40, 48, 24],
})

TABLES = {
    "people": ResolvedTable("s_people", ("姓名", "身份证号", "城市", "年龄"), TableAccess(
        columns=("姓名", "城市", "年龄"), row_filter=parse_one("\"城市\" <> '德阳'", read="duckdb"),
        column_exprs={"姓名": parse_one("left(\"姓名\", 1) || '**'", read="duckdb")})),
    "101001/000002": ResolvedTable("s_orders", ("姓名", "金额")),
}


@pytest.mark.parametrize("case", GOLDEN, ids=[c["label"] for c in GOLDEN])
def test_rewrite_matches_golden(case: dict[str, Any]):
    assert compile_sandboxed(case["sql"], TABLES, max_rows=100) == case["expected"]


@pytest.mark.parametrize("case", GOLDEN, ids=[c["label"] for c in GOLDEN])
def test_rewrite_runs_and_never_shows_hidden_or_filtered_data(case: dict[str, Any], tmp_path: Path,
                                                               engine: DuckDBEngine):
    pq.write_table(PEOPLE, tmp_path / "p.parquet")
    pq.write_table(pa.table({"姓名": ["张三", "孙七"], "金额": [1.0, 2.0]}), tmp_path / "o.parquet")
    sources = {"s_people": TableSource("s_people", [tmp_path / "p.parquet"]),
               "s_orders": TableSource("s_orders", [tmp_path / "o.parquet"])}
    result = engine.query(case["expected"], sources)
    text = str(result.to_pylist())
    assert "身份证号" not in result.column_names
    assert "510104199001011234" not in text  # hidden column's values
    assert "德阳" not in text and "赵" not in text  # the filtered row (赵六 of 德阳)
    assert "王五" not in text and "李四" not in text  # masked names
