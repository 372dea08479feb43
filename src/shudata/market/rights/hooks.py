"""Rights' ``market_event`` implementation: a purchase of 数据加工使用权 gives the buyer a licence
when its delivery starts, and the licence ends if the order is refunded or terminated."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.core.plugins import hookimpl
from shudata.core.types import Actor
from shudata.market.models import MarketOrder
from shudata.market.rights.service import end_licence_for_order, licence_for_order

STARTS = frozenset({"order.deliver"})
ENDS = frozenset({"order.refund", "order.terminate"})


@hookimpl
def market_event(session: Session, event: Any) -> None:
    if event.kind not in STARTS | ENDS:
        return
    kind, _, code = str(event.subject).partition(":")
    if kind != "order":
        return
    order = session.scalar(select(MarketOrder).where(MarketOrder.code == code))
    if order is None and code.isdigit():
        order = session.get(MarketOrder, int(code))
    if order is None:
        return
    if event.kind in STARTS:
        licence_for_order(session, Actor.system(), order)
    else:
        end_licence_for_order(session, order)
