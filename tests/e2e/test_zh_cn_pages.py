"""No English in the zh-CN interface (issue #12): every page of the UI, rendered in Chinese.

Every GET route of the UI that answers HTML is requested with the demo data loaded (path
parameters filled from it), as the platform administrator, as a department's data steward,
as a department user and anonymously. The visible text — text nodes outside ``<code>``,
``<pre>``, scripts and styles, plus the titles, legends and axis names of the charts the
pages carry as JSON — must hold no English phrase: two or more consecutive English words
(an English sentence or label left untranslated). Codes (single tokens, ``share-conditional``,
upper-case abbreviations such as ``CSV``, ``API``, ``SQL``), units and the proper names in
:data:`ALLOWED` are fine; text the user typed or the data holds is marked ``translate="no"``
or sits in ``<code>``.

A second, browser pass opens the pages that draw charts and reads the titles ECharts actually
rendered. A route whose path parameter this test cannot fill fails the test: add it to
:func:`parameters` when adding a page.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.e2e.conftest import require_chromium, serving

from shudata.analysis.dashboards_models import AnalysisDashboard
from shudata.catalog.models import CatalogDemand, CatalogResource
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.demo.accounts import DEPARTMENTS, demo_users
from shudata.demo.market import ENTERPRISES, OPERATORS, UPLOAD_NAME
from shudata.demo.market import PASSWORD as MARKET_PASSWORD
from shudata.lake.models import LakeVersion
from shudata.market.delivery.models import MarketEntitlement
from shudata.market.models import MarketOrder, MarketProduct
from shudata.market.rights.models import MarketRightsRegistration
from shudata.portal.models import PortalDataRequest, PortalDataset
from shudata.privacy import service as privacy
from shudata.quality import service as quality
from shudata.quality.models import QualityRun
from shudata.security.models import Department
from shudata.sharing.models import SharingRequest
from shudata.web.app import create_app
from shudata.web.routes import api_routes
from support.demo_store import loaded_demo_copy

pytestmark = pytest.mark.sqlite_only

# Proper names, product and standard names that stay as they are in Chinese text.
ALLOWED = (
    "Delta Sharing", "Swagger UI", "ReDoc", "Apache Parquet", "Open Data", "Data Catalog", "Bearer",
    "Microsoft Excel", "Excel", "WPS Office", "Open Government Licence", "Creative Commons", "Public Domain",
    "Open Database License", "Attribution", "ShareAlike", "Mercator", "Web Mercator", "Natural Earth",
    "GeoJSON", "JSON Lines", "Turtle", "JSON-LD", "GB/T", "CodeMirror", "ECharts", "Bootstrap Icons",
)
# Codes written inline: command lines of the CLI (``shudata privacy policy save``).
CODES = re.compile(r"\bshudata(?: [a-z][a-z_-]*)+")
# Pages that need a query string to show something.
QUERIES = {"/exchange/new": "?resource={code}", "/portal/developer/apply": "?dataset={name}",
           "/analysis/indicators/{indicator}/trace": "?region=510000&period=2024"}
# Pages whose parameter must name a particular demo object (the hosted order's entitlement for its jobs page).
RENAMED = {"/market/entitlements/{entitlement_id}/jobs": {"entitlement_id": "hosted_entitlement_id"},
           "/market/entitlements/{entitlement_id}/rows": {"entitlement_id": "api_entitlement_id"},
           "/market/seller/products/{product_id}/upload": {"product_id": "upload_product_id"}}
# Not pages (downloads, data, API documentation in Swagger's own English, redirects).
NOT_PAGES = ("/docs", "/redoc", "/favicon.ico", "/lang/{code}", "/market/entitlements/{entitlement_id}/file",
             "/market/entitlements/{entitlement_id}/sharing-profile")
SKIP_TAGS = {"code", "pre", "script", "style", "textarea", "kbd", "samp", "svg", "template", "noscript"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
        "wbr"}
WORD = r"[A-Za-z][a-z]+"  # an English word with lower-case letters (CSV, API, SQL are codes)
PHRASE = re.compile(rf"\b{WORD}(?:[ \u00a0]+(?:a|an|of|to|in|on|by|is|or|and|the|{WORD}))*[ \u00a0]+{WORD}\b")
CHART_TEXT_KEYS = ("title", "subtext", "name", "text")


class VisibleText(HTMLParser):
    """Text a reader sees, and the chart JSON a page carries."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []
        self.json_blocks: list[str] = []
        self._json = False

    def skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._json = tag == "script" and a.get("type") == "application/json"
        self.json_blocks += [v for k, v in attrs if k.startswith("data-") and v and v.lstrip()[:1] in "{["]
        if tag in VOID:
            return
        classes = (a.get("class") or "").split()
        skip = (tag in SKIP_TAGS or a.get("translate") == "no" or (a.get("lang") or "").startswith("en")
                or "sd-mono" in classes or "font-monospace" in classes or "visually-hidden" in classes)
        self.stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break
        self._json = False

    def handle_data(self, data: str) -> None:
        if self._json:
            self.json_blocks.append(data)
        elif data.strip() and not self.skipping():
            self.texts.append(" ".join(data.split()))


def chart_texts(node: Any, key: str = "") -> Iterator[str]:
    """Titles, legends, axis and series names of ECharts options (anywhere in a JSON block)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("data", "source", "dataset", "rows", "sql", "columns", "features", "geometry", "coordinates"):
                if k == "data" and key == "legend":
                    yield from (x for x in v if isinstance(x, str))
                continue
            yield from chart_texts(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from chart_texts(v, key)
    elif isinstance(node, str) and key in CHART_TEXT_KEYS:
        yield node


def english_phrases(text: str) -> list[str]:
    """English phrases in ``text`` that are not allowed names.

    >>> english_phrases("输入有误：name：Field required；Input should be a valid string")
    ['Field required', 'Input should be a valid string']
    >>> english_phrases("下载 CSV、Apache Parquet 或 Delta Sharing（share-conditional）；shudata privacy key create")
    []
    """
    for name in ALLOWED:
        text = text.replace(name, "·")
    text = CODES.sub("·", text)
    return [m.group(0) for m in PHRASE.finditer(text)]


def leaks_of(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    found = [p for t in parser.texts for p in english_phrases(t)]
    for block in parser.json_blocks:
        try:
            data = json.loads(block)
        except ValueError:
            continue
        found += [f"[chart] {p}" for t in chart_texts(data) for p in english_phrases(t)]
    return found


# -- the demo and the pages ---------------------------------------------------------------------

@dataclass
class Demo:
    rt: Runtime
    params: dict[str, str]
    logins: dict[str, str] = field(default_factory=dict)


def parameters(rt: Runtime) -> dict[str, str]:
    """A value from the demo data for every path parameter of the UI."""
    with rt.transaction() as s:
        with_data = s.scalars(select(CatalogResource).join(LakeVersion, LakeVersion.resource_id == CatalogResource.id)
                              .order_by(CatalogResource.code)).first()
        assert with_data is not None
        dept = s.get(Department, with_data.provider_department_id)  # its steward may read the data raw
        assert dept is not None
        steward = next(f"{d.key}_steward" for d in DEPARTMENTS if d.name == dept.name)
        demand = s.scalars(select(CatalogDemand)).first()
        dataset = s.scalars(select(PortalDataset)).first()
        public_request = s.scalars(select(PortalDataRequest)).first()
        sharing_request = s.scalars(select(SharingRequest)).first()
        run = s.scalars(select(QualityRun).where(QualityRun.resource_id == with_data.id)).first()
        assert demand and dataset and public_request and sharing_request and dept and run
        market = _market_parameters(s)
        board = s.scalar(select(AnalysisDashboard.id).where(AnalysisDashboard.sharing == "public"))  # all may see it
        assert board is not None
        market["dashboard_id"] = str(board)
        return {"code": with_data.code, "department_id": str(dept.id), "demand_id": str(demand.id),
                "name": dataset.name, "request_id": str(public_request.id), "run_id": str(run.id),
                "steward": steward, "fmt": "csv", "indicator": "GDP.PROV", **market}


def _market_parameters(s: Any) -> dict[str, str]:
    """The demo market's product, its file-delivery order and entitlement, the hosted order's entitlement
    and the registration in its notice period."""
    product = s.scalars(select(MarketProduct).order_by(MarketProduct.id)).first()
    orders = {o.delivery_mode: o for o in s.scalars(select(MarketOrder))}
    ents = {e.delivery_mode: e for e in s.scalars(select(MarketEntitlement))}
    certificate = s.scalar(select(MarketRightsRegistration.certificate_number)
                           .where(MarketRightsRegistration.certificate_number.is_not(None)))
    assert product and certificate and "file" in orders and {"api", "file", "hosted"} <= set(ents), (orders, ents)
    upload = s.scalar(select(MarketProduct.id).where(MarketProduct.name == UPLOAD_NAME))
    assert upload is not None
    return {"product_id": str(product.id), "order_id": str(orders["file"].id), "upload_product_id": str(upload),
            "entitlement_id": str(ents["file"].id), "hosted_entitlement_id": str(ents["hosted"].id),
            "api_entitlement_id": str(ents["api"].id), "number": certificate}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("zh")
    # the demo as `shudata demo --load-only` loads it (once per session: tests/unit/demo/test_loader.py
    # checks that load), a copy of our own
    said = loaded_demo_copy(tmp_path_factory, worker_id, tmp / "data")
    assert said.exit_code == 0 and "未能载入" not in said.output, said.output
    rt = Runtime.build(Settings(env="test", data_dir=tmp / "data",
                                database_url=f"sqlite:///{tmp / 'data' / 'meta.db'}"))
    with rt.transaction() as s:  # a quality run to show (the demo's rules, on the first entry with data)
        res = s.scalars(select(CatalogResource).join(LakeVersion, LakeVersion.resource_id == CatalogResource.id)
                        .order_by(CatalogResource.code)).first()
        assert res is not None
        quality.check(session=s, settings=rt.settings, actor=Actor.system(), resource=res.code)
        privacy.scan_resource(session=s, actor=Actor.system(), settings=rt.settings, resource=res.code,
                              sample_rows=500)  # the scan report's evidence on the privacy page
    yield Demo(rt=rt, params=parameters(rt))
    rt.close()
    shutil.rmtree(tmp, ignore_errors=True)


def page_paths(app: Any) -> list[str]:
    return sorted({r.path_format for r in api_routes(app)
                   if "GET" in (r.methods or ()) and not r.include_in_schema and r.path_format not in NOT_PAGES})


def fill(path: str, params: dict[str, str]) -> str:
    params = params | {name: params[other] for name, other in RENAMED.get(path, {}).items()}
    path += QUERIES.get(path, "")
    names = re.findall(r"\{(\w+)(?::\w+)?\}", path)
    missing = [n for n in names if n not in params]
    assert not missing, f"{path}: no demo value for {missing}; add one to parameters()"
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: params[m.group(1)], path)


MARKET_ACCOUNTS = {name for name, _, _ in OPERATORS} | {e[-1] for e in ENTERPRISES}


def login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    password = MARKET_PASSWORD if username in MARKET_ACCOUNTS else next(
        u.password for u in demo_users() if u.username == username)
    r = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303, (username, r.status_code)


# None: anonymous; consumer: the demo's user with a grant and requests; developer: of the open-data portal;
# the market's exchange operator, its buyer and the steward of the department selling under 授权运营
WHO = ("admin", "steward", "consumer", None, "developer", "exchange", "shuxin_credit", "tjj_steward")


def developer_login(client: TestClient) -> None:
    """Register (or log in) an open-data portal developer through the portal's own form."""
    client.cookies.clear()
    page = client.get("/portal/developer").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf, "the developer centre has no CSRF field"
    form = {"csrf_token": csrf.group(1), "email": "dev@example.cn", "password": "Kaifa-Zhe-2026", "next": ""}
    r = client.post("/portal/developer/register", data={**form, "phone": "13800138000", "name": "李开发"},
                    follow_redirects=False)
    if r.status_code != 303:
        r = client.post("/portal/developer/login", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]


def test_every_page_in_zh_cn_has_no_english(demo: Demo) -> None:
    app = create_app(runtime=demo.rt, migrate=False)
    seen: dict[str, int] = {}
    leaks: dict[str, set[str]] = {}
    with TestClient(app, headers={"Accept-Language": "zh-CN,zh;q=0.9"}) as client:
        paths = page_paths(app)
        assert len(paths) > 40
        for who in WHO:
            if who is None:
                client.cookies.clear()
            elif who == "developer":
                developer_login(client)
            else:
                login(client, demo.params["steward"] if who == "steward" else who)
            for path in paths:
                r = client.get(fill(path, demo.params), follow_redirects=False)
                kind = r.headers.get("content-type", "")
                if r.status_code != 200 or not kind.startswith(("text/html", "application/json")):
                    continue
                seen[path] = seen.get(path, 0) + 1
                found = leaks_of(r.text) if kind.startswith("text/html") else [
                    f"[chart] {p}" for t in chart_texts(r.json()) for p in english_phrases(t)]  # chart specs
                for leak in found:
                    leaks.setdefault(leak, set()).add(f"{path} ({who or 'anonymous'})")
    html_pages = [p for p in paths if not re.search(r"\.(xlsx|csv|geojson|ttl|jsonld|parquet)$|\{fmt\}", p)]
    unseen = [p for p in html_pages if p not in seen]
    assert not unseen, f"pages never rendered (status ≠ 200 for everyone): {unseen}"
    report = "\n".join(f"{leak!r}: {sorted(where)[:3]}" for leak, where in sorted(leaks.items()))
    assert not leaks, f"English in zh-CN pages:\n{report}"


# -- the charts as ECharts draws them -------------------------------------------------------------

# The texts ECharts draws: titles, legends, axis and series names, of every chart on the page.
DRAWN_TEXTS = """() => {
    const out = [];
    let charts = 0;
    for (const el of document.querySelectorAll('[_echarts_instance_]')) {
        const chart = window.echarts && echarts.getInstanceByDom(el);
        if (!chart) continue;
        charts += 1;
        const o = chart.getOption();
        for (const t of (o.title || [])) { out.push(t.text, t.subtext); }
        for (const l of (o.legend || [])) for (const d of (l.data || [])) out.push(typeof d === 'string' ? d : d.name);
        for (const ax of [...(o.xAxis || []), ...(o.yAxis || [])]) out.push(ax.name);
        for (const s of (o.series || [])) out.push(s.name);
    }
    return [charts, out.filter(x => typeof x === 'string' && x)];
}"""
# Charts whose legend overlaps their title (rectangles of the drawn title and legend groups).
OVERLAPS = """() => {
    const rect = (chart, type) => {
        const model = chart.getModel().getComponent(type);
        const view = model && chart.getViewOfComponentModel(model);
        if (!view || !view.group || !view.group.children().length) return null;
        const r = view.group.getBoundingRect().clone();
        r.applyTransform(view.group.getComputedTransform());
        return r.width && r.height ? r : null;
    };
    const out = [];
    for (const el of document.querySelectorAll('[_echarts_instance_]')) {
        const chart = window.echarts && echarts.getInstanceByDom(el);
        const t = chart && rect(chart, 'title'), l = chart && rect(chart, 'legend');
        if (t && l && t.intersect(l)) out.push([t.y, t.height, l.y, l.height]);
    }
    return out;
}"""
CHART_PAGES = ("/exchange/stats", "/portal/stats", "/quality/runs/{run_id}", "/catalog/{code}", "/quality", "/")


@pytest.mark.browser
def test_chart_titles_drawn_in_the_browser_are_chinese(demo: Demo, browser: Any) -> None:
    require_chromium()
    steward = next(u for u in demo_users() if u.username == demo.params["steward"])  # reads the data raw
    drawn: dict[str, tuple[int, list[str]]] = {}
    overlaps: dict[str, list[Any]] = {}
    with serving(demo.rt) as url:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}/login")
        page.fill("input[name=username]", steward.username)
        page.fill("input[name=password]", steward.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda u: "/login" not in u)
        for path in CHART_PAGES:
            page.goto(url + fill(path, demo.params))
            page.wait_for_load_state("networkidle")
            drawn[path] = page.evaluate(DRAWN_TEXTS)
            overlaps[path] = page.evaluate(OVERLAPS)
        context.close()
    assert drawn["/quality/runs/{run_id}"][0] >= 3, {p: n for p, (n, _) in drawn.items()}
    assert drawn["/quality/runs/{run_id}"][1], "the quality report's charts have titles"
    leaks = {path: [p for t in texts for p in english_phrases(str(t))] for path, (_, texts) in drawn.items()}
    assert not any(leaks.values()), leaks
    assert not any(overlaps.values()), f"legends drawn over titles: {overlaps}"  # static/js/chart_layout.js


def test_the_detector_finds_what_it_must(tmp_path: Path) -> None:
    html = ('<p>输入有误：title：Field required</p><code>SELECT count(*) FROM t</code>'
            '<span translate="no">Zhang San Ltd</span><a lang="en" href="/lang/en">English version</a>'
            '<script type="application/json">{"title": {"text": "Scores by version"}, "series": '
            '[{"data": ["North Sichuan Basin"]}]}</script>')
    assert leaks_of(html) == ["Field required", "[chart] Scores by version"]
