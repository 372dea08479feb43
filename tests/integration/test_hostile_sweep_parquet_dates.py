"""Uploads holding dates no reader can hold, found by the adversarial sweep (2026-12-07).

A Parquet file whose timestamp column held DuckDB's ``infinity`` (int64 max) after its first
2,000 rows was accepted (only those were sampled), and so was a CSV with the date
``0000-01-01`` (year 0): the stored version then broke its readers — the JSON page and the
XLSX export answered "整数参数不能超过 2^63 − 1", the quality rule suggestions answered 500
and the quality check dropped the connection. With the value in the first rows the Parquet
upload failed with that same unrelated message. All are now refused like any value that
does not fit its item (422 ``bad_value`` naming row, column and value), and nothing is written.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.lake.models import LakeVersion

CODE = "101001/000905"


@pytest.fixture
def steward(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor],
            token_for: Callable[[str], dict[str, str]]) -> dict[str, str]:
    actor = make_user("pd_steward", Role.DATA_STEWARD, department_id=make_department("省公安厅"))
    data = ResourceCreate.model_validate({
        "code": CODE, "name": "极端日期", "abstract": "测试",
        "information_items": [{"name": "名称", "data_type": "C", "length": 10}, {"name": "时间", "data_type": "T"},
                              {"name": "日期", "data_type": "D"}],
        "sharing": {"type": 1, "method": "接口"}})
    with rt.transaction() as s:
        register_resource(session=s, actor=actor, data=data)
    return token_for("pd_steward")


def _parquet(rows: int, at: int | None, column: str) -> bytes:
    times = [0] * rows
    days = [0] * rows
    if at is not None:
        (times if column == "时间" else days)[at] = 2**63 - 1 if column == "时间" else 2**31 - 1
    table = pa.table({"名称": ["x"] * rows, "时间": pa.array(times, pa.timestamp("us")),
                      "日期": pa.array(days, pa.date32())})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=1000)
    return buf.getvalue()


def _versions(rt: Runtime) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(LakeVersion)) or 0


@pytest.mark.parametrize(("rows", "at", "column"), [
    (2500, 2499, "时间"),  # after the sampled rows: it used to be stored
    (10, 0, "时间"),  # in the sample: it used to fail with an unrelated message
    (2500, 2400, "日期"),
])
def test_parquet_with_out_of_range_dates_is_refused_whole(client: TestClient, rt: Runtime, steward: dict[str, str],
                                                          rows: int, at: int, column: str) -> None:
    before = _versions(rt)
    r = client.post(f"/api/v1/resources/{CODE}/versions", headers=steward,
                    files={"file": ("极端.parquet", _parquet(rows, at, column), "application/octet-stream")})
    assert r.status_code == 422, r.text[:300]
    error = r.json()["error"]
    assert error["code"] == "bad_value" and column in error["message"] and "infinity" in error["message"]
    assert error["details"]["row"] == at + 1
    assert _versions(rt) == before


@pytest.mark.parametrize("value", ["0000-01-01", "10000-01-01"])
def test_csv_with_a_year_outside_1_to_9999_is_refused_whole(client: TestClient, rt: Runtime,
                                                             steward: dict[str, str], value: str) -> None:
    before = _versions(rt)
    body = "名称,时间,日期\n" + "x,2024-01-01 00:00:00,2024-01-01\n" * 3000 + f"x,2024-01-01 00:00:00,{value}\n"
    r = client.post(f"/api/v1/resources/{CODE}/versions", headers=steward,
                    files={"file": ("极端.csv", body.encode(), "text/csv")})
    assert r.status_code == 422, r.text[:300]
    assert r.json()["error"]["code"] == "bad_value" and r.json()["error"]["details"]["row"] == 3001
    assert _versions(rt) == before


def test_parquet_with_ordinary_dates_lands_and_reads(client: TestClient, steward: dict[str, str]) -> None:
    r = client.post(f"/api/v1/resources/{CODE}/versions", headers=steward,
                    files={"file": ("好.parquet", _parquet(2500, None, "时间"), "application/octet-stream")})
    assert r.status_code == 201, r.text[:300]
    page = client.get(f"/api/v1/resources/{CODE}/rows", params={"offset": 2498}, headers=steward)
    assert page.status_code == 200 and len(page.json()["rows"]) == 2
