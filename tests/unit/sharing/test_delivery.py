"""Masked delivery under grants: only granted fields and rows, masked by the grant's profile
(the real desensitization engine), every denial audited."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select, update

from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor
from shudata.lake.export import MEDIA_TYPES
from shudata.sharing import service
from shudata.sharing.models import SharingDelivery, SharingGrant
from shudata.sharing.schemas import DecisionCreate, RequestCreate, RevokeCreate

TODAY = dt.date.today()
ROWS = pa.table({"统一社会信用代码": ["91510100MA6CB8AG5D", "91510100MA6CB8AG6B", "91510100MA6CB8AG7X"],
                 "机构名称": ["成都甲公司", "成都乙公司", "绵阳丙公司"],
                 "法定代表人": ["张三", "李四", "王五"],
                 "注册资本": ["100", "2000", "50"],
                 "联系电话": ["13812345678", "13912345678", "13712345678"]})
RAW = ("成都甲公司", "张三", "李四", "13812345678", "13912345678", "法定代表人X")


@pytest.fixture
def shared(rt, world, client, token_for):
    with rt.transaction() as s:
        for code in ("201001/000001", "201001/000002"):
            write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, code),
                          batches_or_table=ROWS, source_name="企业.csv", source_format="csv")
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource="201001/000002", fields=["统一社会信用代码", "机构名称", "法定代表人", "联系电话"],
            purpose="业务协同", basis="《税收征收管理法》", use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id, data=DecisionCreate(
            decision="approve_partial", reason="仅成都企业", fields=["统一社会信用代码", "法定代表人", "联系电话"],
            row_filter="统一社会信用代码 LIKE '915101%' AND 机构名称 LIKE '成都%'", quota_calls_per_day=5))
    return {"user": token_for("c_user"), "steward": token_for("p_steward"), "other": token_for("c_steward"),
            "grant": r.id}


def test_grant_delivers_only_granted_fields_and_rows_masked(client, shared):
    r = client.get("/api/v1/shared/rows", params={"resource": "201001/000002"}, headers=shared["user"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["统一社会信用代码", "法定代表人", "联系电话"]
    assert body["total"] == 2
    rows = sorted(body["rows"])
    assert [row[0] for row in rows] == ["91510100MA6CB8AG5D", "91510100MA6CB8AG6B"]  # credit codes are kept
    assert [row[1] for row in rows] == ["张*", "李*"]  # names partially masked (share-conditional)
    assert [row[2] for row in rows] == ["138****5678", "139****5678"]  # mobiles too


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_ungranted_column_never_appears_in_any_format(client, shared, fmt):
    r = client.get("/api/v1/shared/rows", params={"resource": "201001/000002", "format": fmt},
                   headers=shared["user"])
    assert r.status_code == 200
    if fmt == "parquet":
        t = pq.read_table(io.BytesIO(r.content))
        assert t.column_names == ["统一社会信用代码", "法定代表人", "联系电话"]
        text = str(t.to_pylist())
    elif fmt == "csv":
        text = r.content.decode("utf-8-sig")
        assert text.splitlines()[0] == "统一社会信用代码,法定代表人,联系电话"
    else:
        from openpyxl import load_workbook

        text = str([c.value for row in load_workbook(io.BytesIO(r.content)).active.iter_rows() for c in row])
    assert "机构名称" not in text and "注册资本" not in text and "绵阳" not in text
    assert not [raw for raw in RAW if raw in text]


@pytest.mark.parametrize(
    "hostile",
    [
        "1=1 OR 机构名称 LIKE '%'",  # tries to widen: still ANDed with the grant's filter
        "法定代表人 = '张三'",  # an ungranted column
        "统一社会信用代码 IN (SELECT 统一社会信用代码 FROM t)",  # a subquery
    ],
)
def test_query_parameter_filter_cannot_widen_the_grant(client, shared, hostile):
    r = client.get("/api/v1/shared/rows", params={"resource": "201001/000002", "filter": hostile},
                   headers=shared["user"])
    if r.status_code == 200:
        assert r.json()["total"] <= 2
        assert all("绵阳" not in str(row) for row in r.json()["rows"])
    else:
        assert r.status_code == 422


def test_no_grant_and_other_departments_are_403_and_audited(client, shared, rt):
    no_grant = client.get("/api/v1/shared/rows", params={"resource": "201001/000001"}, headers=shared["user"])
    assert no_grant.status_code == 403 and "申请" in no_grant.json()["error"]["message"]
    other = client.get("/api/v1/shared/rows", params={"resource": "201001/000002"}, headers=shared["steward"])
    assert other.status_code == 403
    with rt.transaction() as s:
        denied = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.outcome == "denied", AuditEntry.action == "sharing.grant.use"))
    assert denied == 2


def test_revoked_grant_is_403_on_the_next_call(client, shared, rt, world):
    assert client.get("/api/v1/shared/rows", params={"resource": "201001/000002"},
                      headers=shared["user"]).status_code == 200
    with rt.transaction() as s:
        grant = s.scalar(select(SharingGrant))
        service.revoke_grant(session=s, actor=world.steward, grant_id=grant.id, data=RevokeCreate(reason="停止协作"))
    r = client.get("/api/v1/shared/rows", params={"resource": "201001/000002"}, headers=shared["user"])
    assert r.status_code == 403 and "撤销" in r.json()["error"]["message"]


def test_expired_grant_is_403(client, shared, rt):
    with rt.transaction() as s:
        s.execute(update(SharingGrant).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    r = client.get("/api/v1/shared/rows", params={"resource": "201001/000002"}, headers=shared["user"])
    assert r.status_code == 403 and "过期" in r.json()["error"]["message"]


def test_call_quota_gives_429_with_reset_time(client, shared):
    for _ in range(5):
        assert client.get("/api/v1/shared/rows", params={"resource": "201001/000002"},
                          headers=shared["user"]).status_code == 200
    r = client.get("/api/v1/shared/rows", params={"resource": "201001/000002"}, headers=shared["user"])
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0 and "重置" in r.json()["error"]["message"]


def test_every_delivery_records_recipient_version_and_grant(client, shared, rt):
    client.get("/api/v1/shared/rows", params={"resource": "201001/000002", "format": "csv"}, headers=shared["user"])
    with rt.transaction() as s:
        d = s.scalars(select(SharingDelivery)).one()
    assert (d.recipient, d.version, d.channel) == ("c_user", 1, "rest")


def _add_a_company(rt):
    """Version 2 of the granted table: version 1's rows and one new company."""
    changed = pa.concat_tables([ROWS, pa.table({"统一社会信用代码": ["91510100MA6CB8AG8Y"], "机构名称": ["成都丁公司"],
                                                "法定代表人": ["赵六"], "注册资本": ["10"],
                                                "联系电话": ["13612345678"]})])
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, "201001/000002"),
                      batches_or_table=changed, source_name="企业2.csv", source_format="csv")


def test_incremental_feed_returns_changed_rows_only(client, shared, rt):
    _add_a_company(rt)
    r = client.get("/api/v1/shared/changes", params={"resource": "201001/000002", "since_version": 1,
                                                     "key": "统一社会信用代码"}, headers=shared["user"])
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["rows"] == [["91510100MA6CB8AG8Y", "赵*", "136****5678"]]  # only the new row, masked


@pytest.mark.parametrize("limit", ["query_max_rows", "result_max_bytes"])
def test_an_incremental_answer_past_its_limit_is_refused_not_cut(client, shared, rt, monkeypatch, limit):
    """Issue #14 item 6: the feed is bounded in rows and bytes, and says so (413) instead of cutting."""
    _add_a_company(rt)
    monkeypatch.setattr(rt.settings, limit, 0 if limit == "query_max_rows" else 10)
    r = client.get("/api/v1/shared/changes", params={"resource": "201001/000002", "since_version": 1,
                                                     "key": "统一社会信用代码"}, headers=shared["user"])
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "changes_too_large" and "Delta Sharing" in r.json()["error"]["message"]


@pytest.mark.sqlite_only
def test_delivery_downloads_write_formulas_nested_binary_null_and_timezone_aware_values(client, shared, monkeypatch):
    """The sharing download uses the one download writer (shudata.lake.export) in every format."""
    from shudata.sharing import delivery

    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    page = pa.table({"法定代表人": ["=1+2", "张*"], "列表": pa.array([[1, 2], None]), "字节": [b"\x00\xff", None],
                     "时刻": pa.array([when, None], pa.timestamp("us", tz="+08:00"))})
    monkeypatch.setattr(delivery, "fetch_file", lambda **_: delivery.Delivery(
        schema=page.schema, batches=iter(page.to_batches()), rows=2, total=2, offset=0, limit=None))

    def download(fmt: str) -> bytes:
        r = client.get("/api/v1/shared/rows", params={"resource": "201001/000002", "format": fmt},
                       headers=shared["user"])
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"].endswith(quote(f"企业登记详细信息-v1.{fmt}"))
        assert r.headers["content-type"].split(";")[0] == MEDIA_TYPES[fmt].split(";")[0]
        return r.content

    csv_body = download("csv")
    assert csv_body.startswith(b"\xef\xbb\xbf")
    assert csv_body.decode("utf-8-sig").splitlines() == [
        "法定代表人,列表,字节,时刻", "'=1+2,\"[1, 2]\",00ff,2024-01-02 03:04:05.000000+0800", "张*,,,"]
    from openpyxl import load_workbook

    assert list(load_workbook(io.BytesIO(download("xlsx"))).active.iter_rows(values_only=True)) == [
        ("法定代表人", "列表", "字节", "时刻"), ("'=1+2", "[1, 2]", "00ff", "2024-01-02T03:04:05+08:00"),
        ("张*", None, None, None)]
    assert pq.read_table(io.BytesIO(download("parquet"))).equals(page)
