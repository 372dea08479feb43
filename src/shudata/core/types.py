"""Small shared value types: the acting principal and pages of results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel


class Role(StrEnum):
    """Platform roles (角色)."""

    PLATFORM_ADMIN = "platform_admin"  # 平台管理员
    DATA_STEWARD = "data_steward"  # 部门数据管理员
    DEPT_USER = "dept_user"  # 部门用户
    AUDITOR = "auditor"  # 审计员


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.PLATFORM_ADMIN: ("平台管理员", "Platform admin"),
    Role.DATA_STEWARD: ("部门数据管理员", "Data steward"),
    Role.DEPT_USER: ("部门用户", "Department user"),
    Role.AUDITOR: ("审计员", "Auditor"),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user, a token holder, the system, or the anonymous public."""

    user_id: int | None
    username: str
    department_id: int | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    token_id: int | None = None
    ip: str | None = None
    node: str | None = None  # set when a trusted peer node acts for one of its departments

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None or self.username == "system" or self.node is not None

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.PLATFORM_ADMIN in self.roles

    @classmethod
    def anonymous(cls, ip: str | None = None) -> Actor:
        return cls(user_id=None, username="anonymous", ip=ip)

    @classmethod
    def peer(cls, node: str, department_id: int, requester: str) -> Actor:
        """A department of a trusted peer node, acting through a verified signed message."""
        return cls(user_id=None, username=f"{requester}@{node}", department_id=department_id,
                   roles=frozenset({Role.DEPT_USER}), node=node)

    @classmethod
    def system(cls) -> Actor:
        """The platform itself (CLI bootstrap, scheduled jobs). Has every role."""
        return cls(user_id=None, username="system", roles=frozenset(Role))


@dataclass(frozen=True)
class ResourceRef:
    """What an action is applied to: its kind, id and owning department (for scope checks)."""

    type: str
    id: str | int | None = None
    department_id: int | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list result."""

    items: list[T]
    total: int
    offset: int = 0
    limit: int = 50
