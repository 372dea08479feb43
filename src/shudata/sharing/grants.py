"""A sharing grant as the target of ``grant``-scoped actions (``sharing.grant.use``,
``sharing.grant.subscribe``): its consumer department and its state.

>>> import datetime as dt
>>> g = SharingGrant(id=4, consumer_department_id=2, revoked_at=None,
...                  expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
>>> grant_ref(g, department_id=2)
ResourceRef(type='sharing_grant', id=4, department_id=2, owner=None, grant='expired')
"""

from __future__ import annotations

import datetime as dt

from shudata.core.clock import utcnow
from shudata.core.types import Actor, GrantState, ResourceRef
from shudata.security.authz import Action, require
from shudata.sharing.models import SharingGrant


def grant_state(grant: SharingGrant, now: dt.datetime | None = None) -> GrantState:
    """``revoked``, ``expired`` (past ``expires_at``) or ``active``."""
    if grant.revoked_at is not None:
        return "revoked"
    return "expired" if grant.expires_at <= (now or utcnow()) else "active"


def grant_ref(grant: SharingGrant | None, *, department_id: int | None,
              now: dt.datetime | None = None) -> ResourceRef:
    """The target of a ``grant``-scoped action: the grant, its consumer department and state
    (no grant: the department that would hold it, and no state)."""
    if grant is None:
        return ResourceRef("sharing_grant", None, department_id=department_id)
    return ResourceRef("sharing_grant", grant.id, department_id=grant.consumer_department_id,
                       grant=grant_state(grant, now))


def require_grant(actor: Actor, action: Action, grant: SharingGrant) -> None:
    """Raise unless ``actor`` may take the ``grant``-scoped ``action`` through ``grant``."""
    require(actor, action, grant_ref(grant, department_id=grant.consumer_department_id))
