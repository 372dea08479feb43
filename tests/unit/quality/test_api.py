"""/api/v1/quality: rules refused at save time, check, report exports, quarantine, clean, profile."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pyarrow as pa
import pytest
from tests.unit.quality.conftest import DATA, World

Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def entry(world: World, add_resource: Callable[..., str], add_version: Callable[[str, pa.Table], int],
          scenic: pa.Table) -> str:
    code = add_resource(world.dept, "四川省A级旅游景区名录", list(scenic.column_names), alias="scenic")
    add_version(code, scenic)
    return code


def test_rules_check_and_reports(client: Any, world: World, entry: str, token_for: Headers) -> None:
    h = token_for("steward1")
    yaml_text = "rules:\n  - {type: not_null, column: 所在区县, severity: block}\n  - {type: unique, columns: [名称]}\n"
    r = client.put(f"/api/v1/quality/resources/{entry}/rules", json={"yaml": yaml_text, "comment": "首版"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 1
    r = client.post(f"/api/v1/quality/resources/{entry}/check", headers=h)
    assert r.status_code == 200, r.text
    run = r.json()
    assert [x["failed"] for x in run["results"]] == [2, 4]
    assert run["results"][0]["samples"] and run["results"][0]["sql"].startswith("WITH")
    html = client.get(f"/api/v1/quality/runs/{run['id']}/report.html", headers=h)
    assert html.status_code == 200 and "echarts" in html.text and "不通过" in html.text
    xlsx = client.get(f"/api/v1/quality/runs/{run['id']}/report.xlsx", headers=h)
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert {"概要", "规则结果", "列空值率", "趋势"} <= set(wb.sheetnames)
    assert wb["规则结果"].max_row == 3
    scores = client.get(f"/api/v1/quality/scores?ids={run['resource_id']}", headers=h).json()
    assert scores == {str(run["resource_id"]): run["scores"]["overall"]}


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"spec": [{"type": "not_null", "column": "电话"}]}, 422, "rule_missing_column"),
    ({"spec": [{"type": "regex", "column": "名称", "pattern": "(["}]}, 422, "rule_invalid"),
    ({"spec": [{"type": "wish"}]}, 422, "rule_unknown_type"),
    ({"yaml": "rules: ["}, 422, "spec_unreadable"),
])
def test_bad_rules_get_a_clear_4xx(client: Any, world: World, entry: str, token_for: Headers,
                                   body: dict[str, Any], status: int, code: str) -> None:
    r = client.put(f"/api/v1/quality/resources/{entry}/rules", json=body, headers=token_for("steward1"))
    assert r.status_code == status, r.text
    assert code in r.text


def test_other_department_cannot_edit_or_check(client: Any, world: World, entry: str, token_for: Headers) -> None:
    h = token_for("steward2")
    r = client.put(f"/api/v1/quality/resources/{entry}/rules", json={"spec": []}, headers=h)
    assert r.status_code == 403
    assert client.post(f"/api/v1/quality/resources/{entry}/check", headers=h).status_code == 403
    assert client.get(f"/api/v1/quality/resources/{entry}/quarantine", headers=h).status_code == 403


def test_clean_dry_run_then_run(client: Any, world: World, entry: str, token_for: Headers) -> None:
    h = token_for("steward1")
    pipeline = {"name": "p", "steps": [{"step": "dedupe", "columns": ["名称"]}]}
    r = client.post(f"/api/v1/quality/resources/{entry}/clean", json={"pipeline": pipeline, "dry_run": True},
                    headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["rows_in"], r.json()["rows_out"]) == (819, 817)
    r = client.post(f"/api/v1/quality/resources/{entry}/clean", json={"pipeline": pipeline}, headers=h)
    assert r.status_code == 200 and r.json()["target_version"] == 2
    lin = client.get(f"/api/v1/quality/resources/{entry}/lineage", headers=h).json()
    assert lin[0]["steps"][0]["changed"] == 2


@pytest.mark.sqlite_only
def test_profile_upload(client: Any, world: World, token_for: Headers) -> None:
    with (DATA / "gdp_100m_yuan.csv").open("rb") as f:
        r = client.post("/api/v1/quality/profile", files={"file": ("gdp_100m_yuan.csv", f, "text/csv")},
                        headers=token_for("user1"))
    assert r.status_code == 200, r.text
    cols = r.json()
    assert cols[0]["column"] == "地区" and cols[0]["distinct"] == 31
    assert {"column", "type", "nulls", "distinct", "kind", "invalid"} <= set(cols[0])
