"""Authorization as a vocabulary of actions, checked inside services.

Each package declares its actions in its own ``actions.py`` (as datasette's
``default_actions.py``) and services call :func:`require` first thing, so no entry
point (API, web page, CLI) can skip the check. Denials raise
:class:`~shudata.core.errors.PermissionDenied`; the web and CLI layers audit them.

>>> from shudata.core.types import Actor, Role, ResourceRef
>>> edit = Action("demo.edit", "编辑", "edit", roles=frozenset({Role.DATA_STEWARD}), scope="department")
>>> steward = Actor(user_id=1, username="s", department_id=7, roles=frozenset({Role.DATA_STEWARD}))
>>> allowed(steward, edit, ResourceRef("demo", 1, department_id=7))
True
>>> allowed(steward, edit, ResourceRef("demo", 1, department_id=8))
False
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from shudata.core.errors import PermissionDenied, Unauthenticated
from shudata.core.types import Actor, ResourceRef, Role

Scope = Literal["any", "department", "authenticated", "public"]


@dataclass(frozen=True)
class Action:
    """A permission action.

    ``roles``: roles that may perform it. ``scope``: ``department`` limits it to resources
    of the actor's own department; ``authenticated`` lets any logged-in user act;
    ``public`` lets anyone, including the anonymous public. ``admin`` says whether the
    platform admin is always allowed. ``check`` adds a custom predicate.
    """

    name: str
    zh: str
    en: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    scope: Scope = "any"
    admin: bool = True
    check: Callable[[Actor, ResourceRef | None], bool] | None = None


def allowed(actor: Actor, action: Action, resource: ResourceRef | None = None) -> bool:
    """May ``actor`` perform ``action`` on ``resource``?"""
    if action.scope == "public":
        return action.check(actor, resource) if action.check else True
    if not actor.is_authenticated:
        return False
    if actor.is_system:  # the kind, never the name: no account can become the system
        return True
    if action.admin and actor.is_admin:
        return True
    if action.scope != "authenticated" and not (actor.roles & action.roles):
        return False
    if action.scope == "department" and (
        resource is None or resource.department_id is None or resource.department_id != actor.department_id
    ):
        return False
    return action.check(actor, resource) if action.check else True


def require(actor: Actor, action: Action, resource: ResourceRef | None = None) -> None:
    """Raise unless ``allowed``; the error carries the action and resource for the audit."""
    if allowed(actor, action, resource):
        return
    details = {"action": action.name, "resource_type": resource.type if resource else None,
               "resource_id": str(resource.id) if resource and resource.id is not None else None}
    if not actor.is_authenticated:
        raise Unauthenticated("请先登录或提供有效的 API 令牌", "Log in or send a valid API token first",
                              details=details)
    raise PermissionDenied(
        f"无权执行“{action.zh}”：需要相应角色或本部门的资源",
        f"Not allowed to {action.en}: it needs the right role or a resource of your own department",
        details=details,
    )


STEWARD = frozenset({Role.DATA_STEWARD})
STAFF = frozenset({Role.DATA_STEWARD, Role.DEPT_USER})
ALL_ROLES = frozenset(Role)
