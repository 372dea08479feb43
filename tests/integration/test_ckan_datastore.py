"""The DataStore conventions with the real ``ckanapi`` client against a live server (issue 13):
``_id`` stable across filters, sorts and pages and usable in SQL; ``records_format`` csv/tsv;
``include_total=false``; the 32,000-row cap stated; ``datastore_info``; denial of 有条件开放
rows without an approved key on every action."""

from __future__ import annotations

import csv
import io

import pytest
from ckanapi import NotAuthorized, RemoteCKAN, ValidationError

from shudata.portal import service as P
from support.portal import CODES, portal_world

__all__ = ["portal_world"]

OPEN, COND = (CODES[k].replace("/", "-") for k in ("open", "cond"))
REGIONS = ["成都市", "自贡市", "攀枝花市", "泸州市", "德阳市", "绵阳市", "广元市", "遂宁市", "内江市", "乐山市"]


@pytest.fixture
def portal(rt, settings, portal_world, live_server):
    with rt.transaction() as s:
        for key in ("open", "cond"):
            P.publish(session=s, settings=settings, actor=portal_world.steward, resource=CODES[key])
    return live_server


def test_row_id_is_stable_across_filters_sorts_pages_and_sql(portal):
    rid = f"{OPEN}-csv"
    with RemoteCKAN(portal.url) as ck:
        every = ck.action.datastore_search(resource_id=rid, limit=100)["records"]
        assert [r["_id"] for r in every] == list(range(1, 11))
        assert [r["地区"] for r in every] == REGIONS  # _id is the row's place in the published file
        by_region = {r["地区"]: r["_id"] for r in every}
        one = ck.action.datastore_search(resource_id=rid, filters={"地区": "德阳市"})["records"]
        assert [r["_id"] for r in one] == [by_region["德阳市"]] == [5]
        found = ck.action.datastore_search(resource_id=rid, q="阳市")["records"]  # 德阳市, 绵阳市
        assert {r["地区"]: r["_id"] for r in found} == {"德阳市": 5, "绵阳市": 6}
        desc = ck.action.datastore_search(resource_id=rid, sort="常住人口万人 desc", limit=3, offset=2)["records"]
        assert [r["_id"] for r in desc] == [8, 7, 6]  # the 3rd to 5th largest keep their ids
        assert [r["_id"] for r in ck.action.datastore_search(resource_id=rid, sort="_id desc", limit=2)["records"]
                ] == [10, 9]
        assert [r["地区"] for r in ck.action.datastore_search(resource_id=rid, filters={"_id": [2, 3]})["records"]
                ] == REGIONS[1:3]
        only = ck.action.datastore_search(resource_id=rid, fields=["地区"], limit=2)
        assert only["records"] == [{"地区": "成都市"}, {"地区": "自贡市"}]
        assert [f["id"] for f in only["fields"]] == ["地区"]
        sql = ck.action.datastore_search_sql(sql=f'SELECT _id, "地区" FROM "{rid}" WHERE _id > 7 ORDER BY _id DESC')
        assert sql["records"] == [{"_id": i, "地区": REGIONS[i - 1]} for i in (10, 9, 8)]
        joined = ck.action.datastore_search_sql(
            sql=f'SELECT a._id FROM "{rid}" a JOIN "{OPEN}-json" b ON a._id = b._id WHERE b."地区" = \'乐山市\'')
        assert joined["records"] == [{"_id": 10}]


def test_records_formats_total_and_cap(portal, rt, monkeypatch):
    rid = f"{OPEN}-csv"
    with RemoteCKAN(portal.url) as ck:
        objects = ck.action.datastore_search(resource_id=rid, limit=4, offset=1)
        for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
            page = ck.action.datastore_search(resource_id=rid, limit=4, offset=1, records_format=fmt)
            assert isinstance(page["records"], str) and page["records_format"] == fmt
            rows = list(csv.reader(io.StringIO(page["records"]), delimiter=delimiter))
            names = [f["id"] for f in page["fields"]]
            assert names[0] == "_id" and len(rows) == 4  # no header line: the names are in fields
            assert [dict(zip(names, r, strict=True)) for r in rows] == [
                {k: str(v) for k, v in r.items()} for r in objects["records"]]
        lists = ck.action.datastore_search(resource_id=rid, limit=2, records_format="lists")
        assert lists["records"] == [list(r.values()) for r in ck.action.datastore_search(resource_id=rid, limit=2)[
            "records"]]
        assert lists["records"][1][:2] == [2, "自贡市"]
        counted = ck.action.datastore_search(resource_id=rid, filters={"年份": 2023}, limit=1)
        assert counted["total"] == 10 and counted["include_total"] is True
        uncounted = ck.action.datastore_search(resource_id=rid, filters={"年份": 2023}, limit=1, include_total=False)
        assert "total" not in uncounted and uncounted["include_total"] is False and len(uncounted["records"]) == 1
        with pytest.raises(ValidationError):
            ck.action.datastore_search(resource_id=rid, records_format="xml")
        monkeypatch.setattr(rt.settings, "datastore_rows_max", 3)
        capped = ck.action.datastore_search(resource_id=rid, limit=5)
        assert capped["limit"] == 3 and len(capped["records"]) == 3 and capped["limit_requested"] == 5
        assert capped["limit_capped"]["next_offset"] == 3 and "SHUDATA_DATASTORE_ROWS_MAX" in capped["limit_capped"][
            "message"]
        truncated = ck.action.datastore_search_sql(sql=f'SELECT * FROM "{rid}"')
        assert truncated["records_truncated"] is True and len(truncated["records"]) == 3
        assert ck.action.datastore_search_sql(sql=f'SELECT * FROM "{rid}" LIMIT 2')["records_truncated"] is False


def test_datastore_info_and_denials(portal):
    with RemoteCKAN(portal.url) as ck:
        info = ck.action.datastore_info(id=f"{OPEN}-csv")
        assert info["meta"]["count"] == 10 and info["meta"]["table_type"] == "BASE TABLE"
        assert f"{OPEN}-parquet" in info["meta"]["aliases"] and OPEN in info["meta"]["aliases"]
        assert [f["id"] for f in info["fields"]] == ["地区", "年份", "常住人口万人", "备注"]
        assert {f["type"] for f in info["fields"]} <= {"text", "int4", "int8", "float8", "numeric"}
        for action, kwargs in (("datastore_info", {"id": f"{COND}-csv"}),
                               ("datastore_search", {"resource_id": f"{COND}-csv", "records_format": "csv"}),
                               ("datastore_search_sql", {"sql": f'SELECT _id FROM "{COND}-csv"'})):
            with pytest.raises(NotAuthorized):
                ck.call_action(action, kwargs)
