"""Issue #11 item 1 in a real browser: a consumer department's user opens 已获授权 (/exchange/grants)
and clicks CSV for a granted real table of 2,600+ rows (the MOE list of higher-education
institutions, XLS). Was: the button asked for ``limit=10000`` and the file held the first 1,000 rows.
Now the downloaded bytes are the granted view, row for row."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from shudata.catalog.models import CatalogResource
from shudata.core.types import Actor, Role
from shudata.jobs.ingest import ingest_file
from shudata.security.models import Department, User
from shudata.security.schemas import DepartmentCreate, UserCreate
from shudata.security.service import actor_for, create_department, create_user
from shudata.sharing import delivery, service
from shudata.sharing.schemas import DecisionCreate, RequestCreate
from shudata.standards.uscc import complete as complete_uscc

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

REAL = Path(__file__).resolve().parents[1] / "data" / "ingest" / "real" / "moe_higher_education_institutions_2017.xls"
ITEMS = ["序号", "学校名称", "学校标识码", "主管部门", "所在地", "办学层次", "备注"]
CODE = "401001/000009"
PASSWORD = "Passw0rd!e2e-delivery"
SYSTEM = Actor.system()
TODAY = dt.date.today()


def _grant(rt: Any) -> tuple[Actor, int]:
    """The MOE list as an entry of 四川省统计局 with its real file ingested, granted whole to a
    user of another department."""
    with rt.transaction() as s:
        provider = s.query(Department).filter(Department.name == "四川省统计局").one().id
        steward = actor_for(s.query(User).filter(User.username == "tj_steward").one())
        consumer = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省教育厅", uscc=complete_uscc("11510000000100009"), region_code="510000")).id
        u = create_user(session=s, actor=SYSTEM, data=UserCreate(username="jy_user", display_name="教育厅用户",
                        password=PASSWORD, department_id=consumer, roles=[Role.DEPT_USER]))
        reader = actor_for(s.get(User, u.id))
        s.add(CatalogResource(code=CODE, name="全国普通高等学校名单", classification="基础",
                              abstract="全国普通高等学校名单（2017）", provider_department_id=provider,
                              format_category="电子表格", format_type="xls", sharing_type=2,
                              sharing_condition="业务协同", sharing_method="接口", open_type="不予开放",
                              update_cycle="每年", information_items=[
                                  {"name": c, "data_type": "C", "length": 200, "description": None} for c in ITEMS]))
    with rt.transaction() as s:
        rows = ingest_file(session=s, settings=rt.settings, actor=steward, resource_code=CODE, path=REAL).rows
        r = service.request_access(session=s, actor=reader, settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=ITEMS, purpose="业务协同", basis="《高等教育法》", use_from=TODAY,
            use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="approve"))
    return reader, rows


def test_consumer_csv_from_the_grants_page_holds_every_granted_row(browser, site, tmp_path):
    reader, rows = _grant(site.rt)
    assert rows >= 2_631 > site.rt.settings.page_size_max
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(f"{site.url}/login")
        page.get_by_label("用户名").fill("jy_user")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/$"))
        page.goto(f"{site.url}/exchange/grants")
        row = page.locator("tr", has_text="全国普通高等学校名单")
        with page.expect_download() as info:
            row.get_by_role("link", name="CSV").click()
        target = tmp_path / "download.csv"
        info.value.save_as(target)
    finally:
        context.close()
    body = target.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    got = pacsv.read_csv(io.BytesIO(body[3:]),
                         convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in ITEMS}))
    with site.rt.transaction() as s:
        view = delivery.grant_view(session=s, settings=site.rt.settings, actor=reader, resource_key=CODE)
        granted = pq.read_table(delivery.masked_file(site.rt.settings, view))

    def text(t: pa.Table) -> list[list[str]]:  # CSV has no NULL: an empty field is "" on both sides
        return [["" if v is None else str(v) for v in r.values()] for r in t.to_pylist()]

    assert got.num_rows == granted.num_rows == rows
    assert text(got) == text(granted)  # row for row, in order
