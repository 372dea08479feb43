"""An online entitlement's Delta Sharing files are prepared ahead — when its order starts delivering and
when a source gets a new version — so the buyer's first read does no masking work; once the entitlement
stops (revoked, its order refunded) the cleanup deletes its folder."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.plugins import plugins_of
from shudata.market.delivery import service
from shudata.market.delivery.models import MarketEntitlement
from shudata.market.delivery.sharing import share_name, share_token
from shudata.market.models import MarketOrder
from shudata.query.engines import duckdb as duckdb_engine
from shudata.sharing import cleanup, prepare
from support.market import delivering, market_world, sold
from support.sharing import entry, items, store

FIELDS = ["公民身份号码", "姓名", "行政区划"]
ROWS = pa.table({"公民身份号码": ["513221199001016433", "510104198503120021"], "姓名": ["张三", "李四"],
                 "行政区划": ["510104", "510105"]})
_codes = itertools.count(1)


def _buy(rt: Any, world: Any, dept: int, mode: str = "api") -> tuple[int, int, dict[str, str], str, str]:
    """A product over a new entry and the buyer's order entering ``delivering`` through the hook."""
    n = next(_codes)
    code = f"209201/{n:06d}"
    with rt.transaction() as s:
        res = entry(code, "人口信息", dept, items(*FIELDS), sharing_type=2, condition="仅限授权运营")
        s.add(res)
        s.flush()
        store(s, rt.settings, res, ROWS, source_name="人口.csv")
        product, plan = sold(s, world, f"P-PA-{n}", sources=[res.id], name="人口信息",
                             sheet={"fields_delivered": FIELDS}, modes=[mode])
        order = delivering(s, world, product, plan, f"O-PA-{n}", mode=mode, purpose="核验")
        plugins_of(s).hook.market_order_delivering(session=s, settings=rt.settings, order=order)
        ent = s.scalars(select(MarketEntitlement).where(MarketEntitlement.order_id == order.id)).one()
        headers = {"Authorization": f"Bearer {share_token(s, rt.settings, ent)}"}
        return ent.id, res.id, headers, share_name(ent), "r_" + code.replace("/", "_")


def _files(rt: Any, ent_id: int) -> list[str]:
    return sorted(p.name for p in (rt.settings.data_dir / "market" / "delivery" / f"e{ent_id}").glob("v*.parquet"))


def _refuse_masking(monkeypatch: Any) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("masking work at the first read")
    monkeypatch.setattr(duckdb_engine.DuckDBEngine, "copy_to_parquet", refuse)


def test_the_first_read_is_served_from_the_file_prepared_ahead(client, rt, make_user, make_department,
                                                               monkeypatch):
    world = market_world(rt, make_user)
    ent_id, res_id, headers, share, table = _buy(rt, world, make_department("省公安厅"))
    assert prepare.wait(timeout=60)
    [v1] = _files(rt, ent_id)
    assert v1.startswith("v1-")
    with rt.transaction() as s:  # a new version of the source: prepared in the background too
        res = s.get(CatalogResource, res_id)
        store(s, rt.settings, res, pa.concat_tables([ROWS, ROWS]), source_name="人口2.csv")
        prepare.after_version(s, rt.settings, res_id)  # what the after_ingest hook does
    assert prepare.wait(timeout=60)
    assert [f.split("-")[0] for f in _files(rt, ent_id)] == ["v1", "v2"]
    _refuse_masking(monkeypatch)
    base = f"/delta-sharing/shares/{share}/schemas/default/tables/{table}"
    r = client.post(f"{base}/query", json={}, headers=headers)
    assert r.status_code == 200, r.text
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines[1]["metaData"] and sum(1 for x in lines if "file" in x) == 1
    assert [f.split("-")[0] for f in _files(rt, ent_id)] == ["v1", "v2"]


def test_an_offline_entitlement_is_not_prepared(rt, make_user, make_department):
    world = market_world(rt, make_user)
    ent_id, *_ = _buy(rt, world, make_department("省公安厅"), mode="file")
    assert prepare.wait(timeout=60)
    assert _files(rt, ent_id) == []


def test_an_ended_entitlements_folder_is_deleted_by_the_cleanup(client, rt, make_user, make_department):
    world = market_world(rt, make_user)
    dept = make_department("省公安厅")
    live, *_ = _buy(rt, world, dept)
    revoked, *_ = _buy(rt, world, dept)
    refunded, *_ = _buy(rt, world, dept)
    expired, *_ = _buy(rt, world, dept)
    assert prepare.wait(timeout=60)
    with rt.transaction() as s:
        s.get(MarketEntitlement, revoked).revoked_at = utcnow()
        s.get(MarketOrder, s.get(MarketEntitlement, refunded).order_id).status = "refunded"
        s.get(MarketEntitlement, expired).expires_at = utcnow() - dt.timedelta(seconds=1)
    root = rt.settings.data_dir / "market" / "delivery"
    kept = {f: f.stat().st_mtime_ns for f in (root / f"e{live}").iterdir()}
    done = cleanup.run(rt.transaction, rt.settings)
    assert sorted(done.folders) == sorted(root / f"e{i}" for i in (revoked, refunded, expired))
    assert done.entitlements == 3 and done.files >= 3 and done.bytes > 0
    assert not any((root / f"e{i}").exists() for i in (revoked, refunded, expired))
    assert {f: f.stat().st_mtime_ns for f in (root / f"e{live}").iterdir()} == kept
    with rt.transaction() as s:  # the live one reads as before
        assert service.entitled_view(s, rt.settings, s.get(MarketEntitlement, live)).path.exists()
