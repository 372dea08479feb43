"""Entitlements' delivery files, prepared ahead and deleted when the entitlement stops.

A buyer's online entitlement is a Delta Sharing recipient (:class:`~shudata.market.delivery.sharing.
EntitlementRecipient`); its masked file of each source version lives in ``data_dir/market/delivery/e<id>/``.
The sharing package prepares recipients' files in the background like grants' (:mod:`shudata.sharing.
prepare`): when the order starts delivering (:func:`prepare_ahead`, from ``market_order_delivering``) and
when a source of a live entitlement gets a new version (``sharing_recipients_for_resource``), so the
buyer's first read is served from a file already there. When an entitlement stops — revoked, expired,
deleted, or its order refused, terminated or refunded — ``sharing_ended_deliveries`` names its folder
and the sharing cleanup (:mod:`shudata.sharing.cleanup`) deletes it within ``sharing_cleanup_s``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.plugins import hookimpl
from shudata.core.types import Actor, ActorKind
from shudata.market.delivery.models import MarketEntitlement
from shudata.market.delivery.service import ORDER_ENDED
from shudata.market.delivery.sharing import EntitlementRecipient
from shudata.market.models import MarketOrder, MarketProductSource
from shudata.sharing.prepare import after_recipients

_FOLDER = re.compile(r"^e(\d{1,18})$")


def delivery_root(settings: Settings) -> Path:
    """The folder holding one ``e<id>`` folder per entitlement."""
    return settings.data_dir / "market" / "delivery"


def prepare_ahead(session: Session, settings: Settings, order: Any) -> None:
    """Once ``session`` commits, prepare the files of the online entitlements on the sources of
    ``order``'s product (the one ``order`` just opened among them)."""
    for rid in session.scalars(select(MarketProductSource.resource_id).where(
            MarketProductSource.product_id == order.product_id).order_by(MarketProductSource.id)):
        after_recipients(session, settings, rid)


def _live(now: Any) -> Any:
    return (MarketEntitlement.revoked_at.is_(None), MarketEntitlement.expires_at > now,
            or_(MarketOrder.status.is_(None), MarketOrder.status.not_in(list(ORDER_ENDED))))


@hookimpl
def sharing_recipients_for_resource(session: Session, settings: Settings, resource_id: int
                                    ) -> Sequence[EntitlementRecipient]:
    """The live online entitlements whose product reads ``resource_id``, as Delta Sharing recipients."""
    stmt = (select(MarketEntitlement)
            .join(MarketOrder, MarketOrder.id == MarketEntitlement.order_id, isouter=True)
            .where(MarketEntitlement.delivery_mode == "api", *_live(utcnow()),
                   MarketEntitlement.product_id.in_(select(MarketProductSource.product_id).where(
                       MarketProductSource.resource_id == resource_id)))
            .order_by(MarketEntitlement.id))
    out = []
    for ent in session.scalars(stmt):
        actor = Actor(user_id=None, username=f"market-share:{ent.id}", kind=ActorKind.TOKEN)
        out.append(EntitlementRecipient(session, settings, ent, actor))
    return out


@hookimpl
def sharing_ended_deliveries(session: Session, settings: Settings) -> Sequence[tuple[Path, Path]]:
    """``(root, folder)`` of every entitlement folder whose entitlement no longer delivers."""
    root = delivery_root(settings)
    try:
        found = {int(m.group(1)): e for e in root.iterdir()
                 if (m := _FOLDER.match(e.name)) and e.is_dir() and not e.is_symlink()}
    except OSError:
        return []
    ids = sorted(found)
    live: set[int] = set()
    now = utcnow()
    for i in range(0, len(ids), 500):
        live.update(session.scalars(
            select(MarketEntitlement.id)
            .join(MarketOrder, MarketOrder.id == MarketEntitlement.order_id, isouter=True)
            .where(MarketEntitlement.id.in_(ids[i:i + 500]), *_live(now))))
    return [(root, found[i]) for i in ids if i not in live]
