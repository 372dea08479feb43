"""Issue #16 in a real browser: listing → buying → delivery → trace.

An enterprise registers on the public page; the exchange operator approves it (grade A) and a
department selling under 授权运营; the department's steward creates a product from its own entry
(with fingerprint settings), adds a price plan and submits it; the operator lists it; the buyer
inquires on the product page, signs, the operator signs and books escrow, the buyer downloads the
fingerprinted CSV and accepts; the operator uploads a 5 % subset of that file (shuffled, a column
dropped, re-saved as CSV) and the trace names the buyer. The seller's agreement and signature and
the start of delivery go through the services (their pages are covered by tests/unit/web/test_ui_market.py).
Also: the market pages do not overflow a 390 px wide screen."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from tests.e2e.conftest import new_runtime, require_chromium, serving
from tests.support.market import DepartmentSeller
from tests.support.market_pages import power_entry

from shudata.core.types import Actor, Role
from shudata.market import orders as O
from shudata.market.participants import list_participants, register_department_seller
from shudata.market.schemas import DepartmentSellerCreate
from shudata.security.models import User
from shudata.security.schemas import DepartmentCreate, UserCreate
from shudata.security.service import actor_for, create_department, create_user
from shudata.standards.uscc import complete as complete_uscc

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

PASSWORD = "Tianfu-Data-7"
SYSTEM = Actor.system()
BUYER = "成都蓉数科技有限公司"


def _user(rt: Any, username: str, role: Role, dept: int | None = None) -> Actor:
    with rt.transaction() as s:
        u = create_user(session=s, actor=SYSTEM, data=UserCreate(
            username=username, display_name=username, password=PASSWORD, department_id=dept, roles=[role]))
        return actor_for(s.get(User, u.id))


def _world(rt: Any) -> tuple[Actor, Actor, DepartmentSeller]:
    with rt.transaction() as s:
        dept = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="四川省经济和信息化厅", uscc=complete_uscc("11510000000100031"), region_code="510000")).id
    operator = _user(rt, "exchange_op", Role.MARKET_OPERATOR)
    steward = _user(rt, "jx_steward", Role.DATA_STEWARD, dept)
    with rt.transaction() as s:
        p = register_department_seller(session=s, actor=operator, data=DepartmentSellerCreate(
            department_id=dept, authorisation="川府函〔2026〕8号 公共数据授权运营协议", legal_representative="张三",
            contact_name="李四", contact_phone="028-86000001"))
    return operator, steward, DepartmentSeller(dept, steward, p.id, "", "")


def _login(page: Any, url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def _participant_id(rt: Any, name: str) -> int:
    with rt.transaction() as s:
        return next(p.id for p in list_participants(session=s, actor=SYSTEM) if p.name == name)


def _approve(page: Any, pid: int) -> None:
    page.select_option(f"#decision-{pid}", "approve")
    page.select_option(f"#grade-{pid}", "A")
    page.click(f"#review-submit-{pid}")
    page.wait_for_load_state()
    assert "已处理" in page.inner_text(".alert-success")


def test_list_buy_deliver_and_trace_in_the_browser(tmp_path: Path, browser: Any) -> None:
    require_chromium()
    rt = new_runtime(tmp_path)
    _operator, steward, ds = _world(rt)
    code = power_entry(rt, ds, rows=6000)
    with serving(rt) as url:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", accept_downloads=True)
        context.set_default_timeout(30_000)
        page = context.new_page()
        try:
            # the enterprise registers on the public page (a bad credit code is refused in Chinese first)
            page.goto(f"{url}/market/register")
            page.fill("#name", BUYER)
            page.fill("#uscc", "91510100MA6000000X")
            page.check("#kind-buyer")
            for field, value in (("legal_representative", "王五"), ("contact_name", "赵六"),
                                 ("contact_phone", "028-80000000"), ("username", "rs_buyer"),
                                 ("password", PASSWORD)):
                page.fill(f"#{field}", value)
            page.click("#register-submit")
            assert "统一社会信用代码无效" in page.inner_text(".alert-danger")
            page.fill("#uscc", complete_uscc("91510100MA6100001"))
            page.fill("#password", PASSWORD)
            page.click("#register-submit")
            page.wait_for_url(re.compile(r"/login$"))

            # the operator approves the seller and the buyer
            _login(page, url, "exchange_op")
            page.goto(f"{url}/market/operator")
            buyer_id = _participant_id(rt, BUYER)
            _approve(page, ds.participant_id)
            _approve(page, buyer_id)

            # the seller lists a product over its own entry
            _login(page, url, "jx_steward")
            page.goto(f"{url}/market/seller")
            page.click(f"#new-product-{ds.participant_id}")
            page.fill("#name", "企业用电与产值月度数据")
            page.fill("#category", "经济运行")
            page.check(f'input[name="sources"][value="{code}"]')
            page.fill("#content", "四川省重点企业月度用电量与产值")
            page.fill("#scenarios", "区域经济运行监测")
            page.check("#mode-file")
            page.check("#right-holding")
            page.check("#right-operating")
            page.fill("#source_evidence", "电力公司依法报送")
            page.fill("#fp_keys", "企业编号,月份")
            page.fill("#fp_columns", "用电量=0.5\n产值=0.5")
            page.click("#create-product")
            page.wait_for_url(re.compile(r"/market/seller"))
            pid = int(re.search(r"product-(\d+)", page.url).group(1))  # type: ignore[union-attr]
            page.fill(f"#plan-name-{pid}", "一次性购买")
            page.fill(f"#plan-price-{pid}", "20000")
            page.click(f"#add-plan-{pid}")
            page.wait_for_load_state()
            page.click(f"#submit-{pid}")
            page.wait_for_load_state()
            assert "已提交挂牌审核" in page.inner_text(".alert-success")

            # the operator lists it
            _login(page, url, "exchange_op")
            page.goto(f"{url}/market/operator")
            page.select_option(f"#listing-decision-{pid}", "approve")
            page.click(f"#listing-submit-{pid}")
            page.wait_for_load_state()

            # the buyer finds it, inquires, signs
            _login(page, url, "rs_buyer")
            page.goto(f"{url}/market?q=用电")
            page.click(f"#product-{pid} a")
            assert page.locator("#sample-table tbody tr").count() > 0
            page.locator("[data-chart] canvas, [data-chart] svg").first.wait_for()
            page.fill("#purpose", "区域经济运行监测")
            page.click("#inquire")
            page.wait_for_url(re.compile(r"/market/buyer"))
            oid = int(re.search(r"order-(\d+)", page.url).group(1))  # type: ignore[union-attr]
            with rt.transaction() as s:
                O.agree(session=s, actor=steward, settings=rt.settings, order_id=oid)
                O.sign(session=s, actor=steward, settings=rt.settings, order_id=oid)
            page.goto(f"{url}/market/buyer")
            page.click(f"#sign-{oid}")
            page.wait_for_load_state()
            assert page.locator(f"#order-{oid} .sig-buyer").count() == 1

            # the operator signs for the exchange and books escrow; the seller starts delivery
            _login(page, url, "exchange_op")
            page.goto(f"{url}/market/operator")
            page.click(f"#sign-{oid}")
            page.wait_for_load_state()
            page.click(f"#fund-{oid}")
            page.wait_for_load_state()
            with rt.transaction() as s:
                O.start_delivery(session=s, actor=steward, settings=rt.settings, order_id=oid)

            # the buyer downloads the fingerprinted file and accepts
            _login(page, url, "rs_buyer")
            page.goto(f"{url}/market/buyer")
            ent = page.locator(".delivery").first.get_attribute("id").split("-")[1]
            with page.expect_download() as info:
                page.click(f"#download-{ent}-csv")
            got = tmp_path / "bought.csv"
            shutil.copy(info.value.path(), got)
            page.click(f"#accept-{oid}")
            page.wait_for_load_state()
            assert page.locator(f'#order-{oid} [data-state="accepted"]').count() == 1
            page.set_viewport_size({"width": 390, "height": 844})
            for path in ("/market", "/market/buyer", f"/market/products/{pid}"):
                page.goto(f"{url}{path}")
                assert page.evaluate("document.documentElement.scrollWidth") <= 392, path

            # the operator traces a 5 % subset, shuffled, one column dropped, re-saved as CSV
            table = pacsv.read_csv(got)
            assert table.num_rows == 6000
            rows = random.Random(16).sample(range(table.num_rows), table.num_rows // 20)
            leak = table.take(pa.array(rows)).drop_columns(["城市"])
            leak = leak.select(list(reversed(leak.column_names)))
            leaked = tmp_path / "found.csv"
            pacsv.write_csv(leak, leaked)
            _login(page, url, "exchange_op")
            page.set_viewport_size({"width": 1440, "height": 900})
            page.goto(f"{url}/market/operator")
            page.set_input_files("#trace-file", str(leaked))
            page.click("#trace-submit")
            page.wait_for_load_state()
            verdict = page.locator("#trace-result .trace").first
            assert verdict.locator(".trace-verdict").get_attribute("data-matched") == "1"
            assert BUYER in verdict.locator(".trace-buyer").inner_text()
            page.locator("#orders-chart canvas").first.wait_for()  # the statistics are drawn
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(f"{url}/market/operator")
            assert page.evaluate("document.documentElement.scrollWidth") <= 392
            _login(page, url, "jx_steward")
            page.goto(f"{url}/market/seller")
            assert page.evaluate("document.documentElement.scrollWidth") <= 392
        finally:
            context.close()
    rt.close()
