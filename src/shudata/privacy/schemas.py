"""Request/response models of the privacy capability."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shudata.core.textsafe import PlainText
from shudata.privacy.detect.base import ColumnFinding


class ScanReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int | None
    version: int | None
    source: str
    rows: int
    proposed_grade: int
    confirmed_grade: int | None
    confirmed_by: str | None
    created_by: str
    created_at: dt.datetime
    columns: list[ColumnFinding]
    proposed_grade_label: str


class GradeConfirm(BaseModel):
    grade: int = Field(ge=1, le=4, description="确认的分级 1-4")


class PolicySave(BaseModel):
    """A policy as YAML/JSON text or as an object; ``resource`` validates it against a table."""

    text: str | None = Field(None, max_length=200_000)
    policy: dict[str, Any] | None = None
    resource: str | None = None


class PolicyRead(BaseModel):
    id: int
    name: str
    profile: str
    revision: int
    body: dict[str, Any]
    created_by: str
    updated_at: dt.datetime


class KeyCreate(BaseModel):
    key_id: str = Field(min_length=1, max_length=64)
    purpose: PlainText = Field("", max_length=200)


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key_id: str
    purpose: str
    active: bool
    created_by: str
    created_at: dt.datetime


class MaskRequest(BaseModel):
    policy: str | dict[str, Any] = Field(description="已保存策略的名称，或策略对象")
    version: int | None = None
    format: str = Field("json", pattern="^(parquet|json)$", description="json 预览；parquet 下载全部")
    limit: int = Field(100, ge=1, le=10_000, description="format=json 时返回的行数")


class MaskResult(BaseModel):
    source: str
    rows: int
    columns: dict[str, str]  # column -> operator name
    key_ids: list[str]
    gate: dict[str, Any]
    path: str | None = None
    preview: list[dict[str, Any]] | None = None


class HierarchyChoice(BaseModel):
    """A built-in generalisation hierarchy for one quasi-identifier (instead of ARX rows)."""

    kind: Literal["auto", "intervals", "masking", "dates", "regions"] = Field(
        "auto", description="auto 按类型自动；intervals 数值区间（如年龄段）；masking 逐位遮盖；dates 日期→月→年→年代；"
                            "regions 区划代码→市州→省")
    widths: list[int] = Field(default_factory=lambda: [5, 10, 20], min_length=1, max_length=6,
                              description="intervals 各层区间宽度，如 5,10,20")

    @field_validator("widths")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(w < 1 for w in v):
            raise ValueError("区间宽度应为正整数")
        return v


class KanonRequest(BaseModel):
    quasi_identifiers: list[str] = Field(min_length=1)
    k: int = Field(5, ge=1)
    suppression: float = Field(0.0, ge=0, le=1)
    metric: str = "loss"
    sensitive: str | None = None
    l_diversity: int | None = Field(None, ge=1)
    l_kind: str = Field("distinct", pattern="^(distinct|entropy)$")
    t_closeness: float | None = Field(None, gt=0, le=1)
    hierarchies: dict[str, list[list[str]]] = Field(default_factory=dict, description="属性 → ARX 层次行")
    builtin: dict[str, HierarchyChoice] = Field(default_factory=dict,
                                                description="属性 → 内置泛化层次（未给 ARX 层次行的属性）")
    version: int | None = None


class DpQuery(BaseModel):
    kind: str = Field(pattern="^(count|sum|mean|histogram)$")
    column: str | None = None
    epsilon: float = Field(gt=0, le=10)
    lower: float | None = None
    upper: float | None = None
    bins: list[str] | None = None
    version: int | None = None


class BudgetSet(BaseModel):
    consumer: str = Field(min_length=1, max_length=120)
    epsilon_total: float = Field(gt=0, le=1000)


NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # tabs and line breaks only


class ColumnReviewSave(BaseModel):
    """A steward's decision on one column: ``entity`` None = not personal information."""

    resource: str = Field(max_length=300, description="资源代码、别名或名称")
    column: str = Field(min_length=1, max_length=200, pattern=NO_CONTROL)
    entity: str | None = Field(None, max_length=40, description="实体类型；为空表示不属个人信息")
    reason: str = Field(min_length=2, max_length=2000, pattern=NO_CONTROL, description="理由（必填）")
    withdraw: bool = Field(False, description="撤销复核，恢复自动识别")


class ColumnReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int
    column: str
    entity: str | None
    detected: str | None
    withdrawn: bool
    reason: str
    reviewed_by: str
    created_at: dt.datetime
