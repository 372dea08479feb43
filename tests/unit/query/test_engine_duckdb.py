"""The DuckDB engine on plain Parquet files: views bound to exactly those files, external
access off, configuration locked, time limit, errors as 4xx."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.core.errors import InvalidInput, PermissionDenied, QueryTimeout
from shudata.query.engines import duckdb as duckdb_engine
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.duckdb import DuckDBEngine, forget_databases

RAW = DuckDBEngine(threads=1, memory_limit="256MB", verify=False)  # the lockdown alone, no parse check


def test_view_reads_exactly_its_files_with_chinese_columns(engine: DuckDBEngine, parquet_tables):
    out = engine.query('SELECT "城市", count(*) AS n FROM src_people GROUP BY 1 ORDER BY 1', parquet_tables)
    assert out.to_pylist() == [{"城市": "德阳", "n": 1}, {"城市": "成都", "n": 2}, {"城市": "绵阳", "n": 1}]


@pytest.mark.parametrize(("sql", "error"), [
    ("SELECT * FROM read_csv('/etc/passwd')", PermissionDenied),  # file outside allowed_paths
    ("SELECT * FROM '/etc/hostname'", InvalidInput),  # replacement scans of paths are off
    ("SELECT content FROM read_text('/etc/passwd')", PermissionDenied),  # whole-file read
    ("SELECT * FROM glob('/*')", PermissionDenied),  # directory listing
])
def test_external_access_is_off_even_without_the_sandbox(parquet_tables, sql: str, error: type[Exception]):
    with pytest.raises(error):
        RAW.query(sql, parquet_tables)


@pytest.mark.parametrize("sql", [
    "SET enable_external_access=true",  # configuration is locked
    "SET allowed_paths=['/']",
])
def test_configuration_is_locked(parquet_tables, sql: str):
    with pytest.raises(InvalidInput) as info:
        RAW.query(sql, parquet_tables)
    assert "lock" in info.value.en.lower()


def test_python_variables_are_not_scanned_by_name(parquet_tables):
    leaked_variable = pa.table({"secret": [1]})  # a replacement scan would find this frame-local table
    assert leaked_variable.num_rows == 1
    with pytest.raises(InvalidInput):
        RAW.query("SELECT * FROM leaked_variable", parquet_tables)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",  # table function
    "SELECT * FROM t_guessed_raw_view",  # a table that is not one of the query's views
    "SELECT * FROM main.src_people",  # schema-qualified
    "SELECT 1 WHERE 'x' IN (SELECT view_name FROM duckdb_views())",  # metadata in a subquery
    "SELECT 'HOME'.getenv()",  # denied function as a method call
    "SELECT current_setting('allowed_paths')",
    "PRAGMA version",  # not a SELECT
    "SET threads = 1",
    "SELECT 1; SELECT 2",  # two statements
])
def test_engine_checks_duckdbs_own_parse_before_running(engine: DuckDBEngine, parquet_tables, sql: str):
    with pytest.raises(PermissionDenied) as info:
        engine.query(sql, parquet_tables)
    assert info.value.code == "sql_engine_refused"


@pytest.mark.parametrize("sql", [
    "WITH a AS (SELECT * FROM src_people) SELECT count(*) FROM a",  # CTE names are fine
    "SELECT * FROM range(3) r, unnest([1, 2]) u(x), generate_series(1, 2) g",  # row sources
    'SELECT upper("姓名"), md5("身份证号") FROM SRC_PEOPLE',  # names are case-insensitive
])
def test_engine_check_lets_ordinary_queries_through(engine: DuckDBEngine, parquet_tables, sql: str):
    assert engine.query(sql, parquet_tables).num_rows > 0


def test_statement_time_limit_interrupts(engine: DuckDBEngine, parquet_tables):
    with pytest.raises(QueryTimeout) as info:
        engine.query("SELECT count(*) FROM range(10000000000) a, range(1000) b", parquet_tables,
                     Limits(timeout_s=0.5))
    assert info.value.status == 408


def test_row_cap_applies_to_query_and_stream(engine: DuckDBEngine, parquet_tables):
    limits = Limits(timeout_s=5, max_rows=7)
    assert engine.query("SELECT * FROM range(100)", parquet_tables, limits).num_rows == 7
    batches = list(engine.stream("SELECT * FROM range(100)", parquet_tables, limits, batch_rows=3))
    assert sum(b.num_rows for b in batches) == 7


def test_stream_time_limit_covers_iteration(engine: DuckDBEngine, parquet_tables):
    with pytest.raises(QueryTimeout):
        for _ in engine.stream("SELECT sum(a.range * b.range) FROM range(10000000000) a, range(100) b",
                               parquet_tables, Limits(timeout_s=0.5)):
            pass


def test_copy_to_parquet_writes_only_the_destination(engine: DuckDBEngine, parquet_tables, tmp_path: Path):
    dest = tmp_path / "out.parquet"
    n = engine.copy_to_parquet('SELECT "姓名" FROM src_people WHERE "年龄" > 30', parquet_tables, dest)
    assert n == 3 and pq.read_table(dest).column_names == ["姓名"]


def test_unknown_column_is_a_clear_422(engine: DuckDBEngine, parquet_tables):
    with pytest.raises(InvalidInput) as info:
        engine.query("SELECT nope FROM src_people", parquet_tables)
    assert info.value.status == 422 and "nope" in info.value.zh


def test_session_runs_several_checked_statements_on_one_connection(engine: DuckDBEngine, parquet_tables):
    with engine.session(parquet_tables, Limits(timeout_s=0.5)) as run:
        assert run.query('SELECT "姓名" FROM src_people ORDER BY "年龄"', max_rows=2).num_rows == 2
        assert run.query("SELECT count(*) AS n FROM src_orders").to_pylist() == [{"n": 3}]
        with pytest.raises(PermissionDenied):
            run.query("SELECT * FROM duckdb_views()")
        with pytest.raises(QueryTimeout):
            run.query("SELECT count(*) FROM range(10000000000) a, range(1000) b")


def test_dynamic_pivot_is_refused_with_a_hint_and_static_pivot_runs(engine: DuckDBEngine, parquet_tables):
    with pytest.raises(PermissionDenied) as info:
        engine.query('SELECT * FROM (PIVOT src_people ON "城市" USING count(*))', parquet_tables)
    assert "IN" in info.value.zh
    static = "SELECT * FROM (PIVOT src_people ON \"城市\" IN ('成都', '绵阳') USING count(*))"
    out = engine.query(static, parquet_tables)
    assert {"成都", "绵阳"} <= set(out.column_names)


# -- kept databases: one per table set, nothing carried from one query to the next -------------

def test_a_table_set_reuses_its_locked_down_database(engine: DuckDBEngine, parquet_tables, monkeypatch):
    forget_databases()
    opened: list[object] = []
    real = DuckDBEngine.open_database

    def counting(self: DuckDBEngine, *args: object, **kwargs: object) -> object:
        opened.append(args)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DuckDBEngine, "open_database", counting)
    for _ in range(3):
        assert engine.query("SELECT count(*) AS n FROM src_people", parquet_tables).column(0)[0].as_py() == 4
    assert len(opened) == 1
    only_people = {"src_people": parquet_tables["src_people"]}  # another table set: its own database
    engine.query("SELECT count(*) FROM src_people", only_people)
    assert len(opened) == 2
    with pytest.raises(InvalidInput):  # the smaller set's database has no view of the other table
        RAW.query("SELECT count(*) FROM src_orders", only_people)


def test_whatever_a_connection_changes_is_rolled_back_for_the_next(parquet_tables):
    """Should a statement other than SELECT ever get past the sandbox and DuckDB's own parse
    check, the shared database still holds nothing of it for the next caller."""
    forget_databases()
    con = RAW.connect(parquet_tables)
    con.execute("CREATE TABLE planted AS SELECT 'x' AS v")
    con.execute("CREATE OR REPLACE VIEW src_people AS SELECT 'forged' AS 姓名")
    assert con.sql("SELECT count(*) FROM planted").fetchall() == [(1,)]
    con.close()
    with pytest.raises(InvalidInput):
        RAW.query("SELECT * FROM planted", parquet_tables)
    names = RAW.query('SELECT "姓名" FROM src_people', parquet_tables).column(0).to_pylist()
    assert "forged" not in names and len(names) == 4


def test_columns_of_a_table_are_part_of_its_database(engine: DuckDBEngine, parquet_tables):
    forget_databases()
    src = parquet_tables["src_people"]
    narrow = {"src_people": TableSource("src_people", src.files, columns=["城市"])}
    assert engine.query("SELECT * FROM src_people", parquet_tables).num_columns > 1
    assert engine.query("SELECT * FROM src_people", narrow).column_names == ["城市"]


def test_a_kept_database_is_replaced_after_its_uses(engine: DuckDBEngine, parquet_tables, monkeypatch):
    """A database keeps native memory for every distinct statement it ran until it is closed,
    so a kept one serves DATABASE_USES connections and then a fresh one takes over."""
    forget_databases()
    monkeypatch.setattr(duckdb_engine, "DATABASE_USES", 3)
    opened: list[object] = []
    real = DuckDBEngine.open_database

    def counting(self: DuckDBEngine, *args: object, **kwargs: object) -> object:
        opened.append(args)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DuckDBEngine, "open_database", counting)
    for offset in range(7):
        out = engine.query(f"SELECT \"姓名\" FROM src_people ORDER BY 1 LIMIT 1 OFFSET {offset % 4}", parquet_tables)
        assert out.num_rows == 1
    assert len(opened) == 3  # uses 1-3 on the first, 4-6 on the second, 7 on the third
