"""The steward's quarantine: list, fix (re-checked), release as a new version, XLSX with reasons;
department and platform dashboards."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from tests.unit.quality.conftest import World

from shudata.core.errors import InvalidInput, PermissionDenied
from shudata.core.types import Actor
from shudata.quality import dashboard, quarantine_service, service


def test_fix_release_and_export(world: World, ingested: str) -> None:
    with world.rt.transaction() as s:
        page = quarantine_service.list_rows(session=s, actor=world.steward, resource=ingested)
    assert page.total == 2 and all("不得为空" in r.reasons for r in page.items)
    first, second = page.items
    with world.rt.transaction() as s:
        still = quarantine_service.fix_row(session=s, settings=world.rt.settings, actor=world.steward,
                                           row_id=first.id, data={"地址": "改了地址"})
        fixed = quarantine_service.fix_row(session=s, settings=world.rt.settings, actor=world.steward,
                                           row_id=second.id, data={"所在区县": "青羊区"})
    assert (still.status, still.rules) == ("open", ["not_null:所在区县"])
    assert fixed.status == "fixed" and fixed.data["所在区县"] == "青羊区"
    with world.rt.transaction() as s:
        out = quarantine_service.release_fixed(session=s, settings=world.rt.settings, actor=world.steward,
                                               resource=ingested)
        data = quarantine_service.export_xlsx(session=s, actor=world.steward, resource=ingested)
    assert out == {"version": 2, "rows": 1}
    from shudata.catalog.access import find_resource
    from shudata.lake.service import get_version

    with world.rt.transaction() as s:
        assert get_version(s, find_resource(s, ingested).id, 2).rows == 818  # 817 accepted + 1 fixed
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["版本", "原行号", "状态", "未通过规则", "原因"] and "所在区县" in header
    assert sheet.max_row == 3
    with pytest.raises(InvalidInput), world.rt.transaction() as s:
        quarantine_service.release_fixed(session=s, settings=world.rt.settings, actor=world.steward,
                                         resource=ingested)


def test_quarantine_is_the_owning_department_s(world: World, ingested: str) -> None:
    for actor in (world.outsider, world.user):
        with pytest.raises(PermissionDenied), world.rt.transaction() as s:
            quarantine_service.list_rows(session=s, actor=actor, resource=ingested)


def test_dashboards(world: World, ingested: str, make_user: Callable[..., Actor]) -> None:
    from shudata.core.types import Role

    admin = make_user("admin1", Role.PLATFORM_ADMIN)
    with world.rt.transaction() as s:
        dept = dashboard.department_dashboard(session=s, actor=world.user, department_id=world.dept)
        platform = dashboard.platform_dashboard(session=s, actor=admin)
    assert dept["total"] == 1 and dept["checked"] == 1
    # the published version holds the accepted rows only; the 2 bad rows wait in the quarantine
    assert dept["entries"][0]["quarantined_open"] == 2 and dept["entries"][0]["scores"]["overall"] == 100
    assert platform["checked"] == 1 and platform["departments"][0]["department_id"] == world.dept
    with pytest.raises(PermissionDenied), world.rt.transaction() as s:
        dashboard.department_dashboard(session=s, actor=world.outsider, department_id=world.dept)
    with pytest.raises(PermissionDenied), world.rt.transaction() as s:
        dashboard.platform_dashboard(session=s, actor=world.steward)


def test_quarantined_rows_carry_their_row_number_in_the_uploaded_file(world: World, ingested: str) -> None:
    """The two rows without 所在区县 are rows 595 and 765 of the sheet (header in row 1)."""
    with world.rt.transaction() as s:
        page = quarantine_service.list_rows(session=s, actor=world.steward, resource=ingested)
    assert sorted((r.row_no, r.data["名称"]) for r in page.items) == [(595, "小青龙河旅游景区"), (765, "天府微博村")]


def test_csv_row_numbers_count_title_and_header_lines(world: World, add_resource: Callable[..., str],
                                                      tmp_path: Path) -> None:
    from shudata.jobs.ingest import ingest_file
    from shudata.lake.ingest.source import IngestOptions

    code = add_resource(world.dept, "测试名录", ["名称", "区县"])
    with world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=world.steward, resource=code,
                              spec=[{"type": "not_null", "column": "区县", "severity": "block"}])
    body = [f"名称{i},{'' if i in (3, 40) else '锦江区'}" for i in range(1, 61)]
    lines = ["四川省测试名录（2024年）", "名称,区县", *body]
    path = tmp_path / "名录.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with world.rt.transaction() as s:
        ingest_file(session=s, settings=world.rt.settings, actor=world.steward, resource_code=code, path=path,
                    options=IngestOptions(header_row=2))
    with world.rt.transaction() as s:
        page = quarantine_service.list_rows(session=s, actor=world.steward, resource=code)
    got = sorted((r.row_no, r.data["名称"]) for r in page.items)
    assert got == [(5, "名称3"), (42, "名称40")]
    assert [lines[n - 1].split(",")[0] for n, _ in got] == ["名称3", "名称40"]  # the lines of the file
