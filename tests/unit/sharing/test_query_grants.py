"""A consumer department reads granted data in the SQL sandbox (``POST /api/v1/query`` and the
workbench) exactly as its grant delivers it: the grant's columns and rows, masked like the
grant's CSV download; filters see the masked values only; a column outside the grant does
not exist; no, revoked or expired grant, another department and the platform admin are
refused; the provider department still reads raw."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select, update

from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor, Role
from shudata.sharing import service
from shudata.sharing.models import SharingDelivery, SharingGrant
from shudata.sharing.schemas import DecisionCreate, RequestCreate, RevokeCreate

TODAY = dt.date.today()
IDS = ["510104199001011230", "510105198502023450", "510703197703035672"]
ROWS = pa.table({"统一社会信用代码": ["91510100MA6CB8AG5D", "91510100MA6CB8AG6B", "91510700MA6CB8AG7X"],
                 "机构名称": ["成都甲公司", "成都乙公司", "绵阳丙公司"],
                 "法定代表人": ["张三", "李四", "王五"],
                 "身份证号": IDS,
                 "联系电话": ["13812345678", "13912345678", "13712345678"]})
CODE = "201001/000002"
GRANTED = ["统一社会信用代码", "法定代表人", "身份证号", "联系电话"]
RAW = ("张三", "李四", "王五", "13812345678", "13912345678", "绵阳丙公司", *IDS)
SQL = f'SELECT * FROM "{CODE}" ORDER BY 统一社会信用代码'


@pytest.fixture
def granted(rt, world, token_for) -> dict[str, Any]:
    with rt.transaction() as s:
        res = find_resource(s, CODE)
        res.information_items = [*res.information_items,
                                 {"name": "身份证号", "data_type": "C", "length": 18, "description": "法人身份证号"}]
        for code in ("201001/000001", CODE):
            write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, code),
                          batches_or_table=ROWS, source_name="企业.csv", source_format="csv")
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=GRANTED, purpose="业务协同", basis="《税收征收管理法》", use_from=TODAY,
            use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id, data=DecisionCreate(
            decision="approve_partial", reason="仅成都企业", fields=GRANTED, row_filter="机构名称 LIKE '成都%'"))
    with rt.transaction() as s:
        grant_id = s.scalar(select(SharingGrant.id))
    return {"user": token_for("c_user"), "steward": token_for("p_steward"), "grant": grant_id}


def _query(client: Any, headers: dict[str, str], sql: str) -> Any:
    return client.post("/api/v1/query", json={"sql": sql}, headers=headers)


def _csv_download(client: Any, headers: dict[str, str]) -> list[list[str]]:
    r = client.get("/api/v1/shared/rows", params={"resource": CODE, "format": "csv"}, headers=headers)
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == GRANTED
    return sorted(rows[1:])


def test_api_and_workbench_rows_equal_the_grants_csv_download(client, granted, rt):
    api = _query(client, granted["user"], SQL)
    assert api.status_code == 200, api.text
    body = api.json()
    assert [c["name"] for c in body["columns"]] == GRANTED
    assert body["rows"] == _csv_download(client, granted["user"])
    assert len(body["rows"]) == 2  # the grant's row filter: the Mianyang firm is not there
    assert not [raw for raw in RAW if raw in api.text]  # names, phones and ID numbers masked
    assert [row[0] for row in body["rows"]] == ["91510100MA6CB8AG5D", "91510100MA6CB8AG6B"]
    assert body["tables"] == [{"code": CODE, "name": "企业登记详细信息", "version": 1, "grant": granted["grant"]}]
    wb = client.post("/api/v1/query/runs", json={"sql": SQL}, headers=granted["user"])
    assert wb.status_code == 200, wb.text
    assert wb.json()["rows"] == body["rows"]
    export = client.post("/api/v1/query", params={"format": "csv", "whole": True}, json={"sql": SQL},
                         headers=granted["user"])
    assert export.status_code == 200, export.text
    exported = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert exported == [GRANTED, *body["rows"]]
    with rt.transaction() as s:
        runs = s.scalars(select(AuditEntry).where(AuditEntry.action == "query.run",
                                                  AuditEntry.actor == "c_user")).all()
        logged = s.scalars(select(SharingDelivery).where(SharingDelivery.channel == "query")).all()
    assert len(runs) == 3 and all(
        json.loads(e.details)["tables"][0]["grant"] == granted["grant"] for e in runs)
    assert [(d.grant_id, d.rows, d.format, d.recipient) for d in logged] == [
        (granted["grant"], 2, fmt, "c_user") for fmt in ("json", "json", "csv")]


def test_filters_sorts_and_counts_see_the_masked_values_only(client, granted):
    masked = _query(client, granted["user"], f'SELECT 身份证号 FROM "{CODE}" ORDER BY 1').json()["rows"]
    assert len(masked) == 2 and all(m[0] not in IDS for m in masked)

    def count(where: str) -> int:
        r = _query(client, granted["user"], f'SELECT count(*) FROM "{CODE}" WHERE {where}')
        assert r.status_code == 200, r.text
        return int(r.json()["rows"][0][0])

    assert count(f"身份证号 = '{IDS[0]}'") == 0  # the raw ID number matches nothing
    assert count("身份证号 LIKE '5101041990%'") == 0  # nor does a probe of its hidden digits
    assert count("法定代表人 = '张三'") == 0
    assert count(f"身份证号 = '{masked[0][0]}'") == 1  # the delivered value does
    assert count("1 = 1") == 2  # rows outside the grant's filter do not exist either


@pytest.mark.parametrize("column", ["机构名称", "注册资本"])
def test_a_column_outside_the_grant_is_refused_by_name(client, granted, column):
    sql = f'SELECT 法定代表人, {column} FROM "{CODE}"'
    api = _query(client, granted["user"], sql)
    assert api.status_code == 422 and column in api.json()["error"]["message"], api.text
    assert api.json()["error"]["code"] == "column_not_granted" and api.json()["error"]["details"]["column"] == column
    qualified = _query(client, granted["user"], f'SELECT g.{column} FROM "{CODE}" AS g')
    assert qualified.status_code == 422 and qualified.json()["error"]["code"] == "column_not_granted", qualified.text
    wb = client.post("/api/v1/query/runs", json={"sql": sql}, headers=granted["user"])
    assert wb.status_code == 422
    assert wb.json()["error"]["details"]["mark"]["text"] == column
    where = _query(client, granted["user"], f"SELECT count(*) FROM \"{CODE}\" WHERE {column} IS NOT NULL")
    assert where.status_code == 422 and column in where.json()["error"]["message"], where.text


def test_schema_lists_the_granted_table_with_granted_columns_masked_marked(client, granted, rt, world):
    assert _query(client, granted["user"], SQL).status_code == 200  # the grant's masked file is there now
    tables = client.get("/api/v1/query/schema", headers=granted["user"]).json()["tables"]
    assert [t["code"] for t in tables] == [CODE]  # 201001/000001 is not granted
    table = tables[0]
    assert table["grant"] == granted["grant"] and table["department"] == "省市场监管局"
    assert table["rows"] == 2 and table["version"] == 1  # the delivered rows, not the version's 3
    cols = {c["name"]: c["masked"] for c in table["columns"]}
    assert list(cols) == GRANTED
    assert cols["身份证号"] and cols["法定代表人"] and cols["联系电话"] and not cols["统一社会信用代码"]
    provider = client.get("/api/v1/query/schema", headers=granted["steward"]).json()["tables"]
    assert all(t["grant"] is None for t in provider) and CODE in [t["code"] for t in provider]
    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=granted["grant"],
                             data=RevokeCreate(reason="停止协作"))
    assert client.get("/api/v1/query/schema", headers=granted["user"]).json()["tables"] == []


def test_the_provider_department_still_reads_raw(client, granted):
    r = _query(client, granted["steward"], f'SELECT 身份证号 FROM "{CODE}" ORDER BY 1')
    assert r.status_code == 200 and [row[0] for row in r.json()["rows"]] == sorted(IDS)
    assert r.json()["tables"][0]["grant"] is None


def _refused(client: Any, headers: dict[str, str], sql: str = SQL, word: str | None = None) -> None:
    for path in ("/api/v1/query", "/api/v1/query/runs"):
        r = client.post(path, json={"sql": sql}, headers=headers)
        assert r.status_code == 403, r.text
        assert not [raw for raw in RAW if raw in r.text]
        if word:
            assert word in r.json()["error"]["message"]


def test_no_grant_other_departments_and_the_admin_are_refused(client, granted, make_department, make_user,
                                                              token_for):
    _refused(client, granted["user"], 'SELECT * FROM "201001/000001"')  # same rows, no grant
    other = make_department("省教育厅")
    make_user("e_user", Role.DEPT_USER, department_id=other)
    _refused(client, token_for("e_user"))
    _refused(client, token_for("opsadmin"))  # the platform admin gets no bypass
    assert client.get("/api/v1/query/schema", headers=token_for("e_user")).json()["tables"] == []


def test_a_revoked_grant_is_refused_at_once(client, granted, rt, world):
    assert _query(client, granted["user"], SQL).status_code == 200
    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=granted["grant"],
                             data=RevokeCreate(reason="停止协作"))
    _refused(client, granted["user"], word="撤销")


def test_an_expired_grant_is_refused(client, granted, rt):
    with rt.transaction() as s:
        s.execute(update(SharingGrant).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    _refused(client, granted["user"], word="过期")
    with rt.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied",
                                                    AuditEntry.actor == "c_user")).all()
    assert denied and all(e.resource_id == CODE for e in denied)


def test_the_grants_call_quota_applies_to_queries(client, granted, rt):
    with rt.transaction() as s:
        s.execute(update(SharingGrant).values(quota_calls_per_day=2))
    assert _query(client, granted["user"], SQL).status_code == 200
    export = client.post("/api/v1/query", params={"format": "csv"}, json={"sql": SQL}, headers=granted["user"])
    assert export.status_code == 200, export.text
    r = _query(client, granted["user"], SQL)
    assert r.status_code == 429 and "重置" in r.json()["error"]["message"]
