"""Who may read a resource's *data* (not its metadata, which every logged-in user sees).

Foundation rule: users of the provider department (stewards and department users) and
the platform admin. Other departments read only through a sharing grant (the sharing
package adds ``GrantResolver`` hooks here). Auditors read the trail, not the data.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shudata.catalog.actions import DATA_READ
from shudata.catalog.models import CatalogResource
from shudata.core.errors import NotFound
from shudata.core.types import Actor, ResourceRef
from shudata.security.authz import allowed, require


def resource_ref(res: CatalogResource) -> ResourceRef:
    return ResourceRef("catalog.resource", res.code, department_id=res.provider_department_id)


def find_resource(session: Session, code_or_alias: str) -> CatalogResource:
    """An entry by resource code, alias, exact name or numeric id; ``NotFound`` otherwise."""
    key = code_or_alias.strip()
    stmt = select(CatalogResource).where(
        CatalogResource.is_deleted.is_(False),
        or_(CatalogResource.code == key, CatalogResource.alias == key, CatalogResource.name == key),
    )
    res = session.scalars(stmt).first()
    if res is None and key.isdigit():
        res = session.get(CatalogResource, int(key))
        if res is not None and res.is_deleted:
            res = None
    if res is None:
        raise NotFound(f"目录中没有资源“{key}”（可用资源代码、别名或名称）",
                       f"No catalog resource {key!r} (use its code, alias or name)", code="resource_not_found")
    return res


def can_read_data(actor: Actor, res: CatalogResource) -> bool:
    return allowed(actor, DATA_READ, resource_ref(res))


def require_read_data(actor: Actor, res: CatalogResource) -> None:
    require(actor, DATA_READ, resource_ref(res))
