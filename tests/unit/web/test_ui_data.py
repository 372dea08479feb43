"""Pages: upload page, versions on the entry page, the row preview partial (paged) and its audit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.catalog import service
from shudata.catalog.schemas import ResourceCreate, ResourceRead
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime

pytestmark = pytest.mark.sqlite_only
GBK_CSV = Path(__file__).resolve().parents[2] / "data" / "sichuan_gdp_2023_gbk.csv"


@pytest.fixture
def gdp(make_department: Callable[..., int], make_user: Callable[..., Actor], rt: Runtime) -> ResourceRead:
    stats = make_department("四川省统计局")
    make_department("四川省公安厅")
    steward = make_user("tj_steward", Role.DATA_STEWARD, department_id=stats)
    make_user("ga_user", Role.DEPT_USER, department_id=2)
    with rt.transaction() as s:
        return service.register_resource(session=s, actor=steward, data=ResourceCreate.model_validate({
            "name": "四川省各市州主要经济指标", "abstract": "各市州地区生产总值与常住人口。", "category_code": "201001",
            "information_items": [{"name": "地区", "data_type": "C"}, {"name": "地区生产总值", "data_type": "N"},
                                  {"name": "常住人口", "data_type": "N"}],
            "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每年"}))


def _upload(client: Any, csrf: str, code: str) -> Any:
    with GBK_CSV.open("rb") as f:
        return client.post(f"/api/v1/resources/{code}/versions", headers={"X-CSRF-Token": csrf},
                           files={"file": ("四川GDP.csv", f, "text/csv")})


def test_upload_page_lists_items_and_posts_to_the_api(client, login, gdp):
    login("tj_steward")
    page = client.get(f"/catalog/{gdp.code}/upload")
    assert page.status_code == 200
    assert f'data-upload-url="/api/v1/resources/{gdp.code}/versions"' in page.text and "地区生产总值" in page.text


def test_other_department_cannot_open_upload_page(client, login, gdp):
    login("ga_user")
    assert client.get(f"/catalog/{gdp.code}/upload").status_code == 403


def test_uploaded_version_shows_on_entry_page_with_preview_and_chart(client, login, gdp, rt):
    csrf = login("tj_steward")
    r = _upload(client, csrf, gdp.code)
    assert r.status_code == 201, r.text
    page = client.get(f"/catalog/{gdp.code}")
    assert "v1" in page.text and "四川GDP.csv" in page.text and 'id="chart"' in page.text
    assert f'data-chart-url="/catalog/{gdp.code}/chart"' in page.text
    part = client.get(f"/catalog/{gdp.code}/preview?version=1&limit=3", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text
    assert "成都市" in part.text and "乐山市" not in part.text and "地区生产总值" in part.text
    nxt = client.get(f"/catalog/{gdp.code}/preview?version=1&offset=6&limit=3")
    assert "乐山市" in nxt.text and "成都市" not in nxt.text
    with rt.transaction() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "lake.version.read")).all()
    assert len(reads) == 2 and all(e.actor == "tj_steward" for e in reads)


def test_other_department_sees_versions_but_not_rows(client, login, gdp):
    csrf = login("tj_steward")
    assert _upload(client, csrf, gdp.code).status_code == 201
    client.post("/logout", data={"csrf_token": csrf})
    login("ga_user")
    page = client.get(f"/catalog/{gdp.code}")
    assert page.status_code == 200 and "v1" in page.text and 'id="preview"' not in page.text
    assert "共享申请" in page.text
    assert client.get(f"/catalog/{gdp.code}/preview").status_code == 403
