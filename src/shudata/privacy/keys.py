"""Managed keys for pseudonyms, SM4 and date shifts: created, wrapped under the master key,
loaded by id into a key ring for one masking run (never written into SQL or output)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, NotFound
from shudata.privacy.models import PrivacyKey
from shudata.security.crypto.keys import new_data_key, unwrap_key, wrap_key

KEY_ID_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")


def master_key(settings: Settings) -> bytes:
    return bytes.fromhex(settings.master_key)


def create(session: Session, settings: Settings, key_id: str, purpose: str, created_by: str) -> PrivacyKey:
    """Generate and store a new wrapped data key."""
    if not KEY_ID_RE.match(key_id):
        raise InvalidInput("密钥编号只能包含字母、数字、下划线、连字符和点，最长 64 个字符",
                           "A key id may contain letters, digits, _ - . and at most 64 characters",
                           code="bad_key_id")
    if session.scalar(select(PrivacyKey).where(PrivacyKey.key_id == key_id)) is not None:
        raise Conflict(f"密钥编号“{key_id}”已存在", f"Key id {key_id!r} already exists", code="key_exists")
    row = PrivacyKey(key_id=key_id, purpose=purpose, created_by=created_by,
                     wrapped=wrap_key(master_key(settings), new_data_key(), key_id=key_id))
    session.add(row)
    session.flush()
    return row


def active_ids(session: Session) -> set[str]:
    return set(session.scalars(select(PrivacyKey.key_id).where(PrivacyKey.active.is_(True))))


def load(session: Session, settings: Settings, key_ids: Iterable[str]) -> dict[str, bytes]:
    """Unwrapped key material for ``key_ids``; ``NotFound`` names every missing key."""
    ids = sorted(set(key_ids))
    if not ids:
        return {}
    rows = {r.key_id: r for r in session.scalars(select(PrivacyKey).where(PrivacyKey.key_id.in_(ids)))}
    missing = [k for k in ids if k not in rows or not rows[k].active]
    if missing:
        raise NotFound(f"密钥不存在或已停用：{'、'.join(missing)}；请先用 shudata privacy key create 创建",
                       f"Keys do not exist or are disabled: {', '.join(missing)}", code="key_not_found",
                       details={"missing": missing})
    master = master_key(settings)
    return {k: unwrap_key(master, rows[k].wrapped, key_id=k) for k in ids}
