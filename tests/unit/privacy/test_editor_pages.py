"""The editor and k-anonymity pages: form → preview partial, refused save (Chinese, nothing saved),
saved revision, the k-anonymity form's result with its chart data."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.unit.privacy.conftest import World

from shudata.db.runtime import Runtime
from shudata.privacy.models import PrivacyPolicy

pytestmark = pytest.mark.sqlite_only
EDITOR = "/privacy/resources/citizens/policy"


def _login(client: Any, user: str = "steward_a") -> str:
    client.post("/login", data={"username": user, "password": "Tianfu-Data-7"})
    page = client.get("/privacy").text
    m = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert m, page[:500]
    return m.group(1)


def _form(page: str) -> dict[str, str]:
    """The editor's submitted fields as the browser sends them (enabled fieldsets only)."""
    data = dict(re.findall(r'<input type="hidden" name="((?:col|ent)_\d+)" value="([^"]*)"', page))
    for i, op in re.findall(r'<select class="form-select form-select-sm sd-op-select" name="op_(\d+)".*?'
                            r'<option value="(\w+)" selected', page, re.S):
        data[f"op_{i}"] = op
    return data


def test_editor_preview_refused_save_and_save(client: Any, world: World, rt: Runtime) -> None:
    csrf = _login(client)
    page = client.get(EDITOR).text
    assert "脱敏策略编辑器" in page and "101001-000009-share-conditional" in page
    assert "部分遮盖（partial_mask）" in page and "有条件共享（share-conditional）" in page
    data = _form(page)
    row = next(k[4:] for k, v in data.items() if k.startswith("col_") and v == "手机号")
    data.update({f"op_{row}": "partial_mask", f"p_{row}_partial_mask_keep_head": "3",
                 f"p_{row}_partial_mask_keep_tail": "4", "profile": "share-conditional", "csrf_token": csrf})
    r = client.post(EDITOR + "/preview", data=data, headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text[:500]
    phones = world.table.column("手机号").to_pylist()
    masked = re.findall(r'<td data-column="手机号" class="table-info"><div class="sd-after">(\d{3}\*{4}\d{4})</div>',
                        r.text)
    assert len(masked) == 10 and all(any(m == p[:3] + "****" + p[-4:] for p in phones) for m in masked)

    bad = {**data, f"p_{row}_partial_mask_keep_tail": "99"}
    r = client.post(EDITOR, data=bad)
    assert r.status_code == 422
    assert "保留末尾字符数应不大于 32" in r.text and 'value="99"' in r.text  # what was submitted stays
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PrivacyPolicy)) == 0

    r = client.post(EDITOR, data=data)
    assert r.status_code == 200 and "第 1 版" in r.text
    assert "暂无授权或开放发布使用该策略" in r.text
    with rt.transaction() as s:
        body = s.scalar(select(PrivacyPolicy.body))
    assert body["columns"]["手机号"] == {"op": "partial_mask", "keep_head": 3, "keep_tail": 4, "char": "*"}
    assert "收入" not in body["columns"]  # kept, nothing detected: left to the policy's defaults


def test_outsider_gets_no_editor(client: Any, world: World) -> None:
    csrf = _login(client, "user_b")
    assert client.get(EDITOR).status_code == 403
    r = client.post(EDITOR + "/preview", data={"csrf_token": csrf, "col_0": "手机号", "op_0": "mask_all"},
                    headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert r.status_code == 403
    assert not any(p in r.text for p in world.table.column("手机号").to_pylist())
    r = client.post(EDITOR, data={"csrf_token": csrf, "col_0": "手机号", "op_0": "mask_all"})
    assert r.status_code == 403
    assert client.get("/privacy/resources/citizens/anonymise").status_code == 403


def test_kanon_form_runs_and_shows_generalisation_loss_and_chart(client: Any, world: World) -> None:
    csrf = _login(client)
    page = client.get("/privacy/resources/citizens/anonymise").text
    assert "准标识符与泛化层次" in page and "行政区划层级" in page
    r = client.post("/privacy/resources/citizens/anonymise", data={
        "csrf_token": csrf, "qi": ["区划代码", "出生日期"], "h_区划代码": "regions", "h_出生日期": "dates",
        "k": "3", "suppression": "0.1", "metric": "loss"})
    assert r.status_code == 200
    assert "已完成匿名化评估" in r.text
    assert 'class="table table-sm sd-generalisation"' in r.text and "信息损失" in r.text
    m = re.search(r"data-kanon-chart='([^']+)'", r.text)
    assert m is not None
    chart = json.loads(html.unescape(m.group(1)))
    assert chart["title"] == "重识别风险分布（记录数）"
    assert [s["name"] for s in chart["series"]] == ["匿名化前", "匿名化后"]
    assert sum(chart["series"][0]["data"]) == world.table.num_rows
    r = client.post("/privacy/resources/citizens/anonymise", data={
        "csrf_token": csrf, "qi": ["姓名"], "h_姓名": "intervals", "k": "3"})
    assert "数值区间只适用于数值列" in r.text


def test_kanon_form_refusals_are_in_chinese(client: Any, world: World) -> None:
    csrf = _login(client)
    url = "/privacy/resources/citizens/anonymise"
    r = client.post(url, data={"csrf_token": csrf, "qi": ["区划代码"], "k": "0"})
    assert "输入有误：k应不小于 1" in r.text and "Input should" not in r.text
    r = client.post(url, data={"csrf_token": csrf, "qi": ["区划代码"], "w_区划代码": "0", "h_区划代码": "intervals"})
    assert "区间宽度应为正整数" in r.text
    r = client.post(url, data={"csrf_token": csrf, "k": "3"})
    assert "请至少选择一个准标识符列" in r.text
