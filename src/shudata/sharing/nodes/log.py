"""The node message log: every message in or out, chained with SM3 like the audit trail."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.security.crypto.sm3 import sm3_hex
from shudata.sharing.nodes.models import NodeMessage

GENESIS = "0" * 64


def _payload(m: NodeMessage) -> bytes:
    fields = {"seq": m.seq, "direction": m.direction, "msg_id": m.msg_id, "msg_type": m.msg_type,
              "sender": m.sender, "recipient": m.recipient, "sent_at": m.sent_at, "envelope": m.envelope,
              "signature": m.signature, "status": m.status, "reason": m.reason}
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def append(session: Session, *, direction: str, envelope: dict[str, Any], signature: str, status: str,
           reason: str | None = None) -> NodeMessage:
    """Append one record; the chain is serialised by the unique ``seq``."""
    last = session.scalars(select(NodeMessage).order_by(NodeMessage.seq.desc()).limit(1).with_for_update()).first()
    prev_hash, seq = (last.hash, last.seq + 1) if last else (GENESIS, 1)
    msg = NodeMessage(seq=seq, direction=direction, msg_id=str(envelope.get("id", ""))[:64],
                      msg_type=str(envelope.get("type", ""))[:40], sender=str(envelope.get("from", ""))[:12],
                      recipient=str(envelope.get("to", ""))[:12], sent_at=str(envelope.get("ts", ""))[:40],
                      envelope=json.dumps(envelope, ensure_ascii=False, sort_keys=True)[:1_000_000],
                      signature=signature[:200], status=status, reason=reason, prev_hash=prev_hash, hash="")
    msg.hash = sm3_hex(prev_hash.encode() + _payload(msg))
    session.add(msg)
    session.flush()
    return msg


def verify(session: Session) -> list[str]:
    """Problems in the message log chain (empty when intact)."""
    problems: list[str] = []
    prev_hash, prev_seq = GENESIS, 0
    for m in session.scalars(select(NodeMessage).order_by(NodeMessage.id)):
        if m.seq != prev_seq + 1:
            problems.append(f"消息日志序号 {m.seq} 不连续（应为 {prev_seq + 1}）/ message log gap or reorder")
        if m.prev_hash != prev_hash or sm3_hex(m.prev_hash.encode() + _payload(m)) != m.hash:
            problems.append(f"消息日志记录 {m.seq} 被修改或链接断开 / message {m.seq} altered")
        prev_hash, prev_seq = m.hash, m.seq
    return problems


def seen(session: Session, msg_id: str) -> bool:
    stmt = select(func.count()).select_from(NodeMessage).where(
        NodeMessage.msg_id == msg_id, NodeMessage.direction == "in", NodeMessage.status == "accepted")
    return bool(session.scalar(stmt))
