"""The ledger's ``market_event`` implementation: every market event is put on record."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shudata.core.plugins import hookimpl
from shudata.market.ledger.service import LedgerEvent, append


def ledger_event(event: Any) -> LedgerEvent:
    """A :class:`shudata.market.events.MarketEvent` (``subject`` ``type:id``) as a ledger entry."""
    subject_type, _, subject_id = str(event.subject).partition(":")
    payload = dict(event.data)
    if event.at is not None:
        payload["at"] = event.at.isoformat()
    return LedgerEvent(kind=f"market.{event.kind}", subject_type=subject_type, subject_id=subject_id or subject_type,
                       actor=event.actor, payload=payload)


@hookimpl
def market_event(session: Session, event: Any) -> None:
    append(session, ledger_event(event))
