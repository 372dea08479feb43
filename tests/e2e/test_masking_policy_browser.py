"""The masking-policy editor and the k-anonymity form in a real browser (issue 12).

A public-security steward opens the editor of a residents table, chooses per column an operator
and its parameters, previews the before/after of sample rows (masked values in the page), saves
the policy; a statistics-bureau user is granted the table; the editor then lists the grant, and
the CSV the grant delivers through the API is masked exactly as the policy says. The steward
then runs the k-anonymity form and sees the chosen generalisation and the risk chart.

With ``SHUDATA_SCREENSHOTS=<folder>`` the pages are also captured at 1440 and 390 px wide
(``docs/img`` holds the ones the user guide shows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.e2e.conftest import checked_page, new_runtime, require_chromium, serving

from shudata.catalog.models import CatalogResource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.privacy import keys
from shudata.privacy.synthdata import citizens
from shudata.security.models import User
from shudata.security.schemas import DepartmentCreate, TokenCreate, UserCreate
from shudata.security.service import actor_for, create_department, create_token, create_user
from shudata.sharing import service as sharing
from shudata.sharing.schemas import RequestCreate
from shudata.standards.uscc import complete as complete_uscc

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

PASSWORD = "Passw0rd!e2e-policy"
TIMEOUT_MS = 60_000  # the machine is shared: every expectation waits this long
CODE = "101001/000021"
ROWS = 300
SYSTEM = Actor.system()
TODAY = dt.date.today()
SHOTS = os.environ.get("SHUDATA_SCREENSHOTS")


@dataclass
class PolicySite:
    url: str
    rt: Runtime
    table: pa.Table


def _user(rt: Runtime, name: str, dept: int, role: Role) -> Actor:
    with rt.transaction() as s:
        u = create_user(session=s, actor=SYSTEM, data=UserCreate(username=name, display_name=name, password=PASSWORD,
                                                                  department_id=dept, roles=[role]))
        row = s.get(User, u.id)
        assert row is not None
        return actor_for(row)


def _seed(rt: Runtime) -> pa.Table:
    with rt.transaction() as s:
        police = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省公安厅", uscc=complete_uscc("11510000000400001"), region_code="510000")).id
        stats = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省统计局", uscc=complete_uscc("11510000000400002"), region_code="510000")).id
    _user(rt, "ga_steward", police, Role.DATA_STEWARD)
    _user(rt, "tj_user", stats, Role.DEPT_USER)
    table = citizens(ROWS, seed=21)
    with rt.transaction() as s:
        res = CatalogResource(code=CODE, alias="residents", name="四川省居民基本信息（测试）", classification="基础",
                              abstract="居民姓名、身份证号、手机号等（合成数据）", provider_department_id=police,
                              format_category="数据库", format_type="parquet", information_items=[
                                  {"name": c, "data_type": "C", "length": 50, "description": None}
                                  for c in table.column_names],
                              sharing_type=1, sharing_condition=None, sharing_method="接口", open_type="不予开放",
                              update_cycle="每月")
        s.add(res)
        s.flush()
        write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=res, batches_or_table=table,
                      source_name="residents.parquet", source_format="parquet")
        keys.create(s, rt.settings, "k-ga", "e2e", "system")
    return table


@pytest.fixture(scope="module")
def policy_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PolicySite]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("policy-e2e")
    rt = new_runtime(tmp)
    table = _seed(rt)
    with serving(rt) as url:
        yield PolicySite(url=url, rt=rt, table=table)
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def page(policy_site: PolicySite, browser: Any) -> Iterator[Any]:
    with checked_page(browser, TIMEOUT_MS, viewport={"width": 1440, "height": 1000}) as pg:
        yield pg


def _login(page: Any, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))


def _shots(page: Any, name: str) -> None:
    """Full-page captures at 1440 and 390 px wide into ``SHUDATA_SCREENSHOTS`` (when set)."""
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(600)  # charts resize
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})


def _row(page: Any, column: str) -> Any:
    return page.locator(f".sd-policy-table .sd-policy-row[data-column='{column}']")


def _grant(site: PolicySite) -> dict[str, str]:
    """The statistics-bureau user requests the table (无条件共享: granted at once); its API token."""
    with site.rt.transaction() as s:
        reader = actor_for(s.query(User).filter(User.username == "tj_user").one())
        sharing.request_access(session=s, actor=reader, settings=site.rt.settings, data=RequestCreate(
            resource=CODE, fields=["姓名", "手机号", "区划代码"], purpose="业务协同",
            basis="《四川省政务信息资源共享管理办法》", use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
        tok = create_token(session=s, actor=SYSTEM, data=TokenCreate(expires_in_days=1), username="tj_user")
    return {"Authorization": f"Bearer {tok.token}"}


def test_steward_writes_a_policy_with_preview_and_the_grant_delivers_it(page: Any, policy_site: PolicySite
                                                                        ) -> None:
    base = policy_site.url
    _login(page, base, "ga_steward")
    page.goto(f"{base}/privacy/resources/{CODE}/policy")
    expect(page.locator("h1")).to_have_text("脱敏策略编辑器", timeout=TIMEOUT_MS)
    phone = _row(page, "手机号")
    expect(phone).to_contain_text("CN_MOBILE", timeout=TIMEOUT_MS)  # the detected entity, proposed
    expect(phone.locator("select.sd-op-select")).to_have_value("partial_mask", timeout=TIMEOUT_MS)

    phone.locator("select.sd-op-select").select_option("partial_mask")
    params = phone.locator("fieldset[data-op='partial_mask']")
    params.get_by_label("保留开头字符数").fill("3")
    params.get_by_label("保留末尾字符数").fill("2")
    params.get_by_label("遮盖字符").fill("#")
    name = _row(page, "姓名")
    name.locator("select.sd-op-select").select_option("pseudonym")
    expect(name.locator("fieldset[data-op='pseudonym']")).to_be_visible(timeout=TIMEOUT_MS)
    expect(name.locator("fieldset[data-op='partial_mask']")).to_be_hidden(timeout=TIMEOUT_MS)
    name.locator("fieldset[data-op='pseudonym']").get_by_label("密钥").select_option("k-ga")

    page.get_by_role("button", name="预览脱敏效果").click()
    after = page.locator("#policy-preview td[data-column='手机号'] .sd-after")
    expect(after.first).to_have_text(re.compile(r"^1\d{2}#{6}\d{2}$"), timeout=TIMEOUT_MS)
    expect(page.locator("#policy-preview td[data-column='姓名'] .sd-after").first).to_have_text(
        re.compile(r"^[0-9a-f]{32}$"), timeout=TIMEOUT_MS)
    expect(page.locator("#policy-preview td[data-column='手机号'] .sd-before").first).to_have_text(
        re.compile(r"^1\d{10}$"), timeout=TIMEOUT_MS)  # the original, struck through, for its steward
    expect(page.locator("#policy-preview .alert-success")).to_contain_text("检查通过", timeout=TIMEOUT_MS)
    _shots(page, "policy-editor")

    page.get_by_role("button", name="保存策略").click()
    expect(page.locator(".alert-success").first).to_contain_text("已保存脱敏策略", timeout=TIMEOUT_MS)
    expect(page.locator(".sd-profile-switch")).to_contain_text("第 1 版", timeout=TIMEOUT_MS)
    expect(_row(page, "手机号").locator("select.sd-op-select")).to_have_value("partial_mask")

    headers = _grant(policy_site)
    page.reload()
    expect(page.locator(".sd-policy-usage")).to_contain_text("四川省统计局", timeout=TIMEOUT_MS)
    expect(page.locator(".sd-policy-usage")).to_contain_text("有效", timeout=TIMEOUT_MS)

    r = page.request.get(f"{base}/api/v1/shared/rows", params={"resource": CODE, "format": "csv"},
                         headers=headers, timeout=TIMEOUT_MS)
    assert r.status == 200, r.text()
    got = list(csv.DictReader(io.StringIO(r.body().decode("utf-8-sig"))))
    raw = policy_site.table.select(["姓名", "手机号"]).to_pylist()
    assert len(got) == ROWS
    assert sorted(g["手机号"] for g in got) == sorted(m["手机号"][:3] + "######" + m["手机号"][-2:] for m in raw)
    assert all(re.fullmatch(r"[0-9a-f]{32}", g["姓名"]) for g in got)
    assert not {g["姓名"] for g in got} & {m["姓名"] for m in raw}
    assert len({g["姓名"] for g in got}) == len({m["姓名"] for m in raw})  # keyed: one pseudonym per name


def test_k_anonymity_form_shows_generalisation_loss_and_risk_chart(page: Any, policy_site: PolicySite) -> None:
    base = policy_site.url
    _login(page, base, "ga_steward")
    page.goto(f"{base}/privacy/resources/{CODE}/anonymise")
    page.get_by_label("作为准标识符：区划代码").check()
    page.get_by_label("泛化层次：区划代码").select_option("regions")
    page.get_by_label("作为准标识符：出生日期").check()
    page.get_by_label("泛化层次：出生日期").select_option("dates")
    page.get_by_label("k", exact=True).fill("5")
    page.get_by_label("抑制上限").fill("0.1")
    page.get_by_role("button", name="评估并寻找最优泛化").click()
    expect(page.locator(".alert-success").first).to_contain_text("已完成匿名化评估", timeout=TIMEOUT_MS)
    result = page.locator(".sd-kanon-result").first
    expect(result.locator("table.sd-generalisation")).to_contain_text("区划代码", timeout=TIMEOUT_MS)
    expect(result.locator("table.sd-generalisation")).to_contain_text("→", timeout=TIMEOUT_MS)
    expect(result.locator(".sd-info-loss")).to_have_text(re.compile(r"^\d+\.\d{4}$"), timeout=TIMEOUT_MS)
    expect(result.locator(".sd-kanon-chart canvas")).to_have_count(1, timeout=TIMEOUT_MS)  # ECharts drew it
    _shots(page, "k-anonymity")
