"""DuckDB engine: an in-memory database per table set, locked down before user SQL runs.

Each query's tables become views over exactly their Parquet files; ``allowed_paths``
lists only those files (and the output file for copies), then external access is
switched off and the configuration locked, so the SQL cannot read, write or load
anything else even if it got past the sandbox.

Opening a DuckDB database costs about 25 ms of CPU with the GIL held — more than the
typical query of a page — so a locked-down database is kept for each set of tables (the
same files, columns, functions and settings: versions never change) and every query runs
on a new connection of it, inside a transaction that is rolled back at the end. The
sandbox lets only SELECT through (checked by sqlglot and again by DuckDB's own parser);
should anything else ever get past both, the rollback still leaves the shared database as
it was. Copies to a file (``extra_paths``) always get a database of their own.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

from shudata.core.errors import (
    BadRequest,
    Conflict,
    InvalidInput,
    PermissionDenied,
    QueryTimeout,
    ShudataError,
    Unavailable,
)
from shudata.query.engines import deadlines
from shudata.query.engines.base import Cancel, Limits, ScalarUdf, TableSource
from shudata.query.engines.verify import verify_sql

T = TypeVar("T")

# Settings applied to every connection before the configuration is locked.
LOCKDOWN = (
    "SET python_enable_replacements=false",  # no scans of Python variables by name
    "SET python_scan_all_frames=false",
    "SET allow_community_extensions=false",
    "SET enable_external_access=false",  # no files but allowed_paths, no URLs, no ATTACH
)


def translate_error(exc: BaseException, limits: Limits) -> ShudataError:
    """A DuckDB error as a 4xx :class:`ShudataError` (timeouts 408, access 403, others 422).

    >>> translate_error(duckdb.InterruptException("x"), Limits(timeout_s=2)).status
    408
    >>> translate_error(duckdb.BinderException('Referenced column "a" not found'), Limits()).code
    'sql_invalid'
    """
    details = {"action": "query.run", "resource_type": "query", "engine": "duckdb"}
    message = redact_values(str(exc).split("\nLINE ")[0].strip())
    if isinstance(exc, duckdb.InterruptException) and _closing.is_set():
        return Unavailable("服务正在停止，查询已中止；请稍后重试", "The server is shutting down; the query was stopped",
                           details=details, code="shutting_down")
    if isinstance(exc, duckdb.InterruptException) and limits.cancel is not None and limits.cancel.cancelled:
        return cancelled(details)
    if isinstance(exc, duckdb.InterruptException):
        return QueryTimeout(f"查询超过时间上限 {limits.timeout_s:g} 秒，已中止；请缩小范围或增加筛选条件",
                            f"Query exceeded the {limits.timeout_s:g} s time limit and was stopped",
                            details=details, code="query_timeout")
    if isinstance(exc, duckdb.PermissionException):
        return PermissionDenied(f"查询试图访问沙箱之外的文件或设置：{message}",
                                f"The query tried to reach files or settings outside the sandbox: {message}",
                                code="sql_external_access", details=details)
    if isinstance(exc, duckdb.OutOfMemoryException):
        return BadRequest("查询所需内存超过上限；请缩小范围、增加筛选条件或先聚合",
                          "The query needs more memory than allowed; narrow it, filter or aggregate first",
                          code="query_memory_exceeded", details=details)
    return InvalidInput(f"查询无法执行：{message}", f"The query cannot run: {message}", code="sql_invalid",
                        details=details)


# DuckDB errors that quote the value they failed on: a stored value, possibly personal data the
# refusal's readers (the audit trail's auditors) may not read raw.
_VALUE_ERRORS = ("Conversion Error", "Invalid Input Error", "Out of Range Error")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
_OPERANDS = re.compile(r"\(([-\d.e+]+) ([-+*/%]) ([-\d.e+]+)\)")


def redact_values(message: str) -> str:
    """``message`` without the data values DuckDB quotes in conversion, input and range errors
    (the column and types stay, so the message still says what to fix).

    >>> redact_values("Conversion Error: Could not convert string '王小明' to INT32 when casting from column 姓名")
    'Conversion Error: Could not convert string ‘…’ to INT32 when casting from column 姓名'
    >>> redact_values('Conversion Error: date field value out of range: "110101199003077777"')
    'Conversion Error: date field value out of range: ‘…’'
    >>> redact_values("Out of Range Error: Overflow in addition of INT64 (9223372036854775807 + 1)!")
    'Out of Range Error: Overflow in addition of INT64 (… + …)!'
    >>> redact_values('Binder Error: Referenced column "a" not found')
    'Binder Error: Referenced column "a" not found'
    """
    if not message.startswith(_VALUE_ERRORS):
        return message
    return _OPERANDS.sub(r"(… \2 …)", _QUOTED.sub("‘…’", message))


def cancelled(details: dict[str, str] | None = None) -> Conflict:
    """The caller stopped its own statement (409)."""
    return Conflict("查询已按您的要求取消，服务器上的执行已停止", "The query was cancelled at your request; it no "
                    "longer runs on the server", code="query_cancelled",
                    details=details or {"action": "query.run", "resource_type": "query"})


# Locked-down databases kept for reuse, least recently used first (see the module's docstring).
DATABASES_KEPT = 16
# A database keeps about 4 KB of native memory for every distinct statement text it has run,
# until it is closed (every page offset and filter value is a new text): a kept database is
# therefore replaced by a fresh one after this many connections (opening one costs ~25 ms).
DATABASE_USES = 1000
_DATABASES: OrderedDict[tuple[object, ...], duckdb.DuckDBPyConnection] = OrderedDict()
_USES: dict[tuple[object, ...], int] = {}
_DATABASES_LOCK = threading.Lock()


def forget_databases() -> None:
    """Drop the kept databases (tests and benchmarks that measure a cold start)."""
    with _DATABASES_LOCK:
        _DATABASES.clear()
        _USES.clear()


_running: set[Callable[[], None]] = set()
_running_lock = threading.Lock()
_closing = threading.Event()


def interrupt_all() -> int:
    """Stop every statement this process is running, and refuse new ones (503): the server is
    shutting down. Returns how many statements were interrupted."""
    _closing.set()
    with _running_lock:
        stops = list(_running)
    for stop in stops:
        stop()
    return len(stops)


def reopen() -> None:
    """Accept statements again after :func:`interrupt_all` (a new server in the same process: tests)."""
    _closing.clear()


@functools.lru_cache(maxsize=8192)
def _resolved(path: str) -> str:
    """``path`` made absolute, symbolic links resolved: a version's files never move, and
    resolving them on every query (one ``lstat`` per folder of the path) showed in profiles."""
    return str(Path(path).resolve())


# Types whose values DuckDB's Arrow export does not keep: UHUGEINT goes out as a signed
# decimal128(38, 0) (values from 2**127 on wrap round: 2**128 - 1 arrives as -1), BIGNUM
# (VARINT) as DuckDB's internal bytes. Such columns, and nested ones holding them, are sent as text.
_NOT_KEPT_BY_ARROW = re.compile(r"\b(UHUGEINT|BIGNUM|VARINT)\b", re.IGNORECASE)


def exact_relation(rel: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """``rel`` with every column whose values Arrow would not carry exactly cast to text.

    >>> con = duckdb.connect()
    >>> t = exact_relation(con.sql("SELECT 340282366920938463463374607431768211455::UHUGEINT AS u, 1 AS u"
    ...                            )).to_arrow_table()
    >>> t.column_names, [c.to_pylist() for c in t.columns]
    (['u', 'u'], [['340282366920938463463374607431768211455'], [1]])
    >>> rel = con.sql("SELECT 1 AS n")
    >>> exact_relation(rel) is rel
    True
    """
    types = [str(t) for t in rel.types]
    if not any(_NOT_KEPT_BY_ARROW.search(t) for t in types):
        return rel
    return rel.project(", ".join(
        (f"CAST(#{i} AS VARCHAR)" if _NOT_KEPT_BY_ARROW.search(t) else f"#{i}") + f" AS {_quote_ident(name)}"
        for i, (name, t) in enumerate(zip(rel.columns, types, strict=True), start=1)))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, timeout_s: float, cancel: Cancel | None = None) -> Iterator[None]:
    """Interrupt ``con`` after ``timeout_s`` (or when ``cancel`` is cancelled) unless the block
    has finished by then.

    The lock makes sure a late timer never interrupts the connection's next statement. While
    the server shuts down (:func:`interrupt_all`) no statement starts and running ones stop.
    """
    if _closing.is_set():
        raise Unavailable("服务正在停止，查询未执行；请稍后重试", "The server is shutting down; the query did not run",
                          code="shutting_down")
    if cancel is not None and cancel.cancelled:
        raise cancelled()
    lock = threading.Lock()
    running = [True]

    def stop() -> None:
        with lock:
            if running[0]:
                con.interrupt()

    timer = deadlines.call_later(timeout_s, stop)  # one thread keeps every statement's limit
    with _running_lock:
        _running.add(stop)
    unbind = cancel.bind(stop) if cancel is not None else None
    try:
        yield
    finally:
        if unbind is not None:
            unbind()
        with _running_lock:
            _running.discard(stop)
        with lock:
            running[0] = False
        deadlines.cancel(timer)


class DuckDBSession:
    """Statements on one connection of :meth:`DuckDBEngine.session`."""

    def __init__(self, engine: DuckDBEngine, con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableSource],
                 limits: Limits) -> None:
        self.engine, self.con, self.tables, self.limits = engine, con, tables, limits

    def query(self, sql: str, max_rows: int | None = None) -> pa.Table:
        def run() -> pa.Table:
            self.engine._verify(self.con, sql, self.tables)
            rel = exact_relation(self.con.sql(sql))
            return (rel.limit(max_rows) if max_rows is not None else rel).to_arrow_table()

        return self.engine._run(self.con, run, self.limits)


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, *, threads: int = 2, memory_limit: str = "2GB", temp_dir: Path | None = None,
                 udfs: tuple[ScalarUdf, ...] = (), verify: bool = True) -> None:
        self.threads = threads
        self.memory_limit = memory_limit
        self.temp_dir = temp_dir
        self.udfs = udfs
        self.verify = verify  # check DuckDB's own parse of each statement before running it

    def with_udfs(self, udfs: tuple[ScalarUdf, ...]) -> DuckDBEngine:
        """The same engine with extra vectorised functions registered on every connection."""
        return DuckDBEngine(threads=self.threads, memory_limit=self.memory_limit, temp_dir=self.temp_dir,
                            udfs=self.udfs + tuple(udfs), verify=self.verify)

    def connect(self, tables: Mapping[str, TableSource], extra_paths: tuple[Path, ...] = ()
                ) -> duckdb.DuckDBPyConnection:
        """A connection with one view per table and external access locked down, in a
        transaction that closing the connection rolls back (see the module's docstring)."""
        if extra_paths:
            return self.open_database(tables, extra_paths)
        key = self._database_key(tables)
        with _DATABASES_LOCK:
            base = _DATABASES.get(key)
            if base is not None:
                _DATABASES.move_to_end(key)
                _USES[key] = _USES.get(key, 0) + 1
                if _USES[key] >= DATABASE_USES:  # this connection is its last: the next one opens anew
                    del _DATABASES[key], _USES[key]
        if base is None:
            base = self.open_database(tables)
            with _DATABASES_LOCK:
                _DATABASES[key] = base
                _USES[key] = 1
                while len(_DATABASES) > DATABASES_KEPT:
                    # Not closed here: a query may still run on a connection of it; the
                    # database goes when its last connection is closed.
                    _USES.pop(_DATABASES.popitem(last=False)[0], None)
        con = base.cursor()
        con.begin()
        return con

    def _database_key(self, tables: Mapping[str, TableSource]) -> tuple[object, ...]:
        views = tuple(sorted((name, tuple(_resolved(str(f)) for f in src.files),
                              tuple(src.columns) if src.columns is not None else None)
                             for name, src in tables.items()))
        # A kept database holds its functions, so their ids stay unique while it is kept.
        udfs = tuple((u.name, id(u.fn), tuple(u.arg_types), u.return_type) for u in self.udfs)
        return (self.threads, self.memory_limit, str(self.temp_dir), views, udfs)

    def open_database(self, tables: Mapping[str, TableSource], extra_paths: tuple[Path, ...] = ()
                      ) -> duckdb.DuckDBPyConnection:
        """A new in-memory database with one view per table and external access locked down."""
        con = duckdb.connect(":memory:", config={"threads": self.threads, "memory_limit": self.memory_limit,
                                                 "autoinstall_known_extensions": False,
                                                 "autoload_known_extensions": False})
        paths = [str(Path(f).resolve()) for src in tables.values() for f in src.files]
        paths += [str(Path(p).resolve()) for p in extra_paths]
        if self.temp_dir is not None:
            con.execute(f"SET temp_directory={_quote_str(str(self.temp_dir))}")
        con.execute("SET allowed_paths=[" + ",".join(_quote_str(p) for p in paths) + "]")
        for statement in LOCKDOWN:
            con.execute(statement)
        for udf in self.udfs:
            con.create_function(udf.name, udf.fn, [duckdb.sqltype(t) for t in udf.arg_types],
                                duckdb.sqltype(udf.return_type), type="arrow", side_effects=False,
                                null_handling="special")  # type: ignore[call-overload]
        for name, src in tables.items():
            files = "[" + ",".join(_quote_str(str(Path(f).resolve())) for f in src.files) + "]"
            cols = ", ".join(_quote_ident(c) for c in src.columns) if src.columns is not None else "*"
            if not src.files:
                raise BadRequest(f"数据表 {name} 尚无数据版本", f"Table {name} has no data version yet",
                                 code="no_data_version")
            con.execute(f"CREATE VIEW {_quote_ident(name)} AS SELECT {cols} FROM read_parquet({files})")
        con.execute("SET lock_configuration=true")
        return con

    def _verify(self, con: duckdb.DuckDBPyConnection, sql: str, tables: Mapping[str, TableSource]) -> None:
        if self.verify:
            verify_sql(con, sql, tables)

    def _run(self, con: duckdb.DuckDBPyConnection, fn: Callable[[], T], limits: Limits) -> T:
        """Run ``fn`` with the statement time limit; DuckDB errors become 4xx errors."""
        with _deadline(con, limits.timeout_s, limits.cancel):
            try:
                return fn()
            except duckdb.Error as exc:
                raise translate_error(exc, limits) from exc

    @contextmanager
    def session(self, tables: Mapping[str, TableSource], limits: Limits = Limits()) -> Iterator[DuckDBSession]:
        """One locked-down connection for several statements (e.g. a page and its count)."""
        con = self.connect(tables)
        try:
            yield DuckDBSession(self, con, tables, limits)
        finally:
            con.close()

    def query(self, sql: str, tables: Mapping[str, TableSource], limits: Limits = Limits()) -> pa.Table:
        con = self.connect(tables)
        try:
            def run() -> pa.Table:
                self._verify(con, sql, tables)
                rel = exact_relation(con.sql(sql))
                if limits.max_rows is not None:
                    rel = rel.limit(limits.max_rows)
                return rel.to_arrow_table()

            return self._run(con, run, limits)
        finally:
            con.close()

    def stream(self, sql: str, tables: Mapping[str, TableSource], limits: Limits = Limits(),
               batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Yield Arrow batches; the time limit covers the whole iteration."""
        con = self.connect(tables)
        try:
            with _deadline(con, limits.timeout_s, limits.cancel):
                self._verify(con, sql, tables)
                rel = exact_relation(con.sql(sql))
                if limits.max_rows is not None:
                    rel = rel.limit(limits.max_rows)
                yield from rel.to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise translate_error(exc, limits) from exc
        finally:
            con.close()

    def copy_to_parquet(self, sql: str, tables: Mapping[str, TableSource], dest: Path,
                        limits: Limits = Limits()) -> int:
        dest = Path(dest).resolve()
        con = self.connect(tables, extra_paths=(dest,))
        try:
            def run() -> int:
                self._verify(con, sql, tables)
                res = con.execute(f"COPY ({sql}) TO {_quote_str(str(dest))} "
                                  "(FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)")
                rows = res.fetchall()
                return int(rows[0][0]) if rows else 0

            return self._run(con, run, limits)
        finally:
            con.close()
