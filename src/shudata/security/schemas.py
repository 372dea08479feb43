"""Request/response models of the security package."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shudata.core.textsafe import PlainText
from shudata.core.types import Role
from shudata.security.names import normalise_username
from shudata.standards.regions import all_regions
from shudata.standards.uscc import is_valid_uscc

MAX_ID = 2**63 - 1  # ids are 64-bit: a larger number names no row, and SQLite cannot even bind it


class DepartmentCreate(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    uscc: str = Field(description="统一社会信用代码 (GB 32100)")
    region_code: str = Field(description="6 位行政区划代码")
    parent_id: int | None = Field(None, strict=True, ge=1, le=MAX_ID)

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str) -> str:
        v = v.strip().upper()
        if not is_valid_uscc(v):
            raise ValueError("统一社会信用代码无效（长度、字符或校验位错误）/ invalid unified social credit code")
        return v

    @field_validator("region_code")
    @classmethod
    def _region(cls, v: str) -> str:
        v = v.strip()
        if v not in all_regions():
            raise ValueError("行政区划代码不存在 / unknown region code")
        return v


class DepartmentUpdate(BaseModel):
    """The fields to change; a field left out keeps its value. ``name`` and ``region_code``
    cannot be null; ``parent_id: null`` makes the department a top-level one."""

    name: str | None = Field(None, min_length=2, max_length=200)
    region_code: str | None = Field(None, description="6 位行政区划代码")
    parent_id: int | None = Field(None, strict=True, ge=1, le=MAX_ID)

    @field_validator("name", "region_code")
    @classmethod
    def _not_null(cls, v: str | None) -> str | None:
        if v is None:
            raise ValueError("不能为空（不修改时请省略该字段）/ cannot be null (leave the field out to keep it)")
        return v

    @field_validator("region_code")
    @classmethod
    def _region(cls, v: str) -> str:
        return DepartmentCreate._region(v)


class DepartmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    uscc: str
    region_code: str
    parent_id: int | None
    created_at: dt.datetime


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    department_id: int | None = None
    roles: list[Role] = Field(default_factory=lambda: [Role.DEPT_USER])
    email: str | None = None

    @field_validator("username", mode="before")
    @classmethod
    def _normalise(cls, v: object) -> object:
        """Full-width and other look-alike forms folded (NFKC) and blanks trimmed before the
        pattern applies, so that ``Ｓｙｓｔｅｍ`` is seen as ``System`` (and then refused as reserved)."""
        return normalise_username(v) if isinstance(v, str) else v


class UserUpdate(BaseModel):
    display_name: str | None = None
    password: str | None = Field(None, min_length=8, max_length=200)
    roles: list[Role] | None = None
    is_active: bool | None = None
    department_id: int | None = None


class PasswordChange(BaseModel):
    """A user changing their own password: the current one proves it is them."""

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)
    # Tokens made by whoever knew the old password stop working with it (the default).
    revoke_tokens: bool = True


class PasswordChanged(BaseModel):
    sessions_ended: int
    tokens_revoked: int


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    department_id: int | None
    roles: list[Role]
    email: str | None
    is_active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class TokenCreate(BaseModel):
    name: PlainText = Field("api", min_length=1, max_length=100)
    expires_in_days: int | None = Field(90, ge=1, le=3650)


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="只显示一次 / shown once")
