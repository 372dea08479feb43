"""An entry that is not (or no longer) published is invisible on every public surface:
portal pages, search, downloads, the CKAN Action API (list, search, show, datastore, SQL),
DCAT and the sitemap. One test per way of being hidden, every surface checked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shudata.catalog.models import CatalogResource
from shudata.portal import service as P
from shudata.privacy.schemas import PolicySave
from shudata.privacy.service import save_policy
from support.portal import CODES

TITLES = {"open": "四川省各市常住人口", "planted": "编号清单", "closed": "内部名录"}


def _publish(rt, settings, w, key):
    with rt.transaction() as s:
        return P.publish(session=s, settings=settings, actor=w.steward, resource=CODES[key])


def _hide(how, rt, settings, w) -> str:
    """Make one entry hidden in the way ``how``; return its key."""
    if how == "never-published":
        return "open"
    if how == "withdrawn":
        _publish(rt, settings, w, "open")
        with rt.transaction() as s:
            P.withdraw(session=s, settings=settings, actor=w.steward, resource=CODES["open"], reason="撤回测试")
        return "open"
    if how == "closed-after-publishing":
        _publish(rt, settings, w, "open")
        with rt.transaction() as s:
            res = s.scalar(select(CatalogResource).where(CatalogResource.code == CODES["open"]))
            assert res is not None
            res.open_type = "不予开放"
        return "open"
    if how == "refused-by-gate":
        with rt.transaction() as s:
            save_policy(session=s, actor=w.steward, settings=settings, data=PolicySave(
                policy={"name": "301001-000005-open", "profile": "open", "columns": {"编号": {"op": "keep"}}}))
        assert _publish(rt, settings, w, "planted").status == "refused"
        return "planted"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["never-published", "withdrawn", "closed-after-publishing", "refused-by-gate"])
def test_hidden_everywhere(how, client, rt, settings, portal_world):
    _publish(rt, settings, portal_world, "people")  # something visible, so the lists are not empty
    key = _hide(how, rt, settings, portal_world)
    name, title = CODES[key].replace("/", "-"), TITLES[key]

    # portal pages
    for path in ("/portal", "/portal/datasets", "/portal/stats"):
        r = client.get(path)
        assert r.status_code == 200 and title not in r.text and name not in r.text, path
    r = client.get("/portal/datasets", params={"q": title})  # the query is echoed in the box, nothing else
    assert r.status_code == 200 and name not in r.text and r.text.count(title) <= 2
    assert "志愿者名录" in client.get("/portal/datasets").text
    for path in (f"/portal/datasets/{name}", f"/portal/datasets/{title}", f"/portal/datasets/{name}/download.csv",
                 f"/portal/datasets/{name}/download.parquet", f"/portal/datasets/{name}.ttl",
                 f"/portal/datasets/{name}.jsonld"):
        assert client.get(path).status_code == 404, path

    # CKAN Action API
    assert name not in client.get("/api/3/action/package_list").json()["result"]
    found = client.get("/api/3/action/package_search", params={"q": title}).json()["result"]
    assert found["count"] == 0
    everything = client.get("/api/3/action/package_search", params={"rows": 1000}).json()["result"]
    assert name not in {p["name"] for p in everything["results"]} and everything["count"] == 1
    assert client.get("/api/3/action/package_show", params={"id": name}).status_code == 404
    assert client.get("/api/3/action/resource_show", params={"id": f"{name}-csv"}).status_code == 404
    assert client.get("/api/3/action/datastore_search", params={"resource_id": f"{name}-csv"}).status_code == 404
    sql = client.get("/api/3/action/datastore_search_sql", params={"sql": f'SELECT * FROM "{name}-csv"'})
    assert sql.status_code in (403, 404) and sql.json()["success"] is False

    # DCAT and sitemap
    for path in ("/catalog.ttl", "/catalog.jsonld", "/sitemap.xml"):
        r = client.get(path)
        assert r.status_code == 200 and name not in r.text and title not in r.text, path
