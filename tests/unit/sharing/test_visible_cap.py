"""Issue #11 item 1: a JSON page states the cap it applied and where the next page is; the last
page has no next. Was: ``limit=10000`` echoed on a page silently clamped to 1,000 rows."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor
from shudata.lake.export import page_json
from shudata.sharing import service
from shudata.sharing.schemas import DecisionCreate, RequestCreate

TODAY = dt.date.today()
N = 7
ROWS = pa.table({"统一社会信用代码": [f"91510100MA6CB8AG{i:02d}" for i in range(N)],
                 "机构名称": [f"成都{i}公司" for i in range(N)], "法定代表人": ["张三"] * N,
                 "注册资本": [str(i) for i in range(N)], "联系电话": [f"138123456{i:02d}" for i in range(N)]})


def _page(n: int, **kw: object) -> dict[str, object]:
    return json.loads(page_json(pa.table({"n": list(range(n))}), version=1, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(("total", "offset", "rows", "next_offset"), [
    (6, 0, 3, 3),  # a full page with more after it
    (6, 3, 3, None),  # the last page ends exactly at a boundary: no next
    (7, 3, 3, 6),  # one row past the boundary: one more page
    (7, 6, 1, None),  # that page, short, is the last
    (7, 9, 0, None),  # past the end: empty, no next
])
def test_next_offset_at_the_boundaries(total, offset, rows, next_offset):
    body = _page(rows, total=total, offset=offset, limit=3, next_url=lambda at: f"?offset={at}")
    assert body["next_offset"] == next_offset
    assert body["next"] == (f"?offset={next_offset}" if next_offset is not None else None)


def test_a_limit_above_the_maximum_is_stated_not_echoed():
    body = _page(3, total=10, offset=0, limit=3, limit_requested=10_000)
    assert (body["limit"], body["limit_requested"]) == (3, 10_000)
    assert body["limit_capped"]["limit"] == 3 and "SHUDATA_PAGE_SIZE_MAX" in body["limit_capped"]["message"]
    assert "capped" in body["limit_capped"]["message_en"]
    plain = _page(3, total=10, offset=0, limit=3, limit_requested=3)
    assert "limit_requested" not in plain and "limit_capped" not in plain


def test_a_page_cut_to_the_byte_limit_points_next_at_the_first_row_left_out():
    t = pa.table({"s": ["x" * 100] * 5})
    body = json.loads(page_json(t, total=20, offset=10, limit=5, version=1, max_bytes=300))
    assert len(body["rows"]) == body["capped"]["rows"] < 5
    assert body["next_offset"] == body["capped"]["next_offset"] == 10 + len(body["rows"])


@pytest.fixture
def granted(rt, world, client, token_for):
    rt.settings = rt.settings.model_copy(update={"page_size_max": 3})
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, "201001/000002"),
                      batches_or_table=ROWS, source_name="企业.csv", source_format="csv")
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource="201001/000002", fields=["统一社会信用代码", "机构名称", "联系电话"], purpose="业务协同",
            basis="《税收征收管理法》", use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id,
                       data=DecisionCreate(decision="approve"))
    return token_for("c_user")


def test_rest_pages_state_the_cap_and_link_every_page_to_the_last(client, granted):
    r = client.get("/api/v1/shared/rows", params={"resource": "201001/000002", "limit": 10_000}, headers=granted)
    assert r.status_code == 200, r.text
    body, seen = r.json(), []
    assert (body["limit"], body["limit_requested"], body["total"]) == (3, 10_000, N)
    while True:
        seen += [row[0] for row in body["rows"]]
        if body["next"] is None:
            assert "link" not in r.headers and body["next_offset"] is None
            break
        assert r.headers["link"] == f'<{body["next"]}>; rel="next"' and "limit=3" in body["next"]
        r = client.get(body["next"], headers=granted)
        body = r.json()
    assert seen == ROWS.column("统一社会信用代码").to_pylist()  # 3 + 3 + 1, in order, none twice


def test_a_filtered_page_links_within_the_filtered_rows(client, granted):
    params = {"resource": "201001/000002", "limit": 2, "filter": "机构名称 <> '成都0公司'", "sort": "机构名称 desc"}
    body = client.get("/api/v1/shared/rows", params=params, headers=granted).json()
    assert body["total"] == N - 1 and body["next_offset"] == 2 and "filter=" in body["next"]
    last = client.get("/api/v1/shared/rows", params={**params, "offset": 4}, headers=granted).json()
    assert len(last["rows"]) == 2 and last["next"] is None


def test_a_file_download_is_whole_and_a_slice_says_it_is_one(client, granted):
    whole = client.get("/api/v1/shared/rows", params={"resource": "201001/000002", "format": "csv"}, headers=granted)
    assert whole.status_code == 200, whole.text
    assert len(whole.content.decode("utf-8-sig").splitlines()) == N + 1  # past page_size_max (3): every row
    assert (whole.headers["x-shudata-rows"], whole.headers["x-shudata-complete"]) == (str(N), "true")
    part = client.get("/api/v1/shared/rows", params={"resource": "201001/000002", "format": "csv", "offset": 2,
                                                     "limit": 4}, headers=granted)
    assert len(part.content.decode("utf-8-sig").splitlines()) == 4 + 1
    assert (part.headers["x-shudata-rows"], part.headers["x-shudata-total"], part.headers["x-shudata-offset"],
            part.headers["x-shudata-complete"]) == ("4", str(N), "2", "false")
    assert "offset=6" in part.headers["link"] and 'rel="next"' in part.headers["link"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("flt", [None, "机构名称 <> 'x'"])
@pytest.mark.parametrize(("offset", "limit"), [(2**63 - 1, 2**63 - 1), (0, 2**63 - 1), (2**64, 1), (0, 2**64)])
def test_huge_offsets_and_limits_are_answered_not_500(client, granted, fmt, flt, offset, limit):
    params = {"resource": "201001/000002", "format": fmt, "offset": offset, "limit": limit,
              **({"filter": flt} if flt else {})}
    r = client.get("/api/v1/shared/rows", params=params, headers=granted)
    if offset > 2**63 - 1 or limit > 2**63 - 1:
        assert r.status_code == 422, r.text
        return
    assert r.status_code == 200, r.text
    if fmt == "csv":
        assert r.headers["x-shudata-total"] == str(N) and int(r.headers["x-shudata-rows"]) == (N if offset == 0 else 0)
