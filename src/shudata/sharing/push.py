"""Push subscriptions: on each new version of a granted entry, call the consumer's webhook.

The payload names the entry, version, grant and masked row count and where to pull the
masked rows; it is signed with this node's SM2 key (``X-Shudata-Signature``), so the
consumer can check it came from the platform (``shudata sharing verify-push``). New
versions are found by comparing each subscription's last pushed version with the lake,
so ingest needs no knowledge of subscribers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound
from shudata.core.types import Actor
from shudata.lake.service import latest_version, list_versions
from shudata.security.crypto import sm2
from shudata.sharing import actions as A
from shudata.sharing.grants import require_grant
from shudata.sharing.models import PushDelivery, SharingGrant, SharingNotification, SharingSubscription
from shudata.sharing.nodes.service import identity, private_key
from shudata.sharing.retry import backoff
from shudata.sharing.workflow import PUSHES, PushEvent, PushStatus

Transport = Callable[[str, bytes, dict[str, str]], None]


def subscribe(*, session: Session, actor: Actor, grant_id: int, url: str) -> SharingSubscription:
    """A consumer registers a webhook for one of its department's grants."""
    grant = session.get(SharingGrant, grant_id)
    if grant is None:
        raise NotFound(f"授权 {grant_id} 不存在", f"Grant {grant_id} not found", code="grant_not_found")
    require_grant(actor, A.GRANT_SUBSCRIBE, grant)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput("推送地址须为 http(s) URL", "The webhook must be an http(s) URL", code="bad_webhook_url")
    current = latest_version(session, grant.resource_id)
    sub = SharingSubscription(grant_id=grant.id, url=url, created_by=actor.username,
                              last_version=current.version if current else 0)
    session.add(sub)
    session.flush()
    record(session, actor, events.SharingSubscriptionCreate(resource_id=str(grant.id), details={"url": url}))
    return sub


def canonical_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def enqueue_new_versions(*, session: Session, settings: Settings) -> int:
    """Queue one signed push per new version for every active subscription with a usable grant."""
    node = identity(session, settings)
    key = private_key(node, settings)
    now, queued = utcnow(), 0
    for sub in session.scalars(select(SharingSubscription).where(SharingSubscription.active.is_(True))):
        grant = session.get(SharingGrant, sub.grant_id)
        if grant is None or grant.revoked_at is not None or grant.expires_at <= now:
            continue
        res = session.get(CatalogResource, grant.resource_id)
        for v in list_versions(session, grant.resource_id):
            if v.version <= sub.last_version or res is None:
                continue
            payload = {"node": node.code, "resource": res.code, "name": res.name, "version": v.version,
                       "grant": grant.id, "fields": grant.fields, "ts": now.isoformat(timespec="seconds"),
                       "pull": f"/api/v1/shared/rows?resource={res.code}&version={v.version}"}
            body = canonical_payload(payload)
            session.add(PushDelivery(subscription_id=sub.id, version=v.version, payload=body.decode(),
                                     signature=sm2.sign(key, node.public_key, body)))
            sub.last_version = v.version
            queued += 1
    session.flush()
    return queued


def deliver_pushes(*, session: Session, transport: Transport, now: dt.datetime | None = None) -> tuple[int, int]:
    """Send due pushes; failures back off exponentially and stay queued. Returns (delivered, failed)."""
    now = now or utcnow()
    delivered = failed = 0
    due = select(PushDelivery).where(PushDelivery.status == PushStatus.PENDING, PushDelivery.next_attempt_at <= now)
    for push in session.scalars(due.order_by(PushDelivery.id)):
        sub = session.get(SharingSubscription, push.subscription_id)
        if sub is None:
            continue
        push.attempts += 1
        try:
            transport(sub.url, push.payload.encode(), {"Content-Type": "application/json; charset=utf-8",
                                                       "X-Shudata-Signature": push.signature,
                                                       "X-Shudata-Version": str(push.version)})
        except Exception as exc:  # the consumer is down or refused: retry later
            push.last_error = str(exc)[:500]
            push.next_attempt_at = now + backoff(push.attempts)
            failed += 1
            continue
        push.status, push.delivered_at = PUSHES.next(push.status, PushEvent.DELIVER), now
        delivered += 1
    return delivered, failed


def verify_push(payload: bytes, signature: str, public_key: str) -> bool:
    """Check a received push (what a consumer runs)."""
    return sm2.verify(public_key, payload, signature)


def http_transport(url: str, body: bytes, headers: dict[str, str]) -> None:
    resp = httpx.post(url, content=body, headers=headers, timeout=10)
    if resp.status_code >= 300:
        raise RuntimeError(f"webhook answered {resp.status_code}")


def deliver_notifications(*, session: Session, settings: Settings, transport: Transport,
                          now: dt.datetime | None = None) -> tuple[int, int]:
    """Send workflow notifications to ``settings.sharing_webhook_url`` (when set), signed like pushes,
    retried with back-off. Returns (sent, failed)."""
    if not settings.sharing_webhook_url:
        return 0, 0
    now = now or utcnow()
    node = identity(session, settings)
    key = private_key(node, settings)
    sent = failed = 0
    due = select(SharingNotification).where(SharingNotification.webhook_sent_at.is_(None),
                                            SharingNotification.webhook_next_at <= now)
    for n in session.scalars(due.order_by(SharingNotification.id).limit(500)):
        body = canonical_payload({"node": node.code, "id": n.id, "kind": n.kind, "message": n.message,
                                  "request_id": n.request_id, "department_id": n.department_id,
                                  "username": n.username, "created_at": n.created_at.isoformat(timespec="seconds")})
        n.webhook_attempts += 1
        try:
            transport(settings.sharing_webhook_url, body, {"Content-Type": "application/json; charset=utf-8",
                                                           "X-Shudata-Signature": sm2.sign(key, node.public_key, body)})
        except Exception:  # the receiver is down: retry later
            n.webhook_next_at = now + backoff(n.webhook_attempts)
            failed += 1
            continue
        n.webhook_sent_at = now
        sent += 1
    return sent, failed
