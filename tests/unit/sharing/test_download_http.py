"""Sharing file downloads over HTTP (issue 13): HEAD, Range, ETag and conditional requests on
``/api/v1/shared/rows?format=…`` — with the grant checked on every request, nothing charged for
``HEAD`` or a revalidation, and the rows charged once however many ranges a reader asks for."""

from __future__ import annotations

import datetime as dt
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select, update

from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor, Role
from shudata.sharing import service
from shudata.sharing.models import SharingDelivery, SharingGrant
from shudata.sharing.schemas import DecisionCreate, RequestCreate

TODAY = dt.date.today()
ROWS = pa.table({"统一社会信用代码": ["91510100MA6CB8AG5D", "91510100MA6CB8AG6B", "91510100MA6CB8AG7X"],
                 "机构名称": ["成都甲公司", "成都乙公司", "绵阳丙公司"],
                 "法定代表人": ["张三", "李四", "王五"],
                 "联系电话": ["13812345678", "13912345678", "13712345678"]})
URL = "/api/v1/shared/rows"
CODE = "201001/000002"


@pytest.fixture
def shared(rt, world, client, token_for, make_department, make_user):
    make_user("edu_user", Role.DEPT_USER, department_id=make_department("省教育厅"))  # no grant
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, CODE),
                      batches_or_table=ROWS, source_name="企业.csv", source_format="csv")
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=["统一社会信用代码", "机构名称", "法定代表人", "联系电话"],
            purpose="业务协同", basis="《税收征收管理法》", use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id, data=DecisionCreate(
            decision="approve_partial", reason="仅成都企业", fields=["统一社会信用代码", "法定代表人", "联系电话"],
            row_filter="机构名称 LIKE '成都%'", quota_rows_per_day=3))
    return {"user": token_for("c_user"), "other": token_for("edu_user"), "grant": r.id}


def _delivered(rt, grant: int) -> tuple[int, int]:
    with rt.transaction() as s:
        n, rows = s.execute(select(func.count(SharingDelivery.id), func.coalesce(func.sum(SharingDelivery.rows), 0))
                            .where(SharingDelivery.grant_id == grant)).one()
        return int(n), int(rows)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_head_ranges_and_validators_charge_once(client, shared, rt, fmt):
    params = {"resource": CODE, "format": fmt}
    head = client.head(URL, params=params, headers=shared["user"])
    assert head.status_code == 200 and head.content == b""
    assert _delivered(rt, shared["grant"]) == (0, 0)  # HEAD sends no rows: nothing charged
    size, etag = int(head.headers["content-length"]), head.headers["etag"]
    first = client.get(URL, params=params, headers={**shared["user"], "Range": "bytes=0-9"})
    assert first.status_code == 206 and first.headers["content-range"] == f"bytes 0-9/{size}"
    assert _delivered(rt, shared["grant"]) == (1, 2)  # the first range is the delivery of the file's 2 rows
    rest = client.get(URL, params=params, headers={**shared["user"], "Range": f"bytes=10-{size - 1}"})
    assert rest.status_code == 206 and rest.headers["etag"] == etag
    assert _delivered(rt, shared["grant"]) == (1, 2)  # a later range of the same file: a part of it
    whole = first.content + rest.content
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(whole))
        assert table.column_names == ["统一社会信用代码", "法定代表人", "联系电话"] and table.num_rows == 2
        assert sorted(table.column("法定代表人").to_pylist()) == ["张*", "李*"]  # masked
    else:
        assert whole.decode("utf-8-sig").splitlines()[0] == "统一社会信用代码,法定代表人,联系电话"
    same = client.get(URL, params=params, headers={**shared["user"], "If-None-Match": etag})
    assert same.status_code == 304 and _delivered(rt, shared["grant"]) == (1, 2)
    past = client.get(URL, params=params, headers={**shared["user"], "Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
    # the row quota (3 a day) is spent by whole downloads: the second whole GET would pass it, and so
    # would a revalidation that does not match (it sends the file)
    assert client.get(URL, params=params, headers=shared["user"]).status_code == 429
    stale = client.get(URL, params=params, headers={**shared["user"], "If-None-Match": '"stale"'})
    assert stale.status_code == 429


def test_etag_follows_the_grant_terms(client, shared, rt):
    params = {"resource": CODE, "format": "csv"}
    before = client.head(URL, params=params, headers=shared["user"]).headers["etag"]
    narrowed = client.head(URL, params={**params, "filter": "法定代表人 = '张*'"}, headers=shared["user"])
    assert narrowed.headers["etag"] != before
    with rt.transaction() as s:  # the provider narrows the grant: another masked view, another file
        s.execute(update(SharingGrant).where(SharingGrant.id == shared["grant"])
                  .values(fields=["统一社会信用代码", "法定代表人"]))
    after = client.get(URL, params=params, headers={**shared["user"], "If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before
    assert after.content.decode("utf-8-sig").splitlines()[0] == "统一社会信用代码,法定代表人"


def test_no_grant_no_head_no_range(client, shared, rt):
    params = {"resource": CODE, "format": "parquet"}
    for method, extra in (("HEAD", {}), ("GET", {"Range": "bytes=0-9"}), ("GET", {"If-None-Match": "*"})):
        r = client.request(method, URL, params=params, headers={**shared["other"], **extra})
        assert r.status_code == 403, (method, extra, r.status_code)
        assert "etag" not in r.headers and "content-range" not in r.headers and "last-modified" not in r.headers
    with rt.transaction() as s:  # revoked: the file is still on disk, the answer is a refusal
        s.execute(update(SharingGrant).where(SharingGrant.id == shared["grant"]).values(revoked_at=dt.datetime.now(
            dt.UTC)))
    r = client.head(URL, params=params, headers=shared["user"])
    assert r.status_code == 403 and "etag" not in r.headers


def test_delta_sharing_file_urls_have_validators_and_die_with_the_grant(client, shared, rt, world):
    base = f"/delta-sharing/shares/dept_{world.consumer}/schemas/default/tables/r_201001_000002"
    q = client.post(f"{base}/query", headers=shared["user"], json={})
    assert q.status_code == 200, q.text
    url = next(json.loads(line)["file"]["url"] for line in q.text.splitlines() if '"file"' in line)
    head = client.head(url)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"].startswith('"')
    etag, size = head.headers["etag"], int(head.headers["content-length"])
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"Range": "bytes=0-3"}).content == b"PAR1"
    assert client.get(url, headers={"Range": f"bytes={size}-"}).status_code == 416
    with rt.transaction() as s:
        s.execute(update(SharingGrant).where(SharingGrant.id == shared["grant"]).values(
            revoked_at=dt.datetime.now(dt.UTC)))
    for method, extra in (("HEAD", {}), ("GET", {"Range": "bytes=0-3"}), ("GET", {"If-None-Match": etag})):
        r = client.request(method, url, headers=extra)
        assert r.status_code == 403 and "etag" not in r.headers, (method, extra)
