"""Upload, versions and rows through /api/v1, with every kind of bad input refused cleanly:
a clear 4xx, no new version, no file left behind, and an audit record."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from shudata.audit.models import AuditEntry
from shudata.db.runtime import Runtime
from shudata.lake.models import LakeVersion
from shudata.security.models import ApiToken

BASE = "/api/v1/resources"


def upload(client: TestClient, code: str, headers: dict[str, str], name: str, data: bytes,
           **fields: Any) -> Any:
    return client.post(f"{BASE}/{code}/versions", headers=headers, files={"file": (name, data)},
                       data={k: str(v) for k, v in fields.items()})


def state(rt: Runtime) -> tuple[int, int, list[str]]:
    """(versions, refusals audited, files under the data folder except the metadata database)."""
    with rt.transaction() as s:
        versions = s.scalar(select(func.count()).select_from(LakeVersion)) or 0
        refused = s.scalar(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.outcome.in_(("rejected", "denied")))) or 0
    root = rt.settings.data_dir
    # run/ holds the node's runtime state (the preparation lock a background job may create at any moment), not data
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                   if p.is_file() and "meta.db" not in p.name and p.relative_to(root).parts[0] != "run")
    return versions, refused, files


def test_upload_gbk_file_then_page_rows_and_time_travel(client: TestClient, api: Any, real: Path,
                                                         people_csv: Callable[..., bytes]) -> None:
    code = api.world.gdp
    r = upload(client, code, api.steward, "分省年度数据.csv", (real / "gdp_100m_yuan.csv").read_bytes())
    assert r.status_code == 201, r.text
    v = r.json()
    assert (v["version"], v["rows"], v["encoding"], v["header_row"]) == (1, 31, "gbk", 4)
    assert v["source_name"] == "分省年度数据.csv" and len(v["source_sha256"]) == 64
    r2 = upload(client, code, api.steward, "v2.csv", (real / "gdp_100m_yuan.csv").read_bytes())
    assert r2.json()["version"] == 2
    listed = client.get(f"{BASE}/{code}/versions", headers=api.user).json()
    assert [x["version"] for x in listed] == [2, 1]
    assert client.get(f"{BASE}/{code}/versions/1", headers=api.user).json()["rows"] == 31
    page = client.get(f"{BASE}/{code}/rows", params={"version": 1, "offset": 20, "limit": 5}, headers=api.user)
    body = page.json()
    assert (body["total"], body["offset"], body["limit"], len(body["rows"])) == (31, 20, 5, 5)
    assert body["columns"][:2] == ["地区", "2024年"]
    assert body["rows"][2][0] == "四川省"
    assert client.get(f"{BASE}/{code}/rows", params={"version": 9}, headers=api.user).status_code == 404


@pytest.mark.sqlite_only
def test_downloads_keep_chinese_headers_and_neutralise_formulas(client: TestClient, api: Any) -> None:
    data = "姓名,城市,年龄,登记日期\n=A1+B1,成都市,30,2023-01-02\n@SUM(A1),-1+2,41,2023-02-03\n"
    code = api.world.people
    assert upload(client, code, api.steward, "名单.csv", data.encode()).status_code == 201
    r = client.get(f"{BASE}/{code}/rows", params={"format": "csv"}, headers=api.user)
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    assert "filename*=UTF-8''%E4%BA%BA%E5%91%98%E5%90%8D%E5%8D%95_v1.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "城市", "年龄", "登记日期"]
    assert rows[1][0] == "'=A1+B1" and rows[2][:2] == ["'@SUM(A1)", "'-1+2"]
    x = client.get(f"{BASE}/{code}/rows", params={"format": "xlsx"}, headers=api.user)
    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in ws[1]] == ["姓名", "城市", "年龄", "登记日期"]
    assert ws["A2"].value == "'=A1+B1" and ws["C2"].value == 30
    p = client.get(f"{BASE}/{code}/rows", params={"format": "parquet"}, headers=api.user)
    table = pq.read_table(io.BytesIO(p.content))
    assert table.column_names == ["姓名", "城市", "年龄", "登记日期"] and table.num_rows == 2


@pytest.mark.sqlite_only
def test_reading_needs_the_provider_department_and_is_audited(client: TestClient, api: Any, rt: Runtime,
                                                               people_csv: Callable[..., bytes]) -> None:
    code = api.world.people
    assert upload(client, code, api.steward, "a.csv", people_csv()).status_code == 201
    assert client.get(f"{BASE}/{code}/rows", headers=api.other).status_code == 403
    assert client.get(f"{BASE}/{code}/rows", headers=api.user).status_code == 200
    with rt.transaction() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "lake.version.read")).all()
    assert [(e.actor, e.outcome) for e in reads] == [("ga_steward", "denied"), ("tj_user", "success")]


def test_preview_proposes_items_and_checks_them_against_an_entry(client: TestClient, api: Any, real: Path) -> None:
    r = client.post("/api/v1/lake/preview", headers=api.steward,
                    files={"file": ("gdp.csv", (real / "gdp_100m_yuan.csv").read_bytes())},
                    data={"resource": api.world.people})
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["encoding"], p["header_row"], p["footer_rows"]) == ("gbk", 4, 2)
    assert p["proposed_items"][0] == {"name": "地区", "data_type": "C", "length": 8, "description": None}
    assert p["check"]["ok"] is False and "姓名" in p["check"]["missing"]


def _xlsx(build: Callable[[openpyxl.Workbook], None]) -> bytes:
    wb = openpyxl.Workbook()
    build(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _formula(wb: openpyxl.Workbook) -> None:
    ws = wb.active
    ws.append(["姓名", "城市", "年龄", "登记日期"])
    ws.append(["张三", "成都市", "=20+10", "2023-01-01"])


def _people_sheets(wb: openpyxl.Workbook) -> None:
    wb.active.title = "说明"
    ws = wb.create_sheet("名单")
    ws.append(["人员名单"])
    ws.merge_cells("A1:D1")
    ws.append(["姓名", "城市", "年龄", "登记日期"])
    ws.append(["张三", "成都市", 30, "2023-01-01"])
    ws.append(["李四", None, 31, "2023-01-02"])
    ws.merge_cells("B3:B4")


def test_xlsx_with_merged_cells_and_several_sheets(client: TestClient, api: Any) -> None:
    code = api.world.people
    r = upload(client, code, api.steward, "名单.xlsx", _xlsx(_people_sheets))
    assert r.status_code == 201, r.text
    assert (r.json()["sheet"], r.json()["header_row"], r.json()["rows"]) == ("名单", 2, 2)
    rows = client.get(f"{BASE}/{code}/rows", headers=api.user).json()["rows"]
    assert rows == [["张三", "成都市", 30, "2023-01-01"], ["李四", "成都市", 31, "2023-01-02"]]


MIXED = "姓名,城市,年龄,登记日期\n".encode() + "张三,成都市,30,2023-01-01\n".encode("gbk") + \
    "李四,绵阳市,31,2023-01-02\n".encode()
HEADER = "姓名,城市,年龄,登记日期\n"
BAD_INPUT = [
    # (case, file name, bytes, form fields, status, error code)
    ("empty file", "a.csv", b"", {}, 422, "empty_file"),
    ("header only", "a.csv", HEADER.encode(), {}, 422, "no_data_rows"),
    ("ragged rows", "a.csv", (HEADER + "张三,成都市,30\n").encode(), {}, 422, "ragged_rows"),
    ("wrong encoding declared", "a.csv", (HEADER + "张三,成都市,30,2023-01-01\n").encode("gbk"),
     {"encoding": "utf-8"}, 422, "wrong_encoding"),
    ("mixed encodings", "a.csv", MIXED, {}, 422, "mixed_encoding"),
    ("binary named .csv", "a.csv", bytes(range(256)) * 8, {}, 415, "binary_file"),
    ("xlsx sheet that does not exist", "a.xlsx", _xlsx(_people_sheets), {"sheet": "第三页"}, 422, "bad_sheet"),
    ("formula without a value", "a.xlsx", _xlsx(_formula), {}, 422, "formula_without_value"),
    ("duplicate column names", "a.csv", "姓名,城市,城市,登记日期\n张三,成都市,成都,2023-01-01\n".encode(), {},
     422, "duplicate_columns"),
    ("over-long field", "a.csv", (HEADER + "欧阳诸葛司马上官东方张三丰,成都市,30,2023-01-01\n").encode(), {}, 422,
     "value_too_long"),
    ("path tricks in the name", "../../x.csv", (HEADER + "张三,成都市,30,2023-01-01\n").encode(), {}, 422,
     "bad_filename"),
    ("xlsx named csv is sniffed, extension lies the other way", "a.xlsx", b"name,age\n1,2\n", {}, 415,
     "format_mismatch"),
]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("case", "name", "data", "fields", "status", "code"), BAD_INPUT,
                         ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_refused_and_leaves_the_previous_version_intact(
        client: TestClient, api: Any, rt: Runtime, people_csv: Callable[..., bytes],
        case: str, name: str, data: bytes, fields: dict[str, str], status: int, code: str) -> None:
    assert upload(client, api.world.people, api.steward, "v1.csv", people_csv(3)).status_code == 201
    before = state(rt)
    r = upload(client, api.world.people, api.steward, name, data, **fields)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert r.json()["error"]["message"]  # a Chinese message a person can act on
    versions, refused, files = state(rt)
    assert (versions, files) == (before[0], before[2])
    assert refused == before[1] + 1
    assert client.get(f"{BASE}/{api.world.people}/rows", headers=api.user).json()["total"] == 3


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("who", "resource", "status", "code"), [
    ("other", "people", 403, "permission_denied"),  # steward of another department
    ("user", "people", 403, "permission_denied"),  # department user, not a steward
    ("steward", "nonexistent", 404, "resource_not_found"),  # code that does not exist
    ("expired", "people", 401, "token_expired"),
])
def test_who_may_upload(client: TestClient, api: Any, rt: Runtime, people_csv: Callable[..., bytes],
                        who: str, resource: str, status: int, code: str) -> None:
    headers = api.steward if who in ("steward", "expired") else getattr(api, who)
    if who == "expired":
        with rt.transaction() as s:
            s.execute(update(ApiToken).values(expires_at=ApiToken.created_at))
    target = "999999/000001" if resource == "nonexistent" else api.world.people
    before = state(rt)
    r = upload(client, target, headers, "a.csv", people_csv())
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    after = state(rt)
    assert (after[0], after[2]) == (before[0], before[2]) and after[1] == before[1] + 1


@pytest.mark.sqlite_only
def test_upload_over_the_size_limit_is_refused(rt: Runtime, api: Any, people_csv: Callable[..., bytes]) -> None:
    from shudata.web.app import create_app

    rt.settings = rt.settings.model_copy(update={"max_upload_mb": 1})
    big = people_csv(60_000)
    assert len(big) > 1 << 20
    with TestClient(create_app(runtime=rt, migrate=False)) as client:
        before = state(rt)

        def chunks() -> Any:  # no Content-Length: the limit is enforced while streaming
            body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n" + big
                    + b"\r\n--b--\r\n")
            for i in range(0, len(body), 65536):
                yield body[i:i + 65536]

        r = client.post(f"{BASE}/{api.world.people}/versions", content=chunks(),
                        headers={**api.steward, "content-type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413
        declared = upload(client, api.world.people, api.steward, "a.csv", big)
        assert declared.status_code == 413
        after = state(rt)
    assert (after[0], after[2]) == (before[0], before[2]) and after[1] >= before[1] + 1
