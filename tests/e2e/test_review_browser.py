"""Overruling detection in a real browser: a market-regulation steward scans an enterprise register,
sees why 法定代表人 was flagged (recognizer, share, masked examples) and that 企业名称 is an
organisation, overrules 法定代表人 as not personal (legal representatives are published by law),
publishes to the open portal, and the portal's CSV holds the names unmasked, row for row."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import checked_page, new_runtime, require_chromium, serving

from shudata.catalog.models import CatalogResource
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.privacy.synthorgs import enterprises
from shudata.security.schemas import DepartmentCreate, UserCreate
from shudata.security.service import create_department, create_user
from shudata.standards.uscc import complete as complete_uscc

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

PASSWORD = "Passw0rd!e2e"
TIMEOUT_MS = 20_000
CODE = "302001/000011"
NAME = CODE.replace("/", "-")
COLUMNS = ["企业名称", "法定代表人", "住所", "经营范围"]


@dataclass
class ReviewSite:
    url: str
    rt: Runtime
    rows: list[dict[str, str]]




def _seed(rt: Runtime, tmp: Path) -> list[dict[str, str]]:
    system = Actor.system()
    with rt.transaction() as s:
        dept = create_department(session=s, actor=system, data=DepartmentCreate(
            name="四川省市场监督管理局", uscc=complete_uscc("11510000000300001"), region_code="510000")).id
        create_user(session=s, actor=system, data=UserCreate(
            username="scjg_steward", display_name="市场监管数据管理员", password=PASSWORD, department_id=dept,
            roles=[Role.DATA_STEWARD]))
        s.add(CatalogResource(
            code=CODE, name="企业登记名录", classification="主题",
            abstract="企业名称、法定代表人、住所与经营范围（测试数据）",
            category_path="法人/测试", provider_department_id=dept, format_category="电子表格", format_type="csv",
            information_items=[{"name": c, "data_type": "C", "length": 200, "description": None} for c in COLUMNS],
            sharing_type=1, sharing_method="接口", open_type="无条件开放", update_cycle="每年", tags=["法人"]))
    rows = enterprises(40, seed=11).select(COLUMNS).to_pylist()
    path = tmp / "企业登记.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    with rt.transaction() as s:  # ingested by the platform; the steward acts in the browser
        ingest_file(session=s, settings=rt.settings, actor=system, resource_code=CODE, path=path)
    return rows


@pytest.fixture(scope="module")
def review_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewSite]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("review-e2e")
    rt = new_runtime(tmp)
    rows = _seed(rt, tmp)
    with serving(rt) as url:
        yield ReviewSite(url=url, rt=rt, rows=rows)
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def page(review_site: ReviewSite, browser: Any) -> Iterator[Any]:
    with checked_page(browser, TIMEOUT_MS, viewport={"width": 1600, "height": 1000}, accept_downloads=True) as pg:
        yield pg


def test_steward_overrules_a_column_and_the_portal_delivers_it_unmasked(page: Any, review_site: ReviewSite,
                                                                        tmp_path: Path) -> None:
    base = review_site.url
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("scjg_steward")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))

    page.goto(f"{base}/privacy/resources/{CODE}")
    page.get_by_role("button", name="扫描最新版本").click()
    rep = page.locator("table.sd-findings").first
    rep_row = rep.locator("tr[data-column='法定代表人']")
    expect(rep_row).to_contain_text("PERSON_NAME")
    expect(rep_row).to_contain_text("person_name")  # which recognizer
    expect(rep_row).to_contain_text("示例（已遮盖）")
    expect(rep.locator("tr[data-column='企业名称']")).to_contain_text("ORGANIZATION")
    expect(rep.locator("tr[data-column='住所']")).to_contain_text("但不属个人信息")

    form = rep_row.locator("form.sd-review")
    form.locator("select[name='entity']").select_option("")  # 不属个人信息
    form.locator("input[name='reason']").fill("法定代表人姓名依法在企业信用信息公示系统公示")
    form.get_by_role("button", name="复核").click()
    expect(page.locator(".alert-success")).to_contain_text("已记录对列“法定代表人”的复核")
    in_force = page.locator("table.sd-findings").first.locator("tr[data-column='法定代表人'] .sd-review-in-force")
    expect(in_force).to_contain_text("不属个人信息")
    expect(in_force).to_contain_text("scjg_steward")
    expect(page.locator("table.sd-reviews")).to_contain_text("法定代表人姓名依法")

    page.goto(f"{base}/open-data")
    page.locator(f"tr[data-resource='{CODE}'] [data-action='publish']").click()
    expect(page.locator(".alert-success")).to_contain_text("已通过开放闸门并发布")

    page.goto(f"{base}/portal/datasets/{NAME}")
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    target = tmp_path / "dl.csv"
    info.value.save_as(target)
    got = list(csv.DictReader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    assert [r["法定代表人"] for r in got] == [r["法定代表人"] for r in review_site.rows]  # unmasked, row for row
    assert [r["企业名称"] for r in got] == [r["企业名称"] for r in review_site.rows]
    assert [r["住所"] for r in got] == [r["住所"] for r in review_site.rows]  # an enterprise's domicile
