"""The sharing pages drive the same workflow as the API (in-process browser-less checks)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

pytestmark = pytest.mark.sqlite_only
TODAY = dt.date.today()


def _login(client, username: str) -> str:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": "Tianfu-Data-7"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/exchange")
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def test_request_decide_and_stats_through_pages(client, world):
    csrf = _login(client, "c_user")
    form = client.get("/exchange/new", params={"resource": "201001/000002"})
    assert form.status_code == 200 and "企业登记详细信息" in form.text
    r = client.post("/exchange/new", data={
        "csrf_token": csrf, "resource": "201001/000002", "fields": ["机构名称", "注册资本"], "purpose": "数据校核",
        "basis": "核对登记信息", "use_from": str(TODAY), "use_until": str(TODAY + dt.timedelta(days=60)),
        "delivery_method": "接口"}, follow_redirects=True)
    assert r.status_code == 200 and "待审核" in r.text

    bad = client.post("/exchange/new", data={"csrf_token": csrf, "resource": "201001/000002", "fields": ["机构名称"],
                                             "purpose": "其他", "basis": "x y", "use_from": str(TODAY),
                                             "use_until": str(TODAY)})
    assert bad.status_code == 422 and "用途" in bad.text

    csrf = _login(client, "p_steward")
    queue = client.get("/exchange", params={"box": "incoming", "status": "pending"})
    request_id = re.search(r'id="request-(\d+)"', queue.text).group(1)
    done = client.post(f"/exchange/{request_id}/decide", data={"csrf_token": csrf, "decision": "approve_partial",
                                                               "fields": ["机构名称"], "reason": "仅名称"},
                       follow_redirects=True)
    assert done.status_code == 200 and "部分批准" in done.text
    stats = client.get("/exchange/stats", params={"by": "resource"})
    assert stats.status_code == 200 and "企业登记详细信息" in stats.text and "stats-chart" in stats.text
    xlsx = client.get("/exchange/stats.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_consumer_downloads_a_delta_sharing_profile(client, world):
    csrf = _login(client, "c_user")
    r = client.post("/exchange/profile", data={"csrf_token": csrf})
    assert r.status_code == 200
    body = r.json()
    assert body["endpoint"].endswith("/delta-sharing") and body["bearerToken"].startswith("sd_")
    assert client.get("/delta-sharing/shares", headers={"Authorization": f"Bearer {body['bearerToken']}"}).json() == {
        "items": [{"name": f"dept_{world.consumer}", "id": f"dept_{world.consumer}"}]}
