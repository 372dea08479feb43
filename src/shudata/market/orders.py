"""Orders (交易订单): inquiry, negotiation, contract, escrow, delivery, acceptance, settlement.

The transitions are :data:`shudata.market.states.ORDERS`. Who may do what:

- the **buyer** (a member of the buying participant) opens the inquiry, offers and counter-offers,
  agrees to the seller's offer, signs, accepts or disputes the delivery, withdraws before funding;
- the **seller** quotes and counter-offers, agrees (to the list price in an inquiry, or to the
  buyer's offer), refuses, signs, starts delivery;
- the **exchange operator** signs for the exchange, books the buyer's payment into escrow,
  resolves disputes (accept or refund), settles and closes; ``auto_accept_due`` (a job, also run by
  the CLI) accepts deliveries whose acceptance period of ``market_accept_days`` working days has
  passed without a dispute.

Refusals: a buyer that is not approved or not a 需方, an unlisted product, a withdrawn or foreign
plan, a private offer for someone else, a product with personal information (even desensitised)
for a buyer below grade A, a contract past its signing period (``market_contract_sign_days``)
and a funding before all three signatures. Every transition is an order event, an audit event and
a market event (``market_event`` hook); entering ``delivering`` calls ``market_order_delivering``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.events import Event
from shudata.audit.ledger import record
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shudata.core.plugins import plugins_of
from shudata.core.types import Actor
from shudata.lake.service import latest_version
from shudata.market import actions as A
from shudata.market import contracts as C
from shudata.market import settlement
from shudata.market.events import MarketEvent, emit
from shudata.market.models import (
    MarketContract,
    MarketOffer,
    MarketOrder,
    MarketOrderEvent,
    MarketParticipant,
    MarketPricePlan,
    MarketProductSource,
    MarketSignature,
)
from shudata.market.participants import acting_for, ensure_signing_key, get_row, is_member, private_key
from shudata.market.products import derivative_stale, get_product_row
from shudata.market.schemas import (
    DELIVERY_MODES,
    RIGHTS,
    ContractRead,
    JournalRead,
    OfferCreate,
    OfferRead,
    OrderCreate,
    OrderEventRead,
    OrderRead,
    SignatureRead,
)
from shudata.market.states import ORDERS, OrderEvent, OrderStatus, ProductStatus
from shudata.security.authz import allowed, require
from shudata.security.crypto import sm2
from shudata.sharing.calendar import WorkCalendar

PLAN_KINDS = {"one_off": "一次性", "subscription": "订阅", "metered": "按量计费", "private": "定向报价"}
EXCHANGE_NAME = "四川省数据交易服务平台"


def get_order_row(session: Session, order_id: int) -> MarketOrder:
    o = session.get(MarketOrder, order_id)
    if o is None:
        raise NotFound(f"订单 {order_id} 不存在", f"Order {order_id} not found", code="order_not_found")
    return o


def _party(session: Session, actor: Actor, order: MarketOrder, *allowed_parties: str) -> str:
    """Which side ``actor`` acts for in ``order`` (``buyer`` / ``seller``), among ``allowed_parties``."""
    for party in allowed_parties:
        pid = order.buyer_id if party == "buyer" else order.seller_id
        p = get_row(session, pid)
        if is_member(session, actor, p):
            acting_for(session, actor, pid)
            return party
    names = "、".join({"buyer": "买方", "seller": "卖方"}[p] for p in allowed_parties)
    raise PermissionDenied(f"只有订单的{names}可以执行此操作", f"Only the order's {'/'.join(allowed_parties)} may",
                           code="permission_denied", details={"action": A.PARTICIPANT_ACT.name})


def _transition(session: Session, actor: Actor, o: MarketOrder, event: OrderEvent, note: str | None,
                audit: Event, kind: str, **data: Any) -> None:
    before = o.status
    o.status = ORDERS.next(o.status, event)
    o.updated_at = utcnow()
    session.add(MarketOrderEvent(order_id=o.id, event=event.value, from_status=before, to_status=o.status, note=note,
                                 actor=actor.username))
    session.flush()
    record(session, actor, audit)
    emit(session, MarketEvent(kind=kind, subject=f"order:{o.code}", actor=actor.username, at=utcnow(), data={
        "order_id": o.id, "from": before, "to": o.status, "price_fen": o.price_fen, "buyer_id": o.buyer_id,
        "seller_id": o.seller_id, "product_id": o.product_id, **data}))


def _next_code(session: Session) -> str:
    n = (session.scalar(select(func.max(MarketOrder.id))) or 0) + 1
    return f"MO{utcnow():%Y%m%d}{n:06d}"


def _order_price(plan: MarketPricePlan) -> int:
    """What escrow holds: the one-off or private price, one subscription period, or for a metered
    plan its monthly cap (prepaid; usage is counted by delivery against the entitlement)."""
    if plan.kind == "metered":
        return plan.monthly_cap_fen if plan.monthly_cap_fen is not None else plan.price_fen
    return plan.price_fen


def create_order(*, session: Session, actor: Actor, data: OrderCreate) -> OrderRead:
    """询价: the refusals of the module docstring apply."""
    buyer = acting_for(session, actor, data.buyer_id)
    if "buyer" not in buyer.kinds:
        raise PermissionDenied(f"“{buyer.name}”未登记为需方，不能购买", f"{buyer.name} is not a buyer",
                               code="participant_not_buyer")
    product = get_product_row(session, data.product_id)
    if product.status != ProductStatus.LISTED:
        raise Conflict(f"数据产品“{product.name}”未挂牌（当前：{product.status}），不能交易",
                       f"Product {product.name} is not listed", code="product_not_listed")
    if stale := derivative_stale(session, product):
        raise Conflict(f"该脱敏衍生产品暂停交易：{stale}", "This derivative is stale (its source has a new version) "
                       "and cannot be bought until rebuilt", code="derivative_stale", details={"reason": stale})
    if product.seller_id == buyer.id:
        raise InvalidInput("不能购买本主体自己的产品", "A participant does not buy its own product",
                           code="own_product")
    if product.contains_personal and buyer.grade != "A":
        raise PermissionDenied(f"该产品含个人信息（已脱敏），仅 A 级交易主体可以购买；"
                               f"“{buyer.name}”为 {buyer.grade or '未评'} 级",
                               "Products with personal information (even desensitised) are for grade A buyers only",
                               code="grade_too_low", details={"grade": buyer.grade, "required": "A"})
    plan = session.get(MarketPricePlan, data.plan_id)
    if plan is None or plan.product_id != product.id or not plan.is_active:
        raise InvalidInput("价格方案不存在、不属于该产品或已撤回", "No such active plan for this product",
                           code="plan_not_available", details={"field": "plan_id"})
    if plan.buyer_id is not None and plan.buyer_id != buyer.id:
        raise PermissionDenied("定向报价只对指定的买方有效", "This private offer is for another buyer",
                               code="plan_not_available")
    if plan.valid_until is not None and plan.valid_until <= utcnow():
        raise Conflict("价格方案已过期", "The price plan has expired", code="plan_expired")
    if data.delivery_mode not in product.delivery_modes:
        raise InvalidInput(f"该产品不提供“{DELIVERY_MODES[data.delivery_mode]}”交付",
                           "The product does not offer this delivery mode", code="delivery_mode_not_offered",
                           details={"field": "delivery_mode", "offered": product.delivery_modes})
    if data.broker_id is not None:
        broker = get_row(session, data.broker_id)
        if broker.status != "approved" or "broker" not in broker.kinds:
            raise InvalidInput("居间数商须为已审核通过的中介服务商", "The broker must be an approved broker",
                               code="broker_invalid", details={"field": "broker_id"})
    o = MarketOrder(code=_next_code(session), product_id=product.id, plan_id=plan.id, buyer_id=buyer.id,
                    seller_id=product.seller_id, broker_id=data.broker_id, status=OrderStatus.INQUIRY,
                    price_fen=_order_price(plan), purpose=data.purpose.strip(), territory=data.territory.strip(),
                    term_days=data.term_days, delivery_mode=data.delivery_mode, message=data.message,
                    created_by=actor.username)
    session.add(o)
    session.flush()
    session.add(MarketOrderEvent(order_id=o.id, event="inquire", from_status="", to_status=o.status,
                                 note=data.message or None, actor=actor.username))
    record(session, actor, events.MarketOrderCreate(resource_id=o.code, details={
        "product": product.code, "plan_id": plan.id, "buyer_id": buyer.id, "price_fen": o.price_fen}))
    emit(session, MarketEvent(kind="order.inquire", subject=f"order:{o.code}", actor=actor.username, at=utcnow(),
                              data={"order_id": o.id, "product_id": product.id, "buyer_id": buyer.id,
                                    "seller_id": o.seller_id, "price_fen": o.price_fen, "to": o.status}))
    return read_order(session, o)


def _last_offer(session: Session, o: MarketOrder) -> MarketOffer | None:
    return session.scalar(select(MarketOffer).where(MarketOffer.order_id == o.id).order_by(MarketOffer.id.desc())
                          .limit(1))


def offer(*, session: Session, actor: Actor, order_id: int, data: OfferCreate) -> OrderRead:
    """An offer or counter-offer by either side; the price on the table becomes it."""
    o = get_order_row(session, order_id)
    party = _party(session, actor, o, "buyer", "seller")
    last = _last_offer(session, o)
    if last is not None and last.party == party and o.status == OrderStatus.NEGOTIATION:
        raise Conflict("请等待对方答复后再报价", "Wait for the other side's answer", code="offer_out_of_turn")
    ORDERS.next(o.status, OrderEvent.OFFER)
    session.add(MarketOffer(order_id=o.id, party=party, price_fen=data.price_fen, note=data.note,
                            actor=actor.username))
    o.price_fen = data.price_fen
    _transition(session, actor, o, OrderEvent.OFFER, data.note or None, events.MarketOrderNegotiate(
        resource_id=o.code, details={"event": "offer", "party": party, "price_fen": data.price_fen}),
        "order.offer", party=party)
    return read_order(session, o)


def _terms(session: Session, settings: Settings, o: MarketOrder) -> dict[str, Any]:
    buyer, seller = get_row(session, o.buyer_id), get_row(session, o.seller_id)
    product = get_product_row(session, o.product_id)
    plan = session.get(MarketPricePlan, o.plan_id)
    if plan is None:
        raise RuntimeError(f"order {o.code} has no plan")
    sources = []
    for src, res in session.execute(select(MarketProductSource, CatalogResource).join(
            CatalogResource, CatalogResource.id == MarketProductSource.resource_id)
            .where(MarketProductSource.product_id == product.id).order_by(MarketProductSource.id)):
        version = src.version
        if version is None:
            latest = latest_version(session, res.id)
            version = latest.version if latest else None
        sources.append({"resource": res.code, "name": res.name, "version": version})
    broker = get_row(session, o.broker_id) if o.broker_id is not None else None
    return {
        "buyer": {"id": buyer.id, "name": buyer.name, "uscc": buyer.uscc},
        "seller": {"id": seller.id, "name": seller.name, "uscc": seller.uscc},
        "broker": {"id": broker.id, "name": broker.name, "uscc": broker.uscc} if broker else None,
        "exchange": EXCHANGE_NAME, "order": o.code,
        "product": {"id": product.id, "code": product.code, "name": product.name, "sources": sources},
        "masking_profile": product.masking_profile, "purpose": o.purpose, "territory": o.territory,
        "term_days": o.term_days, "onward_transfer": False,
        "plan": {"id": plan.id, "name": plan.name, "kind": plan.kind, "kind_label": PLAN_KINDS[plan.kind],
                 "period_days": plan.period_days, "unit": plan.unit, "free_units": plan.free_units,
                 "monthly_cap_fen": plan.monthly_cap_fen},
        "price_fen": o.price_fen, "delivery_mode": o.delivery_mode,
        "delivery_mode_label": DELIVERY_MODES.get(o.delivery_mode, o.delivery_mode),
        "accept_days": settings.market_accept_days, "sign_days": settings.market_contract_sign_days,
        "exchange_fee_bp": settings.market_fee_exchange_bp,
        "broker_fee_bp": settings.market_fee_broker_bp if broker else 0,
        "rights": [RIGHTS.get(r, r) for r in product.rights],
    }


def agree(*, session: Session, actor: Actor, settings: Settings, order_id: int) -> OrderRead:
    """Accept the price on the table (the other side's last offer; in an inquiry the seller accepts
    the list price): the contract is generated for signing."""
    o = get_order_row(session, order_id)
    last = _last_offer(session, o)
    party = _party(session, actor, o, "buyer", "seller") if last is not None else _party(session, actor, o, "seller")
    if last is not None and last.party == party:
        raise Conflict("不能接受本方自己的报价，请等待对方答复", "You cannot accept your own offer",
                       code="offer_out_of_turn")
    ORDERS.next(o.status, OrderEvent.AGREE)
    now = utcnow()
    number = f"HT{now:%Y%m%d}{o.id:06d}"
    terms = _terms(session, settings, o)
    text = C.render(number, terms)
    contract = MarketContract(order_id=o.id, number=number, terms=terms, text=text,
                              digest=C.digest_of(number, terms, text), valid_from=now,
                              valid_until=now + dt.timedelta(days=settings.market_contract_sign_days))
    session.add(contract)
    session.flush()
    _transition(session, actor, o, OrderEvent.AGREE, None, events.MarketOrderNegotiate(
        resource_id=o.code, details={"event": "agree", "party": party, "price_fen": o.price_fen}),
        "order.agree", party=party)
    record(session, actor, events.MarketContractCreate(resource_id=o.code, details={
        "number": number, "digest": contract.digest}))
    emit(session, MarketEvent(kind="order.contract", subject=f"order:{o.code}", actor=actor.username, at=now,
                              data={"order_id": o.id, "contract": number, "digest": contract.digest}))
    return read_order(session, o)


def refuse(*, session: Session, actor: Actor, order_id: int, reason: str) -> OrderRead:
    """The seller declines the inquiry or the negotiation."""
    o = get_order_row(session, order_id)
    _party(session, actor, o, "seller")
    o.reason = reason
    _transition(session, actor, o, OrderEvent.REFUSE, reason, events.MarketOrderNegotiate(
        resource_id=o.code, details={"event": "refuse", "reason": reason}), "order.refuse", reason=reason)
    return read_order(session, o)


def terminate(*, session: Session, actor: Actor, order_id: int, reason: str) -> OrderRead:
    """Either side (or the operator) withdraws before the money is in escrow."""
    o = get_order_row(session, order_id)
    by = "exchange" if allowed(actor, A.ORDER_ARBITRATE) else _party(session, actor, o, "buyer", "seller")
    o.reason = reason
    _transition(session, actor, o, OrderEvent.TERMINATE, reason, events.MarketOrderTerminate(
        resource_id=o.code, details={"by": by, "reason": reason}), "order.terminate", by=by, reason=reason)
    return read_order(session, o)


def _contract(session: Session, o: MarketOrder) -> MarketContract:
    c = session.scalar(select(MarketContract).where(MarketContract.order_id == o.id))
    if c is None:
        raise Conflict("订单尚未生成合同", "The order has no contract yet", code="contract_missing")
    return c


def _signatures(session: Session, c: MarketContract) -> dict[str, MarketSignature]:
    return {s.party: s for s in session.scalars(select(MarketSignature).where(MarketSignature.contract_id == c.id))}


def sign(*, session: Session, actor: Actor, settings: Settings, order_id: int) -> OrderRead:
    """Sign the contract with SM2: as its buyer or seller (a member), or for the exchange (the operator)."""
    o = get_order_row(session, order_id)
    if o.status != OrderStatus.CONTRACT:
        raise Conflict(f"订单当前状态为“{o.status}”，不在合同签署阶段", f"The order is {o.status}, not being signed",
                       code="invalid_transition")
    c = _contract(session, o)
    if c.valid_until <= utcnow():
        raise Conflict(f"合同 {c.number} 已于 {c.valid_until:%Y-%m-%d %H:%M} 过期，不能再签署",
                       "The contract has expired",
                       code="contract_expired")
    if allowed(actor, A.ORDER_ARBITRATE):
        party, participant_id = "exchange", None
    else:
        party = _party(session, actor, o, "buyer", "seller")
        participant_id = o.buyer_id if party == "buyer" else o.seller_id
    done = _signatures(session, c)
    if party in done:
        raise Conflict(f"{C.PARTY_LABELS[party]}已签署", f"The {party} has signed already", code="already_signed")
    if party == "exchange" and not {"buyer", "seller"} <= set(done):
        raise Conflict("买卖双方签署后交易所再签署", "The exchange signs after both parties", code="parties_first")
    key = ensure_signing_key(session, settings, participant_id)
    keys = {p: s.public_key for p, s in done.items()}
    signature = sm2.sign(private_key(key, settings), key.public_key, C.signed_message(party, c.digest, keys))
    session.add(MarketSignature(contract_id=c.id, party=party, participant_id=participant_id,
                                public_key=key.public_key, signature=signature, signed_by=actor.username))
    session.flush()
    record(session, actor, events.MarketContractSign(resource_id=o.code, details={
        "number": c.number, "party": party, "public_key": key.public_key}))
    emit(session, MarketEvent(kind="order.sign", subject=f"order:{o.code}", actor=actor.username, at=utcnow(),
                              data={"order_id": o.id, "contract": c.number, "party": party, "digest": c.digest}))
    return read_order(session, o)


def contract_file(*, session: Session, actor: Actor, order_id: int) -> tuple[str, bytes]:
    """The self-contained contract file (JSON) for the parties and oversight: ``(name, bytes)``."""
    o = get_order_row(session, order_id)
    _require_view(session, actor, o)
    c = _contract(session, o)
    sigs = [{"party": s.party, "public_key": s.public_key, "signature": s.signature, "signed_by": s.signed_by,
             "signed_at": s.signed_at.isoformat()} for s in sorted(_signatures(session, c).values(),
                                                                    key=lambda s: C.PARTIES.index(s.party))]
    doc = C.document(c.number, c.terms, c.text, sigs, c.valid_until)
    return f"{c.number}.contract.json", json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def exchange_public_key(session: Session, settings: Settings) -> str:
    return ensure_signing_key(session, settings, None).public_key


def fund(*, session: Session, actor: Actor, order_id: int) -> OrderRead:
    """The operator books the buyer's payment into escrow (after all three signatures, before expiry)."""
    require(actor, A.ORDER_ARBITRATE)
    o = get_order_row(session, order_id)
    ORDERS.next(o.status, OrderEvent.FUND)
    c = _contract(session, o)
    if c.valid_until <= utcnow():
        raise Conflict(f"合同 {c.number} 已过期，不能再付款托管（请终止订单）", "The contract has expired",
                       code="contract_expired")
    missing = [C.PARTY_LABELS[p] for p in C.PARTIES if p not in _signatures(session, c)]
    if missing:
        raise Conflict(f"合同尚缺{'、'.join(missing)}的签名", "The contract is not fully signed",
                       code="contract_unsigned", details={"missing": missing})
    journal = settlement.fund(session, actor, o)
    _transition(session, actor, o, OrderEvent.FUND, None, events.MarketEscrowFund(
        resource_id=o.code, details={"amount_fen": o.price_fen, "journal": journal.id}), "order.fund",
        amount_fen=o.price_fen, journal=journal.id)
    return read_order(session, o)


def start_delivery(*, session: Session, actor: Actor, settings: Settings, order_id: int) -> OrderRead:
    """The seller (or the operator) starts delivery: ``market_order_delivering`` opens what was bought."""
    o = get_order_row(session, order_id)
    if not allowed(actor, A.ORDER_ARBITRATE):
        _party(session, actor, o, "seller")
    ORDERS.next(o.status, OrderEvent.DELIVER)
    due = WorkCalendar().add_working_days(utcnow().date(), settings.market_accept_days)
    o.accept_due_at = dt.datetime.combine(due, dt.time(23, 59, 59), tzinfo=dt.UTC)
    _transition(session, actor, o, OrderEvent.DELIVER, None, events.MarketOrderDeliver(
        resource_id=o.code, details={"mode": o.delivery_mode, "accept_due_at": o.accept_due_at.isoformat()}),
        "order.deliver", mode=o.delivery_mode, accept_due_at=o.accept_due_at.isoformat())
    plugins_of(session).hook.market_order_delivering(session=session, settings=settings, order=o)
    return read_order(session, o)


def accept(*, session: Session, actor: Actor, order_id: int) -> OrderRead:
    o = get_order_row(session, order_id)
    _party(session, actor, o, "buyer")
    _transition(session, actor, o, OrderEvent.ACCEPT, None, events.MarketOrderAccept(
        resource_id=o.code, details={"auto": False}), "order.accept")
    return read_order(session, o)


def auto_accept_due(*, session: Session, actor: Actor, now: dt.datetime | None = None) -> list[str]:
    """Accept every delivering order whose acceptance period has passed (no dispute raised)."""
    require(actor, A.ORDER_ARBITRATE)
    now = now or utcnow()
    done = []
    for o in session.scalars(select(MarketOrder).where(MarketOrder.status == OrderStatus.DELIVERING,
                                                       MarketOrder.accept_due_at < now).order_by(MarketOrder.id)):
        _transition(session, actor, o, OrderEvent.AUTO_ACCEPT, "验收期满未提出异议，自动验收",
                    events.MarketOrderAccept(resource_id=o.code, details={"auto": True}), "order.auto_accept")
        done.append(o.code)
    return done


def expire_contracts(*, session: Session, actor: Actor, now: dt.datetime | None = None) -> list[str]:
    """Terminate every order whose contract passed its signing and funding period unfunded."""
    require(actor, A.ORDER_ARBITRATE)
    now = now or utcnow()
    done = []
    for o in session.scalars(select(MarketOrder).join(MarketContract, MarketContract.order_id == MarketOrder.id)
                             .where(MarketOrder.status == OrderStatus.CONTRACT, MarketContract.valid_until < now)
                             .order_by(MarketOrder.id)):
        reason = "合同签署及付款期限已过，合同失效"
        o.reason = reason
        _transition(session, actor, o, OrderEvent.TERMINATE, reason, events.MarketOrderTerminate(
            resource_id=o.code, details={"by": "exchange", "reason": reason, "expired": True}), "order.terminate",
            by="exchange", reason=reason)
        done.append(o.code)
    return done


def dispute(*, session: Session, actor: Actor, order_id: int, reason: str) -> OrderRead:
    o = get_order_row(session, order_id)
    _party(session, actor, o, "buyer")
    o.reason = reason
    _transition(session, actor, o, OrderEvent.DISPUTE, reason, events.MarketOrderDispute(
        resource_id=o.code, details={"reason": reason}), "order.dispute", reason=reason)
    return read_order(session, o)


def resolve(*, session: Session, actor: Actor, order_id: int, outcome: str, reason: str) -> OrderRead:
    """The operator resolves a dispute: ``accept`` (the delivery conforms) or ``refund`` (escrow back)."""
    require(actor, A.ORDER_ARBITRATE)
    o = get_order_row(session, order_id)
    if outcome not in ("accept", "refund"):
        raise InvalidInput("处理结果须为 accept（验收）或 refund（退款）", "outcome is accept or refund",
                           code="outcome_invalid", details={"field": "outcome"})
    if o.status != OrderStatus.DISPUTED:
        raise Conflict(f"订单当前状态为“{o.status}”，没有待处理的争议", "The order is not disputed",
                       code="invalid_transition")
    if outcome == "accept":
        _transition(session, actor, o, OrderEvent.RESOLVE_ACCEPT, reason, events.MarketOrderResolve(
            resource_id=o.code, details={"outcome": outcome, "reason": reason}), "order.accept", resolved=True)
    else:
        record(session, actor, events.MarketOrderResolve(resource_id=o.code,
                                                         details={"outcome": outcome, "reason": reason}))
        _refund(session, actor, o, reason)
    return read_order(session, o)


def _refund(session: Session, actor: Actor, o: MarketOrder, reason: str) -> None:
    ORDERS.next(o.status, OrderEvent.REFUND)
    journal = settlement.refund(session, actor, o)
    _transition(session, actor, o, OrderEvent.REFUND, reason, events.MarketOrderRefund(
        resource_id=o.code, details={"journal": journal.id, "reason": reason}), "order.refund", journal=journal.id)


def refund(*, session: Session, actor: Actor, order_id: int, reason: str) -> OrderRead:
    """The operator refunds a funded order before delivery (e.g. the seller cannot deliver)."""
    require(actor, A.ORDER_ARBITRATE)
    o = get_order_row(session, order_id)
    _refund(session, actor, o, reason)
    return read_order(session, o)


def settle(*, session: Session, actor: Actor, settings: Settings, order_id: int) -> OrderRead:
    """Pay out escrow of an accepted order: seller, exchange fee, 数商 fee (``market_fee_*_bp``)."""
    require(actor, A.ORDER_ARBITRATE)
    o = get_order_row(session, order_id)
    ORDERS.next(o.status, OrderEvent.SETTLE)
    journal = settlement.settle(session, actor, o, exchange_bp=settings.market_fee_exchange_bp,
                                broker_bp=settings.market_fee_broker_bp)
    _transition(session, actor, o, OrderEvent.SETTLE, None, events.MarketOrderSettle(
        resource_id=o.code, details={"journal": journal.id, "memo": journal.memo}), "order.settle",
        journal=journal.id)
    return read_order(session, o)


def close(*, session: Session, actor: Actor, order_id: int) -> OrderRead:
    require(actor, A.ORDER_ARBITRATE)
    o = get_order_row(session, order_id)
    if settlement.escrow_held(session, o) != 0:
        raise RuntimeError(f"order {o.code}: escrow still holds money at closing")
    _transition(session, actor, o, OrderEvent.CLOSE, None, events.MarketOrderClose(resource_id=o.code),
                "order.close")
    return read_order(session, o)


# -- reading ------------------------------------------------------------------------------------------

def _require_view(session: Session, actor: Actor, o: MarketOrder) -> None:
    if allowed(actor, A.ORDER_VIEW_ALL):
        return
    for pid in (o.buyer_id, o.seller_id):
        p = session.get(MarketParticipant, pid)
        if p is not None and is_member(session, actor, p):
            acting_for(session, actor, pid, approved=False)
            return
    raise NotFound(f"订单 {o.id} 不存在", f"Order {o.id} not found", code="order_not_found")


def read_order(session: Session, o: MarketOrder) -> OrderRead:
    offers = session.scalars(select(MarketOffer).where(MarketOffer.order_id == o.id).order_by(MarketOffer.id)).all()
    history = session.scalars(select(MarketOrderEvent).where(MarketOrderEvent.order_id == o.id)
                              .order_by(MarketOrderEvent.id)).all()
    c = session.scalar(select(MarketContract).where(MarketContract.order_id == o.id))
    contract = None
    if c is not None:
        sigs = sorted(_signatures(session, c).values(), key=lambda s: C.PARTIES.index(s.party))
        contract = ContractRead.model_validate(c).model_copy(update={
            "signatures": [SignatureRead.model_validate(s) for s in sigs]})
    return OrderRead.model_validate(o).model_copy(update={
        "offers": [OfferRead.model_validate(x) for x in offers],
        "history": [OrderEventRead.model_validate(h) for h in history], "contract": contract})


def get_order(*, session: Session, actor: Actor, order_id: int) -> OrderRead:
    o = get_order_row(session, order_id)
    _require_view(session, actor, o)
    return read_order(session, o)


def list_orders(*, session: Session, actor: Actor, participant_id: int | None = None,
                status: str | None = None) -> list[OrderRead]:
    """The orders of a participant the actor acts for (buying or selling), or all (oversight)."""
    stmt = select(MarketOrder).order_by(MarketOrder.id.desc())
    if participant_id is not None:
        if not allowed(actor, A.ORDER_VIEW_ALL):
            acting_for(session, actor, participant_id, approved=False)
        stmt = stmt.where((MarketOrder.buyer_id == participant_id) | (MarketOrder.seller_id == participant_id))
    else:
        require(actor, A.ORDER_VIEW_ALL)
    if status:
        stmt = stmt.where(MarketOrder.status == status)
    return [read_order(session, o) for o in session.scalars(stmt)]


def order_journals(*, session: Session, actor: Actor, order_id: int) -> list[JournalRead]:
    """The journal entries of an order, for its parties and oversight."""
    o = get_order_row(session, order_id)
    _require_view(session, actor, o)
    return settlement.journals(session, o)


def books(*, session: Session, actor: Actor) -> dict[str, Any]:
    """Every account's balance and the reconciliation (operator, regulator)."""
    require(actor, A.ORDER_VIEW_ALL)
    return {"balances": [b.model_dump() for b in settlement.balances(session)],
            "reconciliation": settlement.reconcile(session)}


def verify_contract(*, session: Session, actor: Actor, settings: Settings, doc: Any) -> dict[str, Any]:
    """Check a contract file against this exchange's key (anyone holding the file may ask)."""
    require(actor, A.PRODUCT_BROWSE)
    v = C.verify_document(doc, exchange_key=exchange_public_key(session, settings))
    return {"ok": v.ok, "number": v.number, "digest_ok": v.digest_ok, "parties": v.parties, "problems": v.problems}
