"""One clock (issue #12): every page and export shows a stored UTC instant in the configured zone
(Asia/Shanghai by default) — the sharing, catalog and portal pages and the XLSX exports alike."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from shudata.catalog.models import CatalogDemand, CatalogResource
from shudata.core.clock import local_date, local_text
from shudata.portal.models import PortalDataRequest
from shudata.sharing.models import SharingRequest
from shudata.web.app import create_app
from support.sharing import World, world

__all__ = ["World", "world"]
pytestmark = pytest.mark.sqlite_only

INSTANT = dt.datetime(2026, 3, 1, 18, 30, tzinfo=dt.UTC)  # a Sunday evening in UTC …
BEIJING = "2026-03-02 02:30"  # … is Monday morning in Sichuan
UTC_TEXT = "2026-03-01 18:30"


def _login(client, username: str) -> str:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": "Tianfu-Data-7"}, follow_redirects=False)
    assert r.status_code == 303
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/exchange").text).group(1)


@pytest.fixture
def stamped(rt, client, world):
    """A sharing request, a demand and a public data request, all stamped at ``INSTANT``."""
    csrf = _login(client, "c_user")
    today = dt.date.today()
    r = client.post("/exchange/new", data={
        "csrf_token": csrf, "resource": "201001/000002", "fields": ["机构名称"], "purpose": "数据校核",
        "basis": "核对登记信息", "use_from": str(today), "use_until": str(today + dt.timedelta(days=60)),
        "delivery_method": "接口"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = client.post("/demands", data={"csrf_token": csrf, "title": "企业纳税信用等级", "description": "按季度提供",
                                      "wanted_fields": "统一社会信用代码,纳税信用等级", "purpose": "联合奖惩"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    r = client.post("/portal/requests", data={
        "csrf_token": csrf, "title": "公交线路数据", "description": "希望开放公交线路与站点", "requester_name": "张三",
        "contact_email": "zhang@example.cn"}, follow_redirects=False)
    assert r.status_code in (303, 200), r.text
    with rt.transaction() as s:
        s.execute(update(SharingRequest).values(submitted_at=INSTANT))
        s.execute(update(CatalogDemand).values(created_at=INSTANT))
        s.execute(update(CatalogResource).values(created_at=INSTANT, updated_at=INSTANT))
        s.execute(update(PortalDataRequest).values(created_at=INSTANT))
        portal_request = s.query(PortalDataRequest).one().id
    return portal_request


@pytest.mark.parametrize("path", ["/exchange?box=outgoing", "/demands", "/catalog/201001/000002"])
def test_pages_show_beijing_time(client, stamped, path):
    _login(client, "c_user")
    page = client.get(path)
    assert page.status_code == 200
    assert BEIJING in page.text and UTC_TEXT not in page.text, path


def test_portal_page_shows_beijing_time(client, stamped):
    client.cookies.clear()
    page = client.get(f"/portal/requests/{stamped}")
    assert page.status_code == 200 and BEIJING in page.text and UTC_TEXT not in page.text


def test_xlsx_export_shows_beijing_time(client, stamped):
    _login(client, "c_user")
    for url in ("/demands/export.xlsx", "/api/v1/demands.xlsx"):
        r = client.get(url)
        assert r.status_code == 200, url
        sheet = load_workbook(io.BytesIO(r.content)).active
        header = [c.value for c in sheet[1]]
        assert sheet.cell(row=2, column=header.index("登记时间") + 1).value == BEIJING, url


def test_the_configured_zone_is_used(rt, stamped):
    berlin = rt.__class__.build(rt.settings.model_copy(update={"timezone": "Europe/Berlin"}))
    with TestClient(create_app(runtime=berlin, migrate=False)) as c:
        page = c.get(f"/portal/requests/{stamped}")
        assert "2026-03-01 19:30" in page.text and BEIJING not in page.text
        _login(c, "c_user")
        sheet = load_workbook(io.BytesIO(c.get("/demands/export.xlsx").content)).active
        assert sheet.cell(row=2, column=11).value == "2026-03-01 19:30"
    berlin.close()


def test_working_days_count_the_local_day():
    assert local_date(INSTANT) == dt.date(2026, 3, 2)  # Monday in Sichuan, Sunday in UTC
    assert local_text(INSTANT) == BEIJING
