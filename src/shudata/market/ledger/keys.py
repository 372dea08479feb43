"""The exchange's own SM2 key (``market_signing_key`` with no participant, made by
:func:`shudata.market.participants.ensure_signing_key`): it signs the ledger's checkpoints and the
rights certificates, as it signs contracts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.core.config import Settings
from shudata.market.models import MarketSigningKey
from shudata.market.participants import ensure_signing_key, private_key


def exchange_public_key(session: Session) -> str | None:
    key = session.scalar(select(MarketSigningKey).where(MarketSigningKey.participant_id.is_(None))
                         .order_by(MarketSigningKey.id).limit(1))
    return key.public_key if key is not None else None


def exchange_key(session: Session, settings: Settings, *, create: bool = True) -> tuple[str, str]:
    """``(public_hex, private_hex)`` of the exchange. With ``create=False`` only the public key is
    read (``private_hex`` empty), and a missing key gives ``("", "")``: nothing was signed with it."""
    if not create:
        return exchange_public_key(session) or "", ""
    key = ensure_signing_key(session, settings, None)
    return key.public_key, private_key(key, settings)
