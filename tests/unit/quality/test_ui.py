"""Quality pages render for a logged-in steward: dashboard, entry, report, quarantine, cleaning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from tests.unit.quality.conftest import World

from shudata.quality import service


@pytest.mark.sqlite_only
def test_quality_pages(client: Any, world: World, add_resource: Callable[..., str],
                       add_version: Callable[[str, pa.Table], int], scenic: pa.Table) -> None:
    code = add_resource(world.dept, "四川省A级旅游景区名录", list(scenic.column_names))
    add_version(code, scenic)
    with world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=world.steward, resource=code,
                              spec=[{"type": "not_null", "column": "所在区县", "severity": "block"}])
        run = service.check(session=s, settings=world.rt.settings, actor=world.steward, resource=code)
    client.post("/login", data={"username": "steward1", "password": "Tianfu-Data-7", "next": "/"})
    dash = client.get("/quality")
    assert dash.status_code == 200 and "四川省A级旅游景区名录" in dash.text
    entry = client.get(f"/quality/resources/{code}")
    assert entry.status_code == 200 and "not_null" in entry.text and "data-echart-option" in entry.text
    rep = client.get(f"/quality/runs/{run.id}")
    assert rep.status_code == 200 and "所在区县" in rep.text and "report.xlsx" in rep.text
    assert "执行引擎 duckdb（in-process）" in rep.text  # where the run ran (issue 17)
    assert client.get(f"/quality/resources/{code}/quarantine").status_code == 200
    clean = client.get(f"/quality/resources/{code}/clean?column=名称")
    assert clean.status_code == 200 and "pipeline" in clean.text.lower()


@pytest.mark.sqlite_only
def test_rules_form_refuses_bad_rules_and_saves_good_ones(client: Any, world: World,
                                                          add_resource: Callable[..., str]) -> None:
    import re

    code = add_resource(world.dept, "景区", ["名称", "等级"])
    client.post("/login", data={"username": "steward1", "password": "Tianfu-Data-7", "next": "/"})
    page = client.get(f"/quality/resources/{code}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    bad = client.post(f"/quality/resources/{code}/rules",
                      data={"spec": "rules:\n  - {type: not_null, column: 电话}\n", "csrf_token": token.group(1)})
    assert bad.status_code == 422 and "电话" in bad.text and "不存在的列" in bad.text
    good = client.post(f"/quality/resources/{code}/rules", follow_redirects=False,
                       data={"spec": "rules:\n  - {type: not_null, column: 名称}\n", "csrf_token": token.group(1)})
    assert good.status_code == 303
    with world.rt.transaction() as s:
        saved = service.get_rule_set(session=s, actor=world.steward, resource=code)
    assert saved is not None and saved.revision == 1
