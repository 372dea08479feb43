"""Online delivery over Delta Sharing (issue 16), on SQLite and PostgreSQL, with the OFFICIAL client.

A buyer's online order gets a profile (buyer centre and API) whose share lists exactly the product's
table, delivering the entitled fields and rows, masked with the trade profile; a new version of the
source becomes a new table version; reads count against the quota and land in the market ledger;
expiry, refunds, revocation, used-up quotas, another buyer's token and fields outside the entitlement
are refused with the protocol's error body and audited.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.core.clock import utcnow
from shudata.market.delivery import service
from shudata.market.delivery.models import MarketEntitlement
from shudata.market.ledger.models import MarketLedgerEntry
from shudata.market.models import MarketOrder
from support.market import delivering, sold, supplied
from support.sharing import NEEDS_CLIENT, client_load, items, loaded, store

pytestmark = NEEDS_CLIENT

ITEMS = items("企业编号", "企业名称", "法定代表人", "所在市州", "从业人数", "联系电话")
FIELDS = ["企业编号", "法定代表人", "所在市州", "从业人数"]  # 企业名称 and 联系电话 are not bought
TABLE = "r_201001_000031"


def _rows(first: int, n: int) -> pa.Table:
    cities = ["成都市", "绵阳市", "德阳市"]
    names = ["张伟", "王芳", "李娜", "刘洋"]
    return pa.table({
        "企业编号": [f"E{i:05d}" for i in range(first, first + n)],
        "企业名称": [f"四川测试{i}有限公司" for i in range(first, first + n)],
        "法定代表人": [names[i % 4] for i in range(first, first + n)],
        "所在市州": [cities[i % 3] for i in range(first, first + n)],
        "从业人数": [10 + i for i in range(first, first + n)],
        "联系电话": [f"138{i:08d}" for i in range(first, first + n)],
    })


@pytest.fixture
def online(rt: Any, make_user: Any, make_department: Any) -> dict[str, Any]:
    """A listed product over one catalog entry (120 rows), an online order of the buyer (fields and a
    row filter: 成都市 only) and an online order of a second buyer."""
    got = supplied(rt, make_user, make_department, "201001/000031", ITEMS, _rows(0, 120))
    world, other_id = got.world, got.other_id
    with rt.transaction() as s:
        product, plan = sold(s, world, "P-DS-1", sources=[got.source], sheet={"fields_delivered": FIELDS},
                             modes=["api", "file"], plan="metered")
        ents = {}
        for code, buyer_id in (("O-DS-1", world.buyer_id), ("O-DS-2", other_id)):
            order = delivering(s, world, product, plan, code, buyer_id=buyer_id)
            ent = service.open_entitlement(s, order)
            ent.row_filter = "所在市州 = '成都市'"
            ent.metered = True
            ents[code] = ent.id
    return {"world": world, "other": got.other, "ents": ents}


def _profile(live_server: Any, headers: dict[str, str], ent: int, tmp_path: Path, name: str) -> tuple[Path, str]:
    r = httpx.get(f"{live_server.url}/api/v1/market/entitlements/{ent}/sharing-profile", headers=headers)
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    path = tmp_path / name
    path.write_text(r.text)
    return path, json.loads(r.text)["bearerToken"]


def _ent(rt: Any, ent_id: int, **changes: Any) -> None:
    with rt.transaction() as s:
        ent = s.get(MarketEntitlement, ent_id)
        for k, v in changes.items():
            setattr(ent, k, v)


def test_the_official_client_reads_exactly_the_entitled_masked_rows_and_new_versions(
        rt: Any, online: dict[str, Any], live_server: Any, token_for: Any, tmp_path: Path) -> None:
    ent = online["ents"]["O-DS-1"]
    profile, token = _profile(live_server, token_for("buyer1"), ent, tmp_path, "mine.share")
    body = json.loads(profile.read_text())
    assert body["endpoint"] == f"{live_server.url}/delta-sharing" and token.startswith("sdm_")
    assert body["expirationTime"].endswith("Z")
    share = f"market_{ent}"
    table = f"{share}.default.{TABLE}"

    out = loaded(profile, table)
    assert out["tables"] == [table]  # exactly the product's table
    assert out["columns"] == FIELDS  # only the bought fields: no 企业名称, no 联系电话
    assert len(out["rows"]) == 40 and {r[2] for r in out["rows"]} == {"成都市"}  # the row filter
    names = {r[1] for r in out["rows"]}
    assert names and not names & {"张伟", "王芳", "李娜", "刘洋"}  # masked with the trade profile
    assert sorted(r[0] for r in out["rows"]) == [f"E{i:05d}" for i in range(0, 120, 3)]

    limited = loaded(profile, table, limit=5)  # the client sends limitHint; the server sends the head
    assert len(limited["rows"]) == 5

    with rt.transaction() as s:  # the calls and rows count against the entitlement
        row = s.get(MarketEntitlement, ent)
        assert row.calls_used == 2 and row.rows_used == 40 + 8  # limitHint 5 → the first 8 rows' file
        kinds = [e.kind for e in s.scalars(select(MarketLedgerEntry).where(
            MarketLedgerEntry.subject_id == str(ent)).order_by(MarketLedgerEntry.seq))]
        assert kinds.count("market.delivery.sharing") == 2
        assert s.scalar(select(MarketLedgerEntry).where(
            MarketLedgerEntry.kind == "market.delivery.sharing.profile")) is not None

    # a new version of the source is a new table version for the buyer
    with rt.transaction() as s:
        store(s, rt.settings, find_resource(s, "201001/000031"), _rows(0, 150))
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{live_server.url}/delta-sharing/shares/{share}/schemas/default/tables/{TABLE}"
    assert httpx.get(f"{base}/version", headers=auth).headers["Delta-Table-Version"] == "2"
    assert len(loaded(profile, table)["rows"]) == 50
    assert len(loaded(profile, table, version=1)["rows"]) == 40  # time travel to the first version

    # protocol details: the metadata's schema is the entitled fields; the signed file serves ranges
    meta = [json.loads(line) for line in httpx.get(f"{base}/metadata", headers=auth).text.splitlines()]
    schema = json.loads(meta[1]["metaData"]["schemaString"])
    assert [f["name"] for f in schema["fields"]] == FIELDS and meta[1]["metaData"]["configuration"] == {}
    q = httpx.post(f"{base}/query", headers=auth, json={"limitHint": 2})
    file_line = json.loads(q.text.splitlines()[2])["file"]
    assert json.loads(file_line["stats"])["numRecords"] == 2
    part = httpx.get(file_line["url"], headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"PAR1"

    # no change data feed for an entitlement's table
    cdf = httpx.get(f"{base}/changes", headers=auth, params={"startingVersion": 1})
    assert cdf.status_code == 400 and cdf.json()["errorCode"] == "CDF_NOT_OFFERED"

    # revoking the entitlement stops the client and the file URLs at once
    _ent(rt, ent, revoked_at=utcnow())
    after = client_load(profile, table)
    assert after.returncode != 0 and "403" in after.stderr
    assert httpx.get(file_line["url"]).status_code == 403


def _denied(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["errorCode"] == code.upper() and body["message"], body  # the protocol's error body


def test_denials_are_protocol_errors_and_audited(rt: Any, online: dict[str, Any], live_server: Any,
                                                 token_for: Any, tmp_path: Path) -> None:
    mine, theirs = online["ents"]["O-DS-1"], online["ents"]["O-DS-2"]
    _, token = _profile(live_server, token_for("buyer1"), mine, tmp_path, "mine.share")
    _, other_token = _profile(live_server, token_for("buyer2"), theirs, tmp_path, "theirs.share")
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{live_server.url}/delta-sharing"
    base = f"{url}/shares/market_{mine}/schemas/default/tables/{TABLE}"

    # only the buyer's own accounts get the profile
    assert httpx.get(f"{url.replace('/delta-sharing', '')}/api/v1/market/entitlements/{mine}/sharing-profile",
                     headers=token_for("buyer2")).status_code == 403
    # a token for another buyer's share
    _denied(httpx.get(f"{url}/shares/market_{mine}/all-tables", headers={"Authorization": f"Bearer {other_token}"}),
            403, "permission_denied")
    _denied(httpx.post(f"{url}/shares/market_{mine}/schemas/default/tables/{TABLE}/query", json={},
                       headers={"Authorization": f"Bearer {other_token}"}), 403, "permission_denied")
    # a forged or altered token
    forged = f"{token[:-1]}{'1' if token.endswith('0') else '0'}"
    _denied(httpx.get(f"{url}/shares", headers={"Authorization": f"Bearer {forged}"}), 401, "invalid_token")
    # a table outside the product
    _denied(httpx.post(f"{url}/shares/market_{mine}/schemas/default/tables/r_201001_000002/query", json={},
                       headers=auth), 403, "permission_denied")
    # fields outside the entitlement, named in the query's hints
    hint = json.dumps({"op": "equal", "children": [{"op": "column", "name": "联系电话", "valueType": "string"},
                                                   {"op": "literal", "value": "13800000000",
                                                    "valueType": "string"}]})
    _denied(httpx.post(f"{base}/query", json={"jsonPredicateHints": hint}, headers=auth), 403, "field_not_delivered")
    _denied(httpx.post(f"{base}/query", json={"predicateHints": ["企业名称 = 'x'"]}, headers=auth), 403,
            "field_not_delivered")
    hinted = httpx.post(f"{base}/query", json={"predicateHints": ["所在市州 = '成都市'"]}, headers=auth)
    assert hinted.status_code == 200

    # quota: metered rows count against the entitlement; the call that would pass it gets no file
    with rt.transaction() as s:
        used = s.get(MarketEntitlement, mine).rows_used
    _ent(rt, mine, quota_rows=used + 45)
    assert httpx.post(f"{base}/query", json={}, headers=auth).status_code == 200  # 40 rows
    _denied(httpx.post(f"{base}/query", json={}, headers=auth), 429, "entitlement_row_quota")
    assert httpx.post(f"{base}/query", json={"limitHint": 1}, headers=auth).status_code == 200  # 1 row still fits
    _ent(rt, mine, quota_rows=None, quota_calls=0)
    _denied(httpx.post(f"{base}/query", json={"limitHint": 0}, headers=auth), 429, "entitlement_call_quota")
    _ent(rt, mine, quota_calls=None)

    # the order refunded (or terminated): nothing more, the token's list calls included
    with rt.transaction() as s:
        s.get(MarketOrder, s.get(MarketEntitlement, mine).order_id).status = "refunded"
    _denied(httpx.get(f"{url}/shares", headers=auth), 403, "order_not_delivering")
    _denied(httpx.post(f"{base}/query", json={}, headers=auth), 403, "order_not_delivering")
    with rt.transaction() as s:
        s.get(MarketOrder, s.get(MarketEntitlement, mine).order_id).status = "terminated"
    _denied(httpx.get(f"{base}/version", headers=auth), 403, "order_not_delivering")
    # expired: the other buyer's entitlement reached its term
    _ent(rt, theirs, expires_at=utcnow() - dt.timedelta(seconds=1))
    _denied(httpx.get(f"{url}/shares", headers={"Authorization": f"Bearer {other_token}"}), 403,
            "entitlement_expired")

    with rt.transaction() as s:
        refused = s.scalars(select(AuditEntry).where(AuditEntry.actor.in_(
            [f"market-share:{mine}", f"market-share:{theirs}"]))).all()
        outcomes = {(e.actor, e.outcome) for e in refused}
        codes = {(json.loads(e.details) if isinstance(e.details, str) else e.details or {}).get("code")
                 for e in refused}
    assert (f"market-share:{theirs}", "denied") in outcomes and (f"market-share:{mine}", "denied") in outcomes
    assert {"permission_denied", "field_not_delivered", "order_not_delivering", "entitlement_expired",
            "entitlement_row_quota"} <= codes


def test_the_buyer_centre_offers_the_profile_download(rt: Any, online: dict[str, Any], live_server: Any,
                                                      token_for: Any, tmp_path: Path) -> None:
    mine, theirs = online["ents"]["O-DS-1"], online["ents"]["O-DS-2"]
    headers = token_for("buyer1")
    page = httpx.get(f"{live_server.url}/market/buyer", headers=headers)
    assert page.status_code == 200
    assert f'href="/market/entitlements/{mine}/sharing-profile"' in page.text
    assert "下载 Delta Sharing 配置文件" in page.text
    assert f"/market/entitlements/{theirs}/sharing-profile" not in page.text
    got = httpx.get(f"{live_server.url}/market/entitlements/{mine}/sharing-profile", headers=headers)
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    _, token = _profile(live_server, headers, mine, tmp_path, "api.share")
    assert json.loads(got.text)["bearerToken"] == token  # the same token from the page and the API
    # another buyer's entitlement: back to the buyer centre with the reason, no profile
    other = httpx.get(f"{live_server.url}/market/entitlements/{theirs}/sharing-profile", headers=headers)
    assert other.status_code == 303 and other.headers["location"].endswith("/market/buyer")
