"""Orders end to end on SQLite and PostgreSQL: inquiry → negotiation → contract (SM2, three parties)
→ escrow → delivering → accepted → settled → closed; refusals (grade, unlisted product, expired
contract, out-of-turn offers), dispute and refund, auto-accept, forged contract signatures, and a
double-entry ledger that reconciles to zero."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from shudata.audit.models import AuditEntry
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor, Role
from shudata.market import contracts as C
from shudata.market import orders as O
from shudata.market import products as PR
from shudata.market import settlement
from shudata.market.models import MarketContract, MarketOrder
from shudata.market.schemas import (
    OfferCreate,
    OrderCreate,
)
from support.market import department_seller, enterprise
from support.market import listed_product as listed


@pytest.fixture
def market(rt: Any, make_user: Any, make_department: Any) -> dict[str, Any]:
    op = make_user("exchange_op", Role.MARKET_OPERATOR)
    ds = department_seller(rt, make_user, make_department, operator=op)
    buyer_id, buyer = enterprise(rt, 21, "buyer21", "buyer", grade="B", operator=op)
    broker_id, _ = enterprise(rt, 22, "broker22", "broker", grade="A", operator=op)
    product_id, plan_id = listed(rt, ds, op, ds.gdp)
    return {"op": op, "ds": ds, "buyer_id": buyer_id, "buyer": buyer, "broker_id": broker_id,
            "product_id": product_id, "plan_id": plan_id}


def _inquire(rt: Any, m: dict[str, Any], **over: Any) -> int:
    body: dict[str, Any] = dict(buyer_id=m["buyer_id"], product_id=m["product_id"], plan_id=m["plan_id"],
                                purpose="区域经济研究报告", delivery_mode="file")
    body.update(over)
    with rt.transaction() as s:
        return O.create_order(session=s, actor=m["buyer"], data=OrderCreate(**body)).id


def _signed(rt: Any, m: dict[str, Any], order_id: int) -> None:
    for who in (m["buyer"], m["ds"].steward, m["op"]):
        with rt.transaction() as s:
            O.sign(session=s, actor=who, settings=rt.settings, order_id=order_id)


def test_the_whole_trade_and_its_books(rt: Any, market: dict[str, Any]) -> None:
    m, op, seller, buyer = market, market["op"], market["ds"].steward, market["buyer"]
    order_id = _inquire(rt, m, broker_id=m["broker_id"])
    with rt.transaction() as s:
        O.offer(session=s, actor=buyer, order_id=order_id, data=OfferCreate(price_fen=800_000, note="预算有限"))
        with pytest.raises(Conflict):  # the buyer does not answer itself
            O.offer(session=s, actor=buyer, order_id=order_id, data=OfferCreate(price_fen=700_000))
    with rt.transaction() as s, pytest.raises(Conflict):
        O.agree(session=s, actor=buyer, settings=rt.settings, order_id=order_id)
    with rt.transaction() as s:
        O.offer(session=s, actor=seller, order_id=order_id, data=OfferCreate(price_fen=900_000))
    with rt.transaction() as s:
        o = O.agree(session=s, actor=buyer, settings=rt.settings, order_id=order_id)
    assert o.status == "contract" and o.price_fen == 900_000 and o.contract is not None
    assert "禁止二次转让" in o.contract.text and "人民币 9,000.00 元" in o.contract.text
    with rt.transaction() as s, pytest.raises(Conflict) as exc:  # the exchange signs last
        O.sign(session=s, actor=op, settings=rt.settings, order_id=order_id)
    assert exc.value.code == "parties_first"
    with rt.transaction() as s, pytest.raises(Conflict) as exc:  # no money before three signatures
        O.fund(session=s, actor=op, order_id=order_id)
    assert exc.value.code == "contract_unsigned"
    _signed(rt, m, order_id)
    with rt.transaction() as s, pytest.raises(Conflict):
        O.sign(session=s, actor=buyer, settings=rt.settings, order_id=order_id)
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # only the operator books escrow
        O.fund(session=s, actor=buyer, order_id=order_id)
    with rt.transaction() as s:
        O.fund(session=s, actor=op, order_id=order_id)
        o = O.start_delivery(session=s, actor=seller, settings=rt.settings, order_id=order_id)
    assert o.status == "delivering" and o.accept_due_at is not None
    with rt.transaction() as s:
        O.accept(session=s, actor=buyer, order_id=order_id)
        O.settle(session=s, actor=op, settings=rt.settings, order_id=order_id)
        o = O.close(session=s, actor=op, order_id=order_id)
    assert [h.to_status for h in o.history] == ["inquiry", "negotiation", "negotiation", "contract", "escrow_funded",
                                                 "delivering", "accepted", "settled", "closed"]
    with rt.transaction() as s:
        bal = {(b.account, b.participant_id): b.balance_fen for b in settlement.balances(s)}
        assert bal[("escrow", None)] == 0 and bal[("buyer", m["buyer_id"])] == -900_000
        assert bal[("exchange_fee", None)] == 27_000 and bal[("broker_fee", m["broker_id"])] == 9_000
        assert bal[("seller", m["ds"].participant_id)] == 864_000
        assert settlement.reconcile(s) == {"unbalanced_journals": 0, "total_fen": 0}
        kinds = [j.kind for j in settlement.journals(s, s.get(MarketOrder, order_id))]
        assert kinds == ["fund", "settle"]
        actions = [e.action for e in s.query(AuditEntry).order_by(AuditEntry.seq) if e.action.startswith("market.")]
    for name in ("market.order.create", "market.order.negotiate", "market.contract.create", "market.contract.sign",
                 "market.escrow.fund", "market.order.deliver", "market.order.accept", "market.order.settle",
                 "market.order.close"):
        assert name in actions


def test_the_contract_file_verifies_and_forgeries_do_not(rt: Any, market: dict[str, Any]) -> None:
    m = market
    order_id = _inquire(rt, m)
    with rt.transaction() as s:
        O.agree(session=s, actor=m["ds"].steward, settings=rt.settings, order_id=order_id)  # the list price
    _signed(rt, m, order_id)
    with rt.transaction() as s:
        name, raw = O.contract_file(session=s, actor=m["buyer"], order_id=order_id)
        exchange_key = O.exchange_public_key(s, rt.settings)
        with pytest.raises(NotFound):  # strangers do not get it
            O.contract_file(session=s, actor=Actor(user_id=999, username="x", roles=frozenset({Role.MARKET_MEMBER})),
                            order_id=order_id)
    doc = json.loads(raw)
    assert name.endswith(".contract.json") and C.verify_document(doc, exchange_key=exchange_key).ok
    tampered = json.loads(raw)
    tampered["terms"]["price_fen"] = 1
    v = C.verify_document(tampered)
    assert not v.ok and not v.digest_ok
    forged = json.loads(raw)  # the buyer's signature replaced by one of another key
    from shudata.security.crypto import sm2
    kp = sm2.generate_keypair()
    for sig in forged["signatures"]:
        if sig["party"] == "buyer":
            sig["signature"] = sm2.sign(kp.private_hex, kp.public_hex, forged["digest"].encode())
    v = C.verify_document(forged)
    assert not v.ok and v.parties == {"buyer": False, "seller": True, "exchange": True}
    swapped = json.loads(raw)  # a forger signs with its own key and puts that key in: the exchange's binding fails
    for sig in swapped["signatures"]:
        if sig["party"] == "buyer":
            sig["public_key"] = kp.public_hex
            sig["signature"] = sm2.sign(kp.private_hex, kp.public_hex, swapped["digest"].encode())
    v = C.verify_document(swapped)
    assert not v.ok and v.parties["buyer"] and not v.parties["exchange"]
    missing = json.loads(raw)
    missing["signatures"] = [x for x in missing["signatures"] if x["party"] != "seller"]
    assert not C.verify_document(missing).ok
    assert not C.verify_document(doc, exchange_key=kp.public_hex).ok


def test_refusals_grade_unlisted_and_expired_contract(rt: Any, market: dict[str, Any], make_user: Any) -> None:
    m, op = market, market["op"]
    personal_id, personal_plan = listed(rt, m["ds"], op, m["ds"].people, authorisation="用户单独同意")
    with rt.transaction() as s, pytest.raises(PermissionDenied) as exc:  # grade B buys no personal data
        O.create_order(session=s, actor=m["buyer"], data=OrderCreate(
            buyer_id=m["buyer_id"], product_id=personal_id, plan_id=personal_plan, purpose="营销", delivery_mode="api"))
    assert exc.value.code == "grade_too_low"
    a_id, a_buyer = enterprise(rt, 23, "buyer23", "buyer", grade="A", operator=op)
    with rt.transaction() as s:
        O.create_order(session=s, actor=a_buyer, data=OrderCreate(
            buyer_id=a_id, product_id=personal_id, plan_id=personal_plan, purpose="营销", delivery_mode="api"))
    with rt.transaction() as s, pytest.raises(InvalidInput) as exc:
        O.create_order(session=s, actor=a_buyer, data=OrderCreate(
            buyer_id=a_id, product_id=personal_id, plan_id=personal_plan, purpose="营销", delivery_mode="hosted"))
    assert exc.value.code == "delivery_mode_not_offered"
    with rt.transaction() as s:
        PR.delist_product(session=s, actor=op, product_id=m["product_id"], reason="核查数据来源")
    with rt.transaction() as s, pytest.raises(Conflict) as exc:
        O.create_order(session=s, actor=m["buyer"], data=OrderCreate(
            buyer_id=m["buyer_id"], product_id=m["product_id"], plan_id=m["plan_id"], purpose="研究",
            delivery_mode="file"))
    assert exc.value.code == "product_not_listed"
    with rt.transaction() as s, pytest.raises(PermissionDenied):  # a seller-only participant does not buy
        O.create_order(session=s, actor=m["ds"].steward, data=OrderCreate(
            buyer_id=m["ds"].participant_id, product_id=personal_id, plan_id=personal_plan, purpose="x1",
            delivery_mode="api"))
    with rt.transaction() as s:  # an order whose contract ran out before it was signed
        order = O.create_order(session=s, actor=a_buyer, data=OrderCreate(
            buyer_id=a_id, product_id=personal_id, plan_id=personal_plan, purpose="营销分析", delivery_mode="api"))
        O.agree(session=s, actor=m["ds"].steward, settings=rt.settings, order_id=order.id)
        c = s.query(MarketContract).filter_by(order_id=order.id).one()
        c.valid_until = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with rt.transaction() as s, pytest.raises(Conflict) as exc:
        O.sign(session=s, actor=a_buyer, settings=rt.settings, order_id=order.id)
    assert exc.value.code == "contract_expired"
    with rt.transaction() as s:
        assert O.expire_contracts(session=s, actor=op) == [s.get(MarketOrder, order.id).code]
        assert s.get(MarketOrder, order.id).status == "terminated"
        with pytest.raises(PermissionDenied):
            O.expire_contracts(session=s, actor=a_buyer)


def test_dispute_refund_and_auto_accept(rt: Any, market: dict[str, Any]) -> None:
    m, op = market, market["op"]
    ids = [_inquire(rt, m) for _ in range(2)]
    for order_id in ids:
        with rt.transaction() as s:
            O.agree(session=s, actor=m["ds"].steward, settings=rt.settings, order_id=order_id)
        _signed(rt, m, order_id)
        with rt.transaction() as s:
            O.fund(session=s, actor=op, order_id=order_id)
            O.start_delivery(session=s, actor=op, settings=rt.settings, order_id=order_id)
    with rt.transaction() as s:
        O.dispute(session=s, actor=m["buyer"], order_id=ids[0], reason="交付数据与说明书不符")
        with pytest.raises(PermissionDenied):  # the seller does not dispute
            O.dispute(session=s, actor=m["ds"].steward, order_id=ids[1], reason="x")
    with rt.transaction() as s:
        o = O.resolve(session=s, actor=op, order_id=ids[0], outcome="refund", reason="经核查，字段缺失")
        assert o.status == "refunded"
        assert O.close(session=s, actor=op, order_id=ids[0]).status == "closed"
        assert O.auto_accept_due(session=s, actor=op) == []  # not due yet
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
        assert O.auto_accept_due(session=s, actor=op, now=later) == [s.get(MarketOrder, ids[1]).code]
        assert s.get(MarketOrder, ids[1]).status == "accepted"
        bal = {(b.account, b.participant_id): b.balance_fen for b in settlement.balances(s)}
        assert bal[("escrow", None)] == 1_000_000  # the second order's money, not yet settled
        assert bal[("buyer", m["buyer_id"])] == -1_000_000  # the first came back
        assert settlement.reconcile(s)["total_fen"] == 0
    with rt.transaction() as s:
        listed_all = O.list_orders(session=s, actor=m["buyer"], participant_id=m["buyer_id"])
        assert {o.id for o in listed_all} == set(ids)
        with pytest.raises(PermissionDenied):
            O.list_orders(session=s, actor=m["buyer"])
        assert len(O.list_orders(session=s, actor=op)) == 2
