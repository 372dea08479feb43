"""Node identity, trusted peers, the message log (hash-chained) and the outbox (retries)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shudata.core.clock import utcnow
from shudata.db.base import Base


class NodeIdentity(Base):
    """This node (one row): code from the region code, SM2 key pair (private key wrapped by the master key)."""

    __tablename__ = "sharing_node_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    public_key: Mapped[str] = mapped_column(String(130))
    private_key_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TrustedPeer(Base):
    __tablename__ = "sharing_node_peer"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    base_url: Mapped[str] = mapped_column(String(300))
    public_key: Mapped[str] = mapped_column(String(130))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NodeMessage(Base):
    """Every message sent or received (accepted or refused), hash-chained with SM3 (X-Road message log idea)."""

    __tablename__ = "sharing_node_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    msg_id: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(40))
    sender: Mapped[str] = mapped_column(String(12))
    recipient: Mapped[str] = mapped_column(String(12))
    sent_at: Mapped[str] = mapped_column(String(40))
    envelope: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # accepted | refused | sent | pending | failed
    reason: Mapped[str | None] = mapped_column(Text)
    logged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxItem(Base):
    """A signed message waiting to be delivered to a peer (retried with back-off; never lost)."""

    __tablename__ = "sharing_node_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    peer_code: Mapped[str] = mapped_column(String(12), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class FederatedEntry(Base):
    """A catalog entry published by another node's sharing list (shown in this node's catalog)."""

    __tablename__ = "sharing_federated_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_code: Mapped[str] = mapped_column(String(12), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    abstract: Mapped[str] = mapped_column(Text)
    provider_name: Mapped[str] = mapped_column(String(200))
    sharing_type: Mapped[int]
    update_cycle: Mapped[str] = mapped_column(String(10))
    information_items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    synced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
