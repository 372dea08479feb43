"""Departments, users and API tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shudata.core.clock import utcnow
from shudata.db.base import Base


class Department(Base):
    """A government department (部门) or other organisation using the platform."""

    __tablename__ = "security_department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    region_code: Mapped[str] = mapped_column(String(6))  # 行政区划代码
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("security_department.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "security_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("security_department.id"), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    department: Mapped[Department | None] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for programs. Only its SM3 hash is stored; the token is shown once."""

    __tablename__ = "security_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("security_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class WebSession(Base):
    """A browser login, held server-side so that it can be ended: by logging out, by a
    password change or reset, or by disabling the account. The cookie carries the session id;
    only its SM3 hash is stored. ``principal`` is ``user`` (a platform account) or
    ``developer`` (a portal developer); ``principal_id`` is that account's id."""

    __tablename__ = "security_web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal: Mapped[str] = mapped_column(String(20))
    principal_id: Mapped[int] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(40))


class LoginThrottle(Base):
    """Failed logins of one bucket (``account:<name>``, ``developer:<email>`` or ``ip:<address>``)
    and the lock-out they earned; shared by every process through the metadata store."""

    __tablename__ = "security_login_throttle"

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    lockouts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
