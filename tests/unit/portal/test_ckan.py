"""The CKAN-compatible Action API: envelope, actions, visibility, keys, hostile input."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.portal import developers as D
from shudata.portal import service as P
from shudata.portal.ckan import group_name
from shudata.portal.models import PortalDataset, PortalKeyUsage
from shudata.portal.schemas import ApplicationCreate, ApplicationDecide, DeveloperCreate
from support.portal import CODES

OPEN, PEOPLE, COND, CLOSED, PLANTED = (CODES[k].replace("/", "-") for k in ("open", "people", "cond", "closed",
                                                                           "planted"))


def publish_all(rt, settings, w, keys=("open", "people", "cond")):
    with rt.transaction() as s:
        for key in keys:
            P.publish(session=s, settings=settings, actor=w.steward, resource=CODES[key])


def developer_key(rt, w, *, approve: bool = True, email: str = "dev@example.com") -> tuple[str, int]:
    """A developer with a live key (and an approved application for the conditional dataset)."""
    with rt.transaction() as s:
        dev = D.register(session=s, data=DeveloperCreate(email=email, phone="13812345678", name="开发者",
                                                         password="Dev-Passw0rd!2024"))
        key = D.create_key(session=s, dev=dev, name="k")
        app = D.apply(session=s, dev=dev, data=ApplicationCreate(dataset=COND, purpose="研究交通与人口",
                                                                 accept_agreement=True))
    if approve:
        with rt.transaction() as s:
            D.decide_application(session=s, actor=w.steward, application_id=app.id,
                                 data=ApplicationDecide(approve=True))
    return key.key, key.id


def call(client, action, *, method="GET", headers=None, prefix="/api/3/action", **params):
    if method == "GET":
        return client.get(f"{prefix}/{action}", params=params, headers=headers or {})
    return client.post(f"{prefix}/{action}", json=params, headers=headers or {})


def ok(resp):
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True and "help" in body
    return body["result"]


def err(resp, status, kind):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False and body["error"]["__type"] == kind, body
    return body["error"]


def test_status_and_both_paths(client, published):
    assert ok(call(client, "status_show"))["ckan_version"].startswith("2.")
    assert ok(call(client, "status_show", prefix="/api/action"))["extensions"] == ["datastore", "shudata"]
    assert ok(client.post("/api/action/status_show", data={"x": "1"}))["site_url"]


def test_package_list_shows_only_visible(client, published):
    assert ok(call(client, "package_list")) == sorted([OPEN, PEOPLE, COND])
    assert ok(call(client, "package_list", limit=1, offset=1)) == sorted([OPEN, PEOPLE, COND])[1:2]


@pytest.mark.parametrize("hidden", [CLOSED, PLANTED])
def test_hidden_entries_are_not_found_everywhere(client, published, hidden):
    err(call(client, "package_show", id=hidden), 404, "Not Found Error")
    err(call(client, "resource_show", id=f"{hidden}-csv"), 404, "Not Found Error")
    err(call(client, "datastore_search", resource_id=f"{hidden}-csv"), 404, "Not Found Error")
    err(call(client, "datastore_search_sql", sql=f'SELECT * FROM "{hidden}-csv"'), 404, "Not Found Error")
    assert ok(call(client, "package_search", q="内部名录", rows=100))["count"] == 0
    assert hidden not in ok(call(client, "package_list"))


def test_withdrawn_dataset_disappears(client, rt, settings, published):
    assert ok(call(client, "package_show", id=PEOPLE))["name"] == PEOPLE
    with rt.transaction() as s:
        P.withdraw(session=s, settings=settings, actor=published.steward, resource=CODES["people"], reason="核查")
    err(call(client, "package_show", id=PEOPLE), 404, "Not Found Error")
    err(call(client, "datastore_search", resource_id=f"{PEOPLE}-csv"), 404, "Not Found Error")
    assert PEOPLE not in ok(call(client, "package_list"))
    assert ok(call(client, "package_search", fq=f"name:{PEOPLE}"))["count"] == 0


def test_package_show_shape(client, published):
    pkg = ok(call(client, "package_show", id=OPEN))
    assert pkg["title"] == "四川省各市常住人口" and pkg["license_id"] == "cc-by-4.0" and pkg["isopen"] is True
    assert pkg["organization"]["title"] == "省统计局" and pkg["groups"][0]["title"] == "人口"
    assert pkg["groups"][0]["name"] == group_name("人口") and pkg["license_url"].startswith("http")
    assert {t["name"] for t in pkg["tags"]} == {"测试", "人口"}
    assert [r["format"] for r in pkg["resources"]] == ["CSV", "XLSX", "JSON", "Parquet"]
    assert pkg["resources"][0]["id"] == f"{OPEN}-csv" and pkg["resources"][0]["datastore_active"] is True
    assert ok(call(client, "package_show", id=OPEN.upper()))["id"] == OPEN  # names are case-insensitive
    cond = ok(call(client, "package_show", id=COND))  # metadata of conditional data is public
    assert cond["license_id"] == "shudata-conditional" and cond["isopen"] is False
    res = ok(call(client, "resource_show", id=f"{OPEN}-xlsx"))
    assert res["package_id"] == OPEN and res["format"] == "XLSX"


def test_package_search_facets_and_filters(client, published):
    fields = json.dumps(["organization", "groups", "tags", "res_format", "license_id"])
    out = ok(call(client, "package_search", **{"facet.field": fields, "rows": 10}))
    assert out["count"] == 3 and len(out["results"]) == 3
    assert out["facets"]["groups"] == {group_name("人口"): 1, group_name("社会"): 1, group_name("法人"): 1}
    assert out["facets"]["license_id"] == {"cc-by-4.0": 2, "shudata-conditional": 1}
    assert out["facets"]["tags"]["测试"] == 3 and out["facets"]["res_format"]["CSV"] == 3
    org = next(iter(out["facets"]["organization"]))
    assert out["search_facets"]["organization"]["items"][0]["display_name"] == "省统计局"
    assert ok(call(client, "package_search", fq=f"organization:{org}"))["count"] == 3
    assert ok(call(client, "package_search", fq="groups:人口"))["results"][0]["name"] == OPEN
    assert ok(call(client, "package_search", fq='+tags:"法人" license_id:shudata-conditional'))["count"] == 1
    assert ok(call(client, "package_search", fq="res_format:PDF"))["count"] == 0
    assert ok(call(client, "package_search", fq="organization:nobody"))["count"] == 0
    assert ok(call(client, "package_search", q="常住人口"))["results"][0]["name"] == OPEN
    paged = ok(call(client, "package_search", rows=1, start=1, sort="title_string asc"))
    assert paged["count"] == 3 and len(paged["results"]) == 1
    post = ok(call(client, "package_search", method="POST", q="*:*", rows=2000, sort="metadata_modified desc",
                   **{"facet.field": ["groups"], "facet.limit": 1}))
    assert post["count"] == 3 and len(post["facets"]["groups"]) == 1


HOSTILE_SEARCH = [
    {"fq": "secret_field:x"},  # an unsupported field
    {"fq": "name:[a TO b]"},  # a range on a text field
    {"fq": "title:foo~2"},  # fuzzy matching
    {"fq": 'tags:"unterminated'},  # broken quoting
    {"fq": "tags:a*b"},  # a wildcard inside a value
    {"q": "{!func}sum(1,2)"},  # Solr local parameters
    {"q": "x" * 300},  # too long
    {"sort": "id; DROP TABLE x"},  # unknown sort
    {"facet.field": '["secret_field"]'},  # unknown facet
]


def test_hostile_search_is_a_search_query_error(client, published):
    for params in HOSTILE_SEARCH:
        e = err(call(client, "package_search", **params), 400, "Search Query Error")
        assert e["message"], params
    for params in ({"rows": "-1"}, {"rows": "many"}, {"start": "-5"}):
        err(call(client, "package_search", **params), 409, "Validation Error")


def test_organizations_groups_tags_licenses(client, published):
    orgs = ok(call(client, "organization_list", all_fields="true"))
    assert len(orgs) == 1 and orgs[0]["title"] == "省统计局" and orgs[0]["package_count"] == 3
    assert ok(call(client, "organization_list")) == [orgs[0]["name"]]
    show = ok(call(client, "organization_show", id=orgs[0]["name"], include_datasets="true"))
    assert show["package_count"] == 3 and {p["name"] for p in show["packages"]} == {OPEN, PEOPLE, COND}
    err(call(client, "organization_show", id="nope"), 404, "Not Found Error")
    assert ok(call(client, "group_list")) == sorted(group_name(t) for t in ["人口", "社会", "法人"])
    assert ok(call(client, "group_list", all_fields=True))[0]["package_count"] == 1
    assert set(ok(call(client, "tag_list"))) == {"测试", "人口", "社会", "法人"}
    assert ok(call(client, "tag_list", query="人"))[0] == "人口"
    assert {x["id"] for x in ok(call(client, "license_list"))} == {"cc-by-4.0", "shudata-conditional"}


def test_datastore_search_pages_masked_rows(client, published, rt):
    first = ok(call(client, "datastore_search", resource_id=f"{PEOPLE}-csv", limit=4))
    assert first["total"] == 10 and len(first["records"]) == 4
    assert [f["id"] for f in first["fields"]] == ["_id", "姓名", "手机号码", "所在市"]
    assert first["records"][0]["_id"] == 1 and first["records"][0]["姓名"] == "张*"
    assert all("****" in r["手机号码"] for r in first["records"])
    nxt = client.get(first["_links"]["next"])
    second = ok(nxt)
    assert second["records"][0]["_id"] == 5 and second["offset"] == 4
    filtered = ok(call(client, "datastore_search", method="POST", resource_id=f"{OPEN}-csv",
                       filters={"地区": ["成都市", "绵阳市"]}, sort="常住人口万人 desc", fields="地区,常住人口万人"))
    assert filtered["total"] == 2 and [r["地区"] for r in filtered["records"]] == ["绵阳市", "成都市"]
    assert set(filtered["records"][0]) == {"地区", "常住人口万人"}
    lists = ok(call(client, "datastore_search", resource_id=OPEN, q="自贡", records_format="lists"))
    assert lists["total"] == 1 and lists["records"][0][1] == "自贡市"
    with rt.transaction() as s:
        ds = s.scalar(select(PortalDataset).where(PortalDataset.name == PEOPLE))
        assert ds is not None and ds.api_calls == 2


BAD_DATASTORE = [
    ({"filters": "{bad json"}, 409, "Validation Error"),
    ({"filters": '{"no_such_col": 1}'}, 409, "Validation Error"),
    ({"sort": "no_such_col desc"}, 409, "Validation Error"),
    ({"fields": "姓名,password"}, 409, "Validation Error"),
    ({"limit": "-1"}, 409, "Validation Error"),
    ({"records_format": "xml"}, 409, "Validation Error"),
    ({"q": '{"地区": "成都\'; DROP TABLE t; --"}'}, 200, None),  # a value, never SQL
]


def test_datastore_search_refuses_bad_input(client, published):
    for params, status, kind in BAD_DATASTORE:
        resp = call(client, "datastore_search", resource_id=f"{OPEN}-csv", **params)
        if kind is None:
            assert ok(resp)["total"] == 0
        else:
            err(resp, status, kind)


def test_conditional_rows_need_an_approved_key(client, rt, published):
    err(call(client, "datastore_search", resource_id=f"{COND}-csv"), 403, "Authorization Error")
    key, key_id = developer_key(rt, published)
    for header in ("X-CKAN-API-Key", "Authorization"):
        rows = ok(call(client, "datastore_search", resource_id=f"{COND}-csv", headers={header: key}))
        assert rows["total"] == 10 and rows["records"][0]["联系电话"].count("*") >= 4
    with rt.transaction() as s:
        assert s.scalar(select(PortalKeyUsage.count).where(PortalKeyUsage.key_id == key_id)) == 2
    err(call(client, "datastore_search", resource_id=f"{COND}-csv", headers={"Authorization": "sdk_bad_key"}),
        403, "Authorization Error")
    unapproved, _ = developer_key(rt, published, approve=False, email="other@example.com")
    err(call(client, "datastore_search", resource_id=f"{COND}-csv", headers={"X-CKAN-API-Key": unapproved}),
        403, "Authorization Error")
    with rt.transaction() as s:
        dev = D.get_developer(s, 1)
        D.revoke_key(session=s, dev=dev, key_id=key_id)
    err(call(client, "datastore_search", resource_id=f"{COND}-csv", headers={"X-CKAN-API-Key": key}),
        403, "Authorization Error")
    err(call(client, "datastore_search_sql", sql=f'SELECT count(*) FROM "{COND}-csv"'), 403, "Authorization Error")
    with rt.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
        assert len(denied) >= 4


def test_datastore_search_sql(client, published):
    out = ok(call(client, "datastore_search_sql",
                  sql=f'SELECT "地区", CAST("常住人口万人" AS INT) AS n FROM "{OPEN}-csv" WHERE n > 150 ORDER BY 2'))
    assert [r["地区"] for r in out["records"]] == ["内江市", "乐山市"]
    assert out["fields"][1]["type"] in ("int8", "int4") and out["records_truncated"] is False
    joined = ok(call(client, "datastore_search_sql", method="POST",
                     sql=f'SELECT count(*) AS n FROM "{OPEN}-csv" a JOIN "{PEOPLE}-json" b ON a."地区" = b."所在市"'))
    assert joined["records"] == [{"n": 10}]


HOSTILE_SQL = [
    "DROP TABLE portal_dataset",
    f'DELETE FROM "{OPEN}-csv"',
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM portal_dataset",  # the metadata store is not a table
    "COPY (SELECT 1) TO '/tmp/x.csv'",
    "ATTACH '/tmp/x.db' AS x",
    "SELECT * FROM 'data.parquet'",
    f'SELECT * FROM "{OPEN}-csv"; SELECT 1',
    "SELECT getenv('HOME')",
    "SELEC broken",
    "",
]


def test_hostile_sql_is_refused_with_4xx(client, published):
    for sql in HOSTILE_SQL:
        resp = call(client, "datastore_search_sql", sql=sql)
        assert 400 <= resp.status_code < 500, (sql, resp.text)
        assert resp.json()["success"] is False
        assert resp.json()["error"]["__type"] in ("Validation Error", "Not Found Error", "Authorization Error")


def test_unknown_action_and_bad_body(client, published):
    err(call(client, "package_create", method="POST", name="x"), 404, "Not Found Error")
    resp = client.post("/api/3/action/package_show", content=b"{not json", headers={"Content-Type": "application/json"})
    err(resp, 409, "Validation Error")
    err(call(client, "package_show"), 409, "Validation Error")


def test_errors_are_audited(client, rt, published):
    err(call(client, "package_show", id="no-such"), 404, "Not Found Error")
    err(call(client, "package_search", fq="secret:1"), 400, "Search Query Error")
    with rt.transaction() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.outcome == "rejected"))]
    assert "portal.api.package_show" in actions or any(a.startswith("portal.api") for a in actions)
    assert "portal.api.package_search" in actions
