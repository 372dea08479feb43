"""``GET /api/v1/search`` passes the quality filter and sort through to the search."""

from __future__ import annotations

from support.portal import portal_world  # noqa: F401 - fixture: five entries with data


def test_min_quality_and_sort_reach_the_search(client, portal_world, token_for):  # noqa: F811
    h = token_for("stat_steward")
    base = client.get("/api/v1/search", params={"q": "名录"}, headers=h)
    assert base.status_code == 200 and base.json()["total"] >= 2
    sorted_ = client.get("/api/v1/search", params={"q": "名录", "sort": "quality"}, headers=h)
    assert sorted_.status_code == 200 and sorted_.json()["total"] == base.json()["total"]
    none = client.get("/api/v1/search", params={"q": "名录", "min_quality": 1}, headers=h)
    assert none.status_code == 200 and none.json()["total"] == 0  # nothing has been scored
    bad = client.get("/api/v1/search", params={"sort": "size"}, headers=h)
    assert bad.status_code == 422
    assert client.get("/api/v1/search", params={"min_quality": 101}, headers=h).status_code == 422
