"""Spark engine: the same SQL work as DuckDB on Apache Spark (local, standalone cluster, Spark Connect).

Where it runs is the *master* (:func:`parse_master`):

* ``local[N]`` — Spark inside this process's JVM with N threads (tests, one big machine);
* ``spark://host:7077`` — a Spark standalone cluster (the master and worker processes that ship
  inside the pyspark package); ``yarn`` and ``k8s://https://…`` go to those resource managers;
* ``sc://host:15002`` — Spark Connect to a cluster the province already runs (gRPC; the cluster
  reads the lake itself).

One :class:`~pyspark.sql.SparkSession` per process, created lazily on the first statement and
stopped at exit (:func:`shared_session`, :func:`stop_session`). Each query gets a *child*
session of it (``newSession``; on Spark Connect a new server-side session) holding only its own
temporary views, one per table over exactly that version's Parquet files, so concurrent queries
never see each other's tables. ``spark.sql.runSQLOnFiles`` is off, so SQL cannot name a file.

Limits: each statement is tagged; a timer (or the caller's :class:`~.base.Cancel`) interrupts the
tag, which cancels its Spark jobs on the executors (408/409, as on DuckDB). ``max_rows`` becomes a
``LIMIT`` before anything reaches the driver. Vectorised functions (:class:`~.base.ScalarUdf`:
keyed pseudonyms, SM4, check digits) are registered as Arrow UDFs — a whole Arrow batch per call,
never a Python loop per row.

Copies (:meth:`SparkEngine.copy_to_parquet`) are written by the executors into a hidden directory
next to the target, then joined into the one target file by the platform (a rename when Spark
wrote one part): the lake root must therefore be a path both see (``file://`` on a shared
filesystem here; see docs/scale-out.md for HDFS and S3).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from shudata.core.errors import BadRequest, InvalidInput, QueryTimeout, ShudataError, Unavailable
from shudata.query.engines import duckdb as duck
from shudata.query.engines.base import Limits, ScalarUdf, TableSource

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

T = TypeVar("T")

# The engine-neutral type names of ScalarUdf → Spark DDL types.
SPARK_TYPES = {"VARCHAR": "string", "BIGINT": "bigint", "DOUBLE": "double", "DATE": "date", "BOOLEAN": "boolean",
               "INTEGER": "int"}

# Settings every session gets (an operator's ``spark_conf`` may add more, not weaken these).
BASE_CONF: dict[str, str] = {
    "spark.sql.runSQLOnFiles": "false",  # no parquet.`/path` in SQL: only the query's views
    "spark.sql.ansi.enabled": "true",  # overflow and bad casts are errors, as on DuckDB (never wrapped values)
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "static",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.legacy.parquet.nanosAsLong": "false",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
}
FIXED_CONF = ("spark.sql.runSQLOnFiles", "spark.sql.ansi.enabled")

_LOCAL = re.compile(r"^local(\[(\d+|\*)(,\d+)?\])?$")
_STANDALONE = re.compile(r"^spark://[^/\s]+:\d+(,[^/\s]+:\d+)*$")
_CONNECT = re.compile(r"^sc://[^/\s]+(:\d+)?(/;[^\s]*)?$")


@dataclass(frozen=True)
class Master:
    """Where Spark runs: ``kind`` is local, standalone, yarn, kubernetes or connect."""

    kind: str
    url: str

    @property
    def connect(self) -> bool:
        return self.kind == "connect"


def parse_master(url: str) -> Master:
    """The master URL of the ``spark_master`` setting, checked.

    >>> parse_master("local[2]")
    Master(kind='local', url='local[2]')
    >>> parse_master("spark://10.0.0.5:7077").kind, parse_master("sc://spark.gov.cn:15002").kind
    ('standalone', 'connect')
    >>> parse_master("k8s://https://10.0.0.1:6443").kind, parse_master("yarn").kind
    ('kubernetes', 'yarn')
    >>> parse_master("http://x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    shudata.core.errors.InvalidInput: Spark 主节点地址无效：http://x；...
    """
    text = url.strip()
    if _LOCAL.match(text):
        return Master("local", text)
    if _STANDALONE.match(text):
        return Master("standalone", text)
    if _CONNECT.match(text):
        return Master("connect", text)
    if text == "yarn":
        return Master("yarn", text)
    if text.startswith("k8s://https://") or text.startswith("k8s://http://"):
        return Master("kubernetes", text)
    raise InvalidInput(f"Spark 主节点地址无效：{url}；应为 local[N]、spark://主机:端口、sc://主机:端口、"
                       "yarn 或 k8s://https://…",
                       f"Invalid Spark master URL {url!r}: expected local[N], spark://host:port, sc://host:port, "
                       "yarn or k8s://https://…", code="spark_master_invalid", details={"master": url})


def parse_conf(text: str | None) -> dict[str, str]:
    """``key=value`` pairs separated by ``;`` or new lines (the ``spark_conf`` setting).

    >>> parse_conf("spark.executor.memory=4g; spark.hadoop.fs.s3a.endpoint=http://minio:9000")
    {'spark.executor.memory': '4g', 'spark.hadoop.fs.s3a.endpoint': 'http://minio:9000'}
    >>> parse_conf("spark.sql.runSQLOnFiles=true")
    Traceback (most recent call last):
    ...
    shudata.core.errors.InvalidInput: Spark 配置项 spark.sql.runSQLOnFiles 由平台固定，不能修改
    """
    out: dict[str, str] = {}
    for part in re.split(r"[;\n]", text or ""):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key.startswith("spark."):
            raise InvalidInput(f"Spark 配置项无效：{part.strip()}；应写成 spark.键=值，多项以分号分隔",
                               f"Invalid Spark setting {part.strip()!r}: write spark.key=value, separated by ;",
                               code="spark_conf_invalid")
        if key in FIXED_CONF:
            raise InvalidInput(f"Spark 配置项 {key} 由平台固定，不能修改", f"The Spark setting {key} is fixed by the "
                               "platform", code="spark_conf_invalid")
        out[key] = value.strip()
    return out


@dataclass(frozen=True)
class SparkConfig:
    """How to reach Spark and how executors see the lake.

    ``path_map`` rewrites local path prefixes to the URI executors read (e.g. the platform's
    ``/data/shudata/lake`` → ``hdfs://nn:8020/shudata/lake``); unmapped paths are ``file://``.
    """

    master: str = "local[2]"
    conf: tuple[tuple[str, str], ...] = ()
    path_map: tuple[tuple[str, str], ...] = ()
    app_name: str = "shudata"

    def parsed(self) -> Master:
        return parse_master(self.master)

    def uri(self, path: Path | str) -> str:
        """The URI of a local path as the executors see it.

        >>> SparkConfig(path_map=(("/data/lake", "hdfs://nn:8020/lake"),)).uri("/data/lake/r1/v2/part-0.parquet")
        'hdfs://nn:8020/lake/r1/v2/part-0.parquet'
        >>> SparkConfig().uri("/tmp/x y.parquet")
        'file:///tmp/x y.parquet'
        """
        text = str(Path(path).resolve()) if not str(path).startswith(("file:", "hdfs:", "s3a:", "abfs")) \
            else str(path)
        for local, remote in self.path_map:
            prefix = str(Path(local).resolve())
            if text == prefix or text.startswith(prefix.rstrip("/") + "/"):
                return remote.rstrip("/") + text[len(prefix.rstrip("/")):]
        return "file://" + text if text.startswith("/") else text


# -- the one session of the process -------------------------------------------------------------

_lock = threading.Lock()
_session: SparkSession | None = None
_session_key: tuple[object, ...] | None = None
# pyspark marks the whole process as "Spark Connect" through environment variables when a Connect
# session is created (``SPARK_CONNECT_MODE_ENABLED``: ``is_remote()`` is then true everywhere and a
# classic builder refuses to start a SparkContext) and does not clear them when an ``sc://``
# session stops. Their values before the Connect session are kept here and put back when it stops,
# so a classic engine can follow a Connect one in the same process.
_CONNECT_ENV = ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE", "SPARK_LOCAL_REMOTE")
_env_before: dict[str, str | None] | None = None


def _restore_env(before: Mapping[str, str | None]) -> None:
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# The JVMs compile Spark's generated code even when a method is over HotSpot's 8,000-byte limit:
# a quality run's one query over ten rules generates such methods, which otherwise stay
# interpreted (measured: about a third less CPU for the citizens check).
JVM_OPTIONS = "-XX:-DontCompileHugeMethods"
# Executors run batch stages and are measured by throughput: the parallel (throughput) collector
# instead of JDK 17's default G1, whose concurrent threads and write barriers cost CPU that a
# worker's cores would otherwise give to tasks (the citizens job at 2M rows, executor CPU: 2
# single-core executors 58.2 -> 51.4 s, one 47.4 -> 43.1 s; GC threads 3.6-5.8 -> 1.7-2.1 s;
# longer pauses, less CPU and wall time in all: docs/scale-out.md).
# An operator's ``spark.executor.extraJavaOptions`` replaces it (e.g. G1 for very large heaps).
EXECUTOR_JVM_OPTIONS = f"{JVM_OPTIONS} -XX:+UseParallelGC"


def _builder_conf(config: SparkConfig) -> dict[str, str]:
    conf = dict(BASE_CONF)
    master = config.parsed()
    if master.kind == "local":
        conf["spark.sql.shuffle.partitions"] = "8"
    conf["spark.driver.extraJavaOptions"] = JVM_OPTIONS
    conf["spark.executor.extraJavaOptions"] = EXECUTOR_JVM_OPTIONS
    if not any(remote.startswith("hdfs:") for _, remote in config.path_map):
        # No block locality to exploit on a shared filesystem or object store: a task is never held
        # back waiting for a "local" executor (a precaution; no delay of this kind was measured here).
        conf["spark.locality.wait"] = "0s"
    conf.update(dict(config.conf))
    conf.update({k: BASE_CONF[k] for k in FIXED_CONF})
    return conf


def shared_session(config: SparkConfig) -> SparkSession:
    """The process's SparkSession for ``config``, created on first use.

    Asking for another master stops the old session first (one Spark context per process).
    """
    global _session, _session_key, _env_before
    key = (config.master, config.conf, config.app_name)
    with _lock:
        if _session is not None and _session_key == key:
            return _session
        if _session is not None:
            _stop_locked()
        master = config.parsed()
        # Python workers must be this interpreter (this virtualenv: pyarrow, shudata).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        # pyspark logs every SQL error with its JVM stack; the caller gets it as a 4xx instead.
        logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
        try:
            from pyspark.sql import SparkSession  # noqa: PLC0415 - loaded only when Spark is used
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise Unavailable("未安装 Spark 引擎（pip install 'shudata[spark]'）",
                              "The Spark engine is not installed (pip install 'shudata[spark]')",
                              code="engine_unavailable", retry_after=None) from exc
        builder: Any = SparkSession.builder.appName(config.app_name)
        before = {name: os.environ.get(name) for name in _CONNECT_ENV} if master.connect else None
        try:
            if master.connect:
                builder = builder.remote(master.url)
                session = builder.create()  # never a leftover default session of another server
            else:
                builder = builder.master(master.url)
                for k, v in _builder_conf(config).items():
                    builder = builder.config(k, v)
                session = builder.getOrCreate()
                session.sparkContext.setLogLevel("ERROR")
        except Exception as exc:
            if before is not None:
                _restore_env(before)
            raise Unavailable(f"无法连接 Spark（{master.url}）：{_first_line(exc)}",
                              f"Cannot reach Spark at {master.url}: {_first_line(exc)}",
                              code="engine_unavailable", details={"master": master.url}) from exc
        _session, _session_key, _env_before = session, key, before
        return session


def _stop_locked() -> None:
    global _session, _session_key, _env_before
    if _session is not None:
        try:
            _session.stop()
        finally:
            if _env_before is not None:
                _restore_env(_env_before)
            _session, _session_key, _env_before = None, None, None


def stop_session() -> None:
    """Stop the process's SparkSession (at exit; tests that change master)."""
    with _lock:
        _stop_locked()


def session_active() -> bool:
    return _session is not None


atexit.register(stop_session)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for raw in text.splitlines():
        line = raw.strip()
        if line:
            return line[:300]
    return type(exc).__name__


# -- errors -------------------------------------------------------------------------------------

_INVALID = ("AnalysisException", "ParseException", "ArithmeticException", "NumberFormatException",
            "SparkArithmeticException", "SparkNumberFormatException", "SparkDateTimeException",
            "IllegalArgumentException", "SparkRuntimeException", "SparkIllegalArgumentException",
            "DateTimeException", "PythonException")


# A runtime error of Spark quotes the value it failed on ('…' after "The value", a number that
# overflowed): a stored value, possibly personal data that the refusal's readers (the caller, the
# audit trail's auditors) may not read raw. Compile-time errors (AnalysisException, ParseException)
# quote the query's own text and names, not data, and keep everything.
_QUOTED_VALUE = re.compile(r"'(?:[^'\\]|\\.|'')*'")
_LONG_NUMBER = re.compile(r"(?<!SQLSTATE: )(?<![\w.`\"])[-+]?\d{4,}(?:\.\d+)?(?:[LSYD]|BD)?(?![\w`\"])")


def redact_values(message: str) -> str:
    r"""``message`` without the data values a Spark runtime error quotes (single-quoted values and
    numbers of four or more digits); types ("DATE"), columns (`姓名`) and short numbers stay.

    >>> redact_values("[CAST_INVALID_INPUT] The value '110101199003077777' of the type \"STRING\" "
    ...               "cannot be cast to \"DATE\" because it is malformed.")
    '[CAST_INVALID_INPUT] The value ‘…’ of the type "STRING" cannot be cast to "DATE" because it is malformed.'
    >>> redact_values("[CAST_OVERFLOW] The value 13800138000L of the type \"BIGINT\" cannot be cast to \"INT\"")
    '[CAST_OVERFLOW] The value … of the type "BIGINT" cannot be cast to "INT"'
    >>> redact_values("[NUMERIC_VALUE_OUT_OF_RANGE] 12345.67 cannot be represented as Decimal(5, 2).")
    '[NUMERIC_VALUE_OUT_OF_RANGE] … cannot be represented as Decimal(5, 2).'
    """
    return _LONG_NUMBER.sub("…", _QUOTED_VALUE.sub("‘…’", message))


def translate_error(exc: BaseException, limits: Limits, why: str | None = None) -> ShudataError:
    """A Spark error as a 4xx/503 :class:`ShudataError`, like DuckDB's (408 timeout, 409 cancelled).

    >>> translate_error(RuntimeError("boom"), Limits(timeout_s=3), why="timeout").status
    408
    >>> class AnalysisException(Exception): pass
    >>> translate_error(AnalysisException("[UNRESOLVED_COLUMN] x"), Limits()).code
    'sql_invalid'
    """
    details = {"action": "query.run", "resource_type": "query", "engine": "spark"}
    if why == "timeout":
        return QueryTimeout(f"查询超过时间上限 {limits.timeout_s:g} 秒，已中止；请缩小范围或增加筛选条件",
                            f"Query exceeded the {limits.timeout_s:g} s time limit and was stopped",
                            details=details, code="query_timeout")
    if why == "cancel":
        return duck.cancelled(details)
    names = {t.__name__ for t in type(exc).__mro__}
    message = _first_line(exc)
    if "AnalysisException" not in names:  # a runtime error: the data it failed on stays out
        message = redact_values(message)
    if names & set(_INVALID):
        return InvalidInput(f"查询无法执行：{message}", f"The query cannot run: {message}", code="sql_invalid",
                            details=details)
    return Unavailable(f"Spark 执行失败：{message}；请稍后重试或联系管理员", f"Spark failed: {message}",
                       code="engine_unavailable", details=details)


# -- the engine ---------------------------------------------------------------------------------

def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class SparkSessionRun:
    """Statements over the same tables in one child session (:meth:`SparkEngine.session`)."""

    def __init__(self, engine: SparkEngine, spark: SparkSession, limits: Limits) -> None:
        self.engine, self.spark, self.limits = engine, spark, limits

    def query(self, sql: str, max_rows: int | None = None) -> pa.Table:
        return self.engine._run(self.spark, lambda: self.engine._collect(self.spark, sql, max_rows), self.limits)


@dataclass
class SparkEngine:
    """The :class:`~.base.Engine` protocol on Spark."""

    config: SparkConfig = field(default_factory=SparkConfig)
    udfs: tuple[ScalarUdf, ...] = ()
    name: str = "spark"
    dialect: str = "spark"

    @property
    def master(self) -> str:
        return self.config.master

    def with_udfs(self, udfs: tuple[ScalarUdf, ...]) -> SparkEngine:
        """The same engine with extra vectorised functions registered in every session."""
        return SparkEngine(config=self.config, udfs=self.udfs + tuple(udfs))

    def spark(self) -> SparkSession:
        """The process's shared SparkSession (created on first use)."""
        return shared_session(self.config)

    def _child(self) -> SparkSession:
        base = self.spark()
        if self.config.parsed().connect:
            # The Connect class itself: a child touches no process-wide state (the shared session
            # set Connect mode for as long as it lives).
            from pyspark.sql.connect.session import SparkSession as ConnectSession  # noqa: PLC0415 - loaded only when Spark is used

            remote: Any = ConnectSession.builder.remote(self.config.master).create()
            child: SparkSession = remote
        else:
            child = base.newSession()
        for udf in self.udfs:
            child.udf.register(udf.name, _arrow_udf(udf))
        return child

    def _bind(self, spark: SparkSession, tables: Mapping[str, TableSource]) -> None:
        if not self.config.parsed().connect:
            sizes = [_local_bytes(src.files) for src in tables.values()]
            if sizes and None not in sizes:
                cores = int(spark.sparkContext.defaultParallelism)
                limit = _bytes(spark.conf.get("spark.sql.files.maxPartitionBytes", "128m") or "128m")
                spark.conf.set("spark.sql.files.maxPartitionBytes",
                               str(split_bytes(max(s or 0 for s in sizes), cores, limit)))
        for name, src in tables.items():
            if not src.files:
                raise BadRequest(f"数据表 {name} 尚无数据版本", f"Table {name} has no data version yet",
                                 code="no_data_version")
            df = spark.read.parquet(*[self.config.uri(f) for f in src.files])
            if src.columns is not None:
                df = df.select(*[_quote(c) for c in src.columns])
            df.createOrReplaceTempView(name)

    @contextmanager
    def _open(self, tables: Mapping[str, TableSource], limits: Limits) -> Iterator[SparkSession]:
        try:
            child = self._child()
            self._run(child, lambda: self._bind(child, tables), limits)
        except ShudataError:
            raise
        except Exception as exc:
            raise translate_error(exc, limits) from exc
        try:
            yield child
        finally:
            if self.config.parsed().connect:
                with contextlib.suppress(Exception):  # the server drops idle sessions anyway
                    child.stop()
            else:
                for name in tables:
                    child.catalog.dropTempView(name)

    def _collect(self, spark: SparkSession, sql: str, max_rows: int | None) -> pa.Table:
        df = spark.sql(sql)
        if max_rows is not None:
            df = df.limit(max_rows)
        return _arrow(df)

    def _run(self, spark: SparkSession, fn: Callable[[], T], limits: Limits) -> T:
        """Run ``fn`` under the statement's time limit; Spark errors become 4xx/503 errors."""
        if duck._closing.is_set():
            raise Unavailable("服务正在停止，查询未执行；请稍后重试",
                              "The server is shutting down; the query did not run", code="shutting_down")
        if limits.cancel is not None and limits.cancel.cancelled:
            raise translate_error(RuntimeError("cancelled"), limits, why="cancel")
        tag = "shudata-" + uuid.uuid4().hex[:12]
        why: list[str] = []
        done = threading.Event()
        connect = self.config.parsed().connect

        def interrupt() -> None:
            if connect:
                spark.interruptTag(tag)
            else:
                spark.sparkContext.cancelJobsWithTag(tag)

        def stopper(reason: str) -> Callable[[], None]:
            # Spark cancels only the jobs running now: a statement still being planned starts its
            # jobs later (and adaptive execution starts one per stage), so keep cancelling until
            # the statement has returned.
            def stop() -> None:
                if done.is_set() or why:
                    return
                why.append(reason)

                def keep() -> None:
                    while not done.is_set():
                        try:
                            interrupt()
                        except Exception:  # the session may be stopping
                            return
                        done.wait(0.25)

                threading.Thread(target=keep, name=f"spark-stop-{tag}", daemon=True).start()
            return stop

        timer = threading.Timer(limits.timeout_s, stopper("timeout"))
        timer.daemon = True
        shutdown = stopper("shutdown")
        unbind = limits.cancel.bind(stopper("cancel")) if limits.cancel is not None else None
        with duck._running_lock:
            duck._running.add(shutdown)
        if connect:
            spark.addTag(tag)
        else:
            spark.sparkContext.setInterruptOnCancel(True)
            spark.sparkContext.addJobTag(tag)
        timer.start()
        try:
            return fn()
        except ShudataError:
            raise
        except Exception as exc:
            reason = why[0] if why else None
            if reason == "shutdown":
                raise Unavailable("服务正在停止，查询已中止；请稍后重试",
                                  "The server is shutting down; the query was stopped", code="shutting_down") from exc
            raise translate_error(exc, limits, why=reason) from exc
        finally:
            done.set()
            timer.cancel()
            if unbind is not None:
                unbind()
            with duck._running_lock:
                duck._running.discard(shutdown)
            if connect:
                spark.removeTag(tag)
            else:
                spark.sparkContext.removeJobTag(tag)

    @contextmanager
    def session(self, tables: Mapping[str, TableSource], limits: Limits = Limits()) -> Iterator[SparkSessionRun]:
        """One child session for several statements (a page and its count)."""
        with self._open(tables, limits) as spark:
            yield SparkSessionRun(self, spark, limits)

    def query(self, sql: str, tables: Mapping[str, TableSource], limits: Limits = Limits()) -> pa.Table:
        with self._open(tables, limits) as spark:
            return self._run(spark, lambda: self._collect(spark, sql, limits.max_rows), limits)

    def stream(self, sql: str, tables: Mapping[str, TableSource], limits: Limits = Limits(),
               batch_rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Yield Arrow batches of the result (collected to the driver first, at most ``max_rows``)."""
        with self._open(tables, limits) as spark:
            table = self._run(spark, lambda: self._collect(spark, sql, limits.max_rows), limits)
        yield from table.to_batches(max_chunksize=batch_rows)

    def copy_to_parquet(self, sql: str, tables: Mapping[str, TableSource], dest: Path,
                        limits: Limits = Limits()) -> int:
        """Executors write the result into a hidden directory next to ``dest``; its parts are then
        joined into ``dest`` (renamed when there is one; on a classic session the driver JVM copies
        the parts' row groups as they are, :func:`join_parts`). Returns the row count."""
        dest = Path(dest).resolve()
        work = dest.with_name(f".{dest.name}.spark-{uuid.uuid4().hex[:8]}")
        try:
            with self._open(tables, limits) as spark:
                def write() -> None:
                    df = spark.sql(sql)
                    if limits.max_rows is not None:
                        df = df.limit(limits.max_rows)
                    df.write.mode("errorifexists").option("compression", "zstd").parquet(self.config.uri(work))

                self._run(spark, write, limits)
            return join_parts(work, dest, None if self.config.parsed().connect else self.spark())
        finally:
            shutil.rmtree(work, ignore_errors=True)


SPLIT_MIN = 16 * 1024 * 1024  # a scan task reads at least this much (a few of the lake's row groups)
SPLIT_WAVES = 3  # up to this many tasks per core when the table is big enough for SPLIT_MIN each
OPEN_COST = 4 * 1024 * 1024  # spark.sql.files.openCostInBytes (default): what Spark adds per file


def split_bytes(total: int, cores: int, limit: int) -> int:
    """``spark.sql.files.maxPartitionBytes`` for a scan of ``total`` bytes on ``cores`` cores: the
    scan's tasks come in a whole number of waves of equal tasks — a multiple of ``cores`` — no
    bigger than ``limit`` (the configured value) and, while the table allows, at least
    ``SPLIT_WAVES`` tasks per core of at least ``SPLIT_MIN`` bytes.

    Spark's own rule (``min(limit, total / cores)``) gives a multiple of the cores only by chance:
    a 440 MB table in 128 MB splits is 4 tasks (128, 128, 128, 56) on 2 cores, one core doing 256
    MB and the other 184; in 32 MB splits an 88 MB table is 3 tasks (32, 32, 24), one core doing
    twice the other's work while the other waits.

    >>> mb = 1024 * 1024
    >>> [round(split_bytes(t * mb, 2, 128 * mb) / mb, 1) for t in (88, 440, 5)]
    [22.0, 73.3, 4.0]
    >>> round(split_bytes(88 * mb, 2, 32 * mb) / mb, 1), round(split_bytes(440 * mb, 2, 32 * mb) / mb, 1)
    (22.0, 31.4)
    >>> round(split_bytes(440 * mb, 1, 128 * mb) / mb, 1)  # one core: waves of one task
    110.0
    """
    cores = max(1, cores)
    waves = max(1, -(-total // (cores * limit)))  # tasks no bigger than limit
    waves = max(waves, min(SPLIT_WAVES, total // (cores * SPLIT_MIN)))
    return max(OPEN_COST, -(-total // (cores * waves)))


def _local_bytes(files: Sequence[Path]) -> int | None:
    """The bytes Spark counts for scanning ``files`` (with its per-file open cost); ``None`` when
    a file is not a local path (HDFS, S3: Spark's own rule applies)."""
    total = 0
    for f in files:
        try:
            total += os.path.getsize(f) + OPEN_COST
        except (OSError, TypeError, ValueError):
            return None
    return total


def _bytes(text: str) -> int:
    """A Spark byte size (``128m``, ``134217728``, ``1g``) in bytes.

    >>> _bytes("32m"), _bytes("134217728"), _bytes("1g")
    (33554432, 134217728, 1073741824)
    """
    m = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)b?\s*", text.lower())
    if m is None:
        return 128 * 1024 * 1024
    return int(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " ")


def map_tasks(engine: SparkEngine, fn: Callable[[Any], Any], tasks: Sequence[Any],
              limits: Limits = Limits(timeout_s=24 * 3600)) -> list[Any]:
    """``fn(task)`` for every task, run on the executors — one task per Spark partition, so the
    tasks spread over every core the job has — and the results in task order.

    For work that is already vectorised per task (a CSV chunk parsed and converted by Arrow,
    written by the executor itself) and must give exactly what the in-process code gives: the
    executors run that same code. ``fn`` and the tasks are pickled (``fn`` by reference: its
    module must be importable in the executors' Python, as the Arrow UDFs' are); tasks and
    results should be descriptions of work and small summaries, not data. Runs through
    ``mapInArrow``, so classic sessions and Spark Connect alike.
    """
    todo = [pickle.dumps(t) for t in tasks]  # each task unpickles only its own
    if not todo:
        return []

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            ids = batch.column(0).to_pylist()
            out = [pickle.dumps(fn(pickle.loads(todo[i]))) for i in ids]
            yield pa.RecordBatch.from_arrays([pa.array(ids, pa.int64()), pa.array(out, pa.binary())],
                                             names=["i", "result"])

    with engine._open({}, limits) as spark:
        def go() -> pa.Table:
            df = spark.range(0, len(todo), 1, numPartitions=len(todo)).mapInArrow(run, "i bigint, result binary")
            return _arrow(df)

        table = engine._run(spark, go, limits)
    found = dict(zip(table.column("i").to_pylist(), table.column("result").to_pylist(), strict=True))
    if sorted(found) != list(range(len(todo))):  # an invariant of Spark's, not input
        raise Unavailable("Spark 未返回全部任务的结果；请稍后重试", "Spark did not return every task's result",
                          code="engine_unavailable", details={"tasks": len(todo), "results": len(found)})
    return [pickle.loads(found[i]) for i in range(len(todo))]


def join_parts(directory: Path, dest: Path, spark: SparkSession | None = None) -> int:
    """Spark's ``part-*.parquet`` files of ``directory`` as the one file ``dest``, in part order;
    the row count. One non-empty part is renamed; several are copied row group by row group.

    With a classic ``spark`` session the copy is Parquet's own ``ParquetFileWriter.appendFile`` in
    the driver JVM: the row groups' bytes are copied as they are (no decoding, no compressing) —
    the step runs after the Spark job, while every executor waits, so it was decoded and encoded
    again by pyarrow only where there is no JVM at hand (Spark Connect). Measured on 2,000,000
    masked rows in 4 parts: 0.33 CPU s instead of 2.37 (docs/scale-out.md)."""
    parts = sorted(p for p in directory.glob("part-*") if p.suffix == ".parquet" or p.name.endswith(".parquet"))
    if not parts:
        raise Unavailable("Spark 未写出结果文件；请检查执行节点能否写入数据湖目录",
                          "Spark wrote no result file; check that executors can write the lake directory",
                          code="engine_unavailable", details={"directory": str(directory)})
    metas = [(p, pq.read_metadata(p)) for p in parts]
    rows = sum(m.num_rows for _, m in metas)
    full = [p for p, m in metas if m.num_rows > 0]
    if len(full) <= 1:
        os.replace(full[0] if full else parts[0], dest)
        return rows
    if spark is not None:
        joined = directory / "joined.parquet"  # next to the parts: Hadoop's checksum file stays there
        _append_row_groups(spark, full, joined)
        os.replace(joined, dest)
        return rows
    schema = pq.read_schema(full[0])
    with pq.ParquetWriter(dest, schema, compression="zstd") as writer:
        for p in full:
            f = pq.ParquetFile(p)
            for i in range(f.num_row_groups):
                writer.write_table(f.read_row_group(i).cast(schema))
    return rows


def _append_row_groups(spark: SparkSession, parts: Sequence[Path], dest: Path) -> None:
    """``parts`` (Parquet files of one schema, as Spark wrote them) into ``dest``, their row groups
    copied byte for byte by parquet-hadoop (the jar Spark itself writes Parquet with), with the
    first part's key-value metadata (Spark's schema)."""
    jvm: Any = spark.sparkContext._jvm  # the py4j gateway of the classic session
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    hadoop, parquet = jvm.org.apache.hadoop.fs, jvm.org.apache.parquet.hadoop

    def source(p: Path) -> Any:
        return parquet.util.HadoopInputFile.fromPath(hadoop.Path(p.resolve().as_uri()), conf)

    reader = parquet.ParquetFileReader.open(source(parts[0]))
    try:
        meta = reader.getFooter().getFileMetaData()
    finally:
        reader.close()
    out = parquet.util.HadoopOutputFile.fromPath(hadoop.Path(dest.resolve().as_uri()), conf)
    mode = getattr(parquet, "ParquetFileWriter$Mode").CREATE
    writer = parquet.ParquetFileWriter(out, meta.getSchema(), mode, 128 * 1024 * 1024, 0)
    writer.start()
    for p in parts:
        writer.appendFile(source(p))
    writer.end(meta.getKeyValueMetaData())


def _arrow(df: Any) -> pa.Table:
    """A DataFrame's rows as Arrow (Spark's own Arrow path; no per-row Python)."""
    table: pa.Table = df.toArrow()
    return table


def _arrow_udf(udf: ScalarUdf) -> Any:
    """A :class:`ScalarUdf` as a Spark Arrow UDF: one call per Arrow batch."""
    from pyspark.sql.functions import arrow_udf  # type: ignore[attr-defined]  # noqa: PLC0415 - loaded only when Spark is used (4.1+; not in the stubs)

    fn = udf.fn

    def call(*args: pa.Array) -> pa.Array:
        return fn(*args)

    return arrow_udf(call, SPARK_TYPES.get(udf.return_type.upper(), udf.return_type.lower()))


def spark_types(names: Sequence[str]) -> list[str]:
    """Engine-neutral SQL type names as Spark DDL types.

    >>> spark_types(["VARCHAR", "BIGINT"])
    ['string', 'bigint']
    """
    return [SPARK_TYPES.get(n.upper(), n.lower()) for n in names]


def stage_parquet_files(engine: SparkEngine, files: Sequence[Path], columns: Sequence[tuple[int, str]],
                        staging: Path, part_name: Callable[[int], str], limits: Limits = Limits(timeout_s=24 * 3600)
                        ) -> tuple[int, int]:
    """Executors read ``files`` (Parquet) and write the columns ``(position, stored name)`` — no
    value changes — as Parquet parts into ``staging`` (named by ``part_name``); (rows, parts).

    The parts are written into a hidden directory inside ``staging`` and moved next to it only when
    Spark has finished: a failed job leaves nothing the caller would publish.
    """
    work = staging / f".spark-{uuid.uuid4().hex[:8]}"
    with engine._open({}, limits) as spark:
        def write() -> None:
            df = spark.read.parquet(*[engine.config.uri(f) for f in files])
            names = df.columns
            df = df.select(*[df[_quote(names[i])].alias(name) for i, name in columns])
            df.write.mode("errorifexists").option("compression", "zstd").parquet(engine.config.uri(work))

        engine._run(spark, write, limits)
    try:
        parts = sorted(p for p in work.glob("part-*") if p.name.endswith(".parquet"))
        rows = 0
        for i, p in enumerate(parts):
            rows += pq.read_metadata(p).num_rows
            os.replace(p, staging / part_name(i))
        return rows, len(parts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
