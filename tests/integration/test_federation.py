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
        # The server's log goes to a file: a pipe nobody reads while it runs fills up and blocks the
        # server, and reading it after a failed start waited for an end that never came (a 900 s hang).
        log = self.settings.data_dir.parent / f"node-{self.code}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "shudata", "serve", "--port", str(self.port)],
                                         env=env, stdout=subprocess.DEVNULL, stderr=out)
        deadline = time.monotonic() + 180  # a loaded CI machine: the embedded store and demo setup are slow
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"node {self.code} did not start: {log.read_text(errors='replace')[-4000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def runtime(self) -> Runtime:
        rt = Runtime.build(self.settings)
        return rt


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    province = Node("510000", Settings(env="test", data_dir=tmp_path / "province", node_code="510000"), _free_port())
    city = Node("510100", Settings(env="test", data_dir=tmp_path / "city", node_code="510100"), _free_port())
    try:
        for n in (province, city):
            n.start()
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


def _city_data(city: Node) -> None:
    import pyarrow as pa

    from shudata.catalog.access import find_resource
    from shudata.catalog.writes import write_version

    rt = city.runtime()
    with rt.transaction() as s:
        write_version(session=s, settings=city.settings, actor=SYS, resource=find_resource(s, "201001/000002"),
                      batches_or_table=pa.table({"统一社会信用代码": ["92510100MA6CB8AG5X", "92510100MA6CB8AG6Y"]}),
                      source_name="个体.csv", source_format="csv")
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
    t0 = dt.datetime.now(dt.UTC)
    assert _deliver(city, now=t0) == (0, 1)
    province.start()
    assert _deliver(city, now=t0 + dt.timedelta(seconds=1)) == (0, 0)  # backing off: not due yet
    assert _deliver(city, now=t0 + dt.timedelta(minutes=2)) == (1, 0)
    rt = city.runtime()
    with rt.transaction() as s:
        pending = s.scalars(select(OutboxItem).where(OutboxItem.delivered_at.is_(None))).all()
        assert pending == [] and log.verify(s) == []
    rt.close()
    with prt.transaction() as s:
        assert s.scalar(select(FederatedEntry.id).limit(1)) is not None
    prt.close()


@pytest.fixture(params=[None, "1"], ids=["one-page", "pages-of-one-row"])
def fetch_pages(request, monkeypatch):
    """Set before the nodes start: a holding node whose answers hold one row each must still
    deliver every granted row, page after page (issue #11 item 1)."""
    if request.param:
        monkeypatch.setenv("SHUDATA_QUERY_MAX_ROWS", request.param)
    return request.param


def test_cross_node_request_decided_at_the_holder_and_delivered(fetch_pages, nodes):
    from shudata.core.types import Role
    from shudata.security.models import User
    from shudata.security.schemas import UserCreate
    from shudata.security.service import actor_for, create_user
    from shudata.sharing import service as sharing
    from shudata.sharing.models import RemoteRequest, SharingRequest
    from shudata.sharing.nodes import exchange
    from shudata.sharing.schemas import DecisionCreate, RequestCreate

    province, city = nodes
    _trust_each_other(province, city)
    _city_catalog(city)
    _city_data(city)
    rt = city.runtime()
    with rt.transaction() as s:
        service.publish_catalog(session=s, actor=SYS, settings=city.settings, peer_code="510000")
        steward_dept = s.scalar(select(CatalogResource.provider_department_id))
        u = create_user(session=s, actor=SYS, data=UserCreate(username="cd_steward", display_name="成都管理员",
                        password="Tianfu-Data-7", department_id=steward_dept, roles=[Role.DATA_STEWARD]))
        city_steward = actor_for(s.get(User, u.id))
    rt.close()
    assert _deliver(city) == (1, 0)

    prt = province.runtime()
    with prt.transaction() as s:
        dept = create_department(session=s, actor=SYS, data=DepartmentCreate(
            name="省税务局", uscc=complete("11510000000000027"), region_code="510000"))
        u = create_user(session=s, actor=SYS, data=UserCreate(username="tax_user", display_name="税务用户",
                        password="Tianfu-Data-7", department_id=dept.id, roles=[Role.DEPT_USER]))
        tax_user = actor_for(s.get(User, u.id))
        rr = exchange.request_remote(session=s, actor=tax_user, settings=province.settings, node_code="510100",
                                     data=RequestCreate(resource="201001/000002", fields=["统一社会信用代码"],
                                                        purpose="业务协同", basis="跨区域税收协同",
                                                        use_from=dt.date.today(),
                                                        use_until=dt.date.today() + dt.timedelta(days=30)))
        rr_id = rr.id
    assert _deliver(province) == (1, 0)

    # decided on the holding node by its own steward, under its own rules
    rt = city.runtime()
    with rt.transaction() as s:
        req = s.scalars(select(SharingRequest)).one()
        assert (req.status, req.origin_node) == ("pending", "510000")
        sharing.decide(session=s, actor=city_steward, settings=city.settings, request_id=req.id,
                       data=DecisionCreate(decision="approve"))
    rt.close()
    assert _deliver(city) == (1, 0)
    with prt.transaction() as s:
        assert s.get(RemoteRequest, rr_id).status == "approved"
        table = exchange.fetch_remote(session=s, actor=tax_user, settings=province.settings,
                                      remote_request_id=rr_id)
        assert log.verify(s) == []
    assert table.column_names == ["统一社会信用代码"] and table.num_rows == 2
    prt.close()
