"""Spark test support: one local Spark engine per test session, the content hash of a result,
and the generated citizens table of the identity suite and bench/spark.py (Faker zh_CN, seeded,
with NULLs, padded values and bad check digits) with its 8-column masking policy and 10 rules."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shudata.privacy.synthdata import citizens
from shudata.query.engines.spark import JVM_OPTIONS, SparkConfig, SparkEngine

LOCAL = SparkConfig(master="local[2]", conf=(("spark.driver.memory", "1g"), ("spark.sql.shuffle.partitions", "4")))
# JVM options for tests' small tables: the first-tier JIT only (the optimising compiler costs more
# CPU than it saves on a few thousand rows); the engine's own options are kept.
QUICK_JIT = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
QUICK = (("spark.driver.extraJavaOptions", f"{JVM_OPTIONS} {QUICK_JIT}"),
         ("spark.executor.extraJavaOptions", f"{JVM_OPTIONS} {QUICK_JIT}"))
KEYS = {"k1": bytes(range(16))}

# 8 masked columns (partial masks, generalisation, buckets, and the keyed vectorised functions).
POLICY: dict[str, Any] = {"name": "citizens", "columns": {
    "姓名": {"op": "partial_mask", "keep_head": 1},
    "身份证号": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4},
    "手机号": {"op": "fpe_pseudonym", "key_id": "k1", "kind": "mobile"},
    "银行卡号": {"op": "pseudonym", "key_id": "k1"},
    "地址": {"op": "partial_mask", "keep_head": 6},
    "出生日期": {"op": "date_generalize", "level": "year"},
    "收入": {"op": "bucket", "boundaries": [3000, 5000, 8000, 15000]},
    "区划代码": {"op": "region_generalize"}}}

# 10 quality rules over the same table (check digits, formats, codes, dates, ranges, uniqueness).
RULES: list[dict[str, Any]] = [
    {"type": "not_null", "column": "姓名"},
    {"type": "cn_id", "column": "身份证号"},
    {"type": "bank_card", "column": "银行卡号"},
    {"type": "format", "format": "mobile", "column": "手机号"},
    {"type": "region_code", "column": "区划代码"},
    {"type": "length", "column": "姓名", "min": 2, "max": 4},
    {"type": "range", "column": "收入", "min": 0, "max": 100000},
    {"type": "id_birth", "id_column": "身份证号", "birth_column": "出生日期"},
    {"type": "regex", "column": "地址", "pattern": "^四川省"},
    {"type": "unique", "columns": ["身份证号"]},
]


def spark_engine() -> SparkEngine:
    """The local Spark engine the tests share (its SparkSession is the process's one)."""
    return SparkEngine(config=LOCAL)


def _pick(rng: np.random.Generator, n: int, share: float) -> pa.Array:
    return pa.array(rng.random(n) < share)


def messy_citizens(n: int, seed: int = 0) -> pa.Table:
    """:func:`citizens` with what registries really hold: NULLs, values padded with ASCII and
    full-width spaces, wrong check digits (ID numbers, bank cards), placeholders. Vectorised."""
    t = citizens(n, seed)
    rng = np.random.default_rng(seed + 1000)
    cols: dict[str, pa.Array] = {}
    for name in t.column_names:
        col = t.column(name).combine_chunks()
        if pa.types.is_string(col.type) and name != "区划代码":  # a region code must be one to be masked
            padded = pc.binary_join_element_wise(pa.scalar(" "), col, pa.scalar("\u3000"), "")
            col = pc.if_else(_pick(rng, n, 0.03), padded, col)
            col = pc.if_else(_pick(rng, n, 0.01), pa.scalar("无"), col)
        if name in ("身份证号", "银行卡号"):
            body = pc.utf8_slice_codeunits(col, 0, -1)
            last = pc.utf8_slice_codeunits(col, -1)
            wrong = pc.binary_join_element_wise(body, pc.if_else(pc.equal(last, "1"), "2", "1"), "")
            col = pc.if_else(_pick(rng, n, 0.05), wrong, col)
        col = pc.if_else(_pick(rng, n, 0.02), pa.nulls(n, col.type), col)
        cols[name] = col
    return pa.table(cols)


def content_hash(table: pa.Table) -> str:
    """SHA-256 of the rows sorted, every value as text (NULL distinct from any text): two engines'
    outputs hash the same exactly when they hold the same rows, whatever their Arrow types.

    The bytes hashed are the column names joined by U+001F, then for each row in sorted order
    U+001E and its values joined by U+001F — sorted and joined by Arrow (UTF-8 byte order is code
    point order), so a 10M-row output is hashed without a Python object per value."""
    texts = []
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_floating(col.type):
            col = pc.round(col, 9)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("us"))
        texts.append(pc.if_else(pc.is_null(col), pa.scalar("\x00NULL"), col.cast(pa.string())))
    h = hashlib.sha256("\x1f".join(table.column_names).encode())
    if not texts or table.num_rows == 0:
        return h.hexdigest()
    order = pc.sort_indices(pa.table(texts, names=[f"c{i}" for i in range(len(texts))]),
                            sort_keys=[(f"c{i}", "ascending") for i in range(len(texts))])
    step = 1 << 18
    for start in range(0, table.num_rows, step):  # a slice at a time: string offsets stay 32-bit
        part = [pc.take(t, order.slice(start, step)) for t in texts]
        rows = pc.binary_join_element_wise(pa.scalar("\x1e"), *part, pa.scalar("\x1f"))
        rows = pc.utf8_replace_slice(rows, 1, 2, "")  # the separator the join put after the \x1e
        if isinstance(rows, pa.ChunkedArray):
            rows = rows.combine_chunks()
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset:rows.offset + len(rows) + 1]
        h.update(memoryview(rows.buffers()[2])[offsets[0]:offsets[-1]])
    return h.hexdigest()


# -- a real standalone cluster on loopback ports ------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A Spark standalone master and its workers, each a separate process started from the
    pyspark package's own classes (``spark-class org.apache.spark.deploy.master.Master`` …)."""

    def __init__(self, work: Path, workers: int = 2, cores: int = 1, memory: str = "1g") -> None:
        import pyspark

        self.home = Path(pyspark.__file__).resolve().parent
        self.work, self.n, self.cores, self.memory = work, workers, cores, memory
        self.port, self.ui = _free_port(), _free_port()
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _start(self, *args: str, log: str) -> None:
        # The master and workers only coordinate: a small heap and the quick JIT (less CPU at start-up)
        env = {**os.environ, "SPARK_HOME": str(self.home), "SPARK_LOCAL_IP": "127.0.0.1",
               "PYSPARK_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": "1", "SPARK_DAEMON_MEMORY": "256m",
               "SPARK_DAEMON_JAVA_OPTS": QUICK_JIT}
        out = (self.work / log).open("wb")
        self.procs.append(subprocess.Popen([str(self.home / "bin" / "spark-class"), *args], env=env, stdout=out,
                                           stderr=subprocess.STDOUT, start_new_session=True))

    def status(self) -> dict[str, Any]:
        import httpx

        return dict(httpx.get(f"http://127.0.0.1:{self.ui}/json/", timeout=2).json())

    def start(self, timeout_s: float = 120) -> Cluster:
        self.work.mkdir(parents=True, exist_ok=True)
        self._start("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(self.port),
                    "--webui-port", str(self.ui), log="master.log")
        for i in range(self.n):
            (self.work / f"w{i}").mkdir(exist_ok=True)
            self._start("org.apache.spark.deploy.worker.Worker", self.url, "--host", "127.0.0.1", "--cores",
                        str(self.cores), "--memory", self.memory, "--webui-port", str(_free_port()),
                        "--work-dir", str(self.work / f"w{i}"), log=f"worker{i}.log")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if int(self.status().get("aliveworkers", 0)) >= self.n:
                    return self
            except Exception:
                pass
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.5)
        self.stop()
        logs = "\n".join(p.name + ": " + p.read_text(errors="replace")[-800:] for p in self.work.glob("*.log"))
        raise RuntimeError(f"the standalone cluster did not start:\n{logs}")

    def stop(self, timeout_s: float = 30) -> list[int | None]:
        """SIGTERM the workers, then the master (process groups: their JVMs); their exit codes."""
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        codes = []
        for p in self.procs:
            try:
                codes.append(p.wait(timeout=timeout_s))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                codes.append(p.wait())
        return codes

    def config(self, cores_max: int | None = None, extra: tuple[tuple[str, str], ...] = ()) -> SparkConfig:
        conf = dict([("spark.executor.cores", "1"), ("spark.executor.memory", "768m"), ("spark.driver.memory", "1g"),
                     ("spark.driver.host", "127.0.0.1"), ("spark.driver.bindAddress", "127.0.0.1"),
                     ("spark.sql.shuffle.partitions", "4")])
        conf.update(dict(extra))
        if cores_max is not None:
            conf["spark.cores.max"] = str(cores_max)
        return SparkConfig(master=self.url, conf=tuple(conf.items()))


class ConnectServer:
    """A Spark Connect server on a loopback port, started from the pyspark package
    (``spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer``, what
    ``sbin/start-connect-server.sh`` runs), with Spark in local mode inside it."""

    CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"

    def __init__(self, work: Path, master: str = "local[2]") -> None:
        import pyspark

        self.home = Path(pyspark.__file__).resolve().parent
        self.work, self.master, self.port = work, master, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def shipped(cls) -> str | None:
        """Why the server cannot start here (``None`` when the pyspark package ships it)."""
        try:
            import pyspark
            import pyspark.sql.connect
        except ImportError as exc:
            return f"pyspark[connect] is not installed: {exc}"
        jars = Path(pyspark.__file__).resolve().parent / "jars"
        if not any(p.name.startswith("spark-connect_") for p in jars.glob("*.jar")):
            return f"the pyspark package ships no spark-connect jar in {jars}"
        return None

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 180) -> ConnectServer:
        import socket

        self.work.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SPARK_HOME": str(self.home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_CONNECT_MODE": "0",
               "PYSPARK_PYTHON": sys.executable}
        env.pop("SPARK_REMOTE", None)
        log = (self.work / "connect.log").open("wb")
        self.proc = subprocess.Popen(
            [str(self.home / "bin" / "spark-submit"), "--class", self.CLASS, "--name", "shudata-connect-test",
             "--master", self.master, "--driver-java-options", f"{JVM_OPTIONS} {QUICK_JIT}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", f"spark.connect.grpc.binding.port={self.port}", "--conf", "spark.driver.host=127.0.0.1",
             "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.ui.enabled=false",
             "--conf", "spark.sql.shuffle.partitions=4", "--conf", "spark.driver.memory=1g",
             "--conf", "spark.sql.runSQLOnFiles=false", "--conf", "spark.sql.session.timeZone=UTC"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.5)
        self.stop()
        text = (self.work / "connect.log").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"the Spark Connect server did not start:\n{text}")

    def stop(self, timeout_s: float = 30) -> int | None:
        """SIGTERM the server's process group; its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()
