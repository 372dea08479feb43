"""Two real platform nodes (province 510000, city 510100) in separate server processes,
each with its own database and lake: catalog sync over SM2-signed messages, forged and
replayed messages refused and logged, a node that is down retried later without loss."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department
from shudata.sharing.nodes import log, service
from shudata.sharing.nodes.models import FederatedEntry, NodeMessage, OutboxItem
from shudata.standards.uscc import complete

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]
SYS = Actor.system()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    code: str
    settings: Settings
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "SHUDATA_DATA_DIR": str(self.settings.data_dir), "SHUDATA_NODE_CODE": self.code,
               "SHUDATA_ENV": "test"}
        env.pop("SHUDATA_DATABASE_URL", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "shudata", "serve", "--port", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"node {self.code} did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def runtime(self) -> Runtime:
        rt = Runtime.build(self.settings)
        return rt


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    province = Node("510000", Settings(env="test", data_dir=tmp_path / "province", node_code="510000"), _free_port())
    city = Node("510100", Settings(env="test", data_dir=tmp_path / "city", node_code="510100"), _free_port())
    for n in (province, city):
        n.start()
    try:
        yield province, city
    finally:
        for n in (province, city):
            n.stop()


def _trust_each_other(province: Node, city: Node) -> None:
    ids = {n.code: httpx.get(f"{n.url}/api/v1/federation/identity").json() for n in (province, city)}
    for me, other in ((province, city), (city, province)):
        rt = me.runtime()
        with rt.transaction() as s:
            service.add_peer(session=s, actor=SYS, code=other.code, name=ids[other.code]["name"], base_url=other.url,
                             public_key=ids[other.code]["public_key"])
        rt.close()


def _city_catalog(city: Node) -> None:
    rt = city.runtime()
    with rt.transaction() as s:
        dept = create_department(session=s, actor=SYS, data=DepartmentCreate(
            name="成都市市场监管局", uscc=complete("11510100000000011"), region_code="510100"))
        for i, (name, st) in enumerate([("成都市企业登记信息", 1), ("成都市个体工商户名录", 2), ("成都市涉密名录", 3)]):
            s.add(CatalogResource(code=f"201001/00000{i + 1}", name=name, classification="部门", abstract=name,
                                  provider_department_id=dept.id, format_category="数据库", format_type="csv",
                                  information_items=[{"name": "统一社会信用代码", "data_type": "C", "length": 18}],
                                  sharing_type=st, sharing_condition=None if st == 1 else "依据", sharing_method="接口",
                                  open_type="不予开放", update_cycle="每月"))
    rt.close()


def _deliver(node: Node, now: dt.datetime | None = None) -> tuple[int, int]:
    rt = node.runtime()
    with rt.transaction() as s:
        result = service.deliver_outbox(session=s, transport=service.http_transport, now=now)
    rt.close()
    return result


def test_catalog_sync_forgery_replay_and_retry(nodes):
    province, city = nodes
    _trust_each_other(province, city)
    _city_catalog(city)

    # 1. the city publishes its sharing list; the province shows the federated entries
    rt = city.runtime()
    with rt.transaction() as s:
        item = service.publish_catalog(session=s, actor=SYS, settings=city.settings, peer_code="510000")
        payload = dict(item.payload)
    rt.close()
    assert _deliver(city) == (1, 0)
    prt = province.runtime()
    with prt.transaction() as s:
        names = sorted(e.name for e in service.federated_entries(s, "510100"))
    assert names == ["成都市个体工商户名录", "成都市企业登记信息"]  # 不予共享 is not on the sharing list

    # 2. a replayed message is refused and logged
    replay = httpx.post(f"{province.url}/api/v1/federation/inbox", json=payload)
    assert replay.status_code == 403 and "重放" in replay.json()["error"]["message"]

    # 3. a forged message (body altered after signing) is refused and logged
    forged_env = {**payload["envelope"], "id": "f" * 32, "body": {"entries": []}}
    forged = httpx.post(f"{province.url}/api/v1/federation/inbox",
                        json={"envelope": forged_env, "signature": payload["signature"]})
    assert forged.status_code == 403 and "签名" in forged.json()["error"]["message"]
    with prt.transaction() as s:
        statuses = [m.status for m in s.scalars(select(NodeMessage).where(NodeMessage.direction == "in")
                                                .order_by(NodeMessage.seq))]
        assert len(service.federated_entries(s, "510100")) == 2  # the forgery changed nothing
        assert log.verify(s) == []
    assert statuses == ["accepted", "refused", "refused"]

    # 4. the province is down: the message stays queued, then goes through after restart
    province.stop()
    rt = city.runtime()
    with rt.transaction() as s:
        service.publish_catalog(session=s, actor=SYS, settings=city.settings, peer_code="510000")
    rt.close()
    assert _deliver(city) == (0, 1)
    province.start()
    assert _deliver(city) == (0, 0)  # backing off: not due yet
    assert _deliver(city, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)) == (1, 0)
    rt = city.runtime()
    with rt.transaction() as s:
        pending = s.scalars(select(OutboxItem).where(OutboxItem.delivered_at.is_(None))).all()
        assert pending == [] and log.verify(s) == []
    rt.close()
    with prt.transaction() as s:
        assert s.scalar(select(FederatedEntry.id).limit(1)) is not None
    prt.close()
