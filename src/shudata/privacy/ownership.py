"""Who may save a masking policy: the binding of a policy name to a resource, and its owner.

Delivery looks a resource's policy up by name: sharing uses ``<code with / as ->-<profile>``
(:func:`shudata.sharing.masking.policy_name`), the open portal ``<code with / as ->-open``
(:func:`shudata.portal.gate.policy_name`), both by exact equality. A name is *bound* to a
resource when, folded (NFKC, case, digits of any script, blanks, invisible and combining
characters, ``_``/``.`` as ``-``), it starts with that resource's code written that way —
so the exact name delivery uses, and every look-alike of it, belong to the resource. Such a
policy is the provider department's decision: only its data stewards save it (the platform
admin included, nobody else). A bound-looking name whose resource is not in the catalog is
refused, so nobody can save a policy ahead of the resource it would later mask; resource
codes cannot change, so a name never becomes bound after it was saved.

A policy not bound to a resource belongs to the department of the steward who created it
(only that department's stewards change it); one created by the platform admin (or the
platform itself) is platform-wide, and only the admin changes it.

>>> fold(" １０１００１-000002-Share_Conditional ")
'101001-000002-share-conditional'
>>> BOUND_RE.match(fold("101001-000002-open"))["code"]
'101001-000002'
>>> BOUND_RE.match(fold("citizens-share")) is None
True
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.access import resource_ref
from shudata.catalog.models import CatalogResource
from shudata.core.errors import InvalidInput, PermissionDenied
from shudata.core.types import Actor, ResourceRef, Role
from shudata.privacy import actions
from shudata.privacy.models import PrivacyPolicy
from shudata.privacy.profiles import PROFILES
from shudata.security.authz import Action, allowed, require
from shudata.security.models import User

# A resource code (类项目[细目]/顺序号, catalog.schemas.RESOURCE_CODE_RE) with "/" as "-", folded.
BOUND_RE = re.compile(r"^(?P<code>[1-9][0-9]{5}[0-9]{0,6}-[0-9]{1,6})(?:-|$)")
_AS_DASH = frozenset("_.")


def fold(text: str) -> str:
    """The form two names are compared in: look-alikes fold to the same string."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKC", text).casefold():
        cat = unicodedata.category(ch)
        if ch.isspace() or cat in ("Cf", "Mn", "Me", "Cc"):
            continue
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out.append(str(digit))
        elif ch in _AS_DASH or cat in ("Pc", "Pd"):
            out.append("-")
        else:
            out.append(ch)
    return "".join(out)


def code_stem(code: str) -> str:
    """A resource code as policy names write it (the form delivery looks up)."""
    return code.replace("/", "-")


def resource_policy_name(res: CatalogResource, profile: str) -> str:
    """The policy name delivery uses for ``res`` under ``profile``."""
    return f"{code_stem(res.code)}-{profile}"


@dataclass(frozen=True)
class Binding:
    """The resources a policy name is bound to (empty: not bound)."""

    name: str
    resources: tuple[CatalogResource, ...]

    @property
    def bound(self) -> bool:
        return bool(self.resources)

    def exact_profile(self) -> str | None:
        """The profile when ``name`` is exactly the name delivery uses for a bound resource."""
        for res in self.resources:
            for p in PROFILES:
                if self.name == resource_policy_name(res, p):
                    return p
        return None


def binding(session: Session, name: str) -> Binding:
    """The resources ``name`` is bound to; ``InvalidInput`` for a bound-looking name of no resource."""
    m = BOUND_RE.match(fold(name))
    if m is None:
        return Binding(name, ())
    stem = m["code"]
    ids = [rid for rid, code in session.execute(select(CatalogResource.id, CatalogResource.code))
           if fold(code_stem(code)) == stem]
    if not ids:
        raise InvalidInput(
            f"策略名称“{name}”形如资源 {stem.replace('-', '/', 1)} 的脱敏策略，但目录中没有该资源："
            "资源的脱敏策略只能在资源登记后由其提供方部门的数据管理员保存；通用策略请换一个不以资源代码开头的名称",
            f"The policy name {name!r} looks like the masking policy of resource {stem.replace('-', '/', 1)}, "
            "which is not in the catalog: a resource's policy is saved by its provider department's stewards "
            "once the resource is registered; give a general policy a name that does not start with a resource code",
            code="policy_resource_unknown", details={"name": name})
    rows = session.scalars(select(CatalogResource).where(CatalogResource.id.in_(ids)).order_by(CatalogResource.id))
    return Binding(name, tuple(rows))


def _deny_resource(actor: Actor, res: CatalogResource, name: str) -> PermissionDenied:
    return PermissionDenied(
        f"无权保存或修改脱敏策略“{name}”：它决定“{res.name}”（{res.code}）交付给其他部门和开放门户时的脱敏方式，"
        "只能由该资源提供方部门的数据管理员管理，其他部门和平台管理员都不可以",
        f"Not allowed to save or change the masking policy {name!r}: it decides how {res.code} is masked for other "
        "departments and the open portal, and only the data stewards of its provider department manage it — "
        "not other departments, not the platform admin",
        code="policy_not_owner",
        details={"action": actions.POLICY_MANAGE_DEPT.name, "resource_type": "catalog.resource",
                 "resource_id": res.code, "policy": name})


def _deny_owned(name: str, action: Action, department_id: int | None) -> PermissionDenied:
    whose = ("平台管理员", "the platform admin") if department_id is None else ("创建它的部门的数据管理员",
                                                                             "the data stewards of the department "
                                                                             "that created it")
    return PermissionDenied(f"无权修改脱敏策略“{name}”：只有{whose[0]}可以修改它",
                            f"Not allowed to change the masking policy {name!r}: only {whose[1]} may change it",
                            code="policy_not_owner",
                            details={"action": action.name, "resource_type": "privacy.policy", "resource_id": name})


def require_resource_policy(actor: Actor, bound: Binding) -> None:
    """Raise unless ``actor`` is a data steward of every bound resource's provider department."""
    for res in bound.resources:
        if actor.is_authenticated and not allowed(actor, actions.POLICY_MANAGE_DEPT, resource_ref(res)):
            raise _deny_resource(actor, res, bound.name)
        require(actor, actions.POLICY_MANAGE_DEPT, resource_ref(res))


def owner_department(session: Session, row: PrivacyPolicy) -> int | None:
    """The department owning an unbound policy: its creator's, when a data steward created it.

    ``None`` (platform-wide) for the platform admin's and the platform's own (CLI, jobs: saved
    as ``system``, which a user of that name does not inherit).
    """
    if row.created_by == Actor.system().username:
        return None
    user = session.scalar(select(User).where(User.username == row.created_by))
    if user is None or Role.DATA_STEWARD.value not in (user.roles or []):
        return None
    return user.department_id


def require_owned_policy(session: Session, actor: Actor, row: PrivacyPolicy) -> None:
    """Raise unless ``actor`` may change the existing unbound policy ``row``."""
    dept = owner_department(session, row)
    if dept is None:
        action, ref = actions.POLICY_MANAGE_PLATFORM, None
    else:
        action, ref = actions.POLICY_MANAGE_DEPT, ResourceRef("privacy.policy", row.name, department_id=dept)
    if actor.is_authenticated and not allowed(actor, action, ref):
        raise _deny_owned(row.name, action, dept)
    require(actor, action, ref)
