"""A small store and a mixed-traffic driver for the load and crash tests against a real
``shudata serve`` process (tests/integration/test_load.py, test_ingest_kill.py)."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pyarrow as pa

from shudata.catalog.access import find_resource
from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.security.schemas import TokenCreate
from shudata.security.service import create_token
from shudata.sharing import prepare
from shudata.sharing.schemas import Purpose, RequestCreate
from shudata.sharing.service import request_access

ITEMS = [{"name": "姓名", "data_type": "C", "length": 20}, {"name": "城市", "data_type": "C", "length": 20},
         {"name": "年龄", "data_type": "I"}, {"name": "登记日期", "data_type": "D"}]
CITIES = ["成都市", "绵阳市", "德阳市", "宜宾市", "南充市"]


@dataclass
class Store:
    code: str
    steward_token: str
    consumer_token: str


def people(rows: int, seed: int = 7) -> pa.Table:
    rnd = random.Random(seed)
    return pa.table({"姓名": [f"张{i}" for i in range(rows)], "城市": [rnd.choice(CITIES) for _ in range(rows)],
                     "年龄": pa.array([rnd.randint(18, 90) for _ in range(rows)], pa.int64()),
                     "登记日期": pa.array([dt.date(2023, 1, 1 + i % 28) for i in range(rows)], pa.date32())})


def csv_bytes(rows: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    lines = ["姓名,城市,年龄,登记日期"] + [f"李{i},{rnd.choice(CITIES)},{rnd.randint(18, 90)},2024-02-{1 + i % 28:02d}"
                                           for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def build_store(rt: Runtime, steward: Actor, consumer: Actor, rows: int = 2000) -> Store:
    """One entry of 无条件共享 with a version, a grant to another department, and a token each."""
    data = ResourceCreate.model_validate({
        "code": "201001/000101", "name": "人员登记名单", "abstract": "负载测试用的人员登记数据",
        "sharing": {"type": 1, "method": "接口"}, "information_items": ITEMS})
    with rt.transaction() as s:
        code = register_resource(session=s, actor=steward, data=data).code
    with rt.transaction() as s:
        res = find_resource(s, code)
        write_version(session=s, settings=rt.settings, actor=steward, resource=res, batches_or_table=people(rows),
                      source_name="people.csv", source_format="csv")
    with rt.transaction() as s:
        today = dt.date.today()
        request_access(session=s, actor=consumer, settings=rt.settings, data=RequestCreate(
            resource=code, fields=[i["name"] for i in ITEMS], purpose=Purpose.WORK_REFERENCE, basis="负载测试",
            use_from=today, use_until=today + dt.timedelta(days=30)))
    prepare.wait(60)
    tokens = []
    for who in (steward, consumer):
        with rt.transaction() as s:
            tokens.append(create_token(session=s, actor=Actor.system(), data=TokenCreate(expires_in_days=1),
                                       username=who.username).token)
    return Store(code=code, steward_token=tokens[0], consumer_token=tokens[1])


def make_people(rt: Runtime, make_department: Any, make_user: Any) -> tuple[Actor, Actor]:
    provider = make_department("省统计局")
    consumer = make_department("省民政厅")
    return (make_user("tj_steward", Role.DATA_STEWARD, department_id=provider),
            make_user("mz_user", Role.DEPT_USER, department_id=consumer))


# -- the server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``python -m shudata serve`` on a loopback port, its output in ``log``."""

    def __init__(self, rt: Runtime, port: int, log: Path, **env: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.env = {**os.environ, "SHUDATA_ENV": "test", "SHUDATA_DATA_DIR": str(rt.settings.data_dir),
                    "SHUDATA_DATABASE_URL": rt.settings.resolved_database_url, **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None

    def start(self, timeout: float = 60) -> ServeProcess:
        self._out = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "shudata", "serve", "--port", str(self.port)],
                                     env=self.env, stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}: {self.output()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"serve did not answer within {timeout} s: {self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds until the process was gone)."""
        assert self.proc is not None
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self._out is not None:
                self._out.close()
        return code, time.monotonic() - t0

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        if self._out is not None:
            self._out.close()


# -- the traffic --------------------------------------------------------------------------------

@dataclass
class Tally:
    """What the clients saw. ``errors``: 5xx other than a 503 with Retry-After, and transport
    errors; ``timeouts``: requests with no answer within the client's timeout."""

    by_kind: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    shed: int = 0
    shed_without_retry_after: int = 0
    errors: list[str] = field(default_factory=list)
    timeouts: int = 0
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str) -> int:
        return self.statuses[f"{kind} 2xx"]


def mixed_request(client: httpx.Client, rnd: random.Random, store: Store, n: int) -> tuple[str, httpx.Response]:
    """One request of the mix: anonymous portal search and pages; catalog search and shared rows
    with the consumer's token; sandbox queries, raw rows and now and then an upload with the
    steward's."""
    steward = {"Authorization": f"Bearer {store.steward_token}"}
    consumer = {"Authorization": f"Bearer {store.consumer_token}"}
    roll = rnd.random()
    if roll < 0.2:
        return "catalog", client.get("/api/v1/search", params={"q": rnd.choice(["人员", "登记", "成都"])},
                                     headers=consumer)
    if roll < 0.35:
        return "portal", client.get("/api/3/action/package_search", params={"q": rnd.choice(["人口", "数据"])})
    if roll < 0.55:
        city = rnd.choice(CITIES)
        sql = f'SELECT "城市", count(*) AS n, avg("年龄") AS a FROM "{store.code}" WHERE "城市" = \'{city}\' GROUP BY 1'
        return "sandbox", client.post("/api/v1/query", json={"sql": sql}, headers=steward)
    if roll < 0.7:
        return "rows", client.get(f"/api/v1/resources/{store.code}/rows",
                                  params={"offset": rnd.randint(0, 1500), "limit": 100}, headers=steward)
    if roll < 0.9:
        return "shared", client.get("/api/v1/shared/rows", params={"resource": store.code, "limit": 50,
                                                                    "offset": rnd.randint(0, 1000)}, headers=consumer)
    if roll < 0.93:
        files = {"file": (f"people-{n}.csv", csv_bytes(200, n), "text/csv")}
        return "upload", client.post(f"/api/v1/resources/{store.code}/versions", files=files, headers=steward)
    if roll < 0.97:
        return "page", client.get("/portal")
    return "me", client.get("/api/v1/me", headers=steward)


def drive(url: str, store: Store, *, clients: int, seconds: float, stop: threading.Event | None = None,
          timeout: float = 30.0, seed: int = 1) -> Tally:
    """``clients`` threads, each with its own connection, sending the mix back to back for
    ``seconds`` (or until ``stop``); a 503 is retried after its Retry-After, as a client should."""
    tally = Tally()
    stop = stop or threading.Event()
    end = time.monotonic() + seconds

    def client_loop(k: int) -> None:
        rnd = random.Random(seed * 1000 + k)
        with httpx.Client(base_url=url, timeout=timeout) as client:
            n = 0
            while time.monotonic() < end and not stop.is_set():
                n += 1
                t0 = time.monotonic()
                try:
                    kind, resp = mixed_request(client, rnd, store, k * 100_000 + n)
                except httpx.TimeoutException:
                    with tally.lock:
                        tally.timeouts += 1
                    continue
                except httpx.HTTPError as exc:
                    if not stop.is_set():
                        with tally.lock:
                            tally.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                took = time.monotonic() - t0
                with tally.lock:
                    tally.by_kind[kind] += 1
                    tally.statuses[f"{kind} {resp.status_code // 100}xx"] += 1
                    tally.latencies.append(took)
                    if resp.status_code == 503:
                        tally.shed += 1
                        if "retry-after" not in resp.headers:
                            tally.shed_without_retry_after += 1
                    elif resp.status_code >= 500:
                        tally.errors.append(f"{kind} {resp.status_code}: {resp.text[:300]}")
                if resp.status_code == 503 and "retry-after" in resp.headers:
                    stop.wait(min(5.0, float(resp.headers["retry-after"])))

    threads = [threading.Thread(target=client_loop, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 30)
    return tally
