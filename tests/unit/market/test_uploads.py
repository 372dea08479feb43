"""供方自有数据上传: an approved enterprise seller's file becomes a custody entry (versioned, scanned by the
detectors) wrapped in its draft product; refusals for an unapproved seller, a buyer, someone else's
members, hostile files; nobody but the seller reads the raw rows, the operator sees the masked sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shudata.audit.models import AuditEntry
from shudata.catalog.access import can_read_data, find_resource
from shudata.core.errors import InvalidInput, PermissionDenied, ShudataError
from shudata.core.types import Actor, Role
from shudata.market import products as PR
from shudata.market import uploads as U
from shudata.market.custody import CUSTODY_NAME
from shudata.market.ledger.models import MarketLedgerEntry
from shudata.market.schemas import ListingDecision, ProductSheet, ProductUpdate
from support.market import enterprise
from support.market_uploads import people_csv

ADULT = Path(__file__).parents[2] / "data" / "adult" / "adult_subset.csv"


@pytest.fixture
def world(rt: Any, make_user: Any) -> Any:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    seller_id, seller = enterprise(rt, 11, "upseller", "seller", operator=op)
    other_id, other = enterprise(rt, 12, "otherseller", "seller", operator=op)
    buyer_id, buyer = enterprise(rt, 13, "upbuyer", "buyer", operator=op)
    pending_id, pending = enterprise(rt, 14, "pendingseller", "seller", grade=None)
    return {"op": op, "seller": (seller_id, seller), "other": (other_id, other), "buyer": (buyer_id, buyer),
            "pending": (pending_id, pending)}


def _upload(rt: Any, actor: Actor, seller_id: int, path: Path, name: str = "消费者名单（上传）") -> Any:
    with rt.transaction() as s:
        return U.upload_product(session=s, actor=actor, settings=rt.settings, seller_id=seller_id, name=name,
                                path=path, filename=path.name)


def test_an_upload_becomes_a_custody_entry_and_a_draft_product_reviewed_masked(
        rt: Any, world: Any, tmp_path: Path) -> None:
    seller_id, seller = world["seller"]
    p = _upload(rt, seller, seller_id, people_csv(tmp_path / "people.csv"))
    assert p.status == "draft" and p.seller_id == seller_id
    assert p.sheet["fields"] == ["公民身份号码", "姓名", "性别", "出生日期", "行政区划代码", "联系电话"]
    (src,) = p.sources
    with rt.transaction() as s:
        res = find_resource(s, src["resource"])
        assert res.provider.name == CUSTODY_NAME and res.sharing_type == 3 and "market-upload" in res.tags
        # the catalog's raw-data rule leaves everyone out: the seller's member, the operator, the admin
        assert not can_read_data(seller, res) and not can_read_data(world["op"], res)
        info = U.upload_info(session=s, settings=rt.settings, actor=seller, product_id=p.id, raw=True)
    (v,) = info["versions"]
    assert v["rows"] == 60 and v["encoding"].lower() in ("gbk", "gb18030") and v["sha256"]
    assert {"公民身份号码", "姓名", "联系电话"} <= set(v["findings"])  # the detectors ran on upload
    assert info["raw"]["rows"][0][0].isdigit() and len(info["raw"]["rows"][0][0]) == 18  # the seller's own rows
    for who in (world["op"], world["other"][1], world["buyer"][1]):  # raw rows: the seller only
        with rt.transaction() as s, pytest.raises(PermissionDenied):
            U.upload_info(session=s, settings=rt.settings, actor=who, product_id=p.id, raw=True)
    with rt.transaction() as s:
        PR.update_product(session=s, actor=seller, product_id=p.id, data=ProductUpdate(
            sheet=ProductSheet(content="消费者名单", scenarios=["客户回访"]), source_evidence="会员注册协议",
            personal_authorisation="会员单独同意（协议第 5 条）"))
        done = PR.submit_product(session=s, actor=seller, settings=rt.settings, product_id=p.id)
    assert done.status == "reviewing" and done.contains_personal
    cols, rows = done.sample["columns"], done.sample["rows"]
    ids = [r[cols.index("公民身份号码")] for r in rows]
    assert ids and all(x is None or "*" in str(x) or len(str(x)) != 18 or not str(x).isdigit() for x in ids)
    with rt.transaction() as s:
        listed = PR.review_product(session=s, actor=world["op"], product_id=p.id,
                                   data=ListingDecision(decision="approve"))
        assert listed.status == "listed"
        kinds = [e.kind for e in s.query(MarketLedgerEntry).order_by(MarketLedgerEntry.seq)]
        actions = [(a.action, a.actor) for a in s.query(AuditEntry)]
    assert any(k.endswith("product.upload") for k in kinds), kinds
    assert ("market.upload.create", "upseller") in actions


def test_new_versions_must_match_the_columns_and_belong_to_the_seller(rt: Any, world: Any, tmp_path: Path) -> None:
    seller_id, seller = world["seller"]
    p = _upload(rt, seller, seller_id, people_csv(tmp_path / "people.csv"))
    with rt.transaction() as s:
        d = U.upload_version(session=s, actor=seller, settings=rt.settings, product_id=p.id,
                             path=people_csv(tmp_path / "v2.csv", 80, encoding="utf-8"), filename="v2.csv")
    assert d["version"] == 2 and d["rows"] == 80
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("甲,乙\n1,2\n", encoding="utf-8")
    with rt.transaction() as s, pytest.raises(InvalidInput):
        U.upload_version(session=s, actor=seller, settings=rt.settings, product_id=p.id, path=wrong,
                         filename="wrong.csv")
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # another seller's product
        U.upload_version(session=s, actor=world["other"][1], settings=rt.settings, product_id=p.id,
                         path=people_csv(tmp_path / "v3.csv"), filename="v3.csv")
    with rt.transaction() as s:  # another seller cannot wrap the custody entry in its own product
        from shudata.market.schemas import ProductCreate, SourceRef
        with pytest.raises(PermissionDenied) as exc:
            PR.create_product(session=s, actor=world["other"][1], data=ProductCreate(
                seller_id=world["other"][0], name="盗用", sources=[SourceRef(resource=p.sources[0]["resource"])],
                sheet=ProductSheet(content="盗用他人数据"), delivery_modes=["api"]))
        assert exc.value.code == "product_source_not_own"


def test_refusals_unapproved_non_seller_and_hostile_files(rt: Any, world: Any, tmp_path: Path) -> None:
    good = people_csv(tmp_path / "people.csv")
    for who, code in ((world["pending"], "participant_not_approved"), (world["buyer"], "participant_not_seller")):
        with pytest.raises(PermissionDenied) as exc:
            _upload(rt, who[1], who[0], good)
        assert exc.value.code == code
    with pytest.raises(PermissionDenied):  # acting for a participant one is not a member of
        _upload(rt, world["other"][1], world["seller"][0], good)
    seller_id, seller = world["seller"]
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    exe = tmp_path / "tool.csv"
    exe.write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 40)
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(rt.settings.upload_max_columns + 1)) + "\n"
                    + ",".join("1" for _ in range(rt.settings.upload_max_columns + 1)) + "\n", encoding="utf-8")
    for bad in (empty, exe, wide):
        with pytest.raises(ShudataError) as err:
            _upload(rt, seller, seller_id, bad)
        assert 400 <= err.value.status < 500, bad
    with rt.transaction() as s:  # nothing was kept from the refusals
        assert PR.list_products(session=s, actor=seller, seller_id=seller_id) == []
