"""Issue #11 end to end, in a real browser, as the market-regulation steward of the report lived it.

The steward uploads an enterprise-registration workbook (XLS, 1,399 rows, a title row above the
header, 企业类型 mostly ``N/A``, 注册资金 mixing 万元人民币 / 万美元 / 万港元 / bare numbers,
注册日期 in five written forms — :mod:`tests.support.messy`) through the upload page, sees the
placeholders read as missing, accepts the quality rules suggested from the data, and shares
it: the statistics bureau files a request, the steward approves it, and the bureau's user
downloads CSV from 已获授权. The downloaded bytes are then checked row for row against the
workbook itself, read independently with xlrd: every row there, in order; company names,
credit codes and business scopes as written (organisations and free text are not persons);
placeholders empty; 法定代表人 — the only personal column — masked to its first character.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.e2e.conftest import PASSWORD, Site, _entry
from tests.support.messy import HEADER, MessyWorkbook, write_registration_workbook

from shudata.catalog.access import find_resource
from shudata.quality import service as quality
from shudata.security.models import User
from shudata.security.service import actor_for
from shudata.sharing import delivery

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed").expect

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

TIMEOUT_MS = 60_000  # for each step and each expectation: the suggestions profile the table, under CI load
PLACEHOLDERS = {"N/A", "NA", "无", "—"}


@pytest.fixture(scope="module")
def register(site: Site, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, MessyWorkbook]:
    """The entry (有条件共享, its items as the workbook's columns, all text) and the workbook."""
    with site.rt.transaction() as s:
        steward = actor_for(s.query(User).filter(User.username == "sc_steward").one())
    code = _entry(site.rt, steward, name="1993年企业登记名录",
                  abstract="1993 年度企业登记名录（摘录），含注册资金与注册日期。",
                  category_code="302002", format_category="电子表格", format_type="xls",
                  sharing={"type": 2, "condition": "用于市场主体监管与统计", "method": "接口"},
                  information_items=[{"name": h, "data_type": "C", "length": 400} for h in HEADER])
    book = write_registration_workbook(tmp_path_factory.mktemp("messy") / "企业登记名录1993", rows=1399, seed=1993)
    return code, book


def _context(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/$"))


@pytest.fixture
def pages(browser: Any) -> Iterator[tuple[Any, Any]]:
    """One page for the provider's steward, one for the consumer's: two browser sessions."""
    contexts = [_context(browser), _context(browser)]
    made = [c.new_page() for c in contexts]
    errors: list[str] = []
    for pg in made:
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield made[0], made[1]
    for c in contexts:
        c.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _source_rows(book: MessyWorkbook) -> list[list[Any]]:
    """The workbook's data rows as xlrd reads them (cells with their types), title and header skipped."""
    import xlrd

    sheet = xlrd.open_workbook(str(book.path)).sheet_by_index(0)
    assert [c.value for c in sheet.row(book.title_rows)] == HEADER
    return [sheet.row(r) for r in range(book.title_rows + 1, sheet.nrows)]


def _as_text(cell: Any, datemode: int = 0) -> str:
    """What a text item holds of a cell: text as written (trimmed), a date cell as an ISO date, a
    whole number without a decimal point, a placeholder or a blank as empty."""
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        return xlrd.xldate_as_datetime(cell.value, datemode).date().isoformat()
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        return str(int(cell.value)) if float(cell.value).is_integer() else repr(cell.value)
    text = str(cell.value).strip()
    return "" if text in PLACEHOLDERS else text


def test_upload_accept_rules_share_and_the_consumer_csv_is_the_register(
        pages: tuple[Any, Any], site: Site, register: tuple[str, MessyWorkbook]) -> None:
    provider, consumer = pages
    code, book = register
    assert book.path.suffix == ".xls", "xlwt (a dev extra) writes the register as a real BIFF8 workbook"

    # 1. The steward uploads the workbook and sees what was read as missing.
    _login(provider, site.url, "sc_steward")
    provider.goto(f"{site.url}/catalog/{code}/upload")
    provider.set_input_files("#file", str(book.path))
    expect(provider.locator("#file-detected")).to_contain_text("列与信息项一致", timeout=TIMEOUT_MS)
    expect(provider.locator("#file-missing-values")).to_contain_text("N/A", timeout=TIMEOUT_MS)
    provider.get_by_role("button", name="上传").click()
    ok = provider.locator("#upload-ok")
    expect(ok).to_be_visible(timeout=TIMEOUT_MS)
    expect(ok).to_contain_text("v1", timeout=TIMEOUT_MS)
    expect(provider.locator("#missing-counts")).to_contain_text(f"企业类型 {book.na_types}", timeout=TIMEOUT_MS)

    # 2. The quality page proposes rules from this table (never another table's) and the steward accepts them.
    provider.goto(f"{site.url}/quality/resources/{code}")
    expect(provider.locator("#rules-spec")).to_have_value("", timeout=TIMEOUT_MS)
    form = provider.locator("#suggestions-form")
    expect(form).to_be_visible(timeout=TIMEOUT_MS)
    # the credit-code check digit
    expect(form.locator('tr[data-key="uscc:统一社会信用代码"]')).to_be_visible(timeout=TIMEOUT_MS)
    expect(form).not_to_contain_text("5A", timeout=TIMEOUT_MS)
    offered = int(form.locator('input[name="offered"]').get_attribute("value"))
    provider.locator("#accept-suggestions").click()
    expect(provider.locator("body")).to_contain_text(f"已采纳 {offered} 条建议规则", timeout=TIMEOUT_MS)
    with site.rt.transaction() as s:
        rules, revision = quality.current_rule_set(s, find_resource(s, code).id)
    assert revision == 1 and len(rules.rules) == offered
    assert "uscc:统一社会信用代码" in {r.key for r in rules.rules}
    assert not [r for r in rules.rules if r.columns_used()[0] == "法定代表人" and r.key.startswith("enum:")]

    # 3. The statistics bureau asks for the whole register; the steward approves.
    _login(consumer, site.url, "tj_steward")
    consumer.goto(f"{site.url}/exchange/new?resource={code}")
    for h in HEADER:
        consumer.locator("#request-form").get_by_label(h, exact=True).check()
    consumer.locator("#basis").fill("《市场主体登记管理条例》；统计调查需要")
    consumer.locator("#use_until").fill((dt.date.today() + dt.timedelta(days=90)).isoformat())
    consumer.get_by_role("button", name="提交申请").click()
    expect(consumer.locator("body")).to_contain_text("已提交共享申请", timeout=TIMEOUT_MS)
    provider.goto(f"{site.url}/exchange?box=incoming&status=pending")
    card = provider.locator("form[id^='decide-']").first
    card.get_by_role("button", name="提交答复").click()
    expect(provider.locator("body")).to_contain_text("已处理", timeout=TIMEOUT_MS)

    # 4. The bureau downloads CSV from 已获授权: every row of the register, as it should leave.
    consumer.goto(f"{site.url}/exchange/grants")
    row = consumer.locator("tr", has_text="1993年企业登记名录")
    with consumer.expect_download() as info:
        row.get_by_role("link", name="CSV").click()
    body = Path(info.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens the Chinese as Chinese
    got = list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))
    assert got[0] == HEADER
    got = got[1:]
    source = _source_rows(book)
    assert len(got) == len(source) == book.rows == 1399  # complete: not a page of 1,000
    col = {h: i for i, h in enumerate(HEADER)}
    for n, (mine, theirs) in enumerate(zip(got, source, strict=True), start=1):
        want = [_as_text(c) for c in theirs]
        for h in ("企业名称", "注册号", "统一社会信用代码", "注册资金", "企业类型", "注册日期", "经营范围"):
            assert mine[col[h]] == want[col[h]], (n, h, mine[col[h]], want[col[h]])
        name = want[col["法定代表人"]]
        assert mine[col["法定代表人"]] == name[0] + "*" * (len(name) - 1), (n, mine, name)

    # The same bytes are what the platform's granted view holds (nothing added on the way out).
    with site.rt.transaction() as s:
        reader = actor_for(s.query(User).filter(User.username == "tj_steward").one())
        view = delivery.grant_view(session=s, settings=site.rt.settings, actor=reader, resource_key=code)
        granted = pq.read_table(delivery.masked_file(site.rt.settings, view)).to_pylist()
    assert [["" if v is None else str(v) for v in r.values()] for r in granted] == got
