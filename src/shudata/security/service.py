"""Use cases of the security package: departments, users, login, API tokens.

Every function takes ``session`` and ``actor`` keyword-only, checks authorization
first and records an audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shudata.audit.events import AuditEvent
from shudata.audit.ledger import record
from shudata.core.clock import ensure_aware, utcnow
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from shudata.core.types import Actor, ResourceRef, Role
from shudata.security import actions as A
from shudata.security.authz import require
from shudata.security.models import ApiToken, Department, User
from shudata.security.passwords import check_strength, hash_password, verify_password
from shudata.security.schemas import (
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from shudata.security.tokens import hash_token, new_token, token_prefix


def actor_for(user: User, *, token_id: int | None = None, ip: str | None = None) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        department_id=user.department_id,
        roles=frozenset(Role(r) for r in user.roles),
        token_id=token_id,
        ip=ip,
    )


# -- departments ---------------------------------------------------------------------------

def create_department(*, session: Session, actor: Actor, data: DepartmentCreate) -> DepartmentRead:
    require(actor, A.DEPT_MANAGE)
    if session.scalar(select(Department.id).where(
            (Department.name == data.name) | (Department.uscc == data.uscc))) is not None:
        raise Conflict(f"部门“{data.name}”或信用代码 {data.uscc} 已存在",
                       f"Department {data.name} or code {data.uscc} already exists")
    if data.parent_id is not None and session.get(Department, data.parent_id) is None:
        raise NotFound(f"上级部门 {data.parent_id} 不存在", f"Parent department {data.parent_id} not found")
    dept = Department(**data.model_dump())
    session.add(dept)
    session.flush()
    record(session, actor, AuditEvent("security.department.create", resource_type="department",
                                      resource_id=str(dept.id), details={"name": dept.name}))
    return DepartmentRead.model_validate(dept)


RenameHook = Callable[[Session, int], None]
_RENAME_HOOKS: list[RenameHook] = []


def on_department_renamed(hook: RenameHook) -> RenameHook:
    """Register ``hook(session, department_id)``, run in the renaming transaction (packages
    above this one keep what they derive from a department's name current, e.g. the catalog's
    search index, which indexes the provider's name)."""
    if hook not in _RENAME_HOOKS:
        _RENAME_HOOKS.append(hook)
    return hook


def update_department(*, session: Session, actor: Actor, department_id: int,
                      data: DepartmentUpdate) -> DepartmentRead:
    require(actor, A.DEPT_MANAGE)
    dept = get_department_row(session, department_id)
    changes = data.model_dump(exclude_unset=True)
    renamed = "name" in changes and changes["name"] != dept.name
    for k, v in changes.items():
        setattr(dept, k, v)
    session.flush()
    record(session, actor, AuditEvent("security.department.update", resource_type="department",
                                      resource_id=str(dept.id), details=changes))
    if renamed:
        for hook in _RENAME_HOOKS:
            hook(session, dept.id)
    return DepartmentRead.model_validate(dept)


def get_department_row(session: Session, department_id: int) -> Department:
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound(f"部门 {department_id} 不存在", f"Department {department_id} not found")
    return dept


def list_departments(*, session: Session, actor: Actor) -> list[DepartmentRead]:
    require(actor, A.DEPT_VIEW)
    rows = session.scalars(select(Department).order_by(Department.id))
    return [DepartmentRead.model_validate(d) for d in rows]


def find_department(session: Session, name_or_code: str) -> Department:
    """A department by id, name or credit code (for the CLI and imports)."""
    stmt = select(Department).where((Department.name == name_or_code) | (Department.uscc == name_or_code))
    dept = session.scalar(stmt)
    if dept is None and name_or_code.isdigit():
        dept = session.get(Department, int(name_or_code))
    if dept is None:
        raise NotFound(f"部门“{name_or_code}”不存在", f"Department {name_or_code!r} not found")
    return dept


# -- users -----------------------------------------------------------------------------------

def create_user(*, session: Session, actor: Actor, data: UserCreate) -> UserRead:
    require(actor, A.USER_MANAGE)
    if (reason := check_strength(data.password)) is not None:
        raise InvalidInput(f"密码太弱：{reason}", f"Password too weak: {reason}")
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Conflict(f"用户名“{data.username}”已存在", f"Username {data.username!r} already exists")
    if data.department_id is not None:
        get_department_row(session, data.department_id)
    elif Role.PLATFORM_ADMIN not in data.roles and Role.AUDITOR not in data.roles:
        raise InvalidInput("部门用户和数据管理员必须属于一个部门",
                           "Stewards and department users must belong to a department")
    user = User(username=data.username, display_name=data.display_name,
                password_hash=hash_password(data.password), department_id=data.department_id,
                roles=[r.value for r in data.roles], email=data.email)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("用户已存在", "User already exists") from exc
    record(session, actor, AuditEvent("security.user.create", resource_type="user", resource_id=user.username,
                                      details={"roles": user.roles, "department_id": user.department_id}))
    return UserRead.model_validate(user)


def update_user(*, session: Session, actor: Actor, user_id: int, data: UserUpdate) -> UserRead:
    require(actor, A.USER_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在", f"User {user_id} not found")
    changes = data.model_dump(exclude_unset=True)
    if (pw := changes.pop("password", None)) is not None:
        if (reason := check_strength(pw)) is not None:
            raise InvalidInput(f"密码太弱：{reason}", f"Password too weak: {reason}")
        user.password_hash = hash_password(pw)
    if "roles" in changes and changes["roles"] is not None:
        changes["roles"] = [Role(r).value for r in changes["roles"]]
    for k, v in changes.items():
        setattr(user, k, v)
    session.flush()
    record(session, actor, AuditEvent("security.user.update", resource_type="user", resource_id=user.username,
                                      details={k: v for k, v in changes.items()} | {"password": pw is not None}))
    return UserRead.model_validate(user)


def list_users(*, session: Session, actor: Actor) -> list[UserRead]:
    require(actor, A.USER_VIEW)
    stmt = select(User).order_by(User.id)
    if not (actor.is_admin or actor.has(Role.AUDITOR)):
        stmt = stmt.where(User.department_id == actor.department_id)
    return [UserRead.model_validate(u) for u in session.scalars(stmt)]


def get_user_by_name(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户“{username}”不存在", f"User {username!r} not found")
    return user


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id))) or 0)


# -- login -----------------------------------------------------------------------------------

def authenticate(*, session: Session, username: str, password: str, ip: str | None = None) -> Actor:
    """Check a password login. Success and failure are both audited (failure by the caller,
    since this transaction is rolled back on error)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        raise Unauthenticated("用户名或密码错误", "Wrong username or password",
                              code="login_failed", details={"action": "auth.login", "resource_id": username})
    user.last_login_at = utcnow()
    actor = actor_for(user, ip=ip)
    record(session, actor, AuditEvent("auth.login", resource_type="user", resource_id=user.username))
    return actor


# -- tokens ----------------------------------------------------------------------------------

def create_token(*, session: Session, actor: Actor, data: TokenCreate, username: str | None = None
                 ) -> TokenCreated:
    """Create a token for ``actor`` (or, for the platform admin and the CLI, for ``username``)."""
    require(actor, A.TOKEN_CREATE)
    if username is not None and username != actor.username:
        require(actor, A.USER_MANAGE)
        user = get_user_by_name(session, username)
    else:
        if actor.user_id is None:
            raise InvalidInput("需要指定用户名", "A username is required")
        found = session.get(User, actor.user_id)
        if found is None:
            raise NotFound("当前用户不存在", "Current user not found")
        user = found
    if not user.is_active:
        raise InvalidInput(f"用户“{user.username}”已停用", f"User {user.username} is disabled")
    token = new_token()
    expires = utcnow() + dt.timedelta(days=data.expires_in_days) if data.expires_in_days else None
    row = ApiToken(user_id=user.id, name=data.name, prefix=token_prefix(token),
                   token_hash=hash_token(token), expires_at=expires)
    session.add(row)
    session.flush()
    record(session, actor, AuditEvent("security.token.create", resource_type="token", resource_id=str(row.id),
                                      details={"user": user.username, "name": data.name}))
    return TokenCreated(token=token, **TokenRead.model_validate(row).model_dump())


def list_tokens(*, session: Session, actor: Actor) -> list[TokenRead]:
    require(actor, A.TOKEN_CREATE)
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id))
    return [TokenRead.model_validate(t) for t in rows]


def revoke_token(*, session: Session, actor: Actor, token_id: int) -> TokenRead:
    require(actor, A.TOKEN_CREATE)
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"令牌 {token_id} 不存在", f"Token {token_id} not found")
    if row.user_id != actor.user_id and not actor.is_admin:
        raise PermissionDenied("只能吊销自己的令牌", "You can only revoke your own tokens",
                               details={"action": "security.token.revoke", "resource_id": str(token_id)})
    row.revoked_at = row.revoked_at or utcnow()
    session.flush()
    record(session, actor, AuditEvent("security.token.revoke", resource_type="token", resource_id=str(row.id)))
    return TokenRead.model_validate(row)


def actor_from_token(*, session: Session, token: str, ip: str | None = None) -> Actor:
    """Resolve a bearer token; expired, revoked or unknown tokens are refused (401)."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    now = utcnow()
    if row is None:
        raise Unauthenticated("API 令牌无效", "Invalid API token", code="token_invalid")
    if row.revoked_at is not None:
        raise Unauthenticated("API 令牌已吊销", "API token revoked", code="token_revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated("API 令牌已过期，请重新创建", "API token expired; create a new one",
                              code="token_expired")
    if not row.user.is_active:
        raise Unauthenticated("用户已停用", "User disabled", code="user_disabled")
    return actor_for(row.user, token_id=row.id, ip=ip)


def touch_token(engine: Engine, token_id: int) -> None:
    """Record a token's last use (at most once a minute) in its own short transaction, so a
    request never holds the metadata store's write lock just for bookkeeping."""
    now = utcnow()
    stale = now - dt.timedelta(seconds=60)
    with engine.connect() as conn:
        last = conn.execute(select(ApiToken.last_used_at).where(ApiToken.id == token_id)).scalar()
    if last is not None and ensure_aware(last) >= stale:
        return
    with engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.id == token_id,
                                            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < stale))
                     .values(last_used_at=now))


def user_resource(user: User) -> ResourceRef:
    return ResourceRef("user", user.id, department_id=user.department_id)
