"""Request and response models of the analysis API (indicators, values, trace, alerts, subscriptions)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from shudata.core.textsafe import PlainText


class IndicatorWrite(BaseModel):
    """An indicator's definition (新建或修改指标)."""

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", description="指标代码（唯一）")
    name: str = Field(min_length=1, max_length=200, description="中文名称")
    name_en: PlainText | None = Field(None, max_length=200, description="英文名称")
    unit: PlainText | None = Field(None, max_length=40, description="计量单位")
    frequency: Literal["时", "日", "月", "季", "年"] = Field("年", description="频度")
    region_level: Literal["全国", "省", "市州", "区县", "站点"] = Field("省", description="地区层级")
    parent: str | None = Field(None, description="上级指标代码（一级指标为空）")
    definition: dict[str, Any] = Field(description="定义：group / sql / series / formula（见 docs/analysis.md）")
    description: PlainText | None = Field(None, max_length=2000, description="说明")
    owner_department_id: int | None = Field(None, description="所属部门（默认：操作者所在部门）")
    publication: Literal["open", "share-conditional", "trade", "internal"] = Field(
        "internal", description="发布范围：open 公开 / share-conditional 平台内 / internal 本部门")
    sort: int = Field(0, description="同级排序")


class IndicatorRead(BaseModel):
    code: str
    name: str
    name_en: str | None
    unit: str | None
    frequency: str
    region_level: str
    parent: str | None
    level: int
    kind: str
    definition: dict[str, Any]
    description: str | None
    owner_department_id: int
    owner_department: str | None
    publication: str
    computed_at: dt.datetime | None
    compute_error: str | None
    values: int = Field(0, description="已计算的值个数")
    children: list[IndicatorRead] = Field(default_factory=list, description="下级指标（树形列表时）")


class ValueRead(BaseModel):
    region_code: str
    region: str | None
    site: str | None
    period: str
    value: float | None
    sources: list[dict[str, Any]] = Field(default_factory=list, description="来源资源及数据版本")


class ValuesPage(BaseModel):
    indicator: str
    unit: str | None
    items: list[ValueRead]
    total: int
    offset: int
    limit: int


class RecomputeRead(BaseModel):
    id: int
    trigger: str
    indicators: list[str]
    values: int
    alerts: int
    errors: list[dict[str, Any]]
    seconds: float


class RuleWrite(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="规则名称")
    kind: Literal["level", "change", "rank_move", "anomaly"] = Field(
        description="水平 / 同比环比变化 / 位次变动 / 异常检测")
    params: dict[str, Any] = Field(default_factory=dict, description="参数，如 {\"op\": \">\", \"value\": 106}")
    severity: Literal["提示", "警告", "严重"] = "警告"


class RuleRead(RuleWrite):
    id: int
    indicator: str
    enabled: bool


class AlertRead(BaseModel):
    id: int
    indicator: str
    indicator_name: str
    kind: str
    severity: str
    region_code: str | None
    region: str | None
    site: str | None
    period: str
    value: float | None
    message: str
    message_en: str
    created_at: dt.datetime
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    ack_comment: str | None


class AlertsPage(BaseModel):
    items: list[AlertRead]
    total: int
    offset: int
    limit: int


class AckRequest(BaseModel):
    comment: PlainText | None = Field(None, max_length=500, description="确认说明（可选）")


class SubscriptionWrite(BaseModel):
    channel: Literal["inapp", "webhook"] = Field("inapp", description="站内通知 / Webhook")
    indicator: str | None = Field(None, description="只订阅这一指标的预警；空：可见的全部指标")
    url: str | None = Field(None, max_length=500, description="Webhook 地址（http/https，公网地址）")
    min_severity: Literal["提示", "警告", "严重"] = "提示"


class SubscriptionRead(BaseModel):
    id: int
    channel: str
    indicator: str | None
    url: str | None
    min_severity: str
    enabled: bool
    created_at: dt.datetime


class NoticeRead(BaseModel):
    """One in-app notice (an alert delivered to the user) or a webhook delivery's record."""

    id: int
    alert: AlertRead
    channel: str
    status: str
    attempts: int
    log: list[dict[str, Any]]


class LayoutWrite(BaseModel):
    layout: dict[str, Any] = Field(description="统计布局：{\"kind\": \"nbs\", …} 或 {\"kind\": \"table\", …}")
