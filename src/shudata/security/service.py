"""Use cases of the security package: departments, users, login, API tokens.

Every function takes ``session`` and ``actor`` keyword-only, checks authorization
first and records an audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from shudata.core.ids import parse_id
from shudata.core.plugins import plugins_of
from shudata.core.types import Actor, ResourceRef, Role
from shudata.security import actions as A
from shudata.security import sessions
from shudata.security.authz import allowed, require
from shudata.security.models import ApiToken, Department, User
from shudata.security.names import is_reserved, normalise_username, username_key
from shudata.security.passwords import (
    DEFAULT_MIN_LENGTH,
    burn_verify,
    hash_password,
    password_problem,
    verify_password,
)
from shudata.security.schemas import (
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    PasswordChange,
    PasswordChanged,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from shudata.security.throttle import LoginGuard
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
                       f"Department {data.name} or code {data.uscc} already exists", code="department_exists")
    if data.parent_id is not None and session.get(Department, data.parent_id) is None:
        raise NotFound(f"上级部门 {data.parent_id} 不存在", f"Parent department {data.parent_id} not found",
                       code="department_not_found")
    dept = Department(**data.model_dump())
    session.add(dept)
    session.flush()
    record(session, actor, events.SecurityDepartmentCreate(resource_id=str(dept.id), details={"name": dept.name}))
    return DepartmentRead.model_validate(dept)


def update_department(*, session: Session, actor: Actor, department_id: int,
                      data: DepartmentUpdate) -> DepartmentRead:
    require(actor, A.DEPT_MANAGE)
    dept = get_department_row(session, department_id)
    changes = data.model_dump(exclude_unset=True)
    renamed = "name" in changes and changes["name"] != dept.name
    if renamed and session.scalar(select(Department.id).where(Department.name == changes["name"])) is not None:
        raise Conflict(f"部门“{changes['name']}”已存在", f"Department {changes['name']} already exists",
                       code="department_exists")
    if changes.get("parent_id") is not None:
        _check_parent(session, dept.id, changes["parent_id"])
    for k, v in changes.items():
        setattr(dept, k, v)
    session.flush()
    record(session, actor, events.SecurityDepartmentUpdate(resource_id=str(dept.id), details=changes))
    if renamed:  # packages above keep what they derive from the name current (the catalog's search index)
        plugins_of(session).hook.department_renamed(session=session, department_id=dept.id)
    return DepartmentRead.model_validate(dept)


def _check_parent(session: Session, dept_id: int, parent_id: int) -> None:
    """Refuse a parent that does not exist, or that is the department itself or one of
    its descendants (the tree would become a cycle)."""
    if session.get(Department, parent_id) is None:
        raise NotFound(f"上级部门 {parent_id} 不存在", f"Parent department {parent_id} not found",
                       code="department_not_found")
    node: int | None = parent_id
    seen: set[int] = set()
    while node is not None and node not in seen:
        if node == dept_id:
            raise Conflict("上级部门不能是本部门或其下级部门（会形成循环）",
                           "The parent cannot be the department itself or one of its sub-departments (a cycle)",
                           code="department_cycle")
        seen.add(node)
        node = session.scalar(select(Department.parent_id).where(Department.id == node))


def get_department_row(session: Session, department_id: int) -> Department:
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound(f"部门 {department_id} 不存在", f"Department {department_id} not found",
                       code="department_not_found")
    return dept


def list_departments(*, session: Session, actor: Actor) -> list[DepartmentRead]:
    require(actor, A.DEPT_VIEW)
    rows = session.scalars(select(Department).order_by(Department.id))
    return [DepartmentRead.model_validate(d) for d in rows]


def find_department(session: Session, name_or_code: str) -> Department:
    """A department by id, name or credit code (for the CLI and imports)."""
    stmt = select(Department).where((Department.name == name_or_code) | (Department.uscc == name_or_code))
    dept = session.scalar(stmt)
    if dept is None and (dept_id := parse_id(name_or_code)) is not None:
        dept = session.get(Department, dept_id)
    if dept is None:
        raise NotFound(f"部门“{name_or_code}”不存在", f"Department {name_or_code!r} not found",
                       code="department_not_found")
    return dept


# -- users -----------------------------------------------------------------------------------

def _min_length(settings: Settings | None) -> int:
    return settings.password_min_length if settings is not None else DEFAULT_MIN_LENGTH


def check_password(password: str, *, username: str | None, settings: Settings | None) -> None:
    """Raise ``InvalidInput`` (422) unless ``password`` meets the password policy."""
    if (problem := password_problem(password, username=username, min_length=_min_length(settings))) is not None:
        zh, en = problem
        raise InvalidInput(f"密码不符合要求：{zh}", f"Password refused: {en}", code="weak_password",
                           details={"field": "password"})


def check_username(session: Session, username: str) -> str:
    """The normalised name, unless it is reserved for internal principals or taken in any case."""
    name = normalise_username(username)
    if is_reserved(name):
        raise InvalidInput(f"用户名“{name}”为系统保留名称，不能使用", f"The user name {name!r} is reserved",
                           code="reserved_username", details={"field": "username"})
    if session.scalar(select(User.id).where(func.lower(User.username) == username_key(name))) is not None:
        raise Conflict(f"用户名“{name}”已存在（不区分大小写）", f"Username {name!r} already exists (in any case)",
                       code="username_taken")
    return name


# Roles whose accounts belong to no department: the platform's own, the exchange's and enterprises'.
NO_DEPARTMENT_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.AUDITOR, Role.MARKET_OPERATOR, Role.REGULATOR,
                                 Role.MARKET_MEMBER})


def create_user(*, session: Session, actor: Actor, data: UserCreate, settings: Settings | None = None) -> UserRead:
    require(actor, A.USER_MANAGE)
    username = check_username(session, data.username)
    check_password(data.password, username=username, settings=settings)
    if data.department_id is not None:
        get_department_row(session, data.department_id)
    elif not NO_DEPARTMENT_ROLES & set(data.roles):
        raise InvalidInput("部门用户和数据管理员必须属于一个部门",
                           "Stewards and department users must belong to a department", code="department_required")
    user = User(username=username, display_name=data.display_name,
                password_hash=hash_password(data.password), department_id=data.department_id,
                roles=[r.value for r in data.roles], email=data.email)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("用户已存在", "User already exists", code="username_taken") from exc
    record(session, actor, events.SecurityUserCreate(
        resource_id=user.username,
        details={"roles": user.roles, "department_id": user.department_id}))
    return UserRead.model_validate(user)


def update_user(*, session: Session, actor: Actor, user_id: int, data: UserUpdate,
                settings: Settings | None = None) -> UserRead:
    """Change an account. A new password or disabling the account ends all its browser sessions."""
    require(actor, A.USER_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在", f"User {user_id} not found", code="user_not_found")
    changes = data.model_dump(exclude_unset=True)
    ended = 0
    revoked = 0
    if (pw := changes.pop("password", None)) is not None:
        check_password(pw, username=user.username, settings=settings)
        user.password_hash = hash_password(pw)
        ended += sessions.end_all(session, principal="user", principal_id=user.id, reason="password_reset")
        # A reset is for a lost or stolen password: tokens made with it go as well.
        revoked = _revoke_all_tokens(session, user.id)
    if changes.get("is_active") is False:
        ended += sessions.end_all(session, principal="user", principal_id=user.id, reason="disabled")
    if "roles" in changes and changes["roles"] is not None:
        changes["roles"] = [Role(r).value for r in changes["roles"]]
    _keep_an_admin(session, user, changes)
    for k, v in changes.items():
        setattr(user, k, v)
    session.flush()
    record(session, actor, events.SecurityUserUpdate(resource_id=user.username,
                                                     details={k: v for k, v in changes.items()}
                                                     | {"password": pw is not None, "sessions_ended": ended,
                                                        "tokens_revoked": revoked}))
    return UserRead.model_validate(user)


def _keep_an_admin(session: Session, user: User, changes: dict[str, object]) -> None:
    """Refuse (409) to disable the last active platform admin or take its role away: nobody
    could then manage accounts from the web (a form post with ``active`` left out disables)."""
    admin = Role.PLATFORM_ADMIN.value
    new_roles = changes.get("roles")
    roles = new_roles if isinstance(new_roles, list) else user.roles
    stays = bool(changes.get("is_active", user.is_active)) and admin in (roles or [])
    if stays or not (user.is_active and admin in (user.roles or [])):
        return
    others = session.scalars(select(User).where(User.is_active.is_(True), User.id != user.id))
    if not any(admin in (u.roles or []) for u in others):
        raise Conflict(f"“{user.username}”是最后一个启用的平台管理员，不能停用或取消其管理员角色；"
                       "请先为另一账号授予平台管理员角色",
                       f"{user.username} is the last active platform admin and cannot be disabled or lose the role; "
                       "make another account a platform admin first", code="last_platform_admin")


def _revoke_all_tokens(session: Session, user_id: int) -> int:
    """Revoke every live API token of the account; returns how many."""
    result = session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def change_own_password(*, session: Session, guard: LoginGuard, actor: Actor, data: PasswordChange,
                        sid: object = None, settings: Settings | None = None) -> PasswordChanged:
    """A user changes their own password. The current password is checked under the login
    throttle (a wrong one counts as a failed login, so this is no way round the lock-out); the
    new one must pass the policy and differ from it. Every other browser session of the account
    ends (``sid``, the caller's own, stays); with ``revoke_tokens`` every API token too, the
    calling one included.

    Raises:
        LoginThrottled: too many wrong passwords for the account or address (429).
        InvalidInput: the current password is wrong (``password_wrong``; the caller is logged in, so
            this is a wrong field, not a failed authentication), the new one is refused, or no
            platform account stands behind the caller (422).
    """
    require(actor, A.PASSWORD_CHANGE)
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.is_active:
        raise InvalidInput("只有平台账号可以修改自己的密码", "Only a platform account can change its password",
                           code="no_account")
    account = username_key(user.username)
    guard.check(scope="account", account=account, ip=actor.ip)
    if not verify_password(user.password_hash, data.current_password):
        guard.failed(scope="account", account=account, ip=actor.ip)
        raise InvalidInput("当前密码不正确", "The current password is wrong", code="password_wrong",
                           details={"field": "current_password"})
    guard.succeeded(scope="account", account=account)
    if data.new_password == data.current_password:
        raise InvalidInput("新密码不能与当前密码相同", "The new password must differ from the current one",
                           code="password_unchanged", details={"field": "new_password"})
    check_password(data.new_password, username=user.username, settings=settings)
    user.password_hash = hash_password(data.new_password)
    ended = sessions.end_all(session, principal="user", principal_id=user.id, reason="password_change", keep=sid)
    revoked = _revoke_all_tokens(session, user.id) if data.revoke_tokens else 0
    session.flush()
    record(session, actor, events.SecurityPasswordChange(
        resource_id=user.username, details={"sessions_ended": ended, "tokens_revoked": revoked}))
    return PasswordChanged(sessions_ended=ended, tokens_revoked=revoked)


def list_users(*, session: Session, actor: Actor) -> list[UserRead]:
    require(actor, A.USER_VIEW)
    stmt = select(User).order_by(User.id)
    if not allowed(actor, A.USER_VIEW_ALL):
        stmt = stmt.where(User.department_id == actor.department_id)
    return [UserRead.model_validate(u) for u in session.scalars(stmt)]


def get_user_by_name(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户“{username}”不存在", f"User {username!r} not found", code="user_not_found")
    return user


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id))) or 0)


# -- login -----------------------------------------------------------------------------------

def authenticate(*, session: Session, username: str, password: str, ip: str | None = None) -> Actor:
    """Check a password login. Success and failure are both audited (failure by the caller,
    since this transaction is rolled back on error). The actor is always an ordinary user,
    whatever the account is called."""
    return _complete_login(session, _check_password(session, username, password), ip)


def _check_password(session: Session, username: str, password: str) -> User:
    """The active account with this name and password (reads only), else ``Unauthenticated``."""
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        burn_verify(password)  # the same time as a wrong password: timing does not tell names apart
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        raise Unauthenticated("用户名或密码错误", "Wrong username or password",
                              code="login_failed", details={"action": "auth.login", "resource_id": username})
    return user


def _complete_login(session: Session, user: User, ip: str | None) -> Actor:
    user.last_login_at = utcnow()
    actor = actor_for(user, ip=ip)
    record(session, actor, events.AuthLogin(resource_id=user.username))
    return actor


def login(*, session: Session, guard: LoginGuard, username: str, password: str, ip: str | None,
          max_age_s: int) -> tuple[Actor, str]:
    """A browser login: throttled per account and address, then checked, then a server-side
    session opened. Returns the actor and the session id for the cookie.

    Raises:
        LoginThrottled: too many failures (429, even for the right password while it lasts).
        Unauthenticated: wrong name or password (audited by the guard as ``security.login.failed``).
    """
    account = username_key(username)
    guard.check(scope="account", account=account, ip=ip)
    try:
        user = _check_password(session, username, password)
    except Unauthenticated:
        guard.failed(scope="account", account=account, ip=ip)
        raise
    guard.succeeded(scope="account", account=account)  # before this transaction writes (SQLite: one writer)
    actor = _complete_login(session, user, ip)
    if actor.user_id is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("actor.user_id is unexpectedly None")
    return actor, sessions.start(session, principal="user", principal_id=actor.user_id, max_age_s=max_age_s, ip=ip)


def logout(*, session: Session, actor: Actor, sid: object) -> None:
    """End this browser session (other sessions of the account stay)."""
    sessions.end(session, sid=sid, reason="logout")
    record(session, actor, events.AuthLogout(resource_id=actor.username))


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
            raise InvalidInput("需要指定用户名", "A username is required", code="username_required")
        found = session.get(User, actor.user_id)
        if found is None:
            raise NotFound("当前用户不存在", "Current user not found", code="user_not_found")
        user = found
    if not user.is_active:
        raise InvalidInput(f"用户“{user.username}”已停用", f"User {user.username} is disabled", code="user_disabled")
    token = new_token()
    expires = utcnow() + dt.timedelta(days=data.expires_in_days) if data.expires_in_days else None
    row = ApiToken(user_id=user.id, name=data.name, prefix=token_prefix(token),
                   token_hash=hash_token(token), expires_at=expires)
    session.add(row)
    session.flush()
    record(session, actor, events.SecurityTokenCreate(resource_id=str(row.id),
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
        raise NotFound(f"令牌 {token_id} 不存在", f"Token {token_id} not found", code="token_not_found")
    owner = session.get(User, row.user_id)
    require(actor, A.TOKEN_REVOKE, ResourceRef("token", row.id, owner=owner.username if owner else None))
    row.revoked_at = row.revoked_at or utcnow()
    session.flush()
    record(session, actor, events.SecurityTokenRevoke(resource_id=str(row.id)))
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


def user_resource(user: User) -> ResourceRef:
    return ResourceRef("user", user.id, department_id=user.department_id)
