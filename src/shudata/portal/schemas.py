"""Portal API models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shudata.core.textsafe import PlainText


class PublicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int
    version: int
    status: str = Field(description="published 已发布 / refused 闸门拒绝 / withdrawn 已撤回 / superseded 已重新发布")
    policy: str
    gate: dict[str, Any] = Field(description="开放闸门的扫描结果：passed、violations（未脱敏的列与实体）")
    operators: dict[str, Any]
    rows: int
    bytes: int
    sha256: str | None
    columns: list[Any]
    created_at: dt.datetime
    created_by: str
    withdrawn_at: dt.datetime | None = None
    withdrawn_by: str | None = None
    withdraw_reason: str | None = None


class PublishCreate(BaseModel):
    resource: str = Field(description="资源代码、别名或 id")
    version: int | None = Field(None, description="数据版本（默认最新）")


class WithdrawCreate(BaseModel):
    resource: str
    version: int | None = Field(None, description="要撤回的版本（默认当前发布的版本）")
    reason: PlainText = Field(min_length=2, max_length=500, description="撤回原因")


class DeveloperCreate(BaseModel):
    email: str = Field(max_length=200)
    phone: str = Field(max_length=20)
    name: str = Field(min_length=1, max_length=100)
    organisation: PlainText | None = Field(None, max_length=200)
    password: str = Field(min_length=8, max_length=200)


class DeveloperRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    phone: str
    name: str
    organisation: str | None
    created_at: dt.datetime


class KeyCreate(BaseModel):
    name: PlainText = Field(min_length=1, max_length=100)


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class KeyCreated(KeyRead):
    key: str = Field(description="API 密钥（只显示这一次）")


class ApplicationCreate(BaseModel):
    dataset: str = Field(description="数据集名称或资源代码")
    purpose: PlainText = Field(min_length=5, max_length=2000, description="用途说明")
    accept_agreement: bool = Field(description="是否接受数据使用协议（必须为 true）")


class ApplicationDecide(BaseModel):
    approve: bool
    reason: PlainText | None = Field(None, max_length=1000)


class ApplicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    developer_id: int
    resource_id: int
    dataset: str = ""
    dataset_title: str = ""
    developer_name: str = ""
    purpose: str
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str | None
    created_at: dt.datetime


class DataRequestCreate(BaseModel):
    title: PlainText = Field(min_length=2, max_length=200)
    description: PlainText = Field(min_length=5, max_length=4000)
    requester_name: PlainText = Field(min_length=1, max_length=100)
    contact_email: str = Field(max_length=200)
    department_id: int | None = None


class DataRequestAnswer(BaseModel):
    answer: PlainText = Field(min_length=2, max_length=4000)
    dataset: str | None = Field(None, description="答复所指向的数据集（可选）")


class DataRequestRead(BaseModel):
    """What the public sees of a request (no contact details)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    requester_name: str
    department_id: int | None
    department_name: str | None = None
    status: str
    answer: str | None
    answer_dataset: str | None = None
    answered_by: str | None
    answered_at: dt.datetime | None
    created_at: dt.datetime
