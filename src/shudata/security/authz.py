"""Authorization as a vocabulary of actions, checked inside services.

Each package declares its actions in its own ``actions.py`` (as datasette's
``default_actions.py``); :mod:`shudata.permissions` gathers them, in one explicit list, into
the :class:`ActionRegistry` that the permission matrix test and ``docs/permissions.md`` are
generated from. Services call :func:`require` first thing, so no entry point (API, web page,
CLI) can skip the check. Denials raise :class:`~shudata.core.errors.PermissionDenied`
(:class:`~shudata.core.errors.Unauthenticated` for the anonymous); the web and CLI layers
audit them.

An action's **scope** says what its target must be, beside the roles:

- ``platform``: nothing more — a role the action lists is enough;
- ``department``: the target belongs to the actor's own department;
- ``resource``: the actor owns the target (``ResourceRef.owner`` is their user name); with
  no ``roles`` listed, any logged-in owner may act;
- ``grant``: the target is reached through a sharing grant of the actor's department that
  is neither revoked nor expired (``ResourceRef.grant == "active"``);
- ``authenticated``: any logged-in principal, whatever its roles;
- ``public``: anyone, the anonymous public included.

The ``system`` actor (CLI, jobs) passes every check of a non-public action; the platform
admin passes those whose ``admin`` is true. ``check`` adds a predicate on top.

>>> from shudata.core.types import Actor, Role, ResourceRef
>>> edit = Action("demo.edit", "编辑", "edit", roles=frozenset({Role.DATA_STEWARD}), scope="department")
>>> steward = Actor(user_id=1, username="s", department_id=7, roles=frozenset({Role.DATA_STEWARD}))
>>> allowed(steward, edit, ResourceRef("demo", 1, department_id=7))
True
>>> allowed(steward, edit, ResourceRef("demo", 1, department_id=8))
False
>>> use = Action("demo.use", "使用", "use", roles=frozenset({Role.DATA_STEWARD}), scope="grant")
>>> allowed(steward, use, ResourceRef("grant", 3, department_id=7, grant="active"))
True
>>> allowed(steward, use, ResourceRef("grant", 3, department_id=7, grant="revoked"))
False
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, get_args

from shudata.core.errors import PermissionDenied, Unauthenticated
from shudata.core.types import Actor, ResourceRef, Role

Scope = Literal["platform", "department", "resource", "grant", "authenticated", "public"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
SCOPE_LABELS: dict[Scope, tuple[str, str]] = {
    "platform": ("全平台：具备所列角色即可", "platform-wide: a listed role is enough"),
    "department": ("本部门：对象须属于操作者所在部门", "department: the target belongs to the actor's own department"),
    "resource": ("本人：对象须为操作者本人所有", "resource: the actor owns the target"),
    "grant": ("授权：须经本部门未撤销、未过期的共享授权",
              "grant: through a grant of the actor's department that is neither revoked nor expired"),
    "authenticated": ("任何登录者，不论角色", "any logged-in principal, whatever its roles"),
    "public": ("任何人，包括匿名公众", "anyone, the anonymous public included"),
}
_NEEDS_ROLES = ("platform", "department", "grant")
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class Action:
    """A permission action.

    ``name``: dotted, stable (it is written into the audit trail). ``zh``/``en``: what the
    action does, as the refusal and the docs say it. ``roles``: roles that may perform it.
    ``scope``: what the target must be (see the module docstring). ``admin``: whether the
    platform admin is always allowed. ``check``: an extra predicate; its docstring's first
    line is what ``docs/permissions.md`` says of it.
    """

    name: str
    zh: str
    en: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    scope: Scope = "platform"
    admin: bool = True
    check: Callable[[Actor, ResourceRef | None], bool] | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"action name {self.name!r} is not dotted lower-case (package.thing.verb)")
        if self.scope not in SCOPES:
            raise ValueError(f"action {self.name}: unknown scope {self.scope!r} (one of {', '.join(SCOPES)})")
        if self.scope in _NEEDS_ROLES and not self.roles:
            raise ValueError(f"action {self.name}: a {self.scope}-scoped action must list the roles that may take it")


def _has_role(actor: Actor, action: Action) -> bool:
    if action.scope == "authenticated" or (action.scope == "resource" and not action.roles):
        return True
    return bool(actor.roles & action.roles)


def _own_department(actor: Actor, resource: ResourceRef | None) -> bool:
    return resource is not None and resource.department_id is not None and resource.department_id == actor.department_id


def _in_scope(actor: Actor, action: Action, resource: ResourceRef | None) -> bool:
    if action.scope == "department":
        return _own_department(actor, resource)
    if action.scope == "resource":
        return resource is not None and resource.owner is not None and resource.owner == actor.username
    if action.scope == "grant":
        return _own_department(actor, resource) and resource is not None and resource.grant == "active"
    return True


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
    if not _has_role(actor, action) or not _in_scope(actor, action, resource):
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
                              details=details, code="unauthenticated")
    raise PermissionDenied(
        f"无权执行“{action.zh}”：需要相应角色或本部门的资源",
        f"Not allowed to {action.en}: it needs the right role or a resource of your own department",
        details=details, code="permission_denied",
    )


class ActionRegistry:
    """Every action of the platform by name, in registration order.

    Built-ins are registered by :func:`shudata.permissions.builtin_actions`; a second
    action under a taken name is refused (the same object again is ignored).

    >>> reg = ActionRegistry()
    >>> reg.register(Action("demo.view", "查看", "view", scope="authenticated"))
    >>> "demo.view" in reg, len(reg), reg["demo.view"].scope
    (True, 1, 'authenticated')
    """

    def __init__(self, actions: Iterable[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        self.register(*actions)

    def register(self, *actions: Action) -> None:
        for action in actions:
            known = self._actions.get(action.name)
            if known is not None and known != action:
                raise ValueError(f"action {action.name} is registered twice")
            self._actions[action.name] = action

    def __getitem__(self, name: str) -> Action:
        return self._actions[name]

    def __contains__(self, item: object) -> bool:
        name = item.name if isinstance(item, Action) else item
        return isinstance(name, str) and name in self._actions

    def __iter__(self) -> Iterator[Action]:
        return iter(self._actions.values())

    def __len__(self) -> int:
        return len(self._actions)


ADMIN = frozenset({Role.PLATFORM_ADMIN})
STEWARD = frozenset({Role.DATA_STEWARD})
STAFF = frozenset({Role.DATA_STEWARD, Role.DEPT_USER})
ALL_ROLES = frozenset(Role)
