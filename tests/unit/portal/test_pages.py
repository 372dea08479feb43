"""The public portal pages: browse without login, search and facets, the dataset page, downloads,
the developer centre, public data requests, statistics and the steward's open-data page.

Hidden datasets (unpublished, withdrawn, refused by the gate, 不予开放) are 404 on every page
and absent from every list; conditional data needs an approved application."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from shudata.portal import service as P
from shudata.privacy.schemas import PolicySave
from shudata.privacy.service import save_policy
from support import snapshots
from support.portal import CODES, PortalWorld, build_portal_world, portal_files

PASSWORD = "Tianfu-Data-7"
DEV_PASSWORD = "Dev-Passw0rd!"
OPEN = "301001-000001"
PEOPLE = "301001-000002"
COND = "301001-000003"
CLOSED = "301001-000004"
PLANTED = "301001-000005"


def _publish(rt: Any, settings: Any, actor: Any, *keys: str) -> None:
    for key in keys:
        with rt.transaction() as s:
            P.publish(session=s, settings=settings, actor=actor, resource=CODES[key])


def listed(html: str) -> list[str]:
    """The dataset names a list page shows."""
    return re.findall(r'<article class="sd-result" data-dataset="([^"]+)"', html)


def csrf_of(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert m, "page has no csrf meta tag"
    return m.group(1)


def staff(app: Any, username: str) -> tuple[TestClient, str]:
    c = TestClient(app)
    r = c.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c, csrf_of(c.get("/open-data").text)


def developer(app: Any, email: str = "dev@example.com", phone: str = "13912345678") -> tuple[TestClient, str]:
    c = TestClient(app)
    csrf = csrf_of(c.get("/portal/developer").text)
    r = c.post("/portal/developer/register", data={"csrf_token": csrf, "email": email, "phone": phone,
                                                   "name": "王开发", "organisation": "成都某科技公司",
                                                   "password": DEV_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get("/portal/developer").text
    assert "王开发" in page
    return c, csrf_of(page)


def _pages_world(rt: Any, settings: Any, portal_world: PortalWorld) -> PortalWorld:
    """open + cond published; people published then withdrawn; planted refused by the gate;
    closed never publishable."""
    _publish(rt, settings, portal_world.steward, "open", "cond", "people")
    with rt.transaction() as s:
        P.withdraw(session=s, settings=settings, actor=portal_world.steward, resource=CODES["people"],
                   reason="测试撤回")
        save_policy(session=s, actor=portal_world.steward, settings=settings, data=PolicySave(
            policy={"name": "301001-000005-open", "profile": "open", "columns": {"编号": {"op": "keep"}}}))
    _publish(rt, settings, portal_world.steward, "planted")
    return portal_world


@pytest.fixture
def world(rt, settings, portal_world, request):
    """:func:`_pages_world`, built once per session and backend and copied (support.snapshots)."""
    if snapshots.restored(request, "portal_pages") is None:
        _pages_world(rt, settings, portal_world)
    return portal_world


snapshots.register(
    "world", world, lambda rt, *makers: _pages_world(rt, rt.settings, build_portal_world(rt, *makers)),
    key="portal_pages", restore=lambda w, tmp_path: replace(w, files=portal_files(tmp_path)), uses_settings=True,
    includes=("portal_world",))


def test_home_lists_counts_themes_and_visible_datasets_only(client, world):
    r = client.get("/portal")
    assert r.status_code == 200
    html = r.text
    assert "四川省各市常住人口" in html and "企业联系名录" in html
    for hidden in ("志愿者名录", "编号清单", "内部名录"):
        assert hidden not in html
    counts = re.search(r'id="count-datasets">.*?<div class="value">(\d+)</div>', html, re.S)
    assert counts and counts.group(1) == "2"
    assert 'href="/portal/datasets?theme=%E4%BA%BA%E5%8F%A3"' in html  # the 人口 theme links to the filtered list


def test_search_facets_sort_and_paging(client, world):
    r = client.get("/portal/datasets", params={"q": "常住人口"})
    assert r.status_code == 200
    assert listed(r.text) == [OPEN] and "<mark>常住人口</mark>" in r.text
    everything = client.get("/portal/datasets").text
    assert sorted(listed(everything)) == [OPEN, COND]
    assert 'data-facet="open_class"' in everything and 'data-facet="department"' in everything
    assert 'data-facet="theme" data-value="法人"' in everything
    assert listed(client.get("/portal/datasets", params={"theme": "法人"}).text) == [COND]
    assert listed(client.get("/portal/datasets", params={"open_class": "有条件开放"}).text) == [COND]
    assert listed(client.get("/portal/datasets", params={"department": str(world.provider)}).text) != []
    assert listed(client.get("/portal/datasets", params={"sort": "name", "limit": 1, "offset": 1}).text) != []
    assert len(listed(client.get("/portal/datasets", params={"limit": 1}).text)) == 1
    partial = client.get("/portal/datasets", params={"q": "企业"},
                         headers={"HX-Request": "true", "HX-Target": "portal-results"})
    assert "<html" not in partial.text and listed(partial.text) == [COND]
    for hidden in ("志愿者", "编号清单", "内部名录"):
        assert listed(client.get("/portal/datasets", params={"q": hidden}).text) == []


@pytest.mark.parametrize("key", [PEOPLE, CLOSED, PLANTED, "no-such-dataset", "志愿者名录", "内部名录"])
def test_invisible_datasets_are_404_on_every_page(client, world, key):
    enc = quote(key, safe="")
    for url in (f"/portal/datasets/{enc}", *(f"/portal/datasets/{enc}/download.{f}" for f in
                                               ("csv", "xlsx", "json", "parquet")),
                f"/portal/developer/apply?dataset={enc}"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/portal/datasets/{enc}/download.csv", headers={"Accept": "application/json"}
                      ).json()["error"]["code"] == "dataset_not_found"
    stats = client.get("/portal/stats").text
    assert "志愿者名录" not in stats and "编号清单" not in stats and "内部名录" not in stats


def test_dataset_page_by_name_and_by_chinese_title(client, world):
    r = client.get(f"/portal/datasets/{OPEN}")
    assert r.status_code == 200
    html = r.text
    assert 'id="preview-table"' in html and "成都市" in html
    assert "常住人口万人" in html and "id=\"items\"" in html
    assert f"GET /api/3/action/datastore_search?resource_id={OPEN}-csv&amp;limit=5" in html
    for f in ("csv", "xlsx", "json", "parquet"):
        assert f'href="/portal/datasets/{OPEN}/download.{f}"' in html
    chart = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
                       .group(1))
    assert chart["rows"] == 10
    # the default chart: the population summed per city on Sichuan's map (never a row number on an axis)
    first = chart["charts"][0]
    assert (first["kind"], first["map"], first["region"]) == ("regions", "sichuan", "地区")
    assert first["measure"] == "常住人口万人"
    assert [c["kind"] for c in chart["charts"]] == ["regions", "bar"]
    assert "开放数据使用许可" in html
    assert f'href="/portal/datasets/{OPEN}.ttl" id="dcat-ttl"' in html
    dcat = client.get(f"/portal/datasets/{OPEN}.ttl")
    assert dcat.status_code == 200 and "dcat:Dataset" in dcat.text
    by_title = client.get("/portal/datasets/" + quote("四川省各市常住人口"))
    assert by_title.status_code == 200 and 'id="dataset-name">301001-000001<' in by_title.text
    assert "Open-data licence" in client.get(f"/portal/datasets/{OPEN}?lang=en").text


def test_views_and_downloads_are_counted(rt, client, world):
    client.get(f"/portal/datasets/{OPEN}")
    client.get(f"/portal/datasets/{OPEN}")
    client.get(f"/portal/datasets/{OPEN}/download.csv")
    with rt.transaction() as s:
        ds = P.get_dataset(s, OPEN)
        assert (ds.dataset.views, ds.dataset.downloads) == (2, 1)
    stats = client.get("/portal/stats").text
    row = re.search(r"四川省各市常住人口</a></td><td>[^<]*</td><td>(\d+)</td><td>(\d+)</td>", stats)
    assert row and row.groups() == ("2", "1")
    assert 'id="chart-datasets"' in stats and "省统计局" in stats


def test_csv_download_bytes_bom_chinese_header_and_formula_neutralised(client, world):
    r = client.get(f"/portal/datasets/{OPEN}/download.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''" + quote("四川省各市常住人口_v1.csv", safe="") in r.headers["content-disposition"]
    body = r.content
    assert body.startswith(b"\xef\xbb\xbf")
    text = body[3:].decode("utf-8")
    lines = text.splitlines()
    assert lines[0].replace('"', "") == "地区,年份,常住人口万人,备注"
    assert "'=1+1" in lines[1] and ",=1+1" not in text
    assert len(lines) == 11


def test_xlsx_json_parquet_downloads(client, world):
    x = client.get(f"/portal/datasets/{OPEN}/download.xlsx")
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("地区", "年份", "常住人口万人", "备注") and rows[1][3] == "'=1+1"
    j = client.get(f"/portal/datasets/{OPEN}/download.json")
    assert j.status_code == 200 and j.json()[0]["地区"] == "成都市" and len(j.json()) == 10
    p = client.get(f"/portal/datasets/{OPEN}/download.parquet")
    assert p.status_code == 200 and pq.read_table(io.BytesIO(p.content)).num_rows == 10
    assert client.get(f"/portal/datasets/{OPEN}/download.exe").status_code == 404


def test_conditional_dataset_without_access(client, world):
    page = client.get(f"/portal/datasets/{COND}").text
    assert 'id="preview-table"' not in page and 'id="apply-button"' in page and "四川测试0" not in page
    assert 'id="download-csv"' not in page
    r = client.get(f"/portal/datasets/{COND}/download.csv")
    assert r.status_code == 403 and "有条件开放" in r.text
    j = client.get(f"/portal/datasets/{COND}/download.csv", headers={"Accept": "application/json"})
    assert j.status_code == 403 and j.json()["error"]["code"] == "key_required"
    in_url = client.get(f"/portal/datasets/{COND}/download.csv?key=sdk_x_y", headers={"Accept": "application/json"})
    assert in_url.status_code == 422 and in_url.json()["error"]["code"] == "key_in_url"
    bad = client.get(f"/portal/datasets/{COND}/download.csv", headers={"Authorization": "sdk_0000_nope"})
    assert bad.status_code == 403


def test_developer_applies_steward_approves_then_downloads(app, rt, world):
    dev, csrf = developer(app)
    apply_page = dev.get(f"/portal/developer/apply?dataset={COND}")
    assert apply_page.status_code == 200 and "数据使用协议" in apply_page.text
    refused = dev.post("/portal/developer/apply", data={"csrf_token": csrf, "dataset": COND,
                                                        "purpose": "交通规划研究使用"})
    assert refused.status_code == 422 and "必须接受数据使用协议" in refused.text
    ok = dev.post("/portal/developer/apply", data={"csrf_token": csrf, "dataset": COND, "purpose": "交通规划研究使用",
                                                   "accept_agreement": "1"}, follow_redirects=False)
    assert ok.status_code == 303
    assert dev.get(f"/portal/datasets/{COND}/download.csv").status_code == 403  # pending
    created = dev.post("/portal/developer/keys", data={"csrf_token": csrf, "name": "研究"})
    key = re.search(r'id="key-value" value="([^"]+)"', created.text).group(1)
    assert key.startswith("sdk_") and key not in dev.get("/portal/developer").text  # shown once
    assert dev.get(f"/portal/datasets/{COND}/download.csv", headers={"Authorization": key}).status_code == 403

    st, st_csrf = staff(app, "stat_steward")
    queue = st.get("/open-data").text
    app_id = re.search(r'data-application="(\d+)"', queue).group(1)
    assert "交通规划研究使用" in queue
    st.post(f"/open-data/applications/{app_id}", data={"csrf_token": st_csrf, "approve": "1"})

    page = dev.get(f"/portal/datasets/{COND}").text
    assert 'id="preview-table"' in page and "四川测试0有限公司" in page
    assert dev.get(f"/portal/datasets/{COND}/download.csv").status_code == 200  # the logged-in developer
    anon = TestClient(app)
    r = anon.get(f"/portal/datasets/{COND}/download.csv", headers={"Authorization": key})
    assert r.status_code == 200 and "企业名称" in r.content.decode("utf-8-sig")
    assert "139****2000" in r.content.decode("utf-8-sig")  # the masked, published file
    assert "研究" in dev.get("/portal/developer").text
    key_id = re.search(r'action="/portal/developer/keys/(\d+)/revoke"', dev.get("/portal/developer").text).group(1)
    dev.post(f"/portal/developer/keys/{key_id}/revoke", data={"csrf_token": csrf})
    revoked = anon.get(f"/portal/datasets/{COND}/download.csv", headers={"Authorization": key,
                                                                         "Accept": "application/json"})
    assert revoked.status_code == 403 and revoked.json()["error"]["code"] == "key_revoked"


def test_developer_forms_need_csrf_and_valid_input(app, world):
    c = TestClient(app)
    c.get("/portal/developer")
    r = c.post("/portal/developer/register", data={"email": "a@example.com", "phone": "13912345678",
                                                   "name": "甲", "password": DEV_PASSWORD},
               headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    csrf = csrf_of(c.get("/portal/developer").text)
    bad = c.post("/portal/developer/register", data={"csrf_token": csrf, "email": "a@example.com", "phone": "123",
                                                     "name": "甲", "password": DEV_PASSWORD})
    assert bad.status_code == 422 and "手机号码" in bad.text
    dev, csrf2 = developer(app, email="b@example.com")
    dev.post("/portal/developer/logout", data={"csrf_token": csrf2})
    login_page = dev.get("/portal/developer").text
    assert 'id="dev-login-form"' in login_page
    wrong = dev.post("/portal/developer/login", data={"csrf_token": csrf_of(login_page), "email": "b@example.com",
                                                      "password": "nope"})
    assert wrong.status_code == 401 and "邮箱或密码不正确" in wrong.text
    ok = dev.post("/portal/developer/login", data={"csrf_token": csrf_of(login_page), "email": "b@example.com",
                                                   "password": DEV_PASSWORD}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/portal/developer"
    assert TestClient(app).get(f"/portal/developer/apply?dataset={COND}", follow_redirects=False
                               ).headers["location"].startswith("/portal/developer?next=")


def test_public_data_requests(app, client, world):
    csrf = csrf_of(client.get("/portal/requests").text)
    r = client.post("/portal/requests", data={"csrf_token": csrf, "title": "公交实时到站数据",
                                              "description": "希望开放各市公交实时到站数据", "requester_name": "李同学",
                                              "contact_email": "li@example.com", "department_id": ""},
                    follow_redirects=False)
    assert r.status_code == 303
    detail = client.get(r.headers["location"]).text
    assert "公交实时到站数据" in detail and "li@example.com" not in detail
    listed = client.get("/portal/requests").text
    assert "公交实时到站数据" in listed and "li@example.com" not in listed
    rid = r.headers["location"].rsplit("/", 1)[1]
    st, st_csrf = staff(app, "stat_steward")
    assert "li@example.com" in st.get("/open-data").text  # the steward sees the contact to reply
    st.post(f"/open-data/requests/{rid}/answer", data={"csrf_token": st_csrf, "answer": "已开放常住人口数据，请查看",
                                                       "dataset": OPEN})
    answered = client.get(f"/portal/requests/{rid}").text
    assert "已开放常住人口数据" in answered and f'href="/portal/datasets/{OPEN}"' in answered
    bad = client.post("/portal/requests", data={"csrf_token": csrf, "title": "x", "description": "短",
                                                "requester_name": "", "contact_email": "nope"})
    assert bad.status_code == 422


def test_steward_page_publish_withdraw_and_gate_findings(app, client, world):
    st, csrf = staff(app, "stat_steward")
    page = st.get("/open-data").text
    assert 'data-status="refused"' in page and "编号（CN_RESIDENT_ID）" in page  # the gate's findings
    st.post("/open-data/publish", data={"csrf_token": csrf, "resource": CODES["people"]})
    assert client.get(f"/portal/datasets/{PEOPLE}").status_code == 200
    assert "张*" in client.get(f"/portal/datasets/{PEOPLE}").text
    st.post("/open-data/withdraw", data={"csrf_token": csrf, "resource": CODES["open"], "reason": "数据有误"})
    assert client.get(f"/portal/datasets/{OPEN}").status_code == 404
    assert client.get(f"/portal/datasets/{OPEN}/download.csv").status_code == 404
    other, other_csrf = staff(app, "mz_steward")
    r = other.post("/open-data/publish", data={"csrf_token": other_csrf, "resource": CODES["open"]})
    assert r.status_code == 403
    assert TestClient(app).get("/open-data", follow_redirects=False).status_code == 303  # staff only


def test_withdrawn_version_shown_without_download(rt, settings, app, client, world, tmp_path):
    from shudata.jobs.ingest import ingest_file

    with rt.transaction() as s:  # v2 of the open dataset is re-gated on ingest and served
        ingest_file(session=s, settings=settings, actor=world.steward, resource_code=CODES["open"],
                    path=world.files["open"])
    with rt.transaction() as s:
        P.withdraw(session=s, settings=settings, actor=world.steward, resource=CODES["open"], reason="口径错误",
                   version=2)
    html = client.get(f"/portal/datasets/{OPEN}").text
    history = html.split('id="history"')[1].split("</table>")[0]
    assert "已撤回" in history and "download.csv?version=2" not in history
    assert "download.csv?version=1" in history
    assert client.get(f"/portal/datasets/{OPEN}/download.csv?version=2").status_code == 404


@pytest.mark.sqlite_only
@pytest.mark.parametrize("url", ["/portal", "/portal/datasets", f"/portal/datasets/{OPEN}", f"/portal/datasets/{COND}",
                                 "/portal/developer", "/portal/requests", "/portal/stats"])
def test_every_portal_page_in_chinese_and_english(client, world, url):
    zh = client.get(url)
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text and "公共数据开放平台" in zh.text
    en = client.get(url, params={"lang": "en"})
    assert en.status_code == 200 and '<html lang="en">' in en.text and "Open-data portal" in en.text
    assert "公共数据开放平台" not in en.text
    client.cookies.set("lang", "en")
    assert '<html lang="en">' in client.get(url).text
    client.cookies.clear()
