"""No name of DuckDB's system catalogue is reachable (issue #14 item 5).

Each attack of ``tests/golden/sandbox/catalogue.yaml`` is refused by the sandbox with its
error code and a bilingual message, by the engine's check of DuckDB's own parse when the
raw SQL is shown to it directly (defence in depth), and through ``POST /api/v1/query``.
CKAN's ``datastore_search_sql`` for anonymous callers is covered in
``tests/unit/portal/test_ckan_catalogue.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.core.errors import PermissionDenied, ShudataError
from shudata.query.access import ResolvedTable, TableAccess
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.verify import verify_sql
from shudata.query.sandbox import compile_sandboxed

ATTACKS: list[dict[str, Any]] = __import__("yaml").safe_load(
    (Path(__file__).parents[2] / "golden" / "sandbox" / "catalogue.yaml").read_text(encoding="utf-8"))
IDS = [c["label"] for c in ATTACKS]
STATUS = {"table_not_found": 404}
TABLES = {"people": ResolvedTable("s_people", ("姓名", "城市"), TableAccess(columns=("姓名", "城市")))}

# Text that must never show up in an answer unless the caller wrote it: catalogue content
# (settings, view definitions) and the internal view names.
LEAKS = ("allowed_paths", "read_parquet", "enable_external_access", "temp_directory", "CREATE VIEW")
ENGINE_NAME = re.compile(r"\bt_[0-9a-f]{16}\b")


def test_corpus_covers_every_kind_of_name():
    codes = {c["code"] for c in ATTACKS}
    assert {"sql_system_catalog", "sql_qualified_name", "sql_table_function_forbidden", "sql_file_access",
            "sql_function_forbidden", "sql_not_select", "table_not_found"} <= codes
    assert len(set(IDS)) == len(IDS) >= 60


@pytest.mark.parametrize("case", ATTACKS, ids=IDS)
def test_sandbox_refuses_with_a_message_naming_the_part(case: dict[str, Any]):
    with pytest.raises(ShudataError) as info:
        compile_sandboxed(case["sql"].replace("{t}", "people"), TABLES, max_rows=10)
    err = info.value
    assert (err.code, err.status) == (case["code"], STATUS.get(case["code"], 422))
    assert err.zh and err.en and err.zh != err.en
    named = err.details.get("table") or err.details.get("function") or err.details.get("statement")
    if case["code"] in ("sql_system_catalog", "sql_qualified_name", "table_not_found"):
        assert named and named in err.zh and named in err.en


@pytest.fixture(scope="module")
def connection(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("cat") / "p.parquet"
    pq.write_table(pa.table({"姓名": ["张三"], "城市": ["成都"]}), path)
    con = DuckDBEngine(threads=1, memory_limit="256MB").connect({"t_0a1b": TableSource("t_0a1b", [path])})
    yield con
    con.close()


@pytest.mark.parametrize("case", ATTACKS, ids=IDS)
def test_engine_check_refuses_the_raw_attack_too(case: dict[str, Any], connection: Any):
    """The second, independent line: DuckDB's parse of the unsandboxed SQL is refused."""
    with pytest.raises(PermissionDenied):
        verify_sql(connection, case["sql"].replace("{t}", "t_0a1b"), {"t_0a1b": None})


@pytest.mark.parametrize("sql", [
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT sum(n) FROM r",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM (SELECT * FROM r) s WHERE n < 3) SELECT * FROM r",
    "WITH pg_settings AS (SELECT * FROM people) SELECT count(*) FROM pg_settings",  # the caller's own CTE
    "WITH a AS (SELECT * FROM people), b AS (SELECT * FROM a) SELECT * FROM b",
    "WITH c AS (SELECT 城市 FROM people) SELECT * FROM c UNION ALL SELECT * FROM c",
    "SELECT * FROM people WHERE 城市 IN (WITH q AS (SELECT '成都' AS x) SELECT x FROM q)",
])
def test_legitimate_ctes_still_run(sql: str, connection: Any, tmp_path: Path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"姓名": ["张三"], "城市": ["成都"]}), path)
    out = DuckDBEngine(threads=1, memory_limit="256MB").query(
        compile_sandboxed(sql, TABLES, max_rows=10), {"s_people": TableSource("s_people", [path])})
    assert out.num_rows >= 1


def leaks(answer: str, sql: str, data_dir: Path) -> list[str]:
    """What the answer shows that the caller did not write: catalogue text, lake paths."""
    found = [x for x in (*LEAKS, str(data_dir)) if x in answer and x not in sql]
    return found + ENGINE_NAME.findall(answer)


def test_every_attack_refused_through_the_query_api(client, world, token_for, settings):
    headers = token_for("a_user")
    failures = []
    for case in ATTACKS:
        sql = case["sql"].replace("{t}", "people")
        r = client.post("/api/v1/query", json={"sql": sql}, headers=headers)
        code = r.json().get("error", {}).get("code")
        if (r.status_code, code) != (STATUS.get(case["code"], 422), case["code"]):
            failures.append(f"{case['label']}: {r.status_code} {code}")
        elif leaks(r.text, sql, settings.data_dir):
            failures.append(f"{case['label']}: answer leaks {r.text[:200]}")
    assert not failures, "\n".join(failures)
