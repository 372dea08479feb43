"""A sharing grant as the target of ``grant``-scoped actions (``sharing.grant.use``,
``sharing.grant.subscribe``): its consumer department and its state; the consumer's usable
grant (:func:`active_grant`) and a department's grants (:func:`grants_of_department`), which
delivery and the Delta Sharing server read without importing the request workflow.

>>> import datetime as dt
>>> g = SharingGrant(id=4, consumer_department_id=2, revoked_at=None,
...                  expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
>>> grant_ref(g, department_id=2)
ResourceRef(type='sharing_grant', id=4, department_id=2, owner=None, grant='expired')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.core.clock import utcnow
from shudata.core.errors import PermissionDenied
from shudata.core.types import Actor, GrantState, ResourceRef
from shudata.security.authz import Action, allowed, require
from shudata.sharing import actions as A
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


def active_grant(*, session: Session, actor: Actor, resource: CatalogResource) -> SharingGrant:
    """The consumer's usable grant for ``resource``; 403 when none, expired or revoked."""
    now = utcnow()
    grants = list(session.scalars(select(SharingGrant).where(
        SharingGrant.resource_id == resource.id, SharingGrant.consumer_department_id == actor.department_id)
        .order_by(SharingGrant.id.desc())))
    usable = next((g for g in grants if grant_state(g, now) == "active"), None)
    target = grant_ref(usable or (grants[0] if grants else None), department_id=actor.department_id, now=now)
    if usable is not None and allowed(actor, A.GRANT_USE, target):
        return usable
    if not allowed(actor, A.GRANT_USE, replace(target, grant="active")):
        require(actor, A.GRANT_USE, target)  # the role or the department is missing: the plain refusal
    reason = "没有授权" if not grants else ("授权已撤销" if grants[0].revoked_at else "授权已过期")
    raise PermissionDenied(f"无法获取“{resource.name}”：{reason}，请先提交共享申请",
                           f"No usable grant for {resource.code} ({'none' if not grants else 'revoked or expired'})",
                           details={"action": A.GRANT_USE.name, "resource_type": "catalog.resource",
                                    "resource_id": resource.code}, code="permission_denied")


def grants_of_department(*, session: Session, actor: Actor, department_id: int | None = None
                         ) -> list[SharingGrant]:
    """The usable (neither revoked nor expired) grants of ``department_id`` — by default the
    actor's own department — for its staff and auditors (the platform admin: any department)."""
    department_id = actor.department_id if department_id is None else department_id
    require(actor, A.GRANT_LIST, ResourceRef("department", department_id, department_id=department_id))
    now = utcnow()
    return list(session.scalars(select(SharingGrant).where(
        SharingGrant.consumer_department_id == department_id, SharingGrant.revoked_at.is_(None),
        SharingGrant.expires_at > now).order_by(SharingGrant.id)))
