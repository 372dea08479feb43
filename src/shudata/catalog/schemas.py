"""Catalog entry schemas: the core metadata of the national catalog guideline / GB/T 21063.

This module is the contract other packages code against (lake ingest checks uploaded
columns against ``information_items``; the query sandbox resolves resources by
``code`` or ``alias``; the UI renders these fields).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import IntEnum, StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shudata.core.textsafe import PlainText
from shudata.standards.geo import Datum

RESOURCE_CODE_RE = re.compile(r"^(?P<lei>[1-9])(?P<xiang>\d{2})(?P<mu>\d{3})(?P<ximu>\d{0,6})/(?P<seq>\d{1,6})$")
ALIAS_RE = re.compile(r"^[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]{0,62}$")


class Classification(StrEnum):
    """资源分类：基础 / 主题 / 部门."""

    BASE = "基础"
    THEME = "主题"
    DEPARTMENT = "部门"


class DataType(StrEnum):
    """信息项数据类型 (national guideline): C 字符 N 数值 Y 货币 D 日期 T 日期时间 L 逻辑
    M 备注 G 通用 B 二进制 I 整型 F 浮点."""

    C = "C"
    N = "N"
    Y = "Y"
    D = "D"
    T = "T"
    L = "L"
    M = "M"
    G = "G"
    B = "B"
    I = "I"  # noqa: E741
    F = "F"


DATA_TYPE_LABELS: dict[DataType, tuple[str, str]] = {
    DataType.C: ("字符型", "character"), DataType.N: ("数值型", "numeric"), DataType.Y: ("货币型", "currency"),
    DataType.D: ("日期型", "date"), DataType.T: ("日期时间型", "timestamp"), DataType.L: ("逻辑型", "boolean"),
    DataType.M: ("备注型", "memo"), DataType.G: ("通用型", "general"), DataType.B: ("二进制", "binary"),
    DataType.I: ("整型", "integer"), DataType.F: ("浮点型", "float"),
}


class SharingType(IntEnum):
    """共享类型: 1 无条件共享, 2 有条件共享, 3 不予共享."""

    UNCONDITIONAL = 1
    CONDITIONAL = 2
    NONE = 3


SHARING_LABELS = {1: ("无条件共享", "unconditional"), 2: ("有条件共享", "conditional"), 3: ("不予共享", "not shared")}


class SharingMethod(StrEnum):
    TABLE = "库表"
    API = "接口"
    FILE = "文件"


class OpenType(StrEnum):
    """开放类型."""

    OPEN = "无条件开放"
    CONDITIONAL = "有条件开放"
    NONE = "不予开放"


class UpdateCycle(StrEnum):
    REALTIME = "实时"
    DAILY = "每日"
    WEEKLY = "每周"
    MONTHLY = "每月"
    QUARTERLY = "每季度"
    YEARLY = "每年"


UPDATE_CYCLE_DAYS: dict[UpdateCycle, int] = {
    UpdateCycle.REALTIME: 1, UpdateCycle.DAILY: 1, UpdateCycle.WEEKLY: 7, UpdateCycle.MONTHLY: 31,
    UpdateCycle.QUARTERLY: 92, UpdateCycle.YEARLY: 366,
}


class FormatCategory(StrEnum):
    """资源格式分类."""

    ELECTRONIC_FILE = "电子文件"
    ELECTRONIC_TABLE = "电子表格"
    DATABASE = "数据库"
    IMAGE = "图形图像"
    STREAM = "流媒体"
    OTHER = "其他"


class InformationItem(BaseModel):
    """信息项: one column of the resource."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=100, description="信息项名称（列名）")
    data_type: DataType = Field(DataType.C, description="数据类型")
    length: int | None = Field(None, ge=1, le=100_000, description="数据长度")
    description: str | None = Field(None, max_length=500)
    datum: Datum | None = Field(None, description="坐标系（经纬度列）：WGS-84、GCJ-02 或 BD-09；地图据此换算")


class SharingAttributes(BaseModel):
    type: SharingType = Field(description="共享类型 1/2/3")
    condition: PlainText | None = Field(None, max_length=1000, description="共享条件（有条件共享）或不予共享依据")
    method: SharingMethod = Field(SharingMethod.API, description="共享方式：库表/接口/文件")

    @model_validator(mode="after")
    def _needs_basis(self) -> SharingAttributes:
        if self.type == SharingType.NONE and not (self.condition and self.condition.strip()):
            raise ValueError("不予共享须填写法律法规或政策依据 / a legal basis is required for 不予共享")
        if self.type == SharingType.CONDITIONAL and not (self.condition and self.condition.strip()):
            raise ValueError("有条件共享须填写共享条件 / a condition is required for 有条件共享")
        return self


class OpenAttributes(BaseModel):
    type: OpenType = Field(OpenType.NONE, description="开放类型")
    condition: PlainText | None = Field(None, max_length=1000, description="开放条件")


class ResourceBase(BaseModel):
    name: str = Field(min_length=2, max_length=200, description="信息资源名称")
    alias: str | None = Field(None, description="SQL 中可用的友好别名（字母、数字、下划线或汉字）")
    classification: Classification = Field(Classification.DEPARTMENT, description="资源分类：基础/主题/部门")
    category_path: str | None = Field(None, max_length=200, description="类-项-目-细目 名称路径，如 “人口/户籍/…”")
    abstract: PlainText = Field(min_length=1, max_length=4000, description="信息资源摘要")
    format_category: FormatCategory = Field(FormatCategory.DATABASE, description="资源格式分类")
    format_type: str = Field("csv", max_length=40, description="资源格式类型，如 csv/xlsx/json/parquet/mysql")
    information_items: list[InformationItem] = Field(default_factory=list, description="信息项")
    sharing: SharingAttributes
    open: OpenAttributes = Field(default_factory=OpenAttributes)
    update_cycle: UpdateCycle = Field(UpdateCycle.MONTHLY, description="更新周期")
    publish_date: dt.date | None = Field(None, description="发布日期")
    related_codes: list[str] = Field(default_factory=list, description="关联资源代码")
    base_registry: str | None = Field(None, description="基础库类型：人口/法人/自然资源和地理空间/社会信用")
    tags: list[str] = Field(default_factory=list)

    @field_validator("alias")
    @classmethod
    def _alias(cls, v: str | None) -> str | None:
        if v is not None and not ALIAS_RE.match(v):
            raise ValueError("别名只能包含字母、数字、下划线或汉字，且不能以数字开头 / invalid alias")
        return v

    @field_validator("information_items")
    @classmethod
    def _unique_items(cls, v: list[InformationItem]) -> list[InformationItem]:
        names = [i.name for i in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"信息项名称重复：{'、'.join(dup)} / duplicate information items")
        return v


class ResourceCreate(ResourceBase):
    """A new entry. ``code`` is assigned from ``category_code`` (类+项+目[+细目]) when omitted."""

    code: str | None = Field(None, description="资源代码，如 101001/000123；留空则自动分配")
    category_code: str | None = Field(None, pattern=r"^[1-9]\d{5}\d{0,6}$", description="类(1)+项(2)+目(3)[+细目]")
    provider_department_id: int | None = Field(None, description="提供方部门（默认：当前用户的部门）")

    @field_validator("code")
    @classmethod
    def _code(cls, v: str | None) -> str | None:
        if v is not None and not RESOURCE_CODE_RE.match(v):
            raise ValueError("资源代码格式应为 类(1位)项(2位)目(3位)[细目]/顺序号，如 101001/000123")
        return v


class ResourceUpdate(BaseModel):
    """Partial update; every change becomes a new catalog version of the entry."""

    name: str | None = Field(None, min_length=2, max_length=200)
    alias: str | None = None
    classification: Classification | None = None
    category_path: str | None = None
    abstract: PlainText | None = Field(None, min_length=1, max_length=4000)
    format_category: FormatCategory | None = None
    format_type: str | None = None
    information_items: list[InformationItem] | None = None
    sharing: SharingAttributes | None = None
    open: OpenAttributes | None = None
    update_cycle: UpdateCycle | None = None
    publish_date: dt.date | None = None
    related_codes: list[str] | None = None
    tags: list[str] | None = None
    comment: PlainText | None = Field(None, max_length=500, description="变更说明")


class ResourceRead(ResourceBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    provider_department_id: int
    provider_name: str
    provider_code: str = Field(description="提供方代码（统一社会信用代码）")
    revision: int = Field(description="目录条目版本号（元数据变更次数）")
    latest_data_version: int | None = Field(None, description="最新数据版本号")
    latest_data_at: dt.datetime | None = Field(None, description="最新数据版本时间")
    overdue: bool = Field(False, description="数据是否超过更新周期未更新")
    freshness: str = Field("no_data", description="fresh 按期更新 / overdue 超期未更新 / no_data 尚无数据")
    quality_score: float | None = Field(None, description="最新数据版本的质量得分（数据质量模块）")
    created_at: dt.datetime
    updated_at: dt.datetime


# -- versions, templates ---------------------------------------------------------------------

class RevisionRead(BaseModel):
    """One catalog version of an entry (目录变更记录)."""

    model_config = ConfigDict(from_attributes=True)

    revision: int
    snapshot: dict[str, object]
    changed_fields: list[str]
    comment: str | None
    actor: str
    created_at: dt.datetime


class TemplateRead(BaseModel):
    """A base-registry template (基础库模板)."""

    key: str
    name: str
    category_code: str
    category_path: str
    abstract: str
    information_items: list[InformationItem]


# -- demand and sharing lists ------------------------------------------------------------------

class DemandStatus(StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    CLOSED = "closed"


DEMAND_STATUS_LABELS = {"open": ("待匹配", "open"), "matched": ("已匹配", "matched"), "closed": ("已关闭", "closed")}


class DemandCreate(BaseModel):
    title: PlainText = Field(min_length=2, max_length=200, description="需求名称")
    description: PlainText = Field("", max_length=4000, description="需求描述")
    wanted_fields: list[PlainText] = Field(default_factory=list, description="需要的信息项")
    purpose: PlainText = Field("", max_length=2000, description="用途")
    department_id: int | None = Field(None, description="需求部门（默认：当前用户的部门）")


class DemandLink(BaseModel):
    resource_code: str | None = Field(None, description="满足需求的资源代码；为空且 close=true 时关闭需求")
    close: bool = Field(False, description="关闭需求（无法满足或已撤回）")
    comment: PlainText | None = Field(None, max_length=500)


class DemandRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_id: int
    department_name: str
    title: str
    description: str
    wanted_fields: list[str]
    purpose: str
    status: DemandStatus
    resource_code: str | None = None
    resource_name: str | None = None
    linked_by: str | None = None
    linked_at: dt.datetime | None = None
    created_by: str
    created_at: dt.datetime


class SharingListRow(BaseModel):
    """One line of a department's 共享清单."""

    code: str
    name: str
    provider_name: str
    sharing_type: int
    sharing_label: str
    sharing_condition: str | None
    sharing_method: str
    update_cycle: str
    format_category: str
    items: str
    freshness: str


# -- search ----------------------------------------------------------------------------------

class SearchFilters(BaseModel):
    provider: int | None = Field(None, description="提供方部门 id")
    classification: Classification | None = None
    sharing_type: SharingType | None = None
    format: FormatCategory | None = Field(None, description="资源格式分类")
    update_cycle: UpdateCycle | None = None
    min_quality: float | None = Field(None, ge=0, le=100,
                                      description="最低质量得分（0–100）；未经质量检查的条目不在结果中")


class SearchHit(BaseModel):
    resource: ResourceRead
    score: float


class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class SearchResult(BaseModel):
    query: str
    total: int = Field(description="匹配条目数（exact=false 时为候选集内的估计）")
    exact: bool = True
    offset: int = 0
    limit: int = 20
    hits: list[SearchHit]
    facets: dict[str, list[FacetValue]]


# -- import / export, dashboard ----------------------------------------------------------------

class RowError(BaseModel):
    sheet: str
    row: int
    column: str | None
    message: str


class ImportReport(BaseModel):
    created: list[str] = Field(default_factory=list, description="新登记的资源代码")
    updated: list[str] = Field(default_factory=list, description="更新的资源代码（产生了新版本）")
    unchanged: list[str] = Field(default_factory=list, description="与目录一致、未产生新版本的资源代码")
    skipped_rows: int = 0
    errors: list[RowError] = Field(default_factory=list)


class DepartmentDashboard(BaseModel):
    department_id: int
    department_name: str
    entries: int
    overdue: int
    no_data: int
    fresh: int
    demands_open: int
    demands_matched: int
    demands_closed: int
    overdue_entries: list[ResourceRead] = Field(default_factory=list)
    no_data_entries: list[ResourceRead] = Field(default_factory=list)


class PlatformDashboard(BaseModel):
    departments: list[DepartmentDashboard]
    entries: int
    overdue: int
    no_data: int
    demands_open: int
    demands_matched: int
