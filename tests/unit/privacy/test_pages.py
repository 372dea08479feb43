"""Privacy pages: a scan report per version with the grade form, risk charts before/after."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.unit.privacy.conftest import World

pytestmark = pytest.mark.sqlite_only


def _login(client: Any) -> str:
    client.post("/login", data={"username": "steward_a", "password": "Tianfu-Data-7"})
    page = client.get("/privacy/resources/citizens").text
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, page[:500]
    return m.group(1)


def test_scan_confirm_and_risk_pages(client: Any, world: World) -> None:
    csrf = _login(client)
    assert client.get("/privacy").status_code == 200
    r = client.post("/privacy/resources/citizens/scan", data={"csrf_token": csrf})
    assert r.status_code == 200
    assert "CN_RESIDENT_ID" in r.text and "第4级" in r.text
    report_id = re.search(r"/privacy/scans/(\d+)/confirm", r.text).group(1)  # type: ignore[union-attr]
    r = client.post(f"/privacy/scans/{report_id}/confirm", data={"csrf_token": csrf, "grade": "3",
                                                                "back": "/privacy/resources/citizens"})
    assert "已确认" in r.text
    r = client.post("/privacy/resources/citizens/anonymise", data={"csrf_token": csrf, "qis": "区划代码", "k": "3",
                                                                   "suppression": "0.05"})
    assert r.status_code == 200
    assert r.text.count("data-kanon-chart") == 1  # the k-anonymity page with its risk chart


def test_outsider_cannot_see_the_reports(client: Any, world: World) -> None:
    client.post("/login", data={"username": "user_b", "password": "Tianfu-Data-7"})
    assert client.get("/privacy/resources/citizens").status_code == 403
