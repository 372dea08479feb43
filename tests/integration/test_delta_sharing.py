"""The Delta Sharing server, verified with the official ``delta-sharing`` Python client.

The client lives in its own virtualenv (``make clients``: tests/.venv-delta-sharing) and
runs in a subprocess against a live server: it sees only the granted fields and rows,
masked, and a revoked grant yields a 4xx.
"""

from __future__ import annotations

import json

import httpx
import pytest

from shudata.catalog.access import find_resource
from shudata.sharing import service
from shudata.sharing.schemas import RevokeCreate
from support.sharing import ENTERPRISES, NEEDS_CLIENT, approve, client_load, loaded, request, store

pytestmark = [pytest.mark.sqlite_only, NEEDS_CLIENT]


@pytest.fixture
def granted(rt, world):
    with rt.transaction() as s:
        store(s, rt.settings, find_resource(s, "201001/000002"), ENTERPRISES)
        r = request(s, rt.settings, world, "201001/000002", ["统一社会信用代码", "机构名称", "法定代表人", "注册资本"])
        approve(s, rt.settings, world, r.id, fields=["统一社会信用代码", "法定代表人"],
                row_filter="统一社会信用代码 LIKE '915101%'")
    return r.id


def test_official_client_sees_only_granted_masked_rows_and_revocation_stops_it(rt, world, granted, live_server,
                                                                                token_for, tmp_path):
    headers = token_for("c_user")
    prof = httpx.post(f"{live_server.url}/api/v1/sharing/profile", headers=headers)
    assert prof.status_code == 200
    profile = tmp_path / "shudata.share"
    profile.write_text(prof.text)
    share = f"dept_{world.consumer}"
    table = f"{share}.default.r_201001_000002"

    out = loaded(profile, table)
    assert out["tables"] == [table]
    assert out["columns"] == ["统一社会信用代码", "法定代表人"]
    assert sorted(out["rows"]) == [["91510100MA6CB8AG5D", "张*"], ["91510100MA6CB8AG6B", "李*"]]  # masked

    # protocol details the client does not check for us
    token = json.loads(prof.text)["bearerToken"]
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{live_server.url}/delta-sharing/shares/{share}/schemas/default/tables/r_201001_000002"
    version = httpx.get(f"{base}/version", headers=auth)
    assert version.status_code == 200 and version.headers["Delta-Table-Version"] == "1"
    q = httpx.post(f"{base}/query", headers=auth, json={})
    file_line = json.loads(q.text.splitlines()[2])["file"]
    head = httpx.head(file_line["url"])
    assert head.status_code == 200 and int(head.headers["content-length"]) == file_line["size"]
    part = httpx.get(file_line["url"], headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"PAR1"

    other = token_for("c_steward")  # same department: fine; another department's token is refused
    assert httpx.get(f"{live_server.url}/delta-sharing/shares/{share}/all-tables", headers=other).status_code == 200
    provider = token_for("p_steward")
    denied = httpx.get(f"{live_server.url}/delta-sharing/shares/{share}/all-tables", headers=provider)
    assert denied.status_code == 403 and "errorCode" in denied.json()

    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=granted, data=RevokeCreate(reason="停止协作"))
    after = client_load(profile, table)
    assert after.returncode != 0
    assert "403" in after.stderr or "404" in after.stderr
    assert httpx.get(file_line["url"]).status_code == 403  # signed URLs die with the grant
