"""ckanext-harvest's CKAN harvester against a live portal: the exact request sequence of its
gather stage (``ckanext/harvest/harvesters/ckanharvester.py``, ``gather_stage`` and
``_search_for_datasets``) replayed with ``requests`` as it sends them, then each dataset
fetched with ``package_show`` and its organization and group looked up as its import stage
does (``remote_orgs`` / ``remote_groups`` = ``create``).

The harvester builds ``fq`` from its configuration — ``organization:a OR organization:b``
(include), ``-organization:x`` (exclude), the same for ``groups`` — joins the terms with
spaces, adds ``metadata_modified:[<last run - 1 h>Z TO *]`` when it ran before, and pages
``package_search?rows=100&start=…&sort=id asc&fq=…`` until a page comes back empty. The ids
gathered must be exactly those a reader of every ``package_show`` would pick by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from ckanapi import RemoteCKAN
from sqlalchemy import update

from shudata.catalog.models import CatalogResource
from shudata.jobs.ingest import ingest_file
from shudata.portal import service as P
from shudata.portal.models import PortalDataset
from support.portal import CODES, portal_world

__all__ = ["portal_world"]

OTHER = {"b1": "301002/000001", "b2": "301002/000002"}  # the second department's entries
CKAN_NAME = re.compile(r"^[a-z0-9_-]{2,100}$")  # CKAN's name rule for groups and organizations


def _items(names):
    return [{"name": n, "data_type": "C", "length": 100, "description": None} for n in names]


@pytest.fixture
def portal(rt, settings, portal_world, live_server, make_department):
    """Five published datasets of two departments (themes 人口/社会/法人 and 人口/民政), all
    last modified two days ago."""
    w = portal_world
    other = w.other_steward
    with rt.transaction() as s:
        for key, name, theme in (("b1", "民政人口统计", "人口"), ("b2", "社会组织名录", "民政")):
            s.add(CatalogResource(code=OTHER[key], name=name, classification="主题", abstract=f"{name}（测试数据）",
                                  category_path=f"{theme}/测试", provider_department_id=other.department_id,
                                  format_category="电子表格", format_type="csv",
                                  information_items=_items(["地区", "年份", "常住人口万人", "备注"]), sharing_type=1,
                                  sharing_method="接口", open_type="无条件开放", update_cycle="每年",
                                  tags=["测试", theme]))
    with rt.transaction() as s:
        for code in OTHER.values():
            ingest_file(session=s, settings=settings, actor=other, resource_code=code, path=w.files["open"])
    with rt.transaction() as s:
        for key in ("open", "people", "cond"):
            P.publish(session=s, settings=settings, actor=w.steward, resource=CODES[key])
        for code in OTHER.values():
            P.publish(session=s, settings=settings, actor=other, resource=code)
    two_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    with rt.transaction() as s:
        s.execute(update(PortalDataset).values(published_at=two_days_ago, first_published_at=two_days_ago))
        s.execute(update(CatalogResource).values(updated_at=two_days_ago))
    return live_server


class Harvester:
    """The requests of ckanext-harvest's ``CKANHarvester`` (API version 3), as it sends them."""

    def __init__(self, base_url: str, config: dict[str, list[str]], rows: int = 100) -> None:
        self.base_url, self.config, self.rows = base_url.rstrip("/"), config, rows
        self.urls: list[str] = []

    def fq_terms(self, since: dt.datetime | None) -> list[str]:
        c, terms = self.config, []
        for field, include, exclude in (("organization", "organizations_filter_include",
                                         "organizations_filter_exclude"),
                                        ("groups", "groups_filter_include", "groups_filter_exclude")):
            if c.get(include):
                terms.append(" OR ".join(f"{field}:{name}" for name in c[include]))
            elif c.get(exclude):
                terms.extend(f"-{field}:{name}" for name in c[exclude])
        if since is not None:  # the last error-free job's start, less an hour, naive UTC + "Z"
            terms.append(f"metadata_modified:[{(since - dt.timedelta(hours=1)).isoformat()}Z TO *]")
        return terms

    def gather(self, since: dt.datetime | None = None) -> list[dict]:
        params = {"rows": str(self.rows), "start": "0", "sort": "id asc"}
        terms = self.fq_terms(since)
        if terms:
            params["fq"] = " ".join(terms)
        found, ids, previous = [], set(), None
        while True:
            url = f"{self.base_url}/api/3/action/package_search?{urlencode(params)}"
            self.urls.append(url)
            content = requests.get(url, timeout=30).text
            assert content != previous, "the paging doesn't seem to work"
            previous = content
            page = json.loads(content).get("result", {}).get("results", [])
            fresh = [p for p in page if p["id"] not in ids]
            ids |= {p["id"] for p in page}
            found.extend(fresh)
            if not page:
                break
            params["start"] = str(int(params["start"]) + int(params["rows"]))
        return found

    def fetch_and_look_up(self, pkg_ids: list[str]) -> list[dict]:
        """``package_show`` of each gathered id, and the organization and groups its import
        stage looks up on the source."""
        out = []
        with RemoteCKAN(self.base_url) as ck:
            for pid in pkg_ids:
                pkg = ck.action.package_show(id=pid)
                org = ck.action.organization_show(id=pkg["owner_org"])
                assert org["name"] == pkg["owner_org"] and CKAN_NAME.match(org["name"])
                for group in pkg["groups"]:
                    shown = ck.action.group_show(id=group["id"])
                    assert shown["name"] == group["name"] and CKAN_NAME.match(shown["name"])
                out.append(pkg)
        return out


def _reference(base_url: str) -> list[dict]:
    """Every dataset as package_show gives it (the by-hand reference)."""
    with RemoteCKAN(base_url) as ck:
        return [ck.action.package_show(id=name) for name in ck.action.package_list()]


def _ids(pkgs, keep=lambda p: True) -> set[str]:
    return {p["id"] for p in pkgs if keep(p)}


def _groups(p) -> set[str]:
    return {g["name"] for g in p["groups"]}


def test_ckanext_harvest_gather_fetch_and_incremental_run(portal, rt, settings, portal_world):
    every = _reference(portal.url)
    assert len(every) == 5
    orgs = sorted({p["owner_org"] for p in every})
    a = next(p["owner_org"] for p in every if p["name"] == CODES["open"].replace("/", "-"))
    b = next(o for o in orgs if o != a)
    renkou = next(g["name"] for p in every for g in p["groups"] if g["title"] == "人口")
    shehui = next(g["name"] for p in every for g in p["groups"] if g["title"] == "社会")
    cases = [  # harvester configuration → the datasets it must gather
        ({}, _ids(every)),
        ({"organizations_filter_include": [a, b]}, _ids(every)),
        ({"organizations_filter_include": [b]}, _ids(every, lambda p: p["owner_org"] == b)),
        ({"organizations_filter_exclude": [a]}, _ids(every, lambda p: p["owner_org"] != a)),
        ({"groups_filter_include": [renkou]}, _ids(every, lambda p: renkou in _groups(p))),
        ({"groups_filter_exclude": [renkou, shehui]}, _ids(every, lambda p: not _groups(p) & {renkou, shehui})),
        ({"organizations_filter_include": [a, b], "groups_filter_exclude": [renkou]},
         _ids(every, lambda p: renkou not in _groups(p))),
        ({"organizations_filter_include": [a], "groups_filter_include": [renkou, shehui]},
         _ids(every, lambda p: p["owner_org"] == a and _groups(p) & {renkou, shehui})),
    ]
    for config, expected in cases:
        for rows in (100, 2):  # the harvester's page, and pages small enough to need several
            h = Harvester(portal.url, config, rows=rows)
            gathered = h.gather()
            assert {p["id"] for p in gathered} == expected, (config, rows)
            assert len(gathered) == len(expected)  # no dataset twice
            assert [p["id"] for p in gathered] == sorted(expected)  # sort=id asc, across pages
            query = parse_qs(urlparse(h.urls[0]).query)
            assert query["sort"] == ["id asc"] and query["rows"] == [str(rows)]
            assert len(h.urls) == -(-len(expected) // rows) + 1  # every full page, then an empty one
        fetched = Harvester(portal.url, config).fetch_and_look_up(sorted(expected))
        assert [p["id"] for p in fetched] == sorted(expected)
    assert all(p["metadata_modified"] == q["metadata_modified"]
               for p, q in zip(sorted(Harvester(portal.url, {}).gather(), key=lambda p: p["id"]),
                               sorted(every, key=lambda p: p["id"]), strict=True))

    # a run after a first one: only what changed since (less the harvester's hour) comes back
    last_run = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    config = {"organizations_filter_include": [a, b]}
    assert Harvester(portal.url, config).gather(since=last_run) == []
    changed = CODES["people"]
    with rt.transaction() as s:  # a new version of one dataset: the portal republishes it (gate passed)
        ingest_file(session=s, settings=settings, actor=portal_world.steward, resource_code=changed,
                    path=portal_world.files["people"])
    h = Harvester(portal.url, config)
    found = h.gather(since=last_run)
    assert [p["id"] for p in found] == [changed.replace("/", "-")]
    assert "metadata_modified:[" in parse_qs(urlparse(h.urls[0]).query)["fq"][0]
    assert found[0]["version"] == "2"
    assert [p["id"] for p in h.fetch_and_look_up([p["id"] for p in found])] == [changed.replace("/", "-")]
