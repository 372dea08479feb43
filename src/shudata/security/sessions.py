"""Browser sessions held server-side, so that they can be ended before the cookie expires.

The signed cookie carries a random session id; the store keeps its SM3 hash with the
account, an expiry and, once ended, when and why. A request's session counts only while its
row is live: logging out ends that one session; a password change or reset and disabling
the account end all of the account's sessions; a copied cookie dies with them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shudata.core.clock import ensure_aware, utcnow
from shudata.security.crypto.sm3 import sm3_hex
from shudata.security.models import WebSession

Principal = Literal["user", "developer"]
PRUNE_AFTER_DAYS = 7


def _hash(sid: str) -> str:
    return sm3_hex(sid.encode())


def start(session: Session, *, principal: Principal, principal_id: int, max_age_s: int,
          ip: str | None = None) -> str:
    """Open a session for the account; returns the id to put in the cookie. Sessions that
    expired a week ago or more are pruned on the way."""
    sid = secrets.token_urlsafe(32)
    session.execute(delete(WebSession).where(WebSession.expires_at < utcnow() - dt.timedelta(days=PRUNE_AFTER_DAYS)))
    session.add(WebSession(sid_hash=_hash(sid), principal=principal, principal_id=principal_id, ip=ip,
                           expires_at=utcnow() + dt.timedelta(seconds=max_age_s)))
    session.flush()
    return sid


def live(session: Session, *, sid: object, principal: Principal, principal_id: object) -> bool:
    """Whether ``sid`` is a live session of that account (not ended, not expired)."""
    if not isinstance(sid, str) or not sid or not isinstance(principal_id, int):
        return False
    row = session.scalar(select(WebSession).where(WebSession.sid_hash == _hash(sid)))
    return (row is not None and row.principal == principal and row.principal_id == principal_id
            and row.revoked_at is None and ensure_aware(row.expires_at) > utcnow())


def end(session: Session, *, sid: object, reason: str = "logout") -> None:
    """End one session (logging out)."""
    if isinstance(sid, str) and sid:
        session.execute(update(WebSession).where(WebSession.sid_hash == _hash(sid), WebSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow(), revoke_reason=reason))


def end_all(session: Session, *, principal: Principal, principal_id: int, reason: str,
            keep: object = None) -> int:
    """End every live session of the account but ``keep`` (the session id of the caller, when
    they stay logged in); returns how many were ended."""
    where = [WebSession.principal == principal, WebSession.principal_id == principal_id,
             WebSession.revoked_at.is_(None)]
    if isinstance(keep, str) and keep:
        where.append(WebSession.sid_hash != _hash(keep))
    result = session.execute(update(WebSession).where(*where).values(revoked_at=utcnow(), revoke_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)
