"""DuckDB idioms that must keep working through the sandbox (parse → checks → access
subquery → generated SQL → DuckDB's own parse check → run)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.query.access import ResolvedTable
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.sandbox import compile_sandboxed

LEGIT = [
    "SELECT * EXCLUDE (标签) FROM t",
    "SELECT * REPLACE (值 * 2 AS 值) FROM t",
    "SELECT 名称, sum(值) FROM t GROUP BY ALL ORDER BY ALL",
    "SELECT 名称, row_number() OVER (ORDER BY 值) AS r FROM t QUALIFY r = 1",
    "SELECT [x * 2 FOR x IN [1, 2, 3]]",
    "SELECT 名称 || '市', 值::INTEGER, CAST(值 AS VARCHAR) FROM t",
    "SELECT strftime(日期, '%Y年%m月'), date_trunc('month', 日期), 日期 + INTERVAL 1 DAY FROM t",
    "SELECT list_transform(标签, x -> upper(x)), unnest(标签) FROM t",
    "SELECT count(*) FILTER (WHERE 值 > 1), median(值), quantile_cont(值, 0.9), mode(名称) FROM t",
    "SELECT string_agg(名称, ',' ORDER BY 名称), arg_max(名称, 值), list(名称) FROM t",
    "SELECT DISTINCT ON (名称) 名称, 值 FROM t",
    "SELECT * FROM t a JOIN t b USING (名称)",
    "SELECT * FROM t a ASOF JOIN t b ON a.n >= b.n",
    "SELECT * FROM t a ANTI JOIN t b ON a.n = b.n",
    "SELECT 名称, 值 FROM t UNION BY NAME SELECT 值, 名称 FROM t",
    "SELECT * FROM (PIVOT t ON 名称 IN ('成都', '绵阳') USING sum(值))",
    "SELECT * FROM (UNPIVOT (SELECT 名称, 值, n::DOUBLE AS n FROM t) ON 值, n INTO NAME k VALUE v)",
    "SELECT md5(名称), sha256(名称), length(名称), replace(名称, '成', 'c'), 名称[1:1] FROM t",
    "SELECT avg(值) OVER w FROM t WINDOW w AS (PARTITION BY 名称)",
    "SELECT COLUMNS('名.*'), min(COLUMNS(['值', 'n'])) OVER () FROM t",
    "SELECT 值 FROM t USING SAMPLE 50%",
    "SELECT try_cast('x' AS INTEGER), json_extract('{\"a\": 1}', '$.a'), typeof(值) FROM t",
    "SELECT 名称 FROM t WHERE 值 = ANY([1.5, 2.0]) AND 名称 GLOB '成*' AND 名称 SIMILAR TO '成.*'",
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM t)",
    "SELECT count(*) FROM t, range(10) r, generate_series(1, 2) g",
    "SELECT t FROM t",  # the row as a struct: visible columns only
    "VALUES ('成都', 1), ('绵阳', 2)",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableSource]:
    path = tmp_path_factory.mktemp("legit") / "t.parquet"
    pq.write_table(pa.table({"名称": ["成都", "绵阳"], "值": [1.5, 2.0], "日期": pa.array([19000, 19100], pa.date32()),
                             "标签": [["a", "b"], ["c"]], "n": [1, 2]}), path)
    return {"s": TableSource("s", [Path(path)])}


@pytest.mark.parametrize("sql", LEGIT)
def test_duckdb_idiom_runs_in_the_sandbox(sql: str, files: dict[str, TableSource]):
    tables = {"t": ResolvedTable("s", ("名称", "值", "日期", "标签", "n"))}
    out = DuckDBEngine(threads=1, memory_limit="256MB").query(compile_sandboxed(sql, tables, max_rows=100), files)
    assert out.num_columns > 0
