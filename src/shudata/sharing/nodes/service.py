"""Federation use cases: identity, trusted peers, signed send with an outbox, checked receive,
catalog publication (a city node publishes its sharing list to the province)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor
from shudata.security.authz import require
from shudata.security.crypto import sm2
from shudata.security.crypto.keys import unwrap_key, wrap_key
from shudata.sharing.actions import NODE_MANAGE
from shudata.sharing.models import SharingGrant, SharingRequest
from shudata.sharing.nodes import log
from shudata.sharing.nodes.envelope import make_envelope, sign_envelope, verify_envelope, within_window
from shudata.sharing.nodes.models import FederatedEntry, NodeIdentity, OutboxItem, TrustedPeer
from shudata.sharing.retry import backoff
from shudata.standards.regions import name_of


class Transport(Protocol):
    def __call__(self, url: str, payload: dict[str, Any]) -> None:
        """POST ``payload`` to ``url``; raise on any failure."""


def find_identity(session: Session) -> NodeIdentity | None:
    """This node's identity if it has been created (read only)."""
    return session.scalar(select(NodeIdentity).order_by(NodeIdentity.id).limit(1))


def identity(session: Session, settings: Settings) -> NodeIdentity:
    """This node's identity, created if missing (SM2 key pair; private key wrapped by the
    master key). The web app creates it at start-up (:func:`ensure_identity`); creation is
    idempotent under a race: a second creator's insert fails on the unique code inside a
    savepoint and it reads the winner's row instead."""
    node = find_identity(session)
    if node is not None:
        return node
    kp = sm2.generate_keypair()
    master = bytes.fromhex(settings.master_key)
    node = NodeIdentity(code=settings.node_code, name=name_of(settings.node_code) or settings.node_code,
                        public_key=kp.public_hex,
                        private_key_wrapped=wrap_key(master, bytes.fromhex(kp.private_hex), key_id="node"))
    try:
        with session.begin_nested():
            session.add(node)
            session.flush()
    except IntegrityError:  # another worker created it first
        winner = find_identity(session)
        if winner is None:
            raise
        return winner
    return node


def ensure_identity(transaction: Callable[[], Any], settings: Settings) -> str:
    """Create this node's identity unless it exists, in its own transaction; its public key.

    ``transaction`` is a context-manager factory yielding a session (``Runtime.transaction``).
    """
    with transaction() as session:
        return identity(session, settings).public_key


def private_key(node: NodeIdentity, settings: Settings) -> str:
    """This node's SM2 private key, unwrapped with the master key."""
    return unwrap_key(bytes.fromhex(settings.master_key), node.private_key_wrapped, key_id="node").hex()


def add_peer(*, session: Session, actor: Actor, code: str, name: str, base_url: str, public_key: str) -> TrustedPeer:
    require(actor, NODE_MANAGE)
    if len(public_key) != 128 or any(c not in "0123456789abcdefABCDEF" for c in public_key):
        raise InvalidInput("节点公钥应为 128 位十六进制 SM2 公钥", "The peer key must be 128 hex digits (SM2)",
                           code="invalid_peer_key")
    if session.scalar(select(TrustedPeer.id).where(TrustedPeer.code == code)) is not None:
        raise Conflict(f"节点 {code} 已登记", f"Node {code} already trusted", code="node_exists")
    peer = TrustedPeer(code=code, name=name, base_url=base_url.rstrip("/"), public_key=public_key.lower())
    session.add(peer)
    session.flush()
    record(session, actor, events.SharingNodeTrust(resource_id=code,
                                                   details={"base_url": base_url}))
    return peer


def send(*, session: Session, settings: Settings, peer_code: str, msg_type: str, body: dict[str, Any]) -> OutboxItem:
    """Sign a message for ``peer_code``, log it and queue it; ``deliver_outbox`` sends it."""
    peer = session.scalar(select(TrustedPeer).where(TrustedPeer.code == peer_code, TrustedPeer.enabled.is_(True)))
    if peer is None:
        raise NotFound(f"未登记或已停用的节点 {peer_code}", f"Unknown or disabled node {peer_code}",
                       code="node_not_found")
    node = identity(session, settings)
    env = make_envelope(msg_type, node.code, peer.code, body)
    sig = sign_envelope(env, private_key(node, settings), node.public_key)
    log.append(session, direction="out", envelope=env, signature=sig, status="pending")
    item = OutboxItem(msg_id=env["id"], peer_code=peer.code, payload={"envelope": env, "signature": sig})
    session.add(item)
    session.flush()
    return item


def deliver_outbox(*, session: Session, transport: Transport, now: dt.datetime | None = None) -> tuple[int, int]:
    """Try every due message once; failures back off exponentially and stay queued. Returns (sent, failed)."""
    now = now or utcnow()
    sent = failed = 0
    due = select(OutboxItem).where(OutboxItem.delivered_at.is_(None), OutboxItem.next_attempt_at <= now)
    for item in session.scalars(due.order_by(OutboxItem.id)):
        peer = session.scalar(select(TrustedPeer).where(TrustedPeer.code == item.peer_code))
        item.attempts += 1
        try:
            if peer is None:
                raise RuntimeError("peer no longer trusted")
            transport(f"{peer.base_url}/api/v1/federation/inbox", item.payload)
        except Exception as exc:  # network errors, peer refusals: retry later
            item.last_error = str(exc)[:500]
            item.next_attempt_at = now + backoff(item.attempts)
            failed += 1
            continue
        item.delivered_at = now
        log.append(session, direction="out", envelope=item.payload["envelope"], signature=item.payload["signature"],
                   status="sent")
        sent += 1
    return sent, failed


Handler = Callable[[Session, Settings, dict[str, Any]], dict[str, Any]]


def receive(*, session: Session, settings: Settings, envelope: dict[str, Any], signature: str,
            handlers: Mapping[str, Handler] | None = None) -> dict[str, Any]:
    """Check and apply a message from a peer. Refusals are logged, audited and raised (403/409)."""
    node = identity(session, settings)
    peer = session.scalar(select(TrustedPeer).where(TrustedPeer.code == str(envelope.get("from")),
                                                    TrustedPeer.enabled.is_(True)))
    problem: tuple[str, str] | None = None
    if peer is None:
        problem = ("发送方不是受信任的节点", "sender is not a trusted node")
    elif envelope.get("to") != node.code:
        problem = ("消息的接收方不是本节点", "message is addressed to another node")
    elif not verify_envelope(envelope, signature, peer.public_key):
        problem = ("SM2 签名验证失败（消息被伪造或篡改）", "SM2 signature invalid (forged or altered)")
    elif not within_window(str(envelope.get("ts"))):
        problem = ("消息时间戳超出重放窗口", "timestamp outside the replay window")
    elif log.seen(session, str(envelope.get("id"))):
        problem = ("重复的消息编号（重放）", "message id already received (replay)")
    if problem is not None:
        raise RefusedMessage(problem[0], problem[1], envelope=envelope, signature=signature)
    result = (handlers or HANDLERS).get(str(envelope.get("type")), _unknown)(session, settings, envelope)
    log.append(session, direction="in", envelope=envelope, signature=signature, status="accepted")
    return result


class RefusedMessage(PermissionDenied):
    """A federation message that failed a check; the caller logs it in its own transaction."""

    def __init__(self, zh: str, en: str, *, envelope: dict[str, Any], signature: str) -> None:
        super().__init__(f"节点消息被拒绝：{zh}", f"Federation message refused: {en}", code="federation_refused",
                         details={"action": "sharing.node.receive", "resource_type": "node_message",
                                  "resource_id": str(envelope.get("id", ""))[:64]})
        self.envelope, self.signature, self.reason = envelope, signature, zh


def log_refusal(session: Session, exc: RefusedMessage) -> None:
    log.append(session, direction="in", envelope=exc.envelope, signature=exc.signature, status="refused",
               reason=exc.reason)


def _unknown(session: Session, settings: Settings, envelope: dict[str, Any]) -> dict[str, Any]:
    raise InvalidInput(f"不支持的消息类型 {envelope.get('type')}", f"Unsupported message type {envelope.get('type')}",
                       code="unsupported_message")


def _catalog_publish(session: Session, settings: Settings, envelope: dict[str, Any]) -> dict[str, Any]:
    node_code = str(envelope["from"])
    entries = envelope.get("body", {}).get("entries", [])
    session.execute(delete(FederatedEntry).where(FederatedEntry.node_code == node_code))
    for e in entries:
        session.add(FederatedEntry(node_code=node_code, code=str(e["code"]), name=str(e["name"]),
                                   abstract=str(e.get("abstract", "")), provider_name=str(e.get("provider", "")),
                                   sharing_type=int(e["sharing_type"]), update_cycle=str(e.get("update_cycle", "")),
                                   information_items=list(e.get("information_items", []))))
    return {"accepted": len(entries)}


HANDLERS: dict[str, Handler] = {"catalog.publish": _catalog_publish}


def sharing_list_payload(session: Session) -> dict[str, Any]:
    """This node's sharing list (entries of type 1 and 2) as a catalog.publish body."""
    rows = session.scalars(select(CatalogResource).where(CatalogResource.is_deleted.is_(False),
                                                         CatalogResource.sharing_type.in_((1, 2)))
                           .order_by(CatalogResource.code))
    return {"entries": [{"code": r.code, "name": r.name, "abstract": r.abstract, "provider": r.provider.name,
                         "sharing_type": r.sharing_type, "update_cycle": r.update_cycle,
                         "information_items": r.information_items} for r in rows]}


def publish_catalog(*, session: Session, actor: Actor, settings: Settings, peer_code: str) -> OutboxItem:
    require(actor, NODE_MANAGE)
    item = send(session=session, settings=settings, peer_code=peer_code, msg_type="catalog.publish",
                body=sharing_list_payload(session))
    record(session, actor, events.SharingNodePublish(resource_id=peer_code,
                                                     details={"msg_id": item.msg_id}))
    return item


def federated_entries(session: Session, node_code: str | None = None) -> list[FederatedEntry]:
    stmt = select(FederatedEntry).order_by(FederatedEntry.node_code, FederatedEntry.code)
    if node_code:
        stmt = stmt.where(FederatedEntry.node_code == node_code)
    return list(session.scalars(stmt))


def handle_inbox(*, sessions: Any, settings: Settings, envelope: dict[str, Any], signature: str,
                 handlers: Mapping[str, Handler] | None = None) -> dict[str, Any]:
    """Receive in one transaction; a refusal is logged (message log) in a second one, then re-raised."""
    try:
        with sessions.begin() as session:
            return receive(session=session, settings=settings, envelope=envelope, signature=signature,
                           handlers=handlers)
    except RefusedMessage as exc:
        with sessions.begin() as session:
            log_refusal(session, exc)
        raise


def http_transport(url: str, payload: dict[str, Any]) -> None:
    """POST with httpx; any non-2xx answer is a failure to retry."""
    resp = httpx.post(url, json=payload, timeout=10)
    if resp.status_code >= 300:
        raise RuntimeError(f"peer answered {resp.status_code}: {resp.text[:200]}")


def signed_reply(session: Session, settings: Settings, to: str, msg_type: str, body: dict[str, Any]) -> dict[str, Any]:
    """A signed message for a synchronous exchange (a request or its answer), logged as sent."""
    node = identity(session, settings)
    env = make_envelope(msg_type, node.code, to, body)
    sig = sign_envelope(env, private_key(node, settings), node.public_key)
    log.append(session, direction="out", envelope=env, signature=sig, status="sent")
    return {"envelope": env, "signature": sig}


def peer(session: Session, code: str) -> TrustedPeer:
    found = session.scalar(select(TrustedPeer).where(TrustedPeer.code == code, TrustedPeer.enabled.is_(True)))
    if found is None:
        raise NotFound(f"未登记或已停用的节点 {code}", f"Unknown or disabled node {code}", code="node_not_found")
    return found


def check_reply(session: Session, reply: dict[str, Any], expected_from: str) -> dict[str, Any]:
    """Verify a signed synchronous answer from ``expected_from``; return its body."""
    env, sig = reply.get("envelope") or {}, str(reply.get("signature", ""))
    p = peer(session, expected_from)
    if env.get("from") != expected_from or not verify_envelope(env, sig, p.public_key):
        raise PermissionDenied("对方节点的应答签名无效", "The peer's answer has an invalid signature",
                               code="bad_signature")
    log.append(session, direction="in", envelope=env, signature=sig, status="accepted")
    body: dict[str, Any] = env.get("body") or {}
    return body


def notify_origin(session: Session, settings: Settings, req: SharingRequest) -> None:
    """Tell a peer node how the request it filed here was decided (queued, retried)."""
    if not req.origin_node:
        return
    grant = session.scalar(select(SharingGrant).where(SharingGrant.request_id == req.id))
    send(session=session, settings=settings, peer_code=req.origin_node, msg_type="request.decision", body={
        "local_id": req.origin_request_id, "remote_request_id": req.id, "status": req.status,
        "reason": req.decision_reason, "grant_id": grant.id if grant else None,
        "fields": grant.fields if grant else []})
