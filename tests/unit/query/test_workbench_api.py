"""The SQL workbench's endpoints: the readable schema, runs kept in the history, refusals with
the offending part marked, cancellation on the server, saved queries (private / department),
whole-result exports with Chinese names — and the same access rules as ``POST /api/v1/query``."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlglot import parse_one

from shudata.audit.models import AuditEntry
from shudata.core.plugins import hookimpl
from shudata.core.types import Role
from shudata.query.access import TableAccess
from shudata.query.runs import RUNS


def _run(client: Any, headers: dict[str, str], sql: str, **extra: Any) -> Any:
    return client.post("/api/v1/query/runs", json={"sql": sql, **extra}, headers=headers)


def _ok(client: Any, headers: dict[str, str], sql: str, **extra: Any) -> dict[str, Any]:
    r = _run(client, headers, sql, **extra)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def masked(rt: Any) -> Iterator[None]:
    """A masking rule on people: 姓名 shows only its first character, 身份证号 is hidden."""

    class MaskNames:
        @hookimpl
        def query_table_access(self, resource: Any) -> TableAccess | None:
            if resource.alias != "people":
                return None
            return TableAccess(columns=("姓名", "城市", "年龄"),
                               column_exprs={"姓名": parse_one("left(\"姓名\", 1) || '*'", read="duckdb")})

    name = rt.plugins.register(MaskNames())
    yield
    rt.plugins.unregister(name=name)


def test_schema_lists_only_readable_tables_with_catalog_descriptions(client, world, token_for):
    body = client.get("/api/v1/query/schema", headers=token_for("a_user")).json()
    codes = [t["code"] for t in body["tables"]]
    assert codes == ["101001/000001", "201001/000001"]  # B's cases and the entry without data are not listed
    people = body["tables"][0]
    assert people["sql_name"] == "people" and people["name"] == "四川省人口基础信息" and people["version"] == 2
    assert [c["name"] for c in people["columns"]] == ["姓名", "身份证号", "城市", "年龄"]
    assert people["columns"][0]["data_type"] == "字符型" and people["columns"][3]["type"] == "int64"
    assert people["columns"][0]["data_type_en"] == "character"
    assert body["timeout_s"] == 1.0 and body["max_rows"] == 50
    other = client.get("/api/v1/query/schema", headers=token_for("b_user")).json()
    assert [t["code"] for t in other["tables"]] == ["301001/000001"]


def test_schema_follows_the_access_hook(client, world, token_for, masked):
    people = client.get("/api/v1/query/schema", headers=token_for("a_user")).json()["tables"][0]
    cols = {c["name"]: c["masked"] for c in people["columns"]}
    assert cols == {"姓名": True, "城市": False, "年龄": False}  # 身份证号 hidden, 姓名 masked


def test_workbench_and_api_return_the_same_masked_rows(client, world, token_for, masked):
    """Masking applies in the workbench exactly as in the API, filters included (convention 16:
    a filter sees the delivered value, so it cannot probe the raw name)."""
    headers = token_for("a_user")
    sql = 'SELECT "姓名", "城市" FROM people ORDER BY "年龄"'
    wb = _ok(client, headers, sql)
    api = client.post("/api/v1/query", json={"sql": sql}, headers=headers).json()
    assert wb["rows"] == api["rows"] == [["赵*", "德阳"], ["张*", "成都"], ["李*", "绵阳"], ["王*", "成都"]]
    probe = _ok(client, headers, "SELECT count(*) FROM people WHERE \"姓名\" = '张三'")
    assert probe["rows"] == [[0]]
    hidden = _run(client, headers, 'SELECT "身份证号" FROM people')
    assert hidden.status_code == 422


def test_other_department_is_refused_in_the_workbench_as_in_the_api(client, world, token_for, rt):
    headers = token_for("b_user")
    sql = 'SELECT "姓名" FROM people'
    wb = _run(client, headers, sql)
    api = client.post("/api/v1/query", json={"sql": sql}, headers=headers)
    assert wb.status_code == api.status_code == 403
    error = wb.json()["error"]
    assert "无权读取" in error["message"]
    assert error["details"]["mark"]["text"] == "people"
    assert error["details"]["mark"]["from"] == {"line": 0, "ch": 17}
    history = client.get("/api/v1/query/history", headers=headers).json()
    assert history["items"][0]["status"] == "refused" and history["items"][0]["error_code"] == "permission_denied"
    with rt.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.actor == "b_user",
                                                    AuditEntry.outcome == "denied")).all()
    assert len(denied) == 2  # the workbench run and the API query, both audited


@pytest.mark.parametrize(("sql", "status", "code", "marked"), [
    ("SELECT * FROM people WHERE", 422, "sql_syntax_error", "WHERE"),  # incomplete statement
    ("SELECT getenv('HOME')", 422, "sql_function_forbidden", "getenv"),  # forbidden function
    ('SELECT 1 FROM "不存在的表"', 404, "table_not_found", '"不存在的表"'),  # unknown table
    ("SELECT *\nFROM read_csv('/etc/passwd')", 422, "sql_table_function_forbidden", "read_csv"),
    ("DELETE FROM people", 422, "sql_not_select", "DELETE"),  # not a query
    ('SELECT "无此列" FROM people', 422, "sql_invalid", '"无此列"'),  # the engine's binder error
])
def test_refusals_are_in_chinese_and_mark_the_offending_part(client, world, token_for, sql, status, code, marked):
    r = _run(client, token_for("a_user"), sql)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    assert error["details"]["mark"]["text"] == marked


def test_runs_go_into_the_history_unless_paging(client, world, token_for):
    headers = token_for("a_user")
    first = _ok(client, headers, "SELECT * FROM range(45)", limit=20)
    assert first["history_id"] is not None and first["timeout_s"] == 1.0 and first["total"] == 45
    _ok(client, headers, "SELECT * FROM range(45)", offset=20, limit=20, record=False)
    items = client.get("/api/v1/query/history", headers=headers).json()["items"]
    assert [(i["sql"], i["status"], i["rows"], i["total"]) for i in items] == [
        ("SELECT * FROM range(45)", "success", 20, 45)]
    assert client.get("/api/v1/query/history", headers=token_for("b_user")).json()["items"] == []


def test_a_timeout_is_kept_in_the_history(client, world, token_for):
    headers = token_for("a_user")
    r = _run(client, headers, "SELECT count(*) FROM range(1000000000000) a")
    assert r.status_code == 408
    assert client.get("/api/v1/query/history", headers=headers).json()["items"][0]["status"] == "timeout"


def test_cancel_stops_the_query_on_the_server(client, world, token_for, rt, settings):
    """Cancel interrupts the statement in DuckDB: the run ends at once with 409, well before its time limit."""
    settings.query_timeout_s = 30.0
    headers = token_for("a_user")
    answer: dict[str, Any] = {}

    def slow() -> None:
        started = time.perf_counter()
        answer["r"] = _run(client, headers, "SELECT count(*) FROM range(100000000000) a", run_id="run-slow-0001")
        answer["s"] = time.perf_counter() - started

    worker = threading.Thread(target=slow)
    worker.start()
    deadline = time.monotonic() + 10
    while not RUNS.is_running("a_user", "run-slow-0001") and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the statement is executing in DuckDB
    assert client.post("/api/v1/query/runs/run-slow-0001/cancel", headers=token_for("b_user")).status_code == 404
    r = client.post("/api/v1/query/runs/run-slow-0001/cancel", headers=headers)
    assert r.status_code == 200 and r.json()["cancelled"] is True
    worker.join(timeout=20)
    assert answer["r"].status_code == 409 and answer["r"].json()["error"]["code"] == "query_cancelled"
    assert answer["s"] < 10
    assert client.get("/api/v1/query/history", headers=headers).json()["items"][0]["status"] == "cancelled"
    assert client.post("/api/v1/query/runs/run-slow-0001/cancel", headers=headers).status_code == 404
    with rt.transaction() as s:
        done = s.scalars(select(AuditEntry).where(AuditEntry.action == "query.run.cancel",
                                                  AuditEntry.outcome == "success")).one()
    assert done.actor == "a_user"


def test_saved_queries_private_and_shared_within_the_department(client, world, token_for, make_user):
    make_user("a_colleague", Role.DEPT_USER, department_id=world.dept_a)
    mine, colleague, stranger = token_for("a_user"), token_for("a_colleague"), token_for("b_user")
    private = client.post("/api/v1/query/saved", json={"name": "成都人数", "sql": "SELECT count(*) FROM people"},
                          headers=mine)
    assert private.status_code == 201 and private.json()["visibility"] == "private"
    shared = client.post("/api/v1/query/saved", json={"name": "城市分布", "visibility": "department",
                                                      "sql": 'SELECT "城市", count(*) FROM people GROUP BY 1'},
                         headers=mine).json()
    pid = private.json()["id"]
    assert [q["name"] for q in client.get("/api/v1/query/saved", headers=mine).json()] == ["城市分布", "成都人数"]
    seen = client.get("/api/v1/query/saved", headers=colleague).json()
    assert [(q["name"], q["mine"]) for q in seen] == [("城市分布", False)]
    assert client.get("/api/v1/query/saved", headers=stranger).json() == []
    # another user's private query does not exist for them; a shared one is read-only
    assert client.get(f"/api/v1/query/saved/{pid}", headers=colleague).status_code == 404
    assert client.put(f"/api/v1/query/saved/{pid}", json={"name": "x"}, headers=colleague).status_code == 404
    assert client.delete(f"/api/v1/query/saved/{pid}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/query/saved/{shared['id']}", headers=stranger).status_code == 404
    edit = client.put(f"/api/v1/query/saved/{shared['id']}", json={"name": "改名"}, headers=colleague)
    assert edit.status_code == 403 and edit.json()["error"]["code"] == "permission_denied"
    assert client.delete(f"/api/v1/query/saved/{shared['id']}", headers=colleague).status_code == 403
    # the owner changes and deletes
    changed = client.put(f"/api/v1/query/saved/{pid}", json={"visibility": "department"}, headers=mine)
    assert changed.status_code == 200 and changed.json()["visibility"] == "department"
    assert client.get(f"/api/v1/query/saved/{pid}", headers=colleague).status_code == 200
    assert client.delete(f"/api/v1/query/saved/{pid}", headers=mine).status_code == 204
    assert client.get(f"/api/v1/query/saved/{pid}", headers=mine).status_code == 404
    # a run names only a saved query its runner may see
    ran = _run(client, colleague, 'SELECT "城市" FROM people', saved_id=shared["id"])
    assert ran.status_code == 200
    assert client.get("/api/v1/query/history", headers=colleague).json()["items"][0]["saved_id"] == shared["id"]
    assert _run(client, colleague, "SELECT 1", saved_id=pid).status_code == 404  # deleted
    assert _run(client, stranger, "SELECT 1", saved_id=shared["id"]).status_code == 404  # not shared with them


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "坏语句", "sql": "SELECT FROM WHERE ("}, 422, "sql_syntax_error"),  # not one well-formed statement
    ({"name": "两条", "sql": "SELECT 1; SELECT 2"}, 422, "sql_multiple_statements"),
    ({"name": "", "sql": "SELECT 1"}, 422, None),  # empty name
    ({"name": "x", "sql": "SELECT 1", "visibility": "public"}, 422, None),  # unknown visibility
])
def test_saving_bad_input_is_refused(client, world, token_for, body, status, code):
    r = client.post("/api/v1/query/saved", json=body, headers=token_for("a_user"))
    assert r.status_code == status, r.text
    if code:
        assert r.json()["error"]["code"] == code


def test_saving_a_taken_name_conflicts_and_the_anonymous_is_refused(client, world, token_for):
    headers = token_for("a_user")
    first = client.post("/api/v1/query/saved", json={"name": "同名", "sql": "SELECT 1"}, headers=headers)
    assert first.status_code == 201
    again = client.post("/api/v1/query/saved", json={"name": "同名", "sql": "SELECT 2"}, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "saved_query_name_taken"
    assert client.get("/api/v1/query/saved").status_code == 401
    assert client.get("/api/v1/query/schema").status_code == 401
    assert client.post("/api/v1/query/runs", json={"sql": "SELECT 1"}).status_code == 401


def test_whole_export_with_a_chinese_name_or_refused_past_the_row_cap(client, world, token_for):
    headers = token_for("a_user")
    r = client.post("/api/v1/query?format=csv&whole=true&filename=城市人口",
                    json={"sql": 'SELECT "城市", "年龄" FROM people ORDER BY "年龄"'}, headers=headers)
    assert r.status_code == 200
    assert "filename*=UTF-8''%E5%9F%8E%E5%B8%82%E4%BA%BA%E5%8F%A3.csv" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows == [["城市", "年龄"], ["德阳", "24"], ["成都", "35"], ["绵阳", "40"], ["成都", "48"]]
    over = client.post("/api/v1/query?format=xlsx&whole=true", json={"sql": "SELECT * FROM range(51)"},
                       headers=headers)  # the cap is 50 here
    assert over.status_code == 422 and over.json()["error"]["code"] == "result_over_row_cap"
    assert "50" in over.json()["error"]["message"]
    exact = client.post("/api/v1/query?format=csv&whole=true", json={"sql": "SELECT * FROM range(50)"},
                        headers=headers)
    assert exact.status_code == 200 and exact.headers["x-shudata-rows"] == "50"


def test_every_hostile_case_is_refused_by_the_workbench_as_by_the_api(client, world, token_for, masked):
    """The hostile corpus (tests/golden/sandbox/hostile.yaml) through ``POST /query/runs``: the same
    status and code as ``POST /query``, a Chinese message, and a refused row in the history for each."""


    corpus = yaml.safe_load((Path(__file__).parents[2] / "golden" / "sandbox" / "hostile.yaml")
                            .read_text(encoding="utf-8"))
    headers = token_for("a_user")
    failures = []
    for case in corpus:
        r = _run(client, headers, case["sql"])
        code = r.json().get("error", {}).get("code")
        if r.status_code != case["status"] or (case.get("code") and code != case["code"]):
            failures.append(f"{case['label']}: got {r.status_code} {code}, want {case['status']} {case.get('code')}")
        elif not any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["error"]["message"]):
            failures.append(f"{case['label']}: message not in Chinese")
    assert not failures, "\n".join(failures)
    history = client.get("/api/v1/query/history?limit=200", headers=headers).json()
    assert history["total"] == len(corpus)
    assert {i["status"] for i in history["items"]} <= {"refused", "timeout"}


def test_whole_parquet_export_and_xlsx_past_its_sheet_limit(client, world, token_for, monkeypatch):
    """Parquet holds every row of the result; XLSX past the sheet's row limit is refused, never cut
    (the limit lowered to 30 rows here: 1,048,575 in a real sheet)."""
    import pyarrow.parquet as pq

    from shudata.lake import export

    headers = token_for("a_user")
    r = client.post("/api/v1/query?format=parquet&whole=true&filename=年龄",
                    json={"sql": 'SELECT "姓名", "年龄" FROM people ORDER BY "年龄"'}, headers=headers)
    assert r.status_code == 200 and r.headers["x-shudata-rows"] == "4"
    table = pq.read_table(io.BytesIO(r.content))
    assert table.to_pydict() == {"姓名": ["赵六", "张三", "李四", "王五"], "年龄": [24, 35, 40, 48]}
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 30)
    over = client.post("/api/v1/query?format=xlsx&whole=true", json={"sql": "SELECT * FROM range(40)"},
                       headers=headers)
    assert over.status_code == 422 and over.json()["error"]["code"] == "too_many_rows_for_xlsx"
    assert "CSV" in over.json()["error"]["message"]


def test_the_history_keeps_the_newest_runs(client, world, token_for, monkeypatch):
    from shudata.query import workbench

    monkeypatch.setattr(workbench, "HISTORY_KEPT", 3)
    headers = token_for("a_user")
    for i in range(5):
        _ok(client, headers, f"SELECT {i} AS i")
    _run(client, headers, "SELECT getenv('HOME')")
    items = client.get("/api/v1/query/history", headers=headers).json()["items"]
    assert [i["sql"] for i in items] == ["SELECT getenv('HOME')", "SELECT 4 AS i", "SELECT 3 AS i"]
    assert client.get("/api/v1/query/history", headers=token_for("b_user")).json()["total"] == 0
