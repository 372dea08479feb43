"""The rest of the Delta Sharing protocol, verified with the official ``delta-sharing`` client:
the change data feed, the delta response format, time travel, ``limitHint``, paging, ``HEAD``
on a table and ``expirationTime`` in the profile — masked and filtered by the grant like
snapshot reads, and refused once the grant is revoked.

The entry has a declared key (a ``unique`` quality rule on 统一社会信用代码, as the demo
declares on its legal-person registry); the consumer's grant delivers four of its five fields,
Chengdu rows only, 法定代表人 masked.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from sqlalchemy import select

from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor
from shudata.lake.models import LakeVersion
from shudata.quality.service import save_rule_set
from shudata.sharing import service
from shudata.sharing.models import SharingGrant
from shudata.sharing.schemas import DecisionCreate, RequestCreate, RevokeCreate
from support.sharing import CLIENT, NEEDS_CLIENT

pytestmark = [pytest.mark.sqlite_only, NEEDS_CLIENT]
TODAY = dt.date.today()
USCC, NAME, REP, CAPITAL, PHONE = "统一社会信用代码", "机构名称", "法定代表人", "注册资本", "联系电话"
KEYED, UNKEYED = "201001/000002", "201001/000001"
TABLE = "r_201001_000002"
V1 = pa.table({USCC: ["91510100MA6CB8AG5D", "91510100MA6CB8AG6B", "91510700MA6CB8AG7X", "91510100MA6CB8AG9U"],
               NAME: ["成都甲公司", "成都乙公司", "绵阳丙公司", "成都丁公司"],
               REP: ["张三", "李四", "王五", "赵六"],
               CAPITAL: [100, 2000, 50, 70],
               PHONE: ["13812345678", "13912345678", "13712345678", "13612345678"]})
# v2: 甲 raises its capital (update), 乙 is gone (delete), 戊 is new (insert), Mianyang's 丙 changes
# (outside the grant's row filter: not seen), 丁 changes only its phone (not granted: not seen).
V2 = pa.table({USCC: ["91510100MA6CB8AG5D", "91510700MA6CB8AG7X", "91510100MA6CB8AG9U", "91510100MA6CB8AG8W"],
               NAME: ["成都甲公司", "绵阳丙公司", "成都丁公司", "成都戊公司"],
               REP: ["张三", "王五", "赵六", "孙七"],
               CAPITAL: [150, 60, 70, 300],
               PHONE: ["13812345678", "13712345678", "13600000000", "13512345678"]})

# One client run answers a list of operations (interpreter and pandas start-up paid once). The
# client's native libraries sometimes abort at interpreter teardown: the script flushes and
# leaves without it (see test_delta_sharing.py).
RUN = """
import json, os, sys, delta_sharing
profile, table, ops = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
url = f"{profile}#{table}"
out = []
for op in ops:
    try:
        kind = op.pop("op")
        if kind == "tables":
            tables = delta_sharing.SharingClient(profile).list_all_tables()
            out.append(sorted(f"{t.share}.{t.schema}.{t.name}" for t in tables))
            continue
        if kind == "changes":
            df = delta_sharing.load_table_changes_as_pandas(url, **op)
        else:
            df = delta_sharing.load_as_pandas(url, **op)
        df = df.drop(columns=[c for c in ("_commit_timestamp",) if c in df.columns])
        out.append({"columns": list(df.columns), "rows": sorted(df.astype(str).values.tolist())})
    except Exception as exc:
        out.append({"error": f"{type(exc).__name__}: {exc}"})
print("RESULT " + json.dumps(out, ensure_ascii=False))
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""


def _run(profile: Path, table: str, ops: list[dict[str, Any]]) -> list[Any]:
    done = subprocess.run([str(CLIENT), "-c", RUN, str(profile), table, json.dumps(ops)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("RESULT "))
    return list(json.loads(line[len("RESULT "):]))


@pytest.fixture
def settings(settings):
    """The server's list page size is 1 here: every list call pages after each item."""
    return settings.model_copy(update={"delta_sharing_page_size": 1})


def _write(rt: Any, code: str, table: pa.Table) -> None:
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, code),
                      batches_or_table=table, source_name="企业.csv", source_format="csv")


@pytest.fixture
def keyed(rt, world) -> int:
    """Version 1 of the keyed entry and the consumer's grant on it; the grant's id."""
    _write(rt, KEYED, V1)
    with rt.transaction() as s:
        save_rule_set(session=s, actor=world.steward, resource=KEYED, spec=[{"type": "unique", "columns": [USCC]}])
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource=KEYED, fields=[USCC, NAME, REP, CAPITAL], purpose="业务协同", basis="《税收征收管理法》",
            use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id, data=DecisionCreate(
            decision="approve_partial", reason="仅成都企业", fields=[USCC, NAME, REP, CAPITAL],
            row_filter=f"{USCC} LIKE '915101%'"))
        return int(s.scalar(select(SharingGrant.id).where(SharingGrant.request_id == r.id)))


@pytest.fixture
def profile(live_server, token_for, tmp_path) -> Path:
    prof = httpx.post(f"{live_server.url}/api/v1/sharing/profile", headers=token_for("c_user"))
    assert prof.status_code == 200
    path = tmp_path / "shudata.share"
    path.write_text(prof.text)
    return path


def _auth(profile: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {json.loads(profile.read_text())['bearerToken']}"}


V1_ROWS = [["91510100MA6CB8AG5D", "成都甲公司", "张*", "100"], ["91510100MA6CB8AG6B", "成都乙公司", "李*", "2000"],
           ["91510100MA6CB8AG9U", "成都丁公司", "赵*", "70"]]
V2_ROWS = [["91510100MA6CB8AG5D", "成都甲公司", "张*", "150"], ["91510100MA6CB8AG8W", "成都戊公司", "孙*", "300"],
           ["91510100MA6CB8AG9U", "成都丁公司", "赵*", "70"]]
V2_CHANGES = [["91510100MA6CB8AG5D", "成都甲公司", "张*", "100", "update_preimage", "2"],
              ["91510100MA6CB8AG5D", "成都甲公司", "张*", "150", "update_postimage", "2"],
              ["91510100MA6CB8AG6B", "成都乙公司", "李*", "2000", "delete", "2"],
              ["91510100MA6CB8AG8W", "成都戊公司", "孙*", "300", "insert", "2"]]
V1_INSERTS = [[*r, "insert", "1"] for r in V1_ROWS]


def test_change_feed_delta_format_time_travel_and_limit_with_the_official_client(rt, world, keyed, live_server,
                                                                                  profile):
    _write(rt, KEYED, V2)
    _write(rt, KEYED, V2)  # version 3: nothing changed
    between = _between_versions(rt)
    share = f"dept_{world.consumer}"
    got = _run(profile, f"{share}.default.{TABLE}", [
        {"op": "changes", "starting_version": 2},
        {"op": "changes", "starting_version": 1},
        {"op": "changes", "starting_version": 1, "ending_version": 1},
        {"op": "changes", "starting_version": 2, "use_delta_format": True},
        {"op": "changes", "starting_version": 1, "use_delta_format": True},
        {"op": "load", "use_delta_format": True},
        {"op": "load", "version": 1},
        {"op": "load", "version": 1, "use_delta_format": True},
        {"op": "load", "limit": 1},
        {"op": "load", "limit": 2, "use_delta_format": True},
        {"op": "changes", "starting_version": 3},
        {"op": "changes", "starting_version": 3, "use_delta_format": True},
        {"op": "changes", "starting_version": 2, "ending_version": 3, "use_delta_format": True},
        {"op": "changes", "starting_timestamp": between},  # the first version published after it: 2
        {"op": "load", "timestamp": between},  # the version as of then: 1
    ])
    columns = [USCC, NAME, REP, CAPITAL]  # 联系电话 is not granted: not in the changes either
    cdf_columns = [*columns, "_change_type", "_commit_version"]
    assert got[0] == {"columns": cdf_columns, "rows": sorted(V2_CHANGES)}  # 丙 (filtered out), 丁 (phone): unseen
    assert got[1] == {"columns": cdf_columns, "rows": sorted(V1_INSERTS + V2_CHANGES)}
    assert got[2] == {"columns": cdf_columns, "rows": sorted(V1_INSERTS)}
    assert got[3] == {"columns": cdf_columns, "rows": sorted(V2_CHANGES)}  # the Delta kernel reads the cdc files
    assert got[4] == {"columns": cdf_columns, "rows": sorted(V1_INSERTS + V2_CHANGES)}
    assert got[5] == {"columns": columns, "rows": sorted(V2_ROWS)}
    assert got[6] == got[7] == {"columns": columns, "rows": sorted(V1_ROWS)}
    assert len(got[8]["rows"]) == 1 and got[8]["rows"][0] in sorted(V2_ROWS)
    assert len(got[9]["rows"]) == 2 and all(r in V2_ROWS for r in got[9]["rows"])
    assert got[10]["rows"] == got[11]["rows"] == []  # version 3 changed nothing
    assert got[12] == got[13] == {"columns": cdf_columns, "rows": sorted(V2_CHANGES)}
    assert got[14] == {"columns": columns, "rows": sorted(V1_ROWS)}


def _between_versions(rt: Any) -> str:
    """A time between the publication of versions 1 and 2 (ISO 8601, UTC)."""
    with rt.transaction() as s:
        v1, v2 = s.scalars(select(LakeVersion.created_at).where(LakeVersion.resource_id == find_resource(s, KEYED).id)
                           .order_by(LakeVersion.version).limit(2)).all()
    mid = v1 + (v2 - v1) / 2
    return (mid.astimezone(dt.UTC).replace(tzinfo=None) if mid.tzinfo else mid).isoformat() + "Z"


def test_protocol_details_over_http(rt, world, keyed, live_server, profile):
    _write(rt, KEYED, V2)
    auth = _auth(profile)
    base = f"{live_server.url}/delta-sharing/shares/dept_{world.consumer}/schemas/default/tables/{TABLE}"

    head = httpx.head(base, headers=auth)  # HEAD on the table: its version, no body
    assert head.status_code == 200 and head.headers["delta-table-version"] == "2" and not head.content

    hinted = httpx.post(f"{base}/query", headers=auth, json={"limitHint": 1})
    files = [json.loads(x)["file"] for x in hinted.text.splitlines()[2:]]
    assert len(files) == 1 and json.loads(files[0]["stats"])["numRecords"] == 1  # one row, not the whole view
    assert len(httpx.post(f"{base}/query", headers=auth, json={"limitHint": 0}).text.splitlines()) == 2  # no file
    whole = [json.loads(x)["file"] for x in httpx.post(f"{base}/query", headers=auth, json={}).text.splitlines()[2:]]
    assert json.loads(whole[0]["stats"])["numRecords"] == 3

    between = _between_versions(rt)
    travel = httpx.post(f"{base}/query", headers=auth, json={"timestamp": between})
    assert travel.status_code == 200 and travel.headers["delta-table-version"] == "1"
    assert json.loads(travel.text.splitlines()[2])["file"]["version"] == 1
    assert httpx.get(f"{base}/version", headers=auth, params={"startingTimestamp": between}).headers[
        "delta-table-version"] == "2"

    delta = httpx.post(f"{base}/query", headers={**auth, "delta-sharing-capabilities": "responseformat=delta"},
                       json={})
    assert delta.headers["delta-sharing-capabilities"] == "responseformat=delta"
    lines = [json.loads(x) for x in delta.text.splitlines()]
    assert lines[0]["protocol"]["deltaProtocol"]["minReaderVersion"] == 1
    assert lines[1]["metaData"]["deltaMetadata"]["configuration"] == {"delta.enableChangeDataFeed": "true"}
    assert "add" in lines[2]["file"]["deltaSingleAction"]

    changes = httpx.get(f"{base}/changes", headers=auth, params={"startingVersion": 2})
    assert changes.status_code == 200 and changes.headers["delta-table-version"] == "2"
    assert [next(iter(json.loads(x))) for x in changes.text.splitlines()] == ["protocol", "metaData", "cdf"]

    for params, code in [({"startingVersion": 3}, "VERSION_NOT_FOUND"), ({"startingVersion": 0}, "VERSION_NOT_FOUND"),
                         ({}, "CDF_START_REQUIRED"), ({"startingTimestamp": "昨天"}, "BAD_TIMESTAMP"),
                         ({"startingVersion": 2, "endingVersion": 1}, "CDF_RANGE_INVALID")]:
        r = httpx.get(f"{base}/changes", headers=auth, params=params)
        assert 400 <= r.status_code < 500 and r.json()["errorCode"] == code, (params, r.text)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["message"])  # a Chinese message
    r = httpx.post(f"{base}/query", headers=auth, json={"version": 9})
    assert r.status_code == 404 and "1–2" in r.json()["message"]


def test_changes_are_refused_without_a_key_and_after_revocation(rt, world, keyed, live_server, profile, token_for):
    _write(rt, UNKEYED, V1)
    with rt.transaction() as s:  # 无条件共享: granted at once, and the entry declares no key
        service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource=UNKEYED, fields=[USCC, NAME], purpose="业务协同", basis="依职能",
            use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
    auth = _auth(profile)
    tables = f"{live_server.url}/delta-sharing/shares/dept_{world.consumer}/schemas/default/tables"
    r = httpx.get(f"{tables}/r_201001_000001/changes", headers=auth, params={"startingVersion": 1})
    assert r.status_code == 400 and r.json()["errorCode"] == "CDF_NO_KEY" and "主键" in r.json()["message"]
    meta = httpx.get(f"{tables}/r_201001_000001/metadata", headers=auth)
    assert json.loads(meta.text.splitlines()[1])["metaData"]["configuration"] == {}

    _write(rt, KEYED, V2)
    other = httpx.get(f"{tables}/{TABLE}/changes", headers=token_for("p_steward"), params={"startingVersion": 1})
    assert other.status_code == 403 and other.json()["errorCode"] == "PERMISSION_DENIED"  # not the caller's share
    ok = httpx.get(f"{tables}/{TABLE}/changes", headers=auth, params={"startingVersion": 1})
    urls = [next(iter(json.loads(x).values()))["url"] for x in ok.text.splitlines()[2:]]
    assert len(urls) == 2 and all(httpx.get(u).status_code == 200 for u in urls)
    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=keyed, data=RevokeCreate(reason="停止协作"))
    denied = httpx.get(f"{tables}/{TABLE}/changes", headers=auth, params={"startingVersion": 1})
    assert denied.status_code == 403 and "errorCode" in denied.json()
    assert all(httpx.get(u).status_code == 403 for u in urls)  # prepared change files stop being served at once
    failed = _run(profile, f"dept_{world.consumer}.default.{TABLE}", [{"op": "changes", "starting_version": 1}])
    assert "403" in failed[0]["error"]


def test_list_calls_page_and_the_profile_states_its_expiry(rt, world, keyed, live_server, profile):
    _write(rt, UNKEYED, V1)
    with rt.transaction() as s:
        service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource=UNKEYED, fields=[USCC, NAME], purpose="业务协同", basis="依职能",
            use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
    share = f"dept_{world.consumer}"
    both = [f"{share}.default.r_201001_000001", f"{share}.default.{TABLE}"]
    assert _run(profile, both[1], [{"op": "tables"}]) == [both]  # the client follows nextPageToken

    auth = _auth(profile)
    url = f"{live_server.url}/delta-sharing/shares/{share}/all-tables"
    first = httpx.get(url, headers=auth, params={"maxResults": 5}).json()  # capped at the server's page size
    assert [i["name"] for i in first["items"]] == ["r_201001_000001"] and first["nextPageToken"]
    second = httpx.get(url, headers=auth, params={"pageToken": first["nextPageToken"]}).json()
    assert [i["name"] for i in second["items"]] == [TABLE] and "nextPageToken" not in second
    zero = httpx.get(url, headers=auth, params={"maxResults": 0}).json()
    assert zero["items"] == [] and zero["nextPageToken"]
    bad = httpx.get(url, headers=auth, params={"pageToken": first["nextPageToken"] + "x"})
    assert bad.status_code == 400 and bad.json()["errorCode"] == "BAD_PAGE_TOKEN"
    other_list = httpx.get(f"{live_server.url}/delta-sharing/shares/{share}/schemas/default/tables", headers=auth,
                           params={"pageToken": first["nextPageToken"]})
    assert other_list.status_code == 400  # a token belongs to its own list
    assert httpx.get(url, headers=auth, params={"maxResults": -1}).status_code == 400

    body = json.loads(profile.read_text())
    expires = dt.datetime.fromisoformat(body["expirationTime"].replace("Z", "+00:00"))
    assert body["shareCredentialsVersion"] == 1 and expires.tzinfo is not None
    assert dt.timedelta(days=89) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=90)
