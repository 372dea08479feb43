"""The real ``ckanapi`` client against a live server: listing, searching with facets,
showing, paging datastore rows, and the errors as ckanapi raises them."""

from __future__ import annotations

import re

import pytest
import requests
from ckanapi import NotAuthorized, NotFound, RemoteCKAN, SearchQueryError, ValidationError

from shudata.portal import developers as D
from shudata.portal import service as P
from shudata.portal.ckan import group_name
from shudata.portal.schemas import ApplicationCreate, ApplicationDecide, DeveloperCreate
from support.portal import CODES, portal_world

__all__ = ["portal_world"]

OPEN, PEOPLE, COND, CLOSED = (CODES[k].replace("/", "-") for k in ("open", "people", "cond", "closed"))


@pytest.fixture
def portal(rt, settings, portal_world, live_server):
    with rt.transaction() as s:
        for key in ("open", "people", "cond"):
            P.publish(session=s, settings=settings, actor=portal_world.steward, resource=CODES[key])
    return live_server


def _key(rt, steward) -> tuple[str, int, int]:
    with rt.transaction() as s:
        dev = D.register(session=s, data=DeveloperCreate(email="dev@example.com", phone="13812345678", name="开发者",
                                                         password="Dev-Passw0rd!2024"))
        key = D.create_key(session=s, dev=dev, name="ckanapi")
        app = D.apply(session=s, dev=dev, data=ApplicationCreate(dataset=COND, purpose="交通规划研究",
                                                                 accept_agreement=True))
    with rt.transaction() as s:
        D.decide_application(session=s, actor=steward, application_id=app.id, data=ApplicationDecide(approve=True))
    return key.key, key.id, dev.id


def test_listing_searching_showing(portal):
    with RemoteCKAN(portal.url) as ck:
        assert ck.action.status_show()["ckan_version"]
        assert ck.action.package_list() == sorted([OPEN, PEOPLE, COND])
        found = ck.action.package_search(q="人口", rows=10, **{"facet.field": '["groups", "organization", "tags"]'})
        assert found["count"] >= 1 and found["results"][0]["name"] == OPEN
        assert group_name("人口") in found["facets"]["groups"]
        every = ck.action.package_search(**{"facet.field": ["organization", "license_id"], "rows": 1000})
        assert every["count"] == 3
        assert every["facets"]["license_id"] == {"cc-by-4.0": 2, "shudata-conditional": 1}
        org = every["search_facets"]["organization"]["items"][0]
        assert org["display_name"] == "省统计局" and org["count"] == 3
        assert ck.action.package_search(fq=f"organization:{org['name']} tags:法人")["count"] == 1
        pkg = ck.action.package_show(id=PEOPLE)
        assert pkg["title"] == "志愿者名录" and len(pkg["resources"]) == 4
        assert ck.action.resource_show(id=pkg["resources"][0]["id"])["package_id"] == PEOPLE
        assert ck.action.organization_list(all_fields=True)[0]["package_count"] == 3
        assert ck.action.organization_show(id=org["name"])["title"] == "省统计局"
        assert set(ck.action.group_list()) == {group_name(t) for t in ("人口", "社会", "法人")}
        assert "测试" in ck.action.tag_list()
        assert {lic["id"] for lic in ck.action.license_list()} == {"cc-by-4.0", "shudata-conditional"}


def test_paging_datastore_rows(portal):
    with RemoteCKAN(portal.url) as ck:
        records, offset = [], 0
        while True:  # page with limit/offset until a short page, as scripts do
            page = ck.action.datastore_search(resource_id=f"{PEOPLE}-csv", limit=3, offset=offset)
            records.extend(page["records"])
            if len(page["records"]) < 3:
                break
            offset += 3
        assert len(records) == page["total"] == 10
        assert [r["_id"] for r in records] == list(range(1, 11))
        assert records[0]["姓名"] == "张*" and all("****" in r["手机号码"] for r in records)  # masked
        filtered = ck.action.datastore_search(resource_id=f"{OPEN}-csv", filters={"地区": "成都市"},
                                              fields=["地区", "常住人口万人"])
        assert filtered["records"] == [{"地区": "成都市", "常住人口万人": "100"}]
        sql = ck.action.datastore_search_sql(sql=f'SELECT count(*) AS n FROM "{OPEN}-csv"')
        assert sql["records"] == [{"n": 10}]
    with RemoteCKAN(portal.url, get_only=True) as ck:  # GET with the JSON-in-query-string form
        page = ck.action.datastore_search(resource_id=f"{OPEN}-json", limit=5, offset=5)
        assert [r["_id"] for r in page["records"]] == [6, 7, 8, 9, 10]
        assert page["_links"]["next"].endswith("offset=10")


def test_errors_as_ckanapi_raises_them(portal):
    with RemoteCKAN(portal.url) as ck:
        with pytest.raises(NotFound):
            ck.action.package_show(id=CLOSED)  # 不予开放
        with pytest.raises(NotFound):
            ck.action.package_show(id="no-such-dataset")
        with pytest.raises(NotFound):
            ck.action.datastore_search(resource_id=f"{CLOSED}-csv")
        with pytest.raises(ValidationError):
            ck.action.package_show()
        with pytest.raises(ValidationError):
            ck.action.datastore_search(resource_id=f"{OPEN}-csv", filters={"no_such_column": 1})
        with pytest.raises(ValidationError):
            ck.action.datastore_search_sql(sql="DROP TABLE portal_dataset")
        with pytest.raises(ValidationError):
            ck.action.datastore_search_sql(sql="SELECT * FROM read_parquet('/etc/passwd')")
        with pytest.raises(SearchQueryError):
            ck.action.package_search(fq="secret_field:1")
        with pytest.raises(SearchQueryError):
            ck.action.package_search(q="{!lucene}x")
        with pytest.raises(NotAuthorized):
            ck.action.datastore_search(resource_id=f"{COND}-csv")


def test_conditional_dataset_with_key_then_revoked(portal, rt, portal_world):
    key, key_id, dev_id = _key(rt, portal_world.steward)
    with RemoteCKAN(portal.url, apikey=key) as ck:
        rows = ck.action.datastore_search(resource_id=f"{COND}-csv", limit=100)
        assert rows["total"] == 10 and all("****" in r["联系电话"] for r in rows["records"])
    with rt.transaction() as s:
        D.revoke_key(session=s, dev=D.get_developer(s, dev_id), key_id=key_id)
    with RemoteCKAN(portal.url, apikey=key) as ck, pytest.raises(NotAuthorized):
        ck.action.datastore_search(resource_id=f"{COND}-csv")
    with RemoteCKAN(portal.url, apikey="sdk_0000_forged") as ck, pytest.raises(NotAuthorized):
        ck.action.package_list()


def test_solr_queries_sorts_and_fields(portal):
    with RemoteCKAN(portal.url) as ck:
        org = ck.action.organization_list()[0]
        everything = ck.action.package_search(q="*:*", sort="id asc", rows=10)["results"]
        assert [p["id"] for p in everything] == sorted([OPEN, PEOPLE, COND])
        assert [p["name"] for p in ck.action.package_search(sort="name desc")["results"]] == \
            sorted([OPEN, PEOPLE, COND], reverse=True)
        either = ck.action.package_search(fq=f"groups:{group_name('人口')} OR tags:法人", sort="id asc")
        assert [p["id"] for p in either["results"]] == [OPEN, COND]
        assert ck.action.package_search(fq=f"organization:{org} -license_id:cc-by-4.0")["count"] == 1
        assert ck.action.package_search(fq="metadata_modified:[2000-01-01T00:00:00Z TO *]")["count"] == 3
        assert ck.action.package_search(fq="metadata_modified:[* TO 2000-01-01T00:00:00Z]")["count"] == 0
        assert ck.action.package_search(fq="metadata_created:[NOW-1DAY TO NOW+1DAY] num_resources:[4 TO *]",
                                        q='title:"名录" AND NOT name:' + PEOPLE)["results"][0]["id"] == COND
        assert ck.action.package_search(fq="groups:人口")["count"] == 1  # the Chinese title, as old clients stored it
        short = ck.action.package_search(fl="id,metadata_modified,extras_open_class", sort="id asc")["results"]
        assert set(short[0]) == {"id", "metadata_modified", "extras_open_class"} and short[0]["id"] == OPEN
        facets = ck.action.package_search(fq=f"name:{OPEN}", **{"facet.field": '["groups"]', "facet.mincount": 0})
        assert facets["facets"]["groups"] == {group_name("人口"): 1, group_name("社会"): 0, group_name("法人"): 0}
        with pytest.raises(SearchQueryError):
            ck.action.package_search(fq="title:x~2")  # fuzzy: outside the subset
        with pytest.raises(SearchQueryError):
            ck.action.package_search(fq="metadata_modified:[yesterday TO *]")


def test_other_actions_clients_call(portal):
    assert requests.get(f"{portal.url}/api/3", timeout=10).json() == {"version": 3}
    assert requests.get(f"{portal.url}/api/3/", timeout=10).json() == {"version": 3}
    with RemoteCKAN(portal.url) as ck:
        current = ck.action.current_package_list_with_resources(limit=2)
        assert len(current) == 2 and all(len(p["resources"]) == 4 for p in current)
        assert [p["id"] for p in ck.action.current_package_list_with_resources(limit=2, page=2)] != \
            [p["id"] for p in current]
        auto = ck.action.package_autocomplete(q="名录")
        assert {a["name"] for a in auto} == {PEOPLE, COND} and all(a["match_field"] == "title" for a in auto)
        found = ck.action.resource_search(query=["format:parquet", f"package_id:{PEOPLE}"])
        assert found["count"] == 1 and found["results"][0]["id"] == f"{PEOPLE}-parquet"
        tag = ck.action.tag_show(id="法人", include_datasets=True)
        assert tag["name"] == "法人" and [p["name"] for p in tag["packages"]] == [COND]
        with pytest.raises(NotFound):
            ck.action.tag_show(id="no-such-tag")
        activity = ck.action.package_activity_list(id=OPEN)
        assert [a["activity_type"] for a in activity] == ["new package"] and activity[0]["object_id"] == OPEN
        assert "include_datasets" in ck.action.help_show(name="group_show")
        group = ck.action.group_show(id="人口", include_datasets=True)  # an old Chinese name still resolves
        assert re.fullmatch(r"[a-z0-9_-]{2,100}", group["name"]) and group["title"] == "人口"
        assert [p["name"] for p in group["packages"]] == [OPEN]
        assert ck.action.group_show(id=group["name"])["package_count"] == 1
        pkg = ck.action.package_show(id=COND)
        assert pkg["license_url"] == f"{portal.url}/portal/agreement"
        assert all(lic["url"].startswith("http") for lic in ck.action.license_list())
