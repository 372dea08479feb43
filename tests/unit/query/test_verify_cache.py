"""DuckDB's own check of the SQL remembers statements that passed, never a refusal, and
only for the same views."""

from __future__ import annotations

import duckdb
import pytest

from shudata.core.errors import PermissionDenied
from shudata.query.engines import verify


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(":memory:")
    c.execute("CREATE TABLE t_1 AS SELECT 1 AS a")
    c.execute("CREATE TABLE t_2 AS SELECT 2 AS a")
    return c


def test_a_passed_statement_is_not_parsed_again(con: duckdb.DuckDBPyConnection,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = verify._verify
    monkeypatch.setattr(verify, "_verify", lambda c, sql, views: (calls.append(sql), real(c, sql, views))[1])
    sql = "SELECT a FROM t_1 WHERE a = 17041"
    verify.verify_sql(con, sql, {"t_1": None})
    verify.verify_sql(con, sql, {"T_1": None})  # the same views, as DuckDB folds them
    assert calls == [sql]


def test_the_same_text_with_other_views_is_checked_again_and_refused(con: duckdb.DuckDBPyConnection) -> None:
    sql = "SELECT a FROM t_1 WHERE a = 17042"
    verify.verify_sql(con, sql, {"t_1": None})
    with pytest.raises(PermissionDenied):
        verify.verify_sql(con, sql, {"t_2": None})  # t_1 is not one of this query's views


def test_a_refusal_is_never_remembered_as_a_pass(con: duckdb.DuckDBPyConnection) -> None:
    sql = "SELECT * FROM duckdb_settings()"
    for _ in range(2):
        with pytest.raises(PermissionDenied):
            verify.verify_sql(con, sql, {"t_1": None})


def test_the_memory_is_bounded(con: duckdb.DuckDBPyConnection) -> None:
    for i in range(verify.PASSED_KEPT + 50):
        verify.verify_sql(con, f"SELECT a + {i} FROM t_1", {"t_1": None})
    assert len(verify._passed) == verify.PASSED_KEPT
    long_sql = "SELECT a FROM t_1 WHERE " + " OR ".join(f"a = {i}" for i in range(3000))
    verify.verify_sql(con, long_sql, {"t_1": None})
    assert (long_sql, frozenset({"t_1"})) not in verify._passed  # long texts are checked every time
