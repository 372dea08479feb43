"""The delivery package's hook implementations (registered in ``shudata.core.plugins.BUILTINS``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shudata.core.config import Settings
from shudata.core.plugins import hookimpl
from shudata.market.delivery.prepare import prepare_ahead
from shudata.market.delivery.service import open_entitlement


@hookimpl
def market_order_delivering(session: Session, settings: Settings, order: Any) -> None:
    """An order entered ``delivering`` (escrow funded): open the buyer's entitlement — the product's
    delivered fields, masking profile, the term from the contract, the seller's release rules
    (hosted) and fingerprint settings (offline files) from the product sheet; once this commits, an
    online entitlement's Delta Sharing files are prepared in the background."""
    open_entitlement(session, order)
    prepare_ahead(session, settings, order)
