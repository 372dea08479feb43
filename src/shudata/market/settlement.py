"""Settlement as double-entry bookkeeping (not a payment gateway).

Accounts: ``escrow`` and ``exchange_fee`` (the exchange's), and per participant ``buyer``,
``seller`` and ``broker_fee``. Each journal entry's postings sum to zero (debit > 0, credit < 0),
so the balances of all accounts always sum to zero. The buyer's account is a clearing account:
funding escrow credits it (the money came in from outside, through the buyer), a refund debits it
back.

- **fund** (托管): debit escrow, credit buyer — the agreed price;
- **settle** (结算): credit escrow by the whole price; debit exchange_fee by ``price ×
  market_fee_exchange_bp / 10000``, broker_fee of the order's 数商 by ``price × market_fee_broker_bp
  / 10000`` (when there is one), seller by the rest (rounding goes to the seller);
- **refund** (退款): credit escrow, debit buyer — what escrow holds for the order.

>>> split(100_000, exchange_bp=300, broker_bp=100, broker=True)
(3000, 1000, 96000)
>>> split(99_999, exchange_bp=300, broker_bp=100, broker=False)
(2999, 0, 97000)
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.core.types import Actor
from shudata.market.models import MarketAccount, MarketJournal, MarketOrder, MarketPosting
from shudata.market.schemas import BalanceRead, JournalRead, PostingRead

ACCOUNT_LABELS = {"escrow": "托管账户", "exchange_fee": "交易所服务费", "buyer": "买方", "seller": "卖方",
                  "broker_fee": "数商服务费"}


def split(price: int, *, exchange_bp: int, broker_bp: int, broker: bool) -> tuple[int, int, int]:
    """(exchange fee, broker fee, seller's share) of ``price`` fen; fees round down."""
    exchange = price * exchange_bp // 10_000
    brokerage = price * broker_bp // 10_000 if broker else 0
    return exchange, brokerage, price - exchange - brokerage


def account(session: Session, kind: str, participant_id: int | None = None) -> MarketAccount:
    """The account, opened on first use."""
    acct = session.scalar(select(MarketAccount).where(
        MarketAccount.kind == kind,
        MarketAccount.participant_id.is_(None) if participant_id is None
        else MarketAccount.participant_id == participant_id))
    if acct is None:
        acct = MarketAccount(kind=kind, participant_id=participant_id)
        session.add(acct)
        session.flush()
    return acct


def post(session: Session, actor: Actor, order: MarketOrder, kind: str, memo: str,
         lines: list[tuple[MarketAccount, int]]) -> MarketJournal:
    """One balanced journal entry; an unbalanced one is a bug (``RuntimeError``)."""
    if sum(amount for _, amount in lines) != 0:
        raise RuntimeError(f"unbalanced journal entry {kind} for order {order.code}: {lines}")
    journal = MarketJournal(order_id=order.id, kind=kind, memo=memo, actor=actor.username)
    session.add(journal)
    session.flush()
    for acct, amount in lines:
        if amount:
            session.add(MarketPosting(journal_id=journal.id, account_id=acct.id, amount_fen=amount))
    session.flush()
    return journal


def escrow_held(session: Session, order: MarketOrder) -> int:
    """What escrow holds for ``order`` (its postings to escrow, summed)."""
    escrow = account(session, "escrow")
    held = session.scalar(select(func.coalesce(func.sum(MarketPosting.amount_fen), 0))
                          .join(MarketJournal, MarketJournal.id == MarketPosting.journal_id)
                          .where(MarketJournal.order_id == order.id, MarketPosting.account_id == escrow.id))
    return int(held or 0)


def fund(session: Session, actor: Actor, order: MarketOrder) -> MarketJournal:
    return post(session, actor, order, "fund", f"订单 {order.code} 买方资金托管",
                [(account(session, "escrow"), order.price_fen), (account(session, "buyer", order.buyer_id),
                                                                 -order.price_fen)])


def settle(session: Session, actor: Actor, order: MarketOrder, *, exchange_bp: int, broker_bp: int) -> MarketJournal:
    held = escrow_held(session, order)
    exchange, brokerage, seller = split(held, exchange_bp=exchange_bp, broker_bp=broker_bp,
                                        broker=order.broker_id is not None)
    lines = [(account(session, "escrow"), -held), (account(session, "exchange_fee"), exchange),
             (account(session, "seller", order.seller_id), seller)]
    if order.broker_id is not None:
        lines.append((account(session, "broker_fee", order.broker_id), brokerage))
    return post(session, actor, order, "settle", f"订单 {order.code} 结算：卖方 {seller} 分，交易所 {exchange} 分，"
                f"数商 {brokerage} 分", lines)


def refund(session: Session, actor: Actor, order: MarketOrder) -> MarketJournal:
    held = escrow_held(session, order)
    return post(session, actor, order, "refund", f"订单 {order.code} 退款 {held} 分",
                [(account(session, "escrow"), -held), (account(session, "buyer", order.buyer_id), held)])


def balances(session: Session) -> list[BalanceRead]:
    rows = session.execute(select(MarketAccount.kind, MarketAccount.participant_id,
                                  func.coalesce(func.sum(MarketPosting.amount_fen), 0))
                           .outerjoin(MarketPosting, MarketPosting.account_id == MarketAccount.id)
                           .group_by(MarketAccount.id, MarketAccount.kind, MarketAccount.participant_id)
                           .order_by(MarketAccount.id)).all()
    return [BalanceRead(account=k, participant_id=p, balance_fen=int(b)) for k, p, b in rows]


def reconcile(session: Session) -> dict[str, int]:
    """The checks that must hold: every journal sums to zero, and so do all balances."""
    unbalanced = session.scalar(select(func.count()).select_from(
        select(MarketPosting.journal_id).group_by(MarketPosting.journal_id)
        .having(func.sum(MarketPosting.amount_fen) != 0).subquery()))
    total = session.scalar(select(func.coalesce(func.sum(MarketPosting.amount_fen), 0)))
    return {"unbalanced_journals": int(unbalanced or 0), "total_fen": int(total or 0)}


def journals(session: Session, order: MarketOrder) -> list[JournalRead]:
    out = []
    for j in session.scalars(select(MarketJournal).where(MarketJournal.order_id == order.id)
                             .order_by(MarketJournal.id)):
        lines = session.execute(select(MarketAccount.kind, MarketAccount.participant_id, MarketPosting.amount_fen)
                                .join(MarketAccount, MarketAccount.id == MarketPosting.account_id)
                                .where(MarketPosting.journal_id == j.id).order_by(MarketPosting.id)).all()
        out.append(JournalRead(id=j.id, kind=j.kind, memo=j.memo, created_at=j.created_at, postings=[
            PostingRead(account=k, participant_id=p, amount_fen=a) for k, p, a in lines]))
    return out
