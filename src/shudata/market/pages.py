"""Read-only queries behind the market's web pages (as ``portal.logic.pages`` is for the portal):
the buyer's deliveries and hosted jobs, a department seller's own catalog entries, the traces run,
and the operator's statistics. Each checks access like the services it sits beside."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.types import Actor, ResourceRef
from shudata.market import actions as A
from shudata.market.delivery.models import MarketEntitlement, MarketFileDelivery, MarketHostedJob, MarketTrace
from shudata.market.models import MarketOrder, MarketParticipant, MarketProduct
from shudata.market.participants import acting_for
from shudata.market.states import OrderStatus
from shudata.security.authz import require

SETTLED = (OrderStatus.SETTLED, OrderStatus.CLOSED)


def deliveries(*, session: Session, actor: Actor, buyer_id: int) -> list[dict[str, Any]]:
    """The entitlements of a buyer the actor acts for, newest first, with their last hosted jobs and files."""
    acting_for(session, actor, buyer_id, approved=False)
    out: list[dict[str, Any]] = []
    for ent, order, product in session.execute(
            select(MarketEntitlement, MarketOrder, MarketProduct)
            .join(MarketOrder, MarketOrder.id == MarketEntitlement.order_id)
            .join(MarketProduct, MarketProduct.id == MarketEntitlement.product_id)
            .where(MarketEntitlement.buyer_id == buyer_id).order_by(MarketEntitlement.id.desc())):
        jobs = session.scalars(select(MarketHostedJob).where(MarketHostedJob.entitlement_id == ent.id)
                               .order_by(MarketHostedJob.id.desc()).limit(10)).all()
        files = session.scalars(select(MarketFileDelivery).where(MarketFileDelivery.entitlement_id == ent.id)
                                .order_by(MarketFileDelivery.id.desc()).limit(5)).all()
        out.append({
            "id": ent.id, "order_id": order.id, "order_code": order.code, "order_status": order.status,
            "product_id": product.id, "product_code": product.code, "product_name": product.name,
            "mode": ent.delivery_mode, "expires_at": ent.expires_at, "revoked": ent.revoked_at is not None,
            "quota_calls": ent.quota_calls, "quota_rows": ent.quota_rows, "calls_used": ent.calls_used,
            "rows_used": ent.rows_used, "fingerprinted": bool(ent.fingerprint),
            "release_rules": ent.release_rules or {},
            "jobs": [{"id": j.id, "sql": j.sql, "status": j.status, "rule": j.rule, "reason": j.reason,
                      "groups": j.groups, "epsilon": j.epsilon, "at": j.created_at} for j in jobs],
            "files": [{"format": f.format, "rows": f.rows, "sha256": f.sha256, "at": f.created_at} for f in files],
        })
    return out


def entitlement_of(*, session: Session, actor: Actor, entitlement_id: int) -> dict[str, Any] | None:
    """One entitlement of the actor's buyer (``None`` when it is not theirs or does not exist)."""
    ent = session.get(MarketEntitlement, entitlement_id)
    if ent is None:
        return None
    for row in deliveries(session=session, actor=actor, buyer_id=ent.buyer_id):
        if row["id"] == ent.id:
            return row
    return None


def department_entries(*, session: Session, actor: Actor, seller_id: int) -> list[dict[str, Any]]:
    """The catalog entries a department seller may wrap into products (its own, under 授权运营)."""
    seller = acting_for(session, actor, seller_id, approved=False)
    if seller.department_id is None:
        return []
    rows = session.scalars(select(CatalogResource).where(
        CatalogResource.provider_department_id == seller.department_id).order_by(CatalogResource.code))
    return [{"code": r.code, "name": r.name, "items": [i.get("name") for i in (r.information_items or [])
                                                      if i.get("name")]} for r in rows]


def traces(*, session: Session, actor: Actor, limit: int = 20) -> list[dict[str, Any]]:
    """The latest traces run (operator)."""
    require(actor, A.ORDER_ARBITRATE, ResourceRef("market_trace", None))
    rows = session.scalars(select(MarketTrace).order_by(MarketTrace.id.desc()).limit(limit)).all()
    return [{"id": t.id, "filename": t.filename, "sha256": t.sha256, "matched": t.matched, "result": t.result,
             "by": t.created_by, "at": t.created_at} for t in rows]


def buyer_names(*, session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    """Participant names for the ids a trace or a statement mentions (oversight)."""
    require(actor, A.PARTICIPANT_VIEW_ALL)
    if not ids:
        return {}
    return {p.id: p.name for p in session.scalars(select(MarketParticipant).where(MarketParticipant.id.in_(ids)))}


def statistics(*, session: Session, actor: Actor) -> dict[str, Any]:
    """Orders by state and turnover (settled orders' prices, yuan) by month, for the operator's charts."""
    require(actor, A.ORDER_VIEW_ALL)
    by_state: Counter[str] = Counter()
    turnover: dict[str, int] = defaultdict(int)
    for status, price, updated in session.execute(
            select(MarketOrder.status, MarketOrder.price_fen, MarketOrder.updated_at)):
        by_state[str(status)] += 1
        if status in SETTLED:
            when = updated if isinstance(updated, dt.datetime) else dt.datetime.fromisoformat(str(updated))
            turnover[f"{when:%Y-%m}"] += int(price or 0)
    products = Counter(str(s) for s in session.scalars(select(MarketProduct.status)))
    participants = Counter(str(s) for s in session.scalars(select(MarketParticipant.status)))
    months = sorted(turnover)
    return {"orders_by_state": dict(by_state), "products_by_state": dict(products),
            "participants_by_state": dict(participants), "months": months,
            "turnover_yuan": [turnover[m] / 100 for m in months], "orders": sum(by_state.values())}
