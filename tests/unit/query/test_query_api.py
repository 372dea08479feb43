"""Legitimate queries through ``POST /api/v1/query``: names, joins, aggregates, windows,
CTEs, Chinese columns, time travel, paging and the row cap, downloads, audit."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from shudata.audit.models import AuditEntry


def _q(client, headers, sql: str, **extra):
    r = client.post("/api/v1/query", json={"sql": sql, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


NAMES = [
    "people",  # alias
    "PEOPLE",  # unquoted identifiers are case-insensitive
    '"101001/000001"',  # resource code, quoted because of the slash
    '"四川省人口基础信息"',  # Chinese resource name
]


def test_resource_by_alias_code_or_chinese_name(client, world, token_for):
    headers = token_for("a_user")
    for name in NAMES:
        body = _q(client, headers, f'SELECT count(*) AS n FROM {name}')
        assert body["rows"] == [[4]], name
        assert body["tables"] == [{"code": "101001/000001", "name": "四川省人口基础信息", "version": 2, "grant": None}]


@pytest.mark.sqlite_only
def test_join_of_two_permitted_resources_with_aggregate(client, world, token_for):
    body = _q(client, token_for("a_user"), '''
        SELECT p."城市", count(DISTINCT p."姓名") AS 人数, sum(e."注册资本") AS 注册资本合计
        FROM people p JOIN enterprise_credit e ON p."城市" = e."城市"
        GROUP BY p."城市" ORDER BY p."城市"''')
    assert [c["name"] for c in body["columns"]] == ["城市", "人数", "注册资本合计"]
    assert body["rows"] == [["成都", 2, 6000.0], ["绵阳", 1, 500.0]]
    assert {t["code"] for t in body["tables"]} == {"101001/000001", "201001/000001"}


@pytest.mark.sqlite_only
def test_window_function_and_cte(client, world, token_for):
    body = _q(client, token_for("a_user"), '''
        WITH ranked AS (
            SELECT "姓名", "城市", rank() OVER (PARTITION BY "城市" ORDER BY "年龄" DESC) AS r FROM people)
        SELECT "城市", "姓名" FROM ranked WHERE r = 1 ORDER BY "城市"''')
    assert body["rows"] == [["德阳", "赵六"], ["成都", "王五"], ["绵阳", "李四"]]


def test_time_travel_with_the_versions_option(client, world, token_for):
    headers = token_for("a_user")
    old = _q(client, headers, 'SELECT count(*), max("年龄") FROM people', versions={"people": 1})
    new = _q(client, headers, 'SELECT count(*), max("年龄") FROM people')
    assert old["rows"] == [[3, 47]] and old["tables"][0]["version"] == 1
    assert new["rows"] == [[4, 48]]
    missing = client.post("/api/v1/query", json={"sql": "SELECT 1 FROM people", "versions": {"people": 9}},
                          headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "version_not_found"


@pytest.mark.sqlite_only
def test_pages_follow_the_order_and_report_total(client, world, token_for):
    headers = token_for("a_user")
    sql = "SELECT range AS i FROM range(45) ORDER BY i DESC"
    first = _q(client, headers, sql, limit=20)
    third = _q(client, headers, sql, offset=40, limit=20)
    assert [r[0] for r in first["rows"]] == list(range(44, 24, -1))
    assert first["has_more"] and first["total"] == 45 and not first["truncated"]
    assert [r[0] for r in third["rows"]] == [4, 3, 2, 1, 0]
    assert not third["has_more"] and third["total"] == 45


@pytest.mark.sqlite_only
def test_row_cap_truncates_and_says_so(client, world, token_for):
    headers = token_for("a_user")
    body = _q(client, headers, "SELECT * FROM range(1000000)", offset=40, limit=20)  # cap is 50 in these tests
    assert [r[0] for r in body["rows"]] == list(range(40, 50))
    assert body["truncated"] and body["total"] == 50 and not body["has_more"] and body["max_rows"] == 50
    small = _q(client, headers, "SELECT * FROM range(5)")
    assert not small["truncated"] and small["total"] == 5


@pytest.mark.sqlite_only
def test_page_limit_is_capped_by_page_size_max(client, world, token_for):
    body = _q(client, token_for("a_user"), "SELECT * FROM range(40)", limit=10_000)
    assert body["limit"] == 20 and len(body["rows"]) == 20


def test_success_is_audited_with_tables_and_versions(client, world, token_for, rt):
    _q(client, token_for("a_user"), 'SELECT "城市" FROM people', versions={"101001/000001": 1})
    with rt.transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "query.run",
                                                   AuditEntry.outcome == "success")).one()
    assert entry.actor == "a_user" and entry.resource_id == "101001/000001"
    assert '"version": 1' in entry.details and "SELECT" in entry.details


def test_admin_is_refused_department_data_and_owner_reads_its_own(client, world, token_for):
    """Raw data is a department matter: the platform admin has no bypass (403, audited)."""
    refused = client.post("/api/v1/query", json={"sql": "SELECT count(*) FROM police_cases"},
                          headers=token_for("opsadmin"))
    assert refused.status_code == 403 and "平台管理员也不例外" in refused.json()["error"]["message"]
    assert _q(client, token_for("b_user"), 'SELECT "案件编号" FROM "301001/000001" ORDER BY 1')["rows"] == [
        ["A1"], ["A2"]]


@pytest.mark.sqlite_only
def test_types_are_json_friendly(client, world, token_for):
    body = _q(client, token_for("a_user"),
              "SELECT DATE '2024-02-29' AS d, 1.50::DECIMAL(5,2) AS m, 'nan'::DOUBLE AS x, [1, 2] AS l, "
              "{'城市': '成都'} AS s")
    assert body["rows"] == [["2024-02-29", "1.50", None, [1, 2], {"城市": "成都"}]]


@pytest.mark.sqlite_only
def test_downloads_keep_chinese_headers_and_neutralise_formulas(client, world, token_for):
    headers = token_for("a_user")
    sql = 'SELECT "姓名", \'=1+2\' AS 公式 FROM people ORDER BY "年龄"'

    def download(fmt: str) -> bytes:
        r = client.post(f"/api/v1/query?format={fmt}", json={"sql": sql}, headers=headers)
        assert r.status_code == 200 and r.headers["x-shudata-truncated"] == "false"
        return r.content

    lines = download("csv").decode("utf-8-sig").splitlines()
    assert lines[0] == "姓名,公式" and lines[1] == "赵六,'=1+2" and len(lines) == 5
    ws = load_workbook(io.BytesIO(download("xlsx"))).active
    assert [c.value for c in ws[1]] == ["姓名", "公式"] and ws["B2"].value == "'=1+2"
    table = pq.read_table(io.BytesIO(download("parquet")))
    assert table.column_names == ["姓名", "公式"] and table.num_rows == 4
    refused = client.post("/api/v1/query?format=csv", json={"sql": "SELECT * FROM police_cases"}, headers=headers)
    assert refused.status_code == 403


@pytest.mark.sqlite_only
def test_downloads_of_nested_binary_null_and_timezone_aware_values(client, world, token_for):
    """One writer serves every format: a list and bytes become text, NULL is empty, a
    timezone-aware timestamp is ISO text in XLSX (which refuses it) and intact in Parquet."""
    sql = ('SELECT "姓名", \'=1+2\' AS 公式, NULL::VARCHAR AS 空值, [1, 2] AS 列表, \'\\x00\\xFF\'::BLOB AS 字节, '
           "TIMESTAMPTZ '2024-01-02 03:04:05+08:00' AS 时刻 FROM people ORDER BY \"年龄\" LIMIT 1")
    header = ["姓名", "公式", "空值", "列表", "字节", "时刻"]
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))

    def download(fmt: str) -> bytes:
        r = client.post(f"/api/v1/query?format={fmt}", json={"sql": sql}, headers=token_for("a_user"))
        assert r.status_code == 200, r.text
        return r.content

    rows = list(csv.reader(io.StringIO(download("csv").decode("utf-8-sig"))))
    assert rows[0] == header and rows[1][:5] == ["赵六", "'=1+2", "", "[1, 2]", "00ff"] and len(rows) == 2
    assert dt.datetime.fromisoformat(rows[1][5]) == when
    xlsx = list(load_workbook(io.BytesIO(download("xlsx"))).active.iter_rows(values_only=True))
    assert list(xlsx[0]) == header and xlsx[1][:5] == ("赵六", "'=1+2", None, "[1, 2]", "00ff")
    assert dt.datetime.fromisoformat(xlsx[1][5]) == when
    table = pq.read_table(io.BytesIO(download("parquet")))
    assert table.column_names == header
    assert table.to_pylist()[0] | {"时刻": None} == {"姓名": "赵六", "公式": "=1+2", "空值": None, "列表": [1, 2],
                                                   "字节": b"\x00\xff", "时刻": None}
    assert table.column("时刻")[0].as_py() == when
