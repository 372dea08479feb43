"""Market delivery end to end on SQLite and PostgreSQL: an order's entitlement, the buyer's fingerprinted
files, `shudata market trace` on a leak, hosted jobs released or refused, quotas and expiry (issue 16)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from shudata.audit.models import AuditEntry
from shudata.core.clock import utcnow
from shudata.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from shudata.core.types import Actor
from shudata.lake.export import csv_batches
from shudata.market.delivery import service
from shudata.market.delivery.hosted import HostedRefused
from shudata.market.delivery.leaked import read_leaked
from shudata.market.delivery.models import MarketEntitlement, MarketFileDelivery, MarketHostedJob, MarketTrace
from shudata.market.models import MarketOrder
from support.market import delivering, sold, supplied
from support.sharing import items

ITEMS = items("企业编号", "企业名称", "法定代表人", "所在市州", "从业人数", "营业收入万元")
FINGERPRINT = {"key_columns": ["企业编号"], "columns": {"从业人数": 1, "营业收入万元": 0.01}}


def _rows(n: int = 4000) -> pa.Table:
    rng = np.random.default_rng(16)
    return pa.table({
        "企业编号": [f"E{i:06d}" for i in range(n)],
        "企业名称": [f"四川测试{i}有限公司" for i in range(n)],
        "法定代表人": np.array(["张伟", "王芳", "李娜", "刘洋"])[rng.integers(0, 4, n)].tolist(),
        "所在市州": np.array(["成都市", "绵阳市", "德阳市"])[rng.integers(0, 3, n)].tolist(),
        "从业人数": rng.integers(1, 900, n),
        "营业收入万元": np.round(rng.lognormal(6, 1, n), 2),
    })


@pytest.fixture
def market(rt: Any, make_user: Any, make_department: Any) -> dict[str, Any]:
    got = supplied(rt, make_user, make_department, "201001/000009", ITEMS, _rows())
    world, other_id = got.world, got.other_id
    with rt.transaction() as s:
        product, plan = sold(s, world, "P-DLV-1", sources=[got.source], modes=["file", "hosted", "api"],
                             sheet={"fingerprint": FINGERPRINT, "release_rules": {"min_group_size": 10}},
                             price_fen=100_000)
        ents = {}
        for code, buyer_id, mode in (("O-1", world.buyer_id, "file"), ("O-2", other_id, "file"),
                                     ("O-3", world.buyer_id, "hosted"), ("O-4", other_id, "api")):
            order = delivering(s, world, product, plan, code, buyer_id=buyer_id, mode=mode)
            ents[code] = service.open_entitlement(s, order).id
    return {"world": world, "other": got.other, "ents": ents, "product": "P-DLV-1"}


def _file(rt: Any, actor: Actor, ent: int, fmt: str = "csv") -> bytes:
    with rt.transaction() as s:
        got = service.deliver_file(session=s, settings=rt.settings, actor=actor, entitlement_id=ent, fmt=fmt)
        return got.file.read()


def test_each_buyer_gets_a_masked_fingerprinted_copy_and_the_cli_traces_a_leak(
        rt: Any, settings: Any, market: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = market["world"]
    mine = _file(rt, world.buyer, market["ents"]["O-1"])
    theirs = _file(rt, market["other"], market["ents"]["O-2"])
    a, b = read_leaked(io.BytesIO(mine), "a.csv"), read_leaked(io.BytesIO(theirs), "b.csv")
    assert a.num_rows == b.num_rows == 4000 and a.column("企业编号").equals(b.column("企业编号"))
    assert not a.column("从业人数").equals(b.column("从业人数"))  # two buyers, two copies
    assert "张伟" not in mine.decode("utf-8-sig")  # the trade profile masks the legal representative
    with rt.transaction() as s:
        assert s.query(MarketFileDelivery).count() == 2
    # the second buyer leaks 5 % of the rows, shuffled, a column dropped, re-saved as CSV
    rng = np.random.default_rng(1)
    leak = b.take(rng.choice(4000, 200, replace=False)).drop_columns(["营业收入万元"])
    path = tmp_path / "found.csv"
    path.write_bytes(b"".join(csv_batches(leak.schema, leak.to_batches())))
    from shudata.cli.main import app

    monkeypatch.setenv("SHUDATA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("SHUDATA_MASTER_KEY", settings.master_key)
    out = CliRunner().invoke(app, ["market", "trace", str(path), "--product", "P-DLV-1"])
    assert out.exit_code == 0, out.output
    assert f"entitlement:{market['ents']['O-2']}" in out.output and "置信度" in out.output
    assert "测试数据企业5有限公司" in out.output and "订单 O-2" in out.output
    with rt.transaction() as s:
        trace = s.query(MarketTrace).one()
        assert trace.matched
        assert [x["buyer"] for x in trace.result["accused"]] == [f"entitlement:{market['ents']['O-2']}"]
        actions = {e.action for e in s.query(AuditEntry)}
        assert {"market.delivery.file", "market.delivery.trace"} <= actions


def test_a_file_from_nobody_is_no_match(rt: Any, market: dict[str, Any]) -> None:
    _file(rt, market["world"].buyer, market["ents"]["O-1"])
    clean = b"".join(csv_batches(_rows().schema, _rows().slice(0, 400).to_batches()))
    with rt.transaction() as s:
        verdict = service.trace_file(session=s, settings=rt.settings, actor=Actor.system(), content=clean,
                                     filename="clean.csv")
    assert not verdict["matched"] and verdict["positions"] > 100 and verdict["message"].startswith("无匹配")


def test_only_the_operator_traces_and_only_the_buyer_downloads(rt: Any, market: dict[str, Any]) -> None:
    world = market["world"]
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        service.trace_file(session=s, settings=rt.settings, actor=world.buyer, content=b"a,b\n1,2\n",
                           filename="x.csv")
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # another enterprise's entitlement
        service.deliver_file(session=s, settings=rt.settings, actor=market["other"],
                             entitlement_id=market["ents"]["O-1"])
    with rt.transaction() as s:
        service.trace_file(session=s, settings=rt.settings, actor=world.operator, content=b"a,b\n1,2\n",
                           filename="x.csv")


def test_expired_entitlement_and_exhausted_quota_are_refused(rt: Any, market: dict[str, Any]) -> None:
    world, ent_id = market["world"], market["ents"]["O-1"]
    with rt.transaction() as s:
        ent = s.get(MarketEntitlement, ent_id)
        ent.quota_calls = 1
    _file(rt, world.buyer, ent_id)
    with rt.transaction() as s, pytest.raises(LimitExceeded) as err:
        service.deliver_file(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=ent_id)
    assert err.value.code == "entitlement_call_quota"
    with rt.transaction() as s:
        s.get(MarketEntitlement, ent_id).expires_at = utcnow() - dt.timedelta(days=1)
    with rt.transaction() as s, pytest.raises(PermissionDenied) as denied:
        service.deliver_file(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=ent_id)
    assert denied.value.code == "entitlement_expired"
    with rt.transaction() as s, pytest.raises(InvalidInput):
        service.deliver_file(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=ent_id, fmt="exe")


def test_hosted_jobs_release_aggregates_and_refuse_rows_and_small_groups(rt: Any, market: dict[str, Any]) -> None:
    world, ent_id = market["world"], market["ents"]["O-3"]
    with rt.transaction() as s:
        got = service.run_job(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=ent_id,
                              sql='SELECT "所在市州", COUNT(*) AS n, AVG("从业人数") AS a FROM product GROUP BY 1')
    assert got.table.num_rows == 3 and sum(got.table.column("n").to_pylist()) == 4000
    refused = [('SELECT "企业编号", "法定代表人" FROM product', "aggregates_only"),
               ('SELECT "企业编号", COUNT(*) FROM product GROUP BY 1', "min_group_size")]
    for sql, rule in refused:
        with pytest.raises(HostedRefused) as err, rt.transaction() as s:  # the refusal rolls the transaction back
            service.run_job(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=ent_id, sql=sql)
        assert err.value.details["rule"] == rule
    with rt.transaction() as s:
        jobs = [(j.status, j.rule) for j in s.query(MarketHostedJob).order_by(MarketHostedJob.id)]
        audit = [(e.action, e.outcome) for e in s.query(AuditEntry).order_by(AuditEntry.seq)
                 if e.action == "market.delivery.hosted"]
        assert s.get(MarketEntitlement, ent_id).calls_used == 1  # refused jobs are logged, not charged
    assert jobs == [("released", None), ("refused", "aggregates_only"), ("refused", "min_group_size")]
    assert audit == [("market.delivery.hosted", "success"), ("market.delivery.hosted", "rejected"),
                     ("market.delivery.hosted", "rejected")]
    with rt.transaction() as s, pytest.raises(InvalidInput):  # an offline entitlement runs no hosted job
        service.run_job(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=market["ents"]["O-1"],
                        sql="SELECT COUNT(*) FROM product")


def test_an_order_entering_delivering_opens_one_entitlement_through_the_hook(rt: Any, market: dict[str, Any]) -> None:
    from shudata.core.plugins import plugins_of

    with rt.transaction() as s:
        order = s.query(MarketOrder).filter_by(code="O-1").one()
        new = MarketOrder(code="O-9", product_id=order.product_id, plan_id=order.plan_id, buyer_id=order.buyer_id,
                          seller_id=order.seller_id, price_fen=1, purpose="经营分析", delivery_mode="hosted",
                          status="delivering", term_days=30, created_by="buyer1")
        s.add(new)
        s.flush()
        for _ in range(2):  # a second call finds the first entitlement
            plugins_of(s).hook.market_order_delivering(session=s, settings=rt.settings, order=new)
        ents = s.query(MarketEntitlement).filter_by(order_id=new.id).all()
        assert len(ents) == 1 and ents[0].delivery_mode == "hosted" and ents[0].masking_profile == "trade"
        assert ents[0].release_rules == {"min_group_size": 10} and ents[0].fingerprint == FINGERPRINT
        assert 29 <= (ents[0].expires_at - utcnow()).days <= 30


def test_differential_privacy_is_charged_to_the_buyers_budget(rt: Any, market: dict[str, Any]) -> None:
    from shudata.privacy.models import PrivacyDpBudget
    from shudata.privacy.schemas import BudgetSet
    from shudata.privacy.service_models import set_budget

    world, ent_id = market["world"], market["ents"]["O-3"]
    with rt.transaction() as s:
        s.get(MarketEntitlement, ent_id).release_rules = {"min_group_size": 10, "epsilon": 0.5}
    sql = 'SELECT "所在市州", COUNT(*) AS n FROM product GROUP BY 1'
    with pytest.raises(NotFound) as none, rt.transaction() as s:  # no budget assigned: nothing released
        service.run_job(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=ent_id, sql=sql)
    assert none.value.code == "no_dp_budget"
    with rt.transaction() as s:
        set_budget(session=s, actor=Actor.system(), data=BudgetSet(consumer="buyer1", epsilon_total=0.8))
    with rt.transaction() as s:
        got = service.run_job(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=ent_id, sql=sql)
    assert got.epsilon == 0.5 and got.noise == {"n": 2.0}
    with pytest.raises(LimitExceeded) as spent, rt.transaction() as s:  # 0.3 left, 0.5 needed
        service.run_job(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=ent_id, sql=sql)
    assert spent.value.code == "dp_budget_exhausted"
    with rt.transaction() as s:
        assert s.query(PrivacyDpBudget).filter_by(consumer="buyer1").one().epsilon_spent == 0.5


def test_online_pages_are_masked_and_metered_against_the_entitlement(rt: Any, market: dict[str, Any]) -> None:
    buyer2, ent_id = market["other"], market["ents"]["O-4"]
    with rt.transaction() as s:
        s.get(MarketEntitlement, ent_id).quota_rows = 2500
    with rt.transaction() as s:
        page, total, _ = service.fetch_rows(session=s, settings=rt.settings, actor=buyer2, entitlement_id=ent_id,
                                         offset=0, limit=1000)
    assert total == 4000 and page.num_rows == 1000 and "张伟" not in page.column("法定代表人").to_pylist()
    with rt.transaction() as s:
        service.fetch_rows(session=s, settings=rt.settings, actor=buyer2, entitlement_id=ent_id, offset=1000,
                           limit=1000)
    with pytest.raises(LimitExceeded) as err, rt.transaction() as s:  # 2,000 used, 1,000 more would pass 2,500
        service.fetch_rows(session=s, settings=rt.settings, actor=buyer2, entitlement_id=ent_id, offset=2000,
                           limit=1000)
    assert err.value.code == "entitlement_row_quota"
    with rt.transaction() as s:
        ent = s.get(MarketEntitlement, ent_id)
        assert (ent.calls_used, ent.rows_used) == (2, 2000)
    with pytest.raises(InvalidInput) as wrong, rt.transaction() as s:  # a file entitlement serves no pages
        service.fetch_rows(session=s, settings=rt.settings, actor=market["world"].buyer,
                           entitlement_id=market["ents"]["O-1"])
    assert wrong.value.code == "not_api_delivery"


def test_the_api_serves_pages_files_jobs_and_traces(rt: Any, market: dict[str, Any], client: Any,
                                                     token_for: Any) -> None:
    ents = market["ents"]
    buyer, buyer2, op = token_for("buyer1"), token_for("buyer2"), token_for("exchange_op")
    r = client.get(f"/api/v1/market/entitlements/{ents['O-4']}/rows?limit=5", headers=buyer2)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 4000 and len(r.json()["rows"]) == 5 and r.json()["next_offset"] == 5
    assert client.get(f"/api/v1/market/entitlements/{ents['O-4']}/rows", headers=buyer).status_code == 403
    f = client.get(f"/api/v1/market/entitlements/{ents['O-2']}/file?format=csv", headers=buyer2)
    assert f.status_code == 200 and "filename*=" in f.headers["content-disposition"]
    leak = f.content.decode("utf-8-sig").splitlines()
    found = "\n".join(leak[:1] + leak[1:][::17]).encode("utf-8")  # ~6 % of the rows
    t = client.post("/api/v1/market/traces", headers=op, files={"file": ("found.csv", found, "text/csv")})
    assert t.status_code == 200, t.text
    assert t.json()["matched"] and t.json()["accused"][0]["buyer"] == f"entitlement:{ents['O-2']}"
    assert client.post("/api/v1/market/traces", headers=buyer2,
                       files={"file": ("x.csv", b"a\n1\n", "text/csv")}).status_code == 403
    bad = client.post("/api/v1/market/traces", headers=op, files={"file": ("x.xlsx", b"PK\x03\x04oops", "x")})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "trace_file_unreadable"
    j = client.post(f"/api/v1/market/entitlements/{ents['O-3']}/jobs", headers=buyer,
                    json={"sql": 'SELECT "所在市州", COUNT(*) AS n FROM product GROUP BY 1 ORDER BY 1'})
    assert j.status_code == 200 and j.json()["columns"] == ["所在市州", "n"] and len(j.json()["rows"]) == 3
    no = client.post(f"/api/v1/market/entitlements/{ents['O-3']}/jobs", headers=buyer,
                     json={"sql": 'SELECT "企业编号" FROM product'})
    assert no.status_code == 422 and no.json()["error"]["details"]["rule"] == "aggregates_only"
    assert "聚合" in no.json()["error"]["message"]


def test_bad_seller_settings_are_a_422_naming_them(rt: Any, market: dict[str, Any]) -> None:
    world = market["world"]
    with rt.transaction() as s:
        s.get(MarketEntitlement, market["ents"]["O-1"]).fingerprint = {"key_columns": [], "columns": {"x": -1}}
        s.get(MarketEntitlement, market["ents"]["O-3"]).release_rules = {"min_group_size": 1}
    with pytest.raises(InvalidInput) as fp, rt.transaction() as s:
        service.deliver_file(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=market["ents"]["O-1"])
    assert fp.value.code == "bad_fingerprint_settings" and "指纹设置无效" in fp.value.zh
    with pytest.raises(InvalidInput) as rules, rt.transaction() as s:
        service.run_job(session=s, settings=rt.settings, actor=world.buyer, entitlement_id=market["ents"]["O-3"],
                        sql="SELECT COUNT(*) FROM product")
    assert rules.value.code == "bad_release_rules"
