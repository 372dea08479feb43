"""Request/response models of the sharing workflow."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from shudata.catalog.schemas import SharingMethod
from shudata.core.clock import utcnow
from shudata.core.textsafe import PlainText


class Purpose(StrEnum):
    """用途 (国发〔2016〕51号)."""

    ADMIN_BASIS = "作为行政依据"
    WORK_REFERENCE = "工作参考"
    DATA_VERIFICATION = "数据校核"
    COLLABORATION = "业务协同"
    OTHER = "其他"


class RequestCreate(BaseModel):
    resource: str = Field(description="资源代码、别名或名称")
    fields: list[str] = Field(min_length=1, description="申请的信息项")
    purpose: Purpose
    purpose_text: PlainText | None = Field(None, max_length=1000, description="用途说明（“其他”时必填）")
    basis: str = Field(min_length=2, max_length=2000, description="法律法规或业务依据")
    use_from: dt.date
    use_until: dt.date
    delivery_method: SharingMethod = SharingMethod.API

    @model_validator(mode="after")
    def _check(self) -> RequestCreate:
        if self.use_until < self.use_from:
            raise ValueError("使用期限的结束日期早于开始日期 / use_until before use_from")
        if self.purpose == Purpose.OTHER and not (self.purpose_text and self.purpose_text.strip()):
            raise ValueError("用途为“其他”时须说明用途 / describe the purpose")
        if len(set(self.fields)) != len(self.fields):
            raise ValueError("信息项重复 / duplicate fields")
        return self


class Decision(StrEnum):
    APPROVE = "approve"
    APPROVE_PARTIAL = "approve_partial"
    REFUSE = "refuse"


class DecisionCreate(BaseModel):
    decision: Decision
    reason: PlainText | None = Field(None, max_length=2000, description="拒绝或部分批准的理由")
    fields: list[str] | None = Field(None, description="部分批准：批准的信息项（须为申请的子集）")
    row_filter: str | None = Field(None, max_length=2000, description="部分批准：行过滤条件")
    use_until: dt.date | None = Field(None, description="部分批准：缩短的使用期限")
    masking_profile: str | None = Field(None, description="脱敏策略（默认 share-conditional）")
    quota_rows_per_day: int | None = Field(None, ge=1)
    quota_calls_per_day: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> DecisionCreate:
        if self.decision != Decision.APPROVE and not (self.reason and self.reason.strip()):
            raise ValueError("拒绝或部分批准须填写理由 / a reason is required")
        return self


class DisputeCreate(BaseModel):
    reason: PlainText = Field(min_length=2, max_length=2000)


class DisputeResolve(BaseModel):
    grant: bool = Field(description="true：协调后予以共享；false：维持拒绝")
    resolution: PlainText = Field(min_length=2, max_length=2000)


class RevokeCreate(BaseModel):
    reason: PlainText = Field(min_length=2, max_length=1000)


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    request_id: int
    resource_id: int
    consumer_department_id: int
    fields: list[str]
    row_filter: str | None
    masking_profile: str
    purpose: str
    expires_at: dt.datetime
    quota_rows_per_day: int | None
    quota_calls_per_day: int | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow()


class RequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    resource_id: int
    resource_code: str = ""
    resource_name: str = ""
    provider_department_id: int
    requester_department_id: int
    requester: str
    fields: list[str]
    purpose: str
    purpose_text: str | None
    basis: str
    use_from: dt.date
    use_until: dt.date
    delivery_method: str
    sharing_type: int
    status: str
    submitted_at: dt.datetime
    due_date: dt.date | None
    overdue: bool = False
    escalated_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by: str | None
    decision_reason: str | None
    grant: GrantRead | None = None
