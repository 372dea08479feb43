"""Suggested rules in a real browser: an education steward registers the real MOE institutions
workbook as a new entry, opens its quality page, sees the rules suggested from the data (an
empty rules box, no other table's rules), edits a range bound and a code list, drops one
suggestion, saves, and the entry's saved rule set is exactly the chosen set."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.e2e.conftest import DATA, PASSWORD, SYSTEM, Site, _entry, _user

from shudata.core.types import Role
from shudata.jobs.ingest import ingest_file
from shudata.quality import service
from shudata.quality.rules import parse_rule, parse_rule_set
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department
from shudata.standards.uscc import complete as complete_uscc

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

TIMEOUT_MS = 30_000
MOE = DATA / "quality" / "moe_higher_education_institutions_2017.xls"
ITEMS = [("序号", "I"), ("学校名称", "C"), ("学校标识码", "C"), ("主管部门", "C"), ("所在地", "C"), ("办学层次", "C"),
         ("备注", "C")]


@pytest.fixture(scope="module")
def moe(site: Site) -> str:
    with site.rt.transaction() as s:
        dept = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省教育厅", uscc=complete_uscc("11510000000100009"), region_code="510000")).id
    steward = _user(site.rt, "jy_steward", Role.DATA_STEWARD, dept)
    code = _entry(site.rt, steward, name="全国普通高等学校名单", abstract="教育部公布的全国普通高等学校名单（2017）。",
                  category_code="303001", format_category="电子表格", format_type="xls",
                  information_items=[{"name": n, "data_type": t} for n, t in ITEMS])
    with site.rt.transaction() as s:
        ingest_file(session=s, settings=site.rt.settings, actor=steward, resource_code=code, path=MOE,
                    source_name=MOE.name)
    return code


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _row(page: Any, key: str) -> Any:
    return page.locator(f'#suggestions-form tr[data-key="{key}"]')


def test_steward_accepts_edits_and_drops_suggested_rules(page: Any, site: Site, moe: str) -> None:
    page.goto(f"{site.url}/login")
    page.get_by_label("用户名").fill("jy_steward")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))

    page.goto(f"{site.url}/quality/resources/{moe}")
    expect(page.locator("#rules-spec")).to_have_value("")  # a new entry: no other table's rules
    form = page.locator("#suggestions-form")  # loaded by htmx from the newest data
    expect(form).to_be_visible()
    expect(page.locator("#rule-suggestions")).to_contain_text("依据数据版本 1")
    expect(_row(page, "unique:学校标识码")).to_contain_text("“学校标识码”的组合在各行间不得重复")
    expect(_row(page, "enum:办学层次").locator("textarea")).to_have_value("专科\n本科")

    offered = [json.loads(page.locator(f'input[name="rule_{i}"]').get_attribute("value"))
               for i in range(int(page.locator('input[name="offered"]').get_attribute("value")))]
    keys = [parse_rule(r).key for r in offered]
    assert {"not_null:学校标识码", "unique:学校标识码", "enum:主管部门", "enum:办学层次", "range:序号"} <= set(keys)
    # neither shown nor offered (not the raw HTML: a random CSRF token or nonce may contain "5A")
    assert "5A" not in page.inner_text("body")
    assert not any("5A" in json.dumps(r, ensure_ascii=False) for r in offered)

    rng = _row(page, "range:序号")
    rng.locator('input[name^="max_"]').fill("5000")  # edit a range bound
    level = _row(page, "enum:办学层次")
    level.locator("select").select_option("block")  # and a severity
    _row(page, "enum:备注").locator('input[type="checkbox"]').uncheck()  # drop one
    page.locator("#accept-suggestions").click()

    page.wait_for_url(re.compile(rf"/quality/resources/{re.escape(moe)}$"))
    expect(page.locator("body")).to_contain_text(f"已采纳 {len(offered) - 1} 条建议规则，舍弃 1 条")
    expect(page.locator("#rules-spec")).to_have_value(re.compile("学校标识码"))

    edits: dict[str, dict[str, Any]] = {"range:序号": {"max": 5000}, "enum:办学层次": {"severity": "block"}}
    expected = [{**r, **edits.get(k, {})} for r, k in zip(offered, keys, strict=True) if k != "enum:备注"]
    with site.rt.transaction() as s:
        from shudata.catalog.access import find_resource
        from shudata.quality.models import QualityRuleSet

        res = find_resource(s, moe)
        rows = s.query(QualityRuleSet).filter(QualityRuleSet.resource_id == res.id).all()
        assert [r.revision for r in rows] == [1]
        saved = parse_rule_set(rows[0].spec)
        rs, revision = service.current_rule_set(s, res.id)
    assert revision == 1 and rs == saved
    for got, want in zip(saved.rules, parse_rule_set(expected).rules, strict=True):
        assert got.model_dump() == want.model_dump(), got.key
    assert [r.key for r in saved.rules] == [k for k in keys if k != "enum:备注"]
