"""DuckDB engine: a fresh in-memory connection per query, locked down before user SQL runs.

Each query's tables become views over exactly their Parquet files; ``allowed_paths``
lists only those files (and the output file for copies), then external access is
switched off and the configuration locked, so the SQL cannot read, write or load
anything else even if it got past the sandbox.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb
import pyarrow as pa

from shudata.core.errors import BadRequest, QueryTimeout
from shudata.query.engines.base import Limits, ScalarUdf, TableSource


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, *, threads: int = 2, memory_limit: str = "2GB", temp_dir: Path | None = None,
                 udfs: tuple[ScalarUdf, ...] = ()) -> None:
        self.threads = threads
        self.memory_limit = memory_limit
        self.temp_dir = temp_dir
        self.udfs = udfs

    def with_udfs(self, udfs: tuple[ScalarUdf, ...]) -> DuckDBEngine:
        """The same engine with extra vectorised functions registered on every connection."""
        return DuckDBEngine(threads=self.threads, memory_limit=self.memory_limit, temp_dir=self.temp_dir,
                            udfs=self.udfs + tuple(udfs))

    def connect(self, tables: Mapping[str, TableSource], extra_paths: tuple[Path, ...] = ()
                ) -> duckdb.DuckDBPyConnection:
        """A connection with one view per table and external access locked down."""
        con = duckdb.connect(":memory:", config={"threads": self.threads, "memory_limit": self.memory_limit,
                                                 "autoinstall_known_extensions": False,
                                                 "autoload_known_extensions": False})
        paths = [str(Path(f).resolve()) for src in tables.values() for f in src.files]
        paths += [str(Path(p).resolve()) for p in extra_paths]
        if self.temp_dir is not None:
            con.execute(f"SET temp_directory={_quote_str(str(self.temp_dir))}")
        con.execute("SET allowed_paths=[" + ",".join(_quote_str(p) for p in paths) + "]")
        con.execute("SET enable_external_access=false")
        for udf in self.udfs:
            con.create_function(udf.name, udf.fn, [duckdb.sqltype(t) for t in udf.arg_types],
                                duckdb.sqltype(udf.return_type), type="arrow", side_effects=False,
                                null_handling="special")
        for name, src in tables.items():
            files = "[" + ",".join(_quote_str(str(Path(f).resolve())) for f in src.files) + "]"
            cols = ", ".join(_quote_ident(c) for c in src.columns) if src.columns is not None else "*"
            if not src.files:
                raise BadRequest(f"数据表 {name} 尚无数据版本", f"Table {name} has no data version yet")
            con.execute(f"CREATE VIEW {_quote_ident(name)} AS SELECT {cols} FROM read_parquet({files})")
        con.execute("SET lock_configuration=true")
        return con

    def _run(self, con: duckdb.DuckDBPyConnection, fn: object, limits: Limits) -> object:
        timer = threading.Timer(limits.timeout_s, con.interrupt)
        timer.start()
        try:
            return fn()  # type: ignore[operator]
        except duckdb.InterruptException as exc:
            raise QueryTimeout(f"查询超过时间上限 {limits.timeout_s:g} 秒，已中止；请缩小范围或增加筛选条件",
                               f"Query exceeded the {limits.timeout_s:g} s time limit and was stopped") from exc
        finally:
            timer.cancel()

    def query(self, sql: str, tables: Mapping[str, TableSource], limits: Limits = Limits()) -> pa.Table:
        con = self.connect(tables)
        try:
            def run() -> pa.Table:
                rel = con.sql(sql)
                if limits.max_rows is not None:
                    rel = rel.limit(limits.max_rows)
                return rel.to_arrow_table()

            return self._run(con, run, limits)  # type: ignore[return-value]
        finally:
            con.close()

    def stream(self, sql: str, tables: Mapping[str, TableSource], limits: Limits = Limits(),
               batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        con = self.connect(tables)
        try:
            reader = self._run(con, lambda: con.sql(sql).to_arrow_reader(batch_rows), limits)
            yield from reader  # type: ignore[attr-defined]
        finally:
            con.close()

    def copy_to_parquet(self, sql: str, tables: Mapping[str, TableSource], dest: Path,
                        limits: Limits = Limits()) -> int:
        dest = Path(dest).resolve()
        con = self.connect(tables, extra_paths=(dest,))
        try:
            def run() -> int:
                res = con.execute(f"COPY ({sql}) TO {_quote_str(str(dest))} (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)")
                rows = res.fetchall()
                return int(rows[0][0]) if rows else 0

            return self._run(con, run, limits)  # type: ignore[return-value]
        finally:
            con.close()
