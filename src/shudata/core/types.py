"""Small shared value types: the acting principal and pages of results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel


class Role(StrEnum):
    """Platform roles (角色)."""

    PLATFORM_ADMIN = "platform_admin"  # 平台管理员
    DATA_STEWARD = "data_steward"  # 部门数据管理员
    DEPT_USER = "dept_user"  # 部门用户
    AUDITOR = "auditor"  # 审计员
    MARKET_OPERATOR = "market_operator"  # 交易所运营方: reviews participants and listings, settles
    REGULATOR = "regulator"  # 监管: reads the whole market (participants, orders, contracts, ledger)
    MARKET_MEMBER = "market_member"  # 交易主体用户: an enterprise's account, acting for its participant


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.PLATFORM_ADMIN: ("平台管理员", "Platform admin"),
    Role.DATA_STEWARD: ("部门数据管理员", "Data steward"),
    Role.DEPT_USER: ("部门用户", "Department user"),
    Role.AUDITOR: ("审计员", "Auditor"),
    Role.MARKET_OPERATOR: ("交易所运营方", "Exchange operator"),
    Role.REGULATOR: ("监管", "Regulator"),
    Role.MARKET_MEMBER: ("交易主体用户", "Market participant user"),
}


class ActorKind(StrEnum):
    """What kind of principal acts. Set by the code that builds the actor, never from input:
    no account, token, login or signed message can yield ``SYSTEM``."""

    USER = "user"  # a platform account, logged in through the web session
    TOKEN = "token"  # a platform account acting through an API token
    PEER = "peer"  # a department of a trusted peer node, through a verified signed message
    DEVELOPER = "developer"  # a portal developer (member of the public; no platform roles)
    SYSTEM = "system"  # the platform itself: CLI, bootstrap, scheduled jobs
    ANONYMOUS = "anonymous"  # nobody logged in


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user, a token holder, a peer node, a portal developer, the
    system, or the anonymous public. ``kind`` — not the user name — says which: a user named
    ``system`` is an ordinary user.

    >>> Actor(user_id=7, username="system").is_system
    False
    >>> Actor.system().is_system, Actor.anonymous().is_authenticated
    (True, False)
    """

    user_id: int | None
    username: str
    department_id: int | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)
    token_id: int | None = None
    ip: str | None = None
    node: str | None = None  # set when a trusted peer node acts for one of its departments
    kind: ActorKind = ActorKind.USER

    def __post_init__(self) -> None:
        if self.kind is ActorKind.SYSTEM and (self.user_id is not None or self.token_id is not None):
            raise ValueError("a system actor is no account and holds no token")
        if self.kind is ActorKind.USER and self.token_id is not None:
            object.__setattr__(self, "kind", ActorKind.TOKEN)

    @property
    def is_system(self) -> bool:
        return self.kind is ActorKind.SYSTEM

    @property
    def is_authenticated(self) -> bool:
        if self.kind in (ActorKind.SYSTEM, ActorKind.PEER):
            return True
        return self.kind in (ActorKind.USER, ActorKind.TOKEN) and self.user_id is not None

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return Role.PLATFORM_ADMIN in self.roles

    @classmethod
    def anonymous(cls, ip: str | None = None) -> Actor:
        return cls(user_id=None, username="anonymous", ip=ip, kind=ActorKind.ANONYMOUS)

    @classmethod
    def peer(cls, node: str, department_id: int, requester: str) -> Actor:
        """A department of a trusted peer node, acting through a verified signed message."""
        return cls(user_id=None, username=f"{requester}@{node}", department_id=department_id,
                   roles=frozenset({Role.DEPT_USER}), node=node, kind=ActorKind.PEER)

    @classmethod
    def developer(cls, email: str, ip: str | None = None) -> Actor:
        """A portal developer, as the audit trail shows them (never with platform roles)."""
        return cls(user_id=None, username=f"developer:{email}", ip=ip, kind=ActorKind.DEVELOPER)

    @classmethod
    def system(cls) -> Actor:
        """The platform itself (CLI bootstrap, scheduled jobs). Passes every check."""
        return cls(user_id=None, username="system", roles=frozenset(Role), kind=ActorKind.SYSTEM)


GrantState = Literal["active", "revoked", "expired"]


@dataclass(frozen=True)
class ResourceRef:
    """What an action is applied to: its kind, id and owning department (for scope checks).

    ``owner`` is the user name of the account that owns it (``resource``-scoped actions: an
    API token, an uploaded file's scan); ``grant`` the state of the sharing grant it is
    reached through (``grant``-scoped actions; ``None`` when there is no grant), and then
    ``department_id`` is the grant's consumer department.
    """

    type: str
    id: str | int | None = None
    department_id: int | None = None
    owner: str | None = None
    grant: GrantState | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list result."""

    items: list[T]
    total: int
    offset: int = 0
    limit: int = 50
