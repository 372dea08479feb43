"""Load benchmark: the attack of issue #14 (item 4) kept in the suite.

    .venv/bin/python bench/load.py [--quick] [--clients 64] [--seconds 120] [--warmup 20] [--rows 200000]
                                   [--workers N]

Sets up its own store in a temporary data folder (SQLite, or ``--database-url``): two
departments, a steward and a user with API tokens, an open entry of ``--rows`` people
published on the portal and granted to the other department, an entry for uploads and 200
more catalog entries (20 with ``--quick``). Starts ``shudata serve`` on a loopback port and drives ``--clients``
concurrent clients (one connection each, asyncio) for ``--seconds`` of mixed traffic
(``--workers N``: ``serve --workers N``; resident memory and CPU are then the sums over the
parent and its workers):

- anonymous: portal search (``package_search``), portal pages, ``datastore_search`` pages;
- bearer tokens: catalog search, sandbox queries (aggregates), raw rows, shared (masked) rows,
  and uploads of small CSV files as new versions (``--no-uploads``: shared rows instead, to
  measure memory without the data that legitimately grows).

A client that gets 503 waits its ``Retry-After`` and goes on, as a polite client does. Then,
with the clients still sending, the server gets SIGTERM.

Figures (one JSON line each):

- ``load.errors``: 5xx answers other than 503 with Retry-After, transport errors and
  requests unanswered within 60 s, before the SIGTERM (target 0);
- ``load.p99_ms``: 99th percentile of the answer time of every answered request (≤ 1,000);
- ``load.rss_growth_mb``: the server's resident memory at the end minus at the start of the
  measured period, which follows ``--warmup`` seconds of the same load (≤ 50);
- ``load.shutdown_s``: from SIGTERM under load to the process gone (≤ 10);
- and, for information, ``load.requests``, ``load.rps``, ``load.shed`` (503s) and
  ``load.shed_fraction`` (503s among the answers: the admission control's share, to be kept
  small), ``load.p99_served_ms`` (the 99th percentile of the answers other than 503s), ``load.p50_ms``, the
  server's CPU per request (per answer other than 503: a 503 costs the server little) and
  cores, the load generator's own CPU (``load.client_cpu_cores``: near 1.0 it is the
  bottleneck, not the server), the machine's 1-minute load average over the
  measured period (``load.load_average``: on a machine shared with other work, latency follows it), and
  the baseline measured in the same run before the mixed load: the same clients calling only
  the health check for 15 s (5 s with ``--quick``), which passes the whole middleware stack but
  touches neither database nor data (``load.baseline_rps``, ``load.baseline_p99_ms``, with the
  server's CPU per health check and the load generator's cores): the floor of the server stack
  on this machine at that moment — when ``load.baseline_client_cpu_cores`` nears 1, or the
  machine is loaded, the load generator (httpx) is what limits it, not the server.

The answers of each kind (p50, p99, count and 503s) are printed as comments; ``--by-kind SECONDS``
also runs each kind alone, before the mixed load, and reports its rate, p50/p99 and the server's
CPU per request (``load.alone.<kind>.cpu_ms_per_request``): where the CPU of the mix goes.

Only loopback addresses are used. ``--quick`` measures 12 s after 12 s of warm-up, on 20,000
rows and 20 more entries (under a minute in all).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as api_bench

from shudata.catalog.access import find_resource
from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.catalog.writes import write_version
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.portal import service as P
from shudata.security.schemas import DepartmentCreate, TokenCreate, UserCreate
from shudata.security.service import (
    actor_for,
    create_department,
    create_token,
    create_user,
    get_user_by_name,
)
from shudata.sharing import prepare
from shudata.sharing.schemas import Purpose, RequestCreate
from shudata.sharing.service import request_access
from shudata.standards.uscc import complete

OUT = Path(__file__).resolve().parent / "out"
SYSTEM = Actor.system()
MAIN = "101001/000001"
UPLOADS = "101001/000002"
THEMES = ["人口", "法人", "经济运行", "生态环境", "交通运输", "教育科技", "医疗卫生", "社会保障", "文化旅游",
          "市场监管"]
CITIES = ["成都市", "绵阳市", "德阳市", "宜宾市", "南充市", "乐山市", "泸州市", "达州市"]
PASSWORD = "Tianfu-Data-7#load"
CLIENT_TIMEOUT_S = 60.0


@dataclass
class Store:
    steward_token: str
    user_token: str
    datastore_id: str
    uploads: bool = True


def build_store(data: Path, rows: int, database_url: str | None, extra: int = 200) -> tuple[Settings, Store]:
    settings = Settings(env="test", data_dir=data, database_url=database_url)
    rt = Runtime.build(settings)
    rt.migrate()
    with rt.transaction() as s:
        provider = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省民政厅", uscc=complete("11510000000000003"), region_code="510000")).id
        consumer = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省卫生健康委", uscc=complete("11510000000000011"), region_code="510000")).id
        for name, role, dept in (("mz_steward", Role.DATA_STEWARD, provider), ("wj_user", Role.DEPT_USER, consumer)):
            create_user(session=s, actor=SYSTEM, data=UserCreate(username=name, display_name=name, password=PASSWORD,
                                                                department_id=dept, roles=[role]))
    t = api_bench.table(rows)
    items = [{"name": f.name, "data_type": "I" if pa.types.is_integer(f.type) else
              "N" if pa.types.is_floating(f.type) else "C"} for f in t.schema]
    with rt.transaction() as s:
        register_resource(session=s, actor=SYSTEM, data=ResourceCreate.model_validate({
            "code": MAIN, "name": "人口登记（负载测试）", "abstract": "负载测试数据",
            "provider_department_id": provider, "information_items": items,
            "sharing": {"type": 1, "method": "接口"}, "open": {"type": "无条件开放"}}))
        register_resource(session=s, actor=SYSTEM, data=ResourceCreate.model_validate({
            "code": UPLOADS, "name": "人员登记上传（负载测试）", "abstract": "负载测试上传",
            "provider_department_id": provider, "sharing": {"type": 1, "method": "接口"},
            "information_items": [{"name": "姓名", "length": 20}, {"name": "城市", "length": 20},
                                  {"name": "年龄", "data_type": "I"}, {"name": "登记日期", "data_type": "D"}]}))
        rnd = random.Random(5)
        for i in range(extra):
            theme = rnd.choice(THEMES)
            register_resource(session=s, actor=SYSTEM, data=ResourceCreate.model_validate({
                "code": f"1020{i // 100:02d}/{i % 100 + 1:06d}", "name": f"{rnd.choice(CITIES)}{theme}统计{i}",
                "abstract": f"{theme}相关的统计数据（负载测试）", "provider_department_id": provider,
                "information_items": [{"name": "地区"}, {"name": "数值", "data_type": "N"}],
                "sharing": {"type": 1, "method": "接口"}}))
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=find_resource(s, MAIN),
                      batches_or_table=t, source_name="people.parquet", source_format="parquet")
    with rt.transaction() as s:
        pub = P.publish(session=s, settings=rt.settings, actor=SYSTEM, resource=MAIN)
        assert pub.status == "published", pub.gate
        datastore_id = f"{P.get_dataset(s, MAIN).name}-csv"
    with rt.transaction() as s:
        user = _actor(s, "wj_user")
        today = dt.date.today()
        request_access(session=s, actor=user, settings=rt.settings, data=RequestCreate(
            resource=MAIN, fields=[i["name"] for i in items], purpose=Purpose.WORK_REFERENCE, basis="负载测试",
            use_from=today, use_until=today + dt.timedelta(days=30)))
    prepare.wait(300)
    tokens = []
    for name in ("mz_steward", "wj_user"):
        with rt.transaction() as s:
            tokens.append(create_token(session=s, actor=SYSTEM, data=TokenCreate(expires_in_days=1),
                                       username=name).token)
    rt.close()
    return settings, Store(steward_token=tokens[0], user_token=tokens[1], datastore_id=datastore_id)


def _actor(s: Any, username: str) -> Actor:
    return actor_for(get_user_by_name(s, username))


def csv_bytes(n: int) -> bytes:
    rnd = random.Random(n)
    lines = ["姓名,城市,年龄,登记日期"] + [f"李{i},{rnd.choice(CITIES)},{rnd.randint(18, 90)},2024-03-{1 + i % 28:02d}"
                                           for i in range(300)]
    return ("\n".join(lines) + "\n").encode()


# -- the traffic ----------------------------------------------------------------------------------

@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    served: list[float] = field(default_factory=list)  # the answers other than 503 + Retry-After
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    shed: int = 0
    shed_by_kind: Counter[str] = field(default_factory=Counter)


def _headers(store: Store, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {store.steward_token if who == 'steward' else store.user_token}"}


async def portal_search(client: httpx.AsyncClient, rnd: random.Random, store: Store, n: int) -> httpx.Response:
    return await client.get("/api/3/action/package_search",
                            params={"q": rnd.choice(["人口", "登记", "数据"]), "rows": 10})


async def portal_page(client: httpx.AsyncClient, rnd: random.Random, store: Store, n: int) -> httpx.Response:
    return await client.get("/portal", params={"q": rnd.choice(THEMES)})


async def datastore(client: httpx.AsyncClient, rnd: random.Random, store: Store, n: int) -> httpx.Response:
    return await client.get("/api/3/action/datastore_search", params={
        "resource_id": store.datastore_id, "limit": 100, "offset": rnd.randint(0, 10_000)})


async def catalog_search(client: httpx.AsyncClient, rnd: random.Random, store: Store, n: int) -> httpx.Response:
    return await client.get("/api/v1/search", params={"q": rnd.choice(THEMES)}, headers=_headers(store, "user"))


async def sandbox(client: httpx.AsyncClient, rnd: random.Random, store: Store, n: int) -> httpx.Response:
    city = rnd.choice(CITIES)
    sql = (f'SELECT "性别", count(*) AS n, avg("年龄") AS age, sum("收入") AS income FROM "{MAIN}" '
           f"WHERE \"城市\" = '{city}' GROUP BY 1")
    return await client.post("/api/v1/query", json={"sql": sql}, headers=_headers(store, "steward"))


async def rows(client: httpx.AsyncClient, rnd: random.Random, store: Store, n: int) -> httpx.Response:
    return await client.get(f"/api/v1/resources/{MAIN}/rows", params={"offset": rnd.randint(0, 10_000), "limit": 100},
                            headers=_headers(store, "steward"))


async def shared(client: httpx.AsyncClient, rnd: random.Random, store: Store, n: int) -> httpx.Response:
    return await client.get("/api/v1/shared/rows", params={
        "resource": MAIN, "limit": 100, "offset": rnd.randint(0, 10_000)}, headers=_headers(store, "user"))


async def upload(client: httpx.AsyncClient, rnd: random.Random, store: Store, n: int) -> httpx.Response:
    return await client.post(f"/api/v1/resources/{UPLOADS}/versions", headers=_headers(store, "steward"),
                             files={"file": (f"people-{n}.csv", csv_bytes(n), "text/csv")})


# The mix: (kind, its request, share of the traffic).
MIX = (("portal_search", portal_search, 0.15), ("portal_page", portal_page, 0.07), ("datastore", datastore, 0.13),
       ("catalog_search", catalog_search, 0.15), ("sandbox", sandbox, 0.15), ("rows", rows, 0.10),
       ("shared", shared, 0.20), ("upload", upload, 0.05))
KINDS = {kind: request for kind, request, _ in MIX}


async def one(client: httpx.AsyncClient, rnd: random.Random, store: Store, n: int,
              only: str | None = None) -> tuple[str, httpx.Response]:
    """One request of the mix (or of kind ``only``)."""
    if only is not None:
        return only, await KINDS[only](client, rnd, store, n)
    roll = rnd.random()
    kind, request = MIX[-1][:2]
    for k, r, share in MIX:
        roll -= share
        if roll < 0:
            kind, request = k, r
            break
    if kind == "upload" and not store.uploads:  # --no-uploads: shared rows instead
        kind, request = "shared", shared
    return kind, await request(client, rnd, store, n)


async def health(client: httpx.AsyncClient) -> tuple[str, httpx.Response]:
    """The baseline request: the same server stack, no database, no data."""
    return "health", await client.get("/api/v1/health")


async def run_clients(url: str, store: Store, clients: int, seconds: float, tally: Tally,
                      counting: threading.Event, stopped: threading.Event, done: threading.Event,
                      baseline: bool = False, only: str | None = None) -> None:
    end = time.monotonic() + seconds

    async def client_loop(k: int) -> None:
        rnd = random.Random(k)
        # verify=False: plain HTTP on loopback, and no CA bundle loaded per client (64 loads of it
        # cost the load generator seconds of CPU at the start of every phase)
        async with httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT_S, verify=False) as client:
            n = 0
            while time.monotonic() < end and not done.is_set():
                n += 1
                t0 = time.monotonic()
                try:
                    kind, resp = await (health(client) if baseline
                                        else one(client, rnd, store, k * 1_000_000 + n, only))
                except httpx.HTTPError as exc:
                    if counting.is_set() and not stopped.is_set():
                        tally.errors[f"{type(exc).__name__}"] += 1
                    else:
                        await asyncio.sleep(0.2)
                    continue
                if stopped.is_set() or not counting.is_set():
                    if resp.status_code == 503 and "retry-after" in resp.headers:
                        await asyncio.sleep(float(resp.headers["retry-after"]))
                    continue
                took = time.monotonic() - t0
                tally.latencies.append(took)
                tally.by_kind.setdefault(kind, []).append(took)
                if not (resp.status_code == 503 and "retry-after" in resp.headers):
                    tally.served.append(took)
                tally.statuses[f"{kind} {resp.status_code}"] += 1
                if resp.status_code == 503 and "retry-after" in resp.headers:
                    tally.shed += 1
                    tally.shed_by_kind[kind] += 1
                    await asyncio.sleep(float(resp.headers["retry-after"]))
                elif resp.status_code >= 500:
                    tally.errors[f"{kind} {resp.status_code}"] += 1

    await asyncio.gather(*(client_loop(k) for k in range(clients)))


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (seconds) in ms."""
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))] * 1000, 1) if v else float("nan")


def by_kind(url: str, store: Store, clients: int, seconds: float, kind: str, pid: int
            ) -> tuple[float, float, float, float, int]:
    """``kind`` alone: (answers/s, p50 ms, p99 ms, server CPU ms per answer other than 503, 503s)."""
    asyncio.run(run_clients(url, store, clients, 2.0, Tally(), threading.Event(), threading.Event(),
                            threading.Event(), only=kind))  # warm-up
    tally, counting = Tally(), threading.Event()
    counting.set()
    cpu = cpu_s(pid)
    asyncio.run(run_clients(url, store, clients, seconds, tally, counting, threading.Event(), threading.Event(),
                            only=kind))
    cpu = cpu_s(pid) - cpu
    n = len(tally.latencies)
    return (round(n / seconds, 1), pct(tally.latencies, 0.5), pct(tally.latencies, 0.99),
            round(1000 * cpu / max(1, len(tally.served)), 1), tally.shed)


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the workers of ``serve --workers N``)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c, pp in parents.items() if pp == p]
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants."""
    total = 0.0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid``, its descendants and their reaped children so far."""
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def figure(name: str, value: float, target: str, unit: str) -> None:
    print(json.dumps({"figure": name, "value": value, "target": target, "unit": unit}, ensure_ascii=False),
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="12 s (after 12 s of warm-up) on 20,000 rows")
    ap.add_argument("--warmup", type=float, default=20.0, help="seconds of load before measuring")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=1, help="serve --workers N")
    ap.add_argument("--no-uploads", action="store_true",
                    help="no uploads (each makes a new version: data that legitimately grows); shared rows instead")
    ap.add_argument("--by-kind", type=float, default=0.0, metavar="SECONDS",
                    help="before the mixed load, each kind of request alone for SECONDS (after 2 s of warm-up): "
                         "its rate, p50/p99 and the server's CPU per request")
    ap.add_argument("--database-url", default=None, help="metadata database (default: SQLite in the temp folder)")
    args = ap.parse_args()
    seconds, rows, warmup = (12.0, 20_000, 12.0) if args.quick else (args.seconds, args.rows, args.warmup)
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shudata-load-") as tmp:
        t0 = time.monotonic()
        settings, store = build_store(Path(tmp) / "data", rows, args.database_url, extra=20 if args.quick else 200)
        store.uploads = not args.no_uploads
        print(f"# store ready in {time.monotonic() - t0:.0f} s; load average {os.getloadavg()}", file=sys.stderr)
        port = api_bench.free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SHUDATA_DATA_DIR": str(settings.data_dir), "SHUDATA_ENV": "test",
               "SHUDATA_DATABASE_URL": settings.resolved_database_url,
               "SHUDATA_PORTAL_RATE_IP_PER_MIN": "0", "SHUDATA_PORTAL_RATE_KEY_PER_MIN": "0"}
        log = OUT / "load-serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "shudata", "serve", "--port", str(port),
                                     "--workers", str(args.workers)], env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180  # a start takes over a minute on a machine loaded ~15
            answered: set[int] = set()
            while True:  # every worker has started (the health check names the worker answering)
                try:
                    with httpx.Client(timeout=2) as c:  # a new connection each time
                        r = c.get(f"{url}/api/v1/health")
                    if r.status_code == 200:
                        answered.add(int(r.json().get("worker", 0)))
                        if len(answered) >= args.workers:
                            break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.05 if answered else 0.2)
            # Baseline in the same run: the same clients against the health check, which runs
            # through the whole middleware stack but touches no database and no data.
            base, base_counting = Tally(), threading.Event()
            base_counting.set()
            base_s = 5.0 if args.quick else 15.0
            base_cpu, base_client_cpu = cpu_s(proc.pid), time.process_time()
            asyncio.run(run_clients(url, store, args.clients, base_s, base, base_counting, threading.Event(),
                                    threading.Event(), baseline=True))
            base_cpu, base_client_cpu = cpu_s(proc.pid) - base_cpu, time.process_time() - base_client_cpu
            alone = {kind: by_kind(url, store, args.clients, args.by_kind, kind, proc.pid)
                     for kind in KINDS if args.by_kind > 0 and (kind != "upload" or store.uploads)}
            tally = Tally()
            counting, stopped, done = threading.Event(), threading.Event(), threading.Event()
            samples: list[tuple[float, float]] = []

            def sample() -> None:
                while not stopped.is_set() and proc.poll() is None:
                    samples.append((time.monotonic() - load_started, rss_mb(proc.pid)))
                    stopped.wait(1.0)

            clients = threading.Thread(target=lambda: asyncio.run(
                run_clients(url, store, args.clients, warmup + seconds + 30, tally, counting, stopped, done)),
                daemon=True)
            clients.start()
            time.sleep(warmup)  # caches, pools and DuckDB's first allocations settle
            load_started = time.monotonic()
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            loads = [os.getloadavg()[0]]
            cpu_start = cpu_s(proc.pid)
            client_cpu_start = time.process_time()
            rss_start = rss_mb(proc.pid)
            counting.set()
            time.sleep(seconds)
            loads.append(os.getloadavg()[0])
            rss_end = rss_mb(proc.pid)
            cpu_used = cpu_s(proc.pid) - cpu_start
            client_cpu = time.process_time() - client_cpu_start
            stopped.set()  # stop counting; the clients keep sending while the server stops
            t_term = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            shutdown_s = time.monotonic() - t_term
            done.set()
            clients.join(CLIENT_TIMEOUT_S + 40)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    lat = sorted(tally.latencies)
    n = len(lat)
    p = (lambda q: round(lat[min(n - 1, int(q * n))] * 1000, 1)) if n else (lambda q: float("nan"))
    print(f"# {n} answers in {seconds:g} s with {args.clients} clients, {args.workers} worker(s)"
          f"{', no uploads' if args.no_uploads else ''}; "
          f"statuses {dict(sorted(tally.statuses.items()))}"
          f"; errors {dict(tally.errors)}; exit code {proc.returncode}; load average at start/end {loads}",
          file=sys.stderr)
    for kind, v in sorted(tally.by_kind.items()):
        print(f"# {kind:15} n {len(v):5}  p50 {pct(v, 0.5):7.1f} ms  p99 {pct(v, 0.99):7.1f} ms  "
              f"shed {tally.shed_by_kind[kind]}", file=sys.stderr)
    for kind, (rps, p50, p99, cpu_ms, shed) in alone.items():
        figure(f"load.alone.{kind}.cpu_ms_per_request", cpu_ms, "informational", "ms")
        print(f"# alone: {kind:15} {rps:6.1f} rps  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  server CPU {cpu_ms:5.1f} ms"
              f"/request  shed {shed}", file=sys.stderr)
    print(f"# server RSS MB every 5 s: {[round(r) for t, r in samples[::5]]}", file=sys.stderr)
    figure("load.requests", n, "informational", "requests")
    figure("load.rps", round(n / seconds, 1), "informational", "requests/s")
    figure("load.shed", tally.shed, "informational", "503 answers")
    figure("load.shed_fraction", round(tally.shed / max(1, n), 3), "informational (small)", "of the answers")
    figure("load.p99_served_ms", pct(tally.served, 0.99), "informational", "ms (answers other than 503)")
    figure("load.p50_ms", p(0.50), "informational", "ms")
    figure("load.server_cpu_ms_per_request", round(1000 * cpu_used / max(1, len(tally.served)), 1), "informational",
           "ms (per answer other than 503)")
    figure("load.server_cpu_cores", round(cpu_used / seconds, 2), "informational", "cores")
    figure("load.client_cpu_cores", round(client_cpu / seconds, 2), "informational", "cores")
    figure("load.load_average", round(sum(loads) / len(loads), 2), "informational", "runnable tasks (1 min)")
    blat = sorted(base.latencies)
    figure("load.baseline_rps", round(len(blat) / base_s, 1), "informational", "requests/s")
    figure("load.baseline_server_cpu_ms_per_request", round(1000 * base_cpu / max(1, len(blat)), 2),
           "informational", "ms")
    figure("load.baseline_client_cpu_cores", round(base_client_cpu / base_s, 2), "informational", "cores")
    figure("load.baseline_p99_ms", round(blat[min(len(blat) - 1, int(0.99 * len(blat)))] * 1000, 1) if blat
           else float("nan"), "informational", "ms")
    figure("load.errors", sum(tally.errors.values()), "0", "requests")
    figure("load.p99_ms", p(0.99), "≤ 1000", "ms")
    figure("load.rss_growth_mb", round(rss_end - rss_start, 1), "≤ 50", "MB")
    figure("load.shutdown_s", round(shutdown_s, 2), "≤ 10", "s")


if __name__ == "__main__":
    main()
