"""Who may read a resource's *data* (not its metadata, which every logged-in user sees).

Rule: only users of the provider department (its data stewards and department users)
read the raw rows. The platform admin is no exception: operating the platform does not
open every department's data, so the admin reads raw rows only when they also hold a
steward or department-user role in that same department. Everyone else (other
departments, the platform admin included) receives the data masked, through a sharing
grant (``sharing.grant.use``). Auditors read the trail, not the data. The ``system``
actor (CLI, demo loader, scheduled jobs) is the platform itself and stays allowed.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shudata.catalog.actions import DATA_READ
from shudata.catalog.models import CatalogResource
from shudata.core.errors import NotFound, PermissionDenied
from shudata.core.ids import parse_id
from shudata.core.types import Actor, ResourceRef
from shudata.security.authz import Action, allowed, require


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
    if res is None and (rid := parse_id(key)) is not None:
        res = session.get(CatalogResource, rid)
        if res is not None and res.is_deleted:
            res = None
    if res is None:
        raise NotFound(f"目录中没有资源“{key}”（可用资源代码、别名或名称）",
                       f"No catalog resource {key!r} (use its code, alias or name)", code="resource_not_found")
    return res


def can_read_data(actor: Actor, res: CatalogResource) -> bool:
    return allowed(actor, DATA_READ, resource_ref(res))


def require_read_data(actor: Actor, res: CatalogResource) -> None:
    """Raise unless ``actor`` may read the raw data of ``res``: ``Unauthenticated`` for the
    anonymous, ``PermissionDenied`` (403, audited as a denial by the web and CLI layers) for
    everyone outside the provider department, the platform admin included."""
    if can_read_data(actor, res):
        return
    if not actor.is_authenticated:
        require(actor, DATA_READ, resource_ref(res))  # raises Unauthenticated
    raise PermissionDenied(
        f"无权读取“{res.name}”（{res.code}）的原始数据：原始数据仅限提供方部门的数据管理员和部门用户直接读取，"
        "平台管理员也不例外；其他部门请通过共享申请获取脱敏数据",
        f"Not allowed to read the raw data of {res.code}: only the provider department's data stewards and "
        "department users read raw data, and the platform admin is no exception; other departments request it "
        "through sharing and receive it masked",
        details={"action": DATA_READ.name, "resource_type": "catalog.resource", "resource_id": res.code},
        code="permission_denied",
    )


def require_raw_observer(actor: Actor, res: CatalogResource, action: Action, *, what_zh: str, what_en: str,
                         code: str) -> None:
    """Raise unless ``actor`` may perform ``action`` on ``res`` *and* read its data raw.

    For results computed on the raw values (quality verdicts and counts, privacy scans and
    risk reports): whoever could read or steer them could recover a value by probing, so they
    are for the provider department's staff (architecture convention 16). ``what_zh`` and
    ``what_en`` name those results in the refusal; ``code`` is its error code.
    """
    if actor.is_authenticated and not can_read_data(actor, res):
        raise PermissionDenied(
            f"无权对“{res.name}”（{res.code}）执行“{action.zh}”：{what_zh}依据原始数据得出，"
            "仅限提供方部门的数据管理员和部门用户，平台管理员也不例外",
            f"Not allowed to {action.en} on {res.code}: {what_en} computed on the raw data and are for the "
            "provider department's staff only; the platform admin is no exception",
            code=code, details={"action": action.name, "resource_type": "catalog.resource", "resource_id": res.code})
    require(actor, action, resource_ref(res))
