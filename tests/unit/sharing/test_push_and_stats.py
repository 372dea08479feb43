"""Push subscriptions (signed, retried, logged) and sharing statistics."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pytest
from sqlalchemy import select

from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.errors import PermissionDenied
from shudata.core.types import Actor
from shudata.sharing import push, service, stats
from shudata.sharing.models import PushDelivery
from shudata.sharing.nodes.service import identity
from shudata.sharing.schemas import DecisionCreate, RequestCreate

TODAY = dt.date.today()
TABLE = pa.table({"统一社会信用代码": ["91510100MA6CB8AG5D"], "机构名称": ["成都甲公司"]})


def _version(rt):
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, "201001/000001"),
                      batches_or_table=TABLE, source_name="a.csv", source_format="csv")


@pytest.fixture
def grant_id(rt, world):
    _version(rt)
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource="201001/000001", fields=["统一社会信用代码"], purpose="工作参考", basis="工作需要",
            use_from=TODAY, use_until=TODAY + dt.timedelta(days=10)))
    return r.grant.id


def test_new_versions_are_pushed_signed_and_retried(rt, world, grant_id):
    with rt.transaction() as s:
        push.subscribe(session=s, actor=world.user, grant_id=grant_id, url="http://127.0.0.1:9/hook")
        assert push.enqueue_new_versions(session=s, settings=rt.settings) == 0  # nothing new since subscribing
    _version(rt)
    received: list[tuple[bytes, dict[str, str]]] = []
    calls = {"n": 0}

    def flaky(url: str, body: bytes, headers: dict[str, str]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("consumer down")
        received.append((body, headers))

    with rt.transaction() as s:
        assert push.enqueue_new_versions(session=s, settings=rt.settings) == 1
        assert push.deliver_pushes(session=s, transport=flaky) == (0, 1)
        assert push.deliver_pushes(session=s, transport=flaky) == (0, 0)  # backing off
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        assert push.deliver_pushes(session=s, transport=flaky, now=later) == (1, 0)
        pub = identity(s, rt.settings).public_key
        row = s.scalars(select(PushDelivery)).one()
    body, headers = received[0]
    assert row.status == "delivered" and row.attempts == 2
    assert push.verify_push(body, headers["X-Shudata-Signature"], pub)
    assert not push.verify_push(body.replace(b'"version":2', b'"version":3'), headers["X-Shudata-Signature"], pub)


def test_only_the_consumer_department_can_subscribe(rt, world, grant_id):
    with pytest.raises(PermissionDenied), rt.transaction() as s:
        push.subscribe(session=s, actor=world.steward, grant_id=grant_id, url="http://127.0.0.1:9/hook")


def test_stats_count_requests_decisions_and_deliveries(rt, world, grant_id):
    with rt.transaction() as s:
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource="201001/000002", fields=["机构名称"], purpose="工作参考", basis="工作需要",
            use_from=TODAY, use_until=TODAY + dt.timedelta(days=10)))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="refuse", reason="不符合条件"))
        rows = stats.sharing_stats(session=s, actor=world.admin, by="resource")
    by_code = {row.key: row for row in rows}
    assert (by_code["201001/000001"].requests, by_code["201001/000001"].grants_active) == (1, 1)
    assert (by_code["201001/000002"].refused, by_code["201001/000002"].median_days) == (1, 0)
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(stats.stats_xlsx(rows, "统计"))).active
    assert ws.cell(1, 3).value == "申请数" and ws.max_row == 3


def test_workflow_notifications_go_to_the_optional_webhook_signed(rt, world):
    with rt.transaction() as s:
        service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource="201001/000002", fields=["机构名称"], purpose="工作参考", basis="工作需要",
            use_from=TODAY, use_until=TODAY + dt.timedelta(days=10)))
    got: list[tuple[str, bytes, dict[str, str]]] = []
    with rt.transaction() as s:  # no URL configured: nothing is sent
        assert push.deliver_notifications(session=s, settings=rt.settings, transport=lambda *a: got.append(a)) == (0, 0)
    configured = rt.settings.model_copy(update={"sharing_webhook_url": "http://127.0.0.1:9/notify"})
    with rt.transaction() as s:
        assert push.deliver_notifications(session=s, settings=configured, transport=lambda *a: got.append(a)) == (1, 0)
        assert push.deliver_notifications(session=s, settings=configured, transport=lambda *a: got.append(a)) == (0, 0)
        pub = identity(s, rt.settings).public_key
    url, body, headers = got[0]
    assert url.endswith("/notify") and b"request.pending" in body
    assert push.verify_push(body, headers["X-Shudata-Signature"], pub)
