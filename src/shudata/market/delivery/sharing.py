"""Online delivery over Delta Sharing (在线交付 · Delta Sharing): a buyer's entitlement as a share.

A purchase whose delivery mode is online (``api``) opens an entitlement; its Delta Sharing profile
(endpoint and bearer token, :func:`profile_for`) opens one share, ``market_<entitlement id>``, whose
tables are exactly the product's sources (one table per catalog entry, named as grants' tables
are). Each table is the entitlement's delivered view — its fields and row filter, masked with its
profile (:func:`~shudata.market.delivery.service.entitled_view`, the sharing subsystem's masking) —
and the Delta Sharing server answers it through the same code as grants:
:class:`EntitlementRecipient` implements :class:`shudata.sharing.delta_sharing.server.Recipient`,
so the sharing layer never imports the market.

The token (``sdm_<id>_<mac>``) is an HMAC-SM3 of the entitlement under the platform's secret:
nothing is stored, it cannot be forged, and it stops working the moment the entitlement does —
expired, revoked, the order refunded or terminated, the buyer suspended. Every table read counts
one call and the rows served against the entitlement (429 past its quota, before any file URL is
given) and is appended to the market ledger (``delivery.sharing``); signed file URLs re-check the
entitlement on every fetch. Table versions are the source's lake versions: a product that follows
its source (no pinned version) gets every new version as a new table version while the entitlement
lasts; a pinned source offers its one version.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from shudata.core.types import Actor, ActorKind
from shudata.lake.service import latest_version
from shudata.market.delivery.models import MarketEntitlement
from shudata.market.delivery.service import (
    ORDER_ENDED,
    EntitledView,
    charge,
    check_quota,
    entitled_view,
    usable_entitlement,
)
from shudata.market.events import MarketEvent, emit
from shudata.market.models import MarketOrder, MarketParticipant, MarketProductSource
from shudata.market.states import ParticipantStatus
from shudata.security.crypto.sm3 import constant_time_equal, hmac_sm3_hex
from shudata.sharing.delta_sharing import versions
from shudata.sharing.delta_sharing.server import Served, SharedTable, profile, table_name

TOKEN_PREFIX = "sdm_"
SCOPE = "m"  # the signed file URLs of entitlements (grants' are "g")
_TOKEN = re.compile(r"^sdm_(\d{1,18})_([0-9a-f]{48})$")


def share_name(ent: MarketEntitlement) -> str:
    return f"market_{ent.id}"


def _mac(settings: Settings, ent: MarketEntitlement, order_code: str) -> str:
    message = f"shudata-market-share|{ent.id}|{ent.order_id}|{ent.buyer_id}|{order_code}"
    return hmac_sm3_hex(settings.secret_key.encode(), message.encode())[:48]


def share_token(session: Session, settings: Settings, ent: MarketEntitlement) -> str:
    """The entitlement's bearer token (deterministic: downloading the profile again gives the same one)."""
    return f"{TOKEN_PREFIX}{ent.id}_{_mac(settings, ent, _order(session, ent).code)}"


def is_share_token(token: str | None) -> bool:
    return bool(token) and str(token).startswith(TOKEN_PREFIX)


def _order(session: Session, ent: MarketEntitlement) -> MarketOrder:
    order = session.get(MarketOrder, ent.order_id)
    if order is None:
        raise NotFound("交付授权的订单不存在", "The entitlement's order is missing", code="order_not_found")
    return order


def _about(ent: MarketEntitlement) -> dict[str, str]:
    """The details of a refusal: the action and the entitlement (the audit trail's target)."""
    return {"action": "market.delivery.sharing", "resource_type": "market_entitlement", "resource_id": str(ent.id)}


def check_usable(session: Session, ent: MarketEntitlement) -> MarketOrder:
    """403 unless the entitlement still delivers: not revoked or expired, its order neither refused,
    terminated nor refunded, its buyer approved."""
    if ent.revoked_at is not None:
        raise PermissionDenied("交付授权已撤销，不能再获取数据", "The entitlement is revoked",
                               code="entitlement_revoked", details=_about(ent))
    if ent.expires_at <= utcnow():
        raise PermissionDenied(f"交付授权已于 {ent.expires_at:%Y-%m-%d} 到期，不能再获取数据",
                               "The entitlement has expired", code="entitlement_expired", details=_about(ent))
    order = _order(session, ent)
    if order.status in ORDER_ENDED:
        raise PermissionDenied(f"订单 {order.code} 已{ORDER_ENDED[order.status]}，不能再获取数据",
                               f"Order {order.code} is {order.status}: nothing is delivered",
                               code="order_not_delivering", details=_about(ent))
    buyer = session.get(MarketParticipant, ent.buyer_id)
    if buyer is None or buyer.status != ParticipantStatus.APPROVED:
        raise PermissionDenied("买方交易主体未获批准或已被暂停、撤销，不能获取数据",
                               "The buyer is not an approved participant", code="participant_not_approved",
                               details=_about(ent))
    return order


def recipient(session: Session, settings: Settings, token: str, *, ip: str | None = None
              ) -> EntitlementRecipient:
    """The recipient a share token stands for (401 for a token that is not one)."""
    found = _TOKEN.match(token)
    ent = session.get(MarketEntitlement, int(found.group(1))) if found else None
    if found is None or ent is None or ent.order_id is None or not constant_time_equal(
            found.group(2), _mac(settings, ent, _order(session, ent).code)):
        raise Unauthenticated("Delta Sharing 令牌无效：请从买方中心重新下载配置文件",
                              "Invalid Delta Sharing token: download the profile again from the buyer centre",
                              code="invalid_token")
    # Not an account: the audit trail names the entitlement; ``is_authenticated`` stays false, so no
    # permission of a platform role is ever derived from it.
    actor = Actor(user_id=None, username=f"market-share:{ent.id}", ip=ip, kind=ActorKind.TOKEN)
    return EntitlementRecipient(session, settings, ent, actor)


class EntitlementRecipient:
    """A buyer's entitlement through its share token: one share, the product's sources as its tables."""

    def __init__(self, session: Session, settings: Settings, ent: MarketEntitlement, actor: Actor) -> None:
        self.session, self.settings, self.ent, self.actor = session, settings, ent, actor

    def shares(self) -> list[dict[str, str]]:
        check_usable(self.session, self.ent)
        name = share_name(self.ent)
        return [{"name": name, "id": name}]

    def tables(self, share: str) -> list[SharedTable]:
        check_usable(self.session, self.ent)
        if share.lower() != share_name(self.ent):
            raise PermissionDenied(f"无权访问共享 {share}：该令牌只能访问本订单的共享 {share_name(self.ent)}",
                                   f"Share {share} is not this token's share", code="permission_denied",
                                   details={"action": "market.delivery.sharing", "resource_type": "share",
                                            "resource_id": share})
        out = []
        for src in self.session.scalars(select(MarketProductSource).where(
                MarketProductSource.product_id == self.ent.product_id).order_by(MarketProductSource.id)):
            res = self.session.get(CatalogResource, src.resource_id)
            if res is not None and not res.is_deleted and latest_version(self.session, res.id) is not None:
                out.append(SharedTable(table_name(res), res, f"m{self.ent.id}-{res.id}", src))
        return out

    @staticmethod
    def _source(t: SharedTable) -> MarketProductSource:
        if not isinstance(t.terms, MarketProductSource):
            raise TypeError("not a product source's table")
        return t.terms

    def snapshot(self, t: SharedTable, *, version: object, timestamp: object) -> int | None:
        number = versions.snapshot_version(self.session, t.resource.id, version=version, timestamp=timestamp)
        pinned = self._source(t).version
        if pinned is not None and number is not None and number != pinned:
            raise NotFound(f"该数据产品只交付版本 {pinned}，没有版本 {number}",
                           f"The product delivers version {pinned} only", code="version_not_found",
                           details={"first": pinned, "latest": pinned})
        return number

    def current_version(self, t: SharedTable, starting_timestamp: str | None = None) -> int:
        check_usable(self.session, self.ent)
        pinned = self._source(t).version
        if pinned is not None:
            return pinned
        if starting_timestamp is not None:
            return versions.first_version_at_or_after(self.session, t.resource.id, starting_timestamp)
        found = latest_version(self.session, t.resource.id)
        if found is None:
            raise NotFound("该数据产品还没有数据版本", "The product has no version yet", code="version_not_found")
        return found.version

    def serve(self, t: SharedTable, version: int | None) -> Served:
        check_usable(self.session, self.ent)
        if self.ent.delivery_mode != "api":
            raise PermissionDenied("该交付授权不是在线交付（API / Delta Sharing）", "Not an online delivery",
                                   code="permission_denied", details=_about(self.ent))
        try:
            view = entitled_view(self.session, self.settings, self.ent, source=self._source(t), number=version)
        except InvalidInput as exc:  # none of the bought fields in this version: nothing of it is theirs
            raise PermissionDenied(exc.zh, exc.en, code="no_granted_fields", details=_about(self.ent)) from None
        return Served(path=view.path, version=view.version, scope=SCOPE, key=self.ent.id, context=view)

    def admit(self, served: Served, rows: int) -> None:
        check_quota(self.ent, rows=rows)

    def delivered(self, served: Served, t: SharedTable, *, rows: int, channel: str) -> None:
        view: EntitledView = served.context
        charge(self.ent, rows=rows)
        emit(self.session, MarketEvent(kind="delivery.sharing", subject=f"entitlement:{self.ent.id}",
                                       actor=self.actor.username, data={
                                           "product_id": self.ent.product_id, "table": t.name,
                                           "resource": view.resource.code, "version": view.version.version,
                                           "rows": rows, "channel": channel}))
        self.session.flush()


def file_path(session: Session, settings: Settings, payload: dict[str, Any]) -> Path:
    """The file behind an entitlement's signed URL; the entitlement must still deliver at fetch time."""
    ent = session.get(MarketEntitlement, int(payload["g"]))
    if ent is None:
        raise PermissionDenied("交付授权不存在，文件不可下载", "No such entitlement", code="permission_denied")
    check_usable(session, ent)
    path = settings.data_dir / "market" / "delivery" / f"e{ent.id}" / str(payload["p"])
    if not path.is_file():
        raise NotFound("文件已不存在，请重新查询表", "File no longer exists; query the table again", code="file_gone")
    return path


def profile_for(*, session: Session, settings: Settings, actor: Actor, entitlement_id: int,
                base_url: str) -> tuple[str, dict[str, Any]]:
    """The buyer's Delta Sharing profile of an online entitlement (file name and body): the endpoint,
    the share token and its expiry (the entitlement's). Only someone acting for the buyer gets it;
    every download is appended to the ledger."""
    ent = usable_entitlement(session, actor, entitlement_id)
    check_usable(session, ent)
    if ent.delivery_mode != "api":
        raise InvalidInput("该交付授权不是在线交付（API / Delta Sharing），没有 Delta Sharing 配置文件",
                           "This entitlement is not an online delivery: it has no Delta Sharing profile",
                           code="not_api_delivery")
    order = _order(session, ent)
    body = profile(f"{base_url.rstrip('/')}/delta-sharing", share_token(session, settings, ent), ent.expires_at)
    emit(session, MarketEvent(kind="delivery.sharing.profile", subject=f"order:{order.code}",
                              actor=actor.username, data={"entitlement": ent.id, "share": share_name(ent)}))
    session.flush()
    return f"shudata-{order.code}.share", body
