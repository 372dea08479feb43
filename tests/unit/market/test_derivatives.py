"""脱敏数据交易: desensitized derivative products — k-anonymised or masked by the privacy engine, with the
lineage and the measured re-identification risk in ``derivation``; listing refused above the risk
threshold for personal data; grade A only; stale (de-listed, not purchasable, listing says why) when
the source gets a new version, until rebuilt. The acceptance test runs on the real Adult extract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.errors import Conflict, InvalidInput, PermissionDenied
from shudata.core.types import Actor, Role
from shudata.lake.service import get_version, version_files
from shudata.market import derivatives as DV
from shudata.market import orders as O
from shudata.market import products as PR
from shudata.market import uploads as U
from shudata.market.delivery import service as delivery
from shudata.market.delivery.models import MarketEntitlement
from shudata.market.derivatives import DerivativeCreate
from shudata.market.models import MarketProduct
from shudata.market.schemas import ListingDecision, OrderCreate, PlanCreate, ProductSheet, ProductUpdate
from shudata.privacy.kanon.risk import table_risk
from shudata.privacy.sources import parquet_source, whole_table
from support.market import department_seller, enterprise
from support.market_uploads import people_csv

DATA = Path(__file__).parents[2] / "data" / "adult"
QIS = ["性别", "出生日期", "行政区划代码"]


def persons_csv(path: Path, rows: int = 300, seed: int = 7) -> Path:
    return people_csv(path, rows, encoding="utf-8", seed=seed, columns=[
        "公民身份号码", "姓名", "性别", "出生日期", "行政区划代码", "婚姻状况", "文化程度", "联系电话"])


@pytest.fixture
def world(rt: Any, make_user: Any, tmp_path: Path) -> Any:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    seller_id, seller = enterprise(rt, 21, "dvseller", "seller", operator=op)
    buyer_a, buyer_a_actor = enterprise(rt, 22, "dvbuyera", "buyer", operator=op)
    buyer_b, buyer_b_actor = enterprise(rt, 23, "dvbuyerb", "buyer", grade="B", operator=op)
    with rt.transaction() as s:
        src = U.upload_product(session=s, actor=seller, settings=rt.settings, seller_id=seller_id, name="户籍人口名单",
                               path=persons_csv(tmp_path / "persons.csv"), filename="persons.csv")
        PR.update_product(session=s, actor=seller, product_id=src.id, data=ProductUpdate(
            sheet=ProductSheet(content="户籍人口名单", scenarios=["人口结构研究"], coverage="四川省"),
            source_evidence="自有业务数据，依法收集", personal_authorisation="个人单独同意（登记表第 3 条）"))
    return {"op": op, "seller": (seller_id, seller), "a": (buyer_a, buyer_a_actor), "b": (buyer_b, buyer_b_actor),
            "source": src}


def dv(p: Any) -> dict[str, Any]:
    """A product's derivation (a derivative product has one)."""
    d: dict[str, Any] = p.derivation
    return d


def _derive(rt: Any, actor: Actor, **kw: Any) -> Any:
    with rt.transaction() as s:
        return DV.create_derivative(session=s, actor=actor, settings=rt.settings, data=DerivativeCreate(**kw))


def _list(rt: Any, world: Any, product_id: int) -> int:
    _, seller = world["seller"]
    with rt.transaction() as s:
        plan = PR.create_plan(session=s, actor=seller, product_id=product_id,
                              data=PlanCreate(kind="one_off", name="一次性", price_fen=500_000))
        PR.submit_product(session=s, actor=seller, settings=rt.settings, product_id=product_id)
        PR.review_product(session=s, actor=world["op"], product_id=product_id,
                          data=ListingDecision(decision="approve"))
    return plan.id


def _order(buyer: tuple[int, Actor], product_id: int, plan_id: int) -> OrderCreate:
    return OrderCreate(buyer_id=buyer[0], product_id=product_id, plan_id=plan_id, purpose="人口结构研究",
                       delivery_mode="api")


def test_a_k_anonymised_derivative_with_lineage_risk_listing_and_grade_a_only(rt: Any, world: Any) -> None:
    _, seller = world["seller"]
    src = world["source"]
    p = _derive(rt, seller, source_product_id=src.id, name="户籍人口结构（k=5 匿名化）", quasi_identifiers=QIS, k=5)
    d = dv(p)
    assert p.status == "draft" and d["method"] == "kanon" and not d["stale"]
    assert d["source"]["product_id"] == src.id and d["source"]["version"] == 1
    assert d["source"]["resource"] == src.sources[0]["resource"] and d["source_personal"]
    assert {"公民身份号码", "姓名", "联系电话"} <= set(d["parameters"]["dropped"])
    assert d["parameters"]["k"] == 5 and set(d["parameters"]["levels"]) == set(QIS)
    risk, before = d["risk"], d["risk_before"]
    assert risk["prosecutor_max"] <= 0.2 and risk["records_at_risk_share"] == 0.0
    assert before["prosecutor_max"] == 1.0 and before["records_at_risk_share"] > 0.5  # births are unique
    assert risk["journalist_max"] == risk["prosecutor_max"]  # no population table: journalist = prosecutor
    # the stored derivative really is 5-anonymous over the QIs, and holds no direct identifier
    with rt.transaction() as s:
        res = find_resource(s, d["resource"])
        v = get_version(s, res.id, d["version"])
        table = whole_table(rt.settings, parquet_source(version_files(rt.settings, v)[0]))
    assert "公民身份号码" not in table.column_names and "姓名" not in table.column_names
    assert table_risk(table, QIS).prosecutor_max == risk["prosecutor_max"] <= 0.2
    assert p.sources == [{"resource": d["resource"], "name": p.name, "version": d["version"]}]
    assert p.sheet["scenarios"] == ["人口结构研究"]  # carried over from the source product
    plan = _list(rt, world, p.id)
    with rt.transaction() as s:
        listed = PR.get_product(session=s, actor=Actor.anonymous(), product_id=p.id)
        assert listed.status == "listed" and listed.contains_personal and dv(listed)["risk"] == risk
        items = {i["item"]: i for i in s.get(MarketProduct, p.id).assessment["compliance"]}
    assert items["derivative_risk"]["passed"] and items["derivative_fresh"]["passed"]
    with rt.transaction() as s, pytest.raises(PermissionDenied) as exc:  # desensitized, still grade A only
        O.create_order(session=s, actor=world["b"][1], data=_order(world["b"], p.id, plan))
    assert exc.value.code == "grade_too_low"
    buyer = world["a"][1]
    with rt.transaction() as s:
        order = O.create_order(session=s, actor=buyer, data=OrderCreate(
            buyer_id=world["a"][0], product_id=p.id, plan_id=plan, purpose="人口结构研究", delivery_mode="hosted"))
        assert order.status == "inquiry"
        actions = {a.action for a in s.query(AuditEntry)}
    assert "market.derivative.create" in actions
    # the derivative is delivered like any product: here as hosted computation over the k-anonymous rows
    with rt.transaction() as s:
        O.agree(session=s, actor=seller, settings=rt.settings, order_id=order.id)
        for who in (buyer, seller, world["op"]):
            O.sign(session=s, actor=who, settings=rt.settings, order_id=order.id)
        O.fund(session=s, actor=world["op"], order_id=order.id)
        O.start_delivery(session=s, actor=seller, settings=rt.settings, order_id=order.id)
    with rt.transaction() as s:
        ent = s.scalar(select(MarketEntitlement.id).where(MarketEntitlement.order_id == order.id))
        assert ent is not None
        out = delivery.run_job(session=s, settings=rt.settings, actor=buyer, entitlement_id=ent,
                               sql='SELECT "性别", COUNT(*) AS n FROM product GROUP BY "性别"')
    assert out.groups >= 1 and sum(out.table.column("n").to_pylist()) == table.num_rows == 300, out


def test_a_derivative_above_the_risk_threshold_is_refused_at_listing(rt: Any, world: Any) -> None:
    _, seller = world["seller"]
    p = _derive(rt, seller, source_product_id=world["source"].id, name="户籍人口（k=2）", quasi_identifiers=QIS, k=2)
    assert 0.2 < dv(p)["risk"]["prosecutor_max"] <= 0.5
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:
        PR.submit_product(session=s, actor=seller, settings=rt.settings, product_id=p.id)
    assert exc.value.code == "listing_not_compliant" and "重识别风险" in exc.value.zh and "超过阈值 0.2" in exc.value.zh
    (item,) = [i for i in exc.value.details["assessment"]["compliance"] if not i["passed"]]
    assert item["item"] == "derivative_risk" and item["personal"]
    rt.settings.market_derivative_max_risk = 0.5  # the operator's setting decides
    try:
        with rt.transaction() as s:
            assert PR.submit_product(session=s, actor=seller, settings=rt.settings,
                                     product_id=p.id).status == "reviewing"
    finally:
        rt.settings.market_derivative_max_risk = 0.2


def test_a_new_source_version_makes_the_derivative_stale_until_rebuilt(rt: Any, world: Any, tmp_path: Path) -> None:
    _, seller = world["seller"]
    src = world["source"]
    p = _derive(rt, seller, source_product_id=src.id, name="户籍人口结构", quasi_identifiers=QIS, k=5)
    plan = _list(rt, world, p.id)
    with rt.transaction() as s:  # a new upload of the source: the hook marks the derivative and de-lists it
        U.upload_version(session=s, actor=seller, settings=rt.settings, product_id=src.id,
                         path=persons_csv(tmp_path / "v2.csv", 320, seed=8), filename="v2.csv")
    with rt.transaction() as s:
        stale = PR.get_product(session=s, actor=seller, product_id=p.id)
    assert stale.status == "delisted" and dv(stale)["stale"]
    assert "新版本 v2" in dv(stale)["stale_reason"] and stale.history[-1].event == "delist"
    with rt.transaction() as s, pytest.raises(Conflict):
        O.create_order(session=s, actor=world["a"][1], data=_order(world["a"], p.id, plan))
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:  # listing says why
        PR.submit_product(session=s, actor=seller, settings=rt.settings, product_id=p.id)
    assert "重建" in exc.value.zh and "新版本 v2" in exc.value.zh
    with rt.transaction() as s:
        rebuilt = DV.rebuild_derivative(session=s, actor=seller, settings=rt.settings, product_id=p.id)
    assert dv(rebuilt)["source"]["version"] == 2 and dv(rebuilt)["version"] == 2
    assert not dv(rebuilt)["stale"] and dv(rebuilt)["risk"]["rows"] == 320
    assert rebuilt.sources[0]["version"] == 2
    with rt.transaction() as s:
        PR.submit_product(session=s, actor=seller, settings=rt.settings, product_id=p.id)
        PR.review_product(session=s, actor=world["op"], product_id=p.id, data=ListingDecision(decision="approve"))
    # a version written by another path (no ingest hook): still stale where it matters — not purchasable
    with rt.transaction() as s:
        res = find_resource(s, src.sources[0]["resource"])
        old = whole_table(rt.settings, parquet_source(version_files(rt.settings, get_version(s, res.id))[0]))
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=res, batches_or_table=old,
                      source_name="pipeline.parquet", source_format="parquet")
    with rt.transaction() as s, pytest.raises(Conflict) as err:
        O.create_order(session=s, actor=world["a"][1], data=_order(world["a"], p.id, plan))
    assert err.value.code == "derivative_stale" and "新版本 v3" in err.value.zh


def test_refusals_and_the_masking_method(rt: Any, world: Any, make_user: Any, make_department: Any) -> None:
    _, seller = world["seller"]
    src = world["source"]
    with pytest.raises(InvalidInput) as exc:
        _derive(rt, seller, source_product_id=src.id, name="错列", quasi_identifiers=["年龄"])
    assert exc.value.code == "unknown_qi"
    with pytest.raises(PermissionDenied):  # a buyer's member does not derive from the seller's product
        _derive(rt, world["a"][1], source_product_id=src.id, name="他人产品", quasi_identifiers=QIS)
    ds = department_seller(rt, make_user, make_department, operator=world["op"])
    with pytest.raises(PermissionDenied) as denied:  # an enterprise does not derive from a department's entry
        _derive(rt, seller, seller_id=world["seller"][0], resource=ds.people, name="部门数据",
                quasi_identifiers=["城市"])
    assert denied.value.code == "product_source_not_own"
    masked = _derive(rt, ds.steward, seller_id=ds.participant_id, resource=ds.people, name="消费者名单（脱敏）",
                     method="mask", quasi_identifiers=["城市"])
    d = dv(masked)
    assert d["method"] == "mask" and d["parameters"]["profile"] == "trade" and d["source"]["product_id"] is None
    assert d["parameters"]["operators"]  # the trade profile rewrote the personal columns
    assert d["risk"]["prosecutor_max"] == pytest.approx(0.2)  # 40 people over 8 cities: classes of 5
    with rt.transaction() as s:
        res = find_resource(s, d["resource"])
        t = whole_table(rt.settings, parquet_source(version_files(rt.settings, get_version(s, res.id))[0]))
    phones = [str(v) for v in t.column("手机号码").to_pylist() if v is not None] if "手机号码" in t.column_names else []
    assert not any(v.isdigit() and len(v) == 11 for v in phones)


def test_acceptance_on_the_real_adult_extract(rt: Any, world: Any) -> None:
    """3,016 real census records (UCI Adult, ';'-separated): uploaded, then 5-anonymised over five
    demographic quasi-identifiers with the ARX hierarchies shipped with the data."""
    seller_id, seller = world["seller"]
    with rt.transaction() as s:
        src = U.upload_product(session=s, actor=seller, settings=rt.settings, seller_id=seller_id,
                               name="美国人口普查样本", path=DATA / "adult_subset.csv", filename="adult_subset.csv")
    qis = ["sex", "age", "race", "marital-status", "native-country"]
    rows = {q: [line.split(";") for line in (DATA / f"adult_hierarchy_{q}.csv").read_text().splitlines() if line]
            for q in qis}
    p = _derive(rt, seller, source_product_id=src.id, name="人口普查样本（k=5）", quasi_identifiers=qis, k=5,
                suppression=0.02, hierarchy_rows=rows)
    risk, before = dv(p)["risk"], dv(p)["risk_before"]
    assert before["rows"] == 3016 and before["prosecutor_max"] == 1.0 and before["records_at_risk_share"] > 0.05
    assert risk["prosecutor_max"] <= 0.2 and risk["records_at_risk_share"] == 0.0
    assert dv(p)["parameters"]["suppressed"] <= 0.02 * 3016
    print("adult k=5:", before["records_at_risk_share"], "→", risk["records_at_risk_share"],
          "levels", dv(p)["parameters"]["levels"], "suppressed", dv(p)["parameters"]["suppressed"])
