"""Where the standalone cluster's CPU and idle core time go (issue 17: ``spark.scaling_2_vs_1``).

Runs bench/spark.py's citizens job (masked export + quality run) on a standalone cluster with 1 and
then 2 single-core workers, as the bench does (same settings, warm-up outside the measured job), with
Spark's event log on, and reports for the measured job:

* per stage: tasks, task time (executor run time), executor CPU time, GC, deserialisation, shuffle
  bytes, the stage's span, and how the tasks' time splits between executors;
* the idle core time: ``cores × wall − Σ task time``, split into time with no task running at all
  (the driver planning, compiling or collecting between stages) and time with fewer tasks than cores
  (a stage's last wave, a stage with fewer tasks than cores);
* the executor JVMs' CPU by thread kind from ``/proc/<pid>/task/*/stat`` (task threads, JIT
  compiler threads, GC threads, other) and their Python workers' CPU.

Usage: .venv/bin/python bench/spark_profile.py [--quick] [--rows N] [--cores 1,2] [--conf spark.k=v ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import spark as bench  # noqa: E402
from tests.support.spark import Cluster  # noqa: E402

from shudata.query.engines.spark import SparkEngine, stop_session  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread kind of the process ``pid`` (from /proc)."""
    out: dict[str, float] = defaultdict(float)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        if "Compiler" in comm:
            kind = "jit"
        elif comm.startswith("GC") or "G1" in comm or comm.startswith("VM Thread"):
            kind = "gc+vm"
        elif comm.startswith("Executor task"):
            kind = "tasks"
        elif "shuffle" in comm.lower() or "netty" in comm.lower() or "rpc" in comm.lower():
            kind = "netty/rpc"
        else:
            kind = "other"
        out[kind] += cpu
    return dict(out)


def executors(cluster: Cluster) -> list[psutil.Process]:
    found = []
    for w in cluster.procs:
        for p in psutil.Process(w.pid).children(recursive=True):
            try:
                if "CoarseGrainedExecutorBackend" in " ".join(p.cmdline()):
                    found.append(p)
            except psutil.Error:
                pass
    return found


class PythonWorkers:
    """CPU of the executors' Python workers (their descendant processes), sampled every half
    second while the job runs: a worker that ends between samples loses at most its last half
    second (an ended process's CPU is otherwise lost: the daemon does not always reap it)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.first: dict[tuple[int, int], float] = {}  # (executor, pid) → CPU s
        self.last: dict[tuple[int, int], float] = {}
        self.stop = threading.Event()
        self.sample()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        for e in executors(self.cluster):
            for c in e.children(recursive=True):
                try:
                    t = c.cpu_times()
                except psutil.Error:
                    continue
                key = (e.pid, c.pid)
                self.first.setdefault(key, t.user + t.system if not self.last else 0.0)
                self.last[key] = t.user + t.system
        self.last.setdefault((0, 0), 0.0)

    def loop(self) -> None:
        while not self.stop.wait(0.5):
            self.sample()

    def done(self) -> dict[int, float]:
        self.stop.set()
        self.thread.join()
        self.sample()
        out: dict[int, float] = defaultdict(float)
        for (pid, child), cpu in self.last.items():
            if pid:
                out[pid] += cpu - self.first.get((pid, child), 0.0)
        return dict(out)


def snapshot(cluster: Cluster) -> dict[str, Any]:
    return {str(e.pid): {"threads": thread_cpu(e.pid)} for e in executors(cluster)}


def diff(a: dict[str, Any], b: dict[str, Any], python: dict[int, float]) -> dict[str, Any]:
    out = {}
    for pid, after in b.items():
        before = a.get(pid, {"threads": {}})
        kinds = set(after["threads"]) | set(before["threads"])
        out[pid] = {k: round(after["threads"].get(k, 0) - before["threads"].get(k, 0), 1) for k in sorted(kinds)}
        out[pid]["python workers"] = round(python.get(int(pid), 0.0), 1)
    return out


def events(log_dir: Path) -> list[dict[str, Any]]:
    """The events of the newest application in ``log_dir`` (a plain or a rolling, v2 event log)."""
    path = max(log_dir.iterdir(), key=lambda p: p.stat().st_mtime)
    files = sorted(p for p in path.iterdir() if p.name.startswith("events_")) if path.is_dir() else [path]
    texts = []
    for f in files:
        if f.suffix == ".zstd":  # compressed (Spark's default): needs the zstandard module
            import zstandard

            texts.append(zstandard.ZstdDecompressor().stream_reader(f.open("rb")).read().decode())
        else:
            texts.append(f.read_text())
    return [json.loads(line) for text in texts for line in text.splitlines() if line.strip()]


def analyse(evs: list[dict[str, Any]], t0_ms: float, t1_ms: float, cores: int) -> None:
    stages: dict[tuple[int, int], dict[str, Any]] = {}
    intervals: list[tuple[float, float]] = []
    for e in evs:
        if e["Event"] == "SparkListenerStageCompleted":
            s = e["Stage Info"]
            if s.get("Submission Time", 0) < t0_ms or s.get("Completion Time", 0) > t1_ms + 1000:
                continue
            key = (s["Stage ID"], s["Stage Attempt ID"])
            stages.setdefault(key, {}).update(name=s["Stage Name"].split(" at ")[0], span=(s["Submission Time"],
                                              s.get("Completion Time", 0)), ntasks=s["Number of Tasks"])
        if e["Event"] == "SparkListenerTaskEnd":
            info, m = e["Task Info"], e.get("Task Metrics") or {}
            if info["Launch Time"] < t0_ms or info["Finish Time"] > t1_ms + 1000:
                continue
            st = stages.setdefault((e["Stage ID"], e["Stage Attempt ID"]), {})
            intervals.append((info["Launch Time"], info["Finish Time"]))
            for k, v in (("run", m.get("Executor Run Time", 0) / 1000),
                         ("cpu", m.get("Executor CPU Time", 0) / 1e9), ("gc", m.get("JVM GC Time", 0) / 1000),
                         ("deser", m.get("Executor Deserialize Time", 0) / 1000),
                         ("dur", (info["Finish Time"] - info["Launch Time"]) / 1000),
                         ("shw", (m.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0) / 1e6),
                         ("shr", sum((m.get("Shuffle Read Metrics") or {}).get(x, 0)
                                     for x in ("Remote Bytes Read", "Local Bytes Read")) / 1e6),
                         ("remote", (m.get("Shuffle Read Metrics") or {}).get("Remote Bytes Read", 0) / 1e6),
                         ("fetchwait", (m.get("Shuffle Read Metrics") or {}).get("Fetch Wait Time", 0) / 1000)):
                st[k] = st.get(k, 0) + v
            st.setdefault("by_exec", defaultdict(float))[info["Executor ID"]] += (info["Finish Time"] -
                                                                                  info["Launch Time"]) / 1000
            st["tasks"] = st.get("tasks", 0) + 1
    print(f"{'stage':>9} {'name':<28} {'tasks':>5} {'span s':>7} {'task s':>7} {'cpu s':>6} {'gc s':>5} "
          f"{'deser':>5} {'shufW MB':>8} {'shufR MB':>8} {'remote':>6} {'wait':>5}  per executor (task s)")
    tot: dict[str, float] = defaultdict(float)
    for key in sorted(stages):
        s = stages[key]
        if "tasks" not in s:
            continue
        span = (s["span"][1] - s["span"][0]) / 1000 if "span" in s else 0
        for k in ("dur", "run", "cpu", "gc", "deser", "shw", "shr", "remote"):
            tot[k] += s.get(k, 0)
        per = " ".join(f"{x}:{v:.1f}" for x, v in sorted(s["by_exec"].items()))
        print(f"{key[0]:>7}.{key[1]} {s.get('name', '?')[:28]:<28} {s['tasks']:>5} {span:>7.2f} {s['dur']:>7.2f} "
              f"{s['cpu']:>6.2f} {s['gc']:>5.2f} {s['deser']:>5.2f} {s['shw']:>8.1f} {s['shr']:>8.1f} "
              f"{s['remote']:>6.1f} {s['fetchwait']:>5.2f}  {per}")
    wall = (t1_ms - t0_ms) / 1000
    # time with 0, 1, … tasks running (sweep over task intervals)
    points = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    level, last = 0, t0_ms
    at: dict[int, float] = defaultdict(float)
    for t, d in points:
        at[min(level, cores)] += (t - last) / 1000
        level += d
        last = t
    at[0] += (t1_ms - last) / 1000
    idle = cores * wall - tot["dur"]
    print(f"wall {wall:.2f} s × {cores} core(s) = {cores * wall:.1f} core-s; Σ task time {tot['dur']:.1f} s "
          f"(run {tot['run']:.1f}, executor CPU {tot['cpu']:.1f}, GC {tot['gc']:.1f}, deser {tot['deser']:.1f}); "
          f"idle {idle:.1f} core-s")
    print("time with k tasks running: " + ", ".join(f"{k}: {v:.2f} s" for k, v in sorted(at.items())))
    print(f"shuffle written {tot['shw']:.1f} MB, read {tot['shr']:.1f} MB (remote {tot['remote']:.1f} MB)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--quick", action="store_true", help="200,000 rows (a few minutes)")
    ap.add_argument("--cores", default="1,2")
    ap.add_argument("--conf", action="append", default=[], help="extra spark.key=value for the application")
    ap.add_argument("--no-tuning", action="store_true", help="without bench/spark.py's CLUSTER_BENCH settings")
    ap.add_argument("--warm-rows", type=int, default=bench.WARM_ROWS,
                    help="rows of the warm-up table (default: the bench's, %(default)s)")
    ap.add_argument("--keep", type=Path, default=bench.OUT / "spark-profile", help="where the event logs are kept")
    ap.add_argument("--again", action="store_true", help="only analyse the event logs kept by the last run")
    args = ap.parse_args()
    if args.quick:
        args.rows = min(args.rows, 200_000)
    if args.again:
        for cores in [int(c) for c in args.cores.split(",")]:
            t = json.loads((args.keep / f"window{cores}.json").read_text())
            print(f"\n== {cores} worker core(s)")
            analyse(events(args.keep / f"events{cores}"), t["t0"], t["t1"], cores)
        return 0
    path, warm = bench.dataset(args.rows), bench.dataset(min(args.rows, args.warm_rows))
    extra = tuple(tuple(c.split("=", 1)) for c in args.conf)
    with tempfile.TemporaryDirectory(prefix="shudata-spark-profile-", dir=bench.OUT) as tmp:
        work = Path(tmp)
        cluster = Cluster(work / "cluster", workers=2, cores=1, memory="2g").start()
        try:
            for cores in [int(c) for c in args.cores.split(",")]:
                logs = args.keep / f"events{cores}"
                logs.mkdir(parents=True, exist_ok=True)
                conf = (() if args.no_tuning else bench.CLUSTER_BENCH) + (
                    ("spark.eventLog.enabled", "true"), ("spark.eventLog.dir", logs.resolve().as_uri()),
                    ("spark.eventLog.compress", "false")) + extra
                eng = SparkEngine(config=cluster.config(cores_max=cores, extra=conf))
                eng.query("SELECT 1", {}, bench.LONG)
                bench.job(eng, warm, work / f"warm{cores}.parquet")
                me = psutil.Process()
                workers = [psutil.Process(p.pid) for p in cluster.procs]
                d0, e0, s0 = bench.cpu_seconds([me]), bench.cpu_seconds(workers), snapshot(cluster)
                py = PythonWorkers(cluster)
                t0 = time.time() * 1000
                seconds, _ = bench.job(eng, path, work / f"out{cores}.parquet")
                t1 = time.time() * 1000
                ex = bench.cpu_seconds(workers) - e0
                driver = bench.cpu_seconds([me]) - d0 - ex
                s1, py_cpu = snapshot(cluster), py.done()
                (args.keep / f"window{cores}.json").write_text(json.dumps({"t0": t0, "t1": t1}))
                stop_session()
                print(f"\n== {cores} worker core(s), {args.rows:,} rows: {seconds:.2f} s ({args.rows / seconds:,.0f} "
                      f"rows/s); CPU driver {driver:.1f} s, workers+executors {ex:.1f} s; load {os.getloadavg()}")
                print("executor JVM threads (CPU s):", json.dumps(diff(s0, s1, py_cpu), ensure_ascii=False))
                analyse(events(logs), t0, t1, cores)
        finally:
            stop_session()
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
