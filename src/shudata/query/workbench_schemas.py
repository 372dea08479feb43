"""Request and response models of the SQL workbench: the readable schema, runs, saved queries, history."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shudata.query.schemas import QueryRequest, QueryResult

Visibility = Literal["private", "department"]
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SchemaColumn(BaseModel):
    """A column the caller may read: its stored type and what the catalog says of it."""

    name: str
    type: str = Field(description="存储类型（Arrow）/ stored type")
    data_type: str | None = Field(None, description="信息项数据类型（中文）/ catalog data type, in Chinese")
    data_type_en: str | None = Field(None, description="信息项数据类型（英文）/ catalog data type, in English")
    description: str | None = None
    masked: bool = Field(False, description="值经脱敏或改写后才可见 / values are masked for this caller")


class SchemaTable(BaseModel):
    """A resource the caller may query, with the names SQL may use for it."""

    code: str
    alias: str | None
    name: str
    department: str | None
    version: int
    rows: int | None = Field(description="行数；经授权读取时为授权交付的行数（尚未准备好时为空）/ row count; "
                                        "for a granted table the delivered rows (null until prepared)")
    sql_name: str = Field(description="在 SQL 中引用它的写法 / how SQL names it")
    columns: list[SchemaColumn]
    grant: int | None = Field(None, description="经共享授权读取时的授权编号：只有授权的信息项和行，按授权脱敏 / "
                                               "the sharing grant it is read through (granted columns, masked)")


class WorkbenchSchema(BaseModel):
    """Everything the editor completes and the schema browser lists, plus the limits shown."""

    tables: list[SchemaTable]
    timeout_s: float
    max_rows: int
    page_size_max: int


class WorkbenchRun(QueryRequest):
    """One run from the workbench: a query page, with a run id for cancelling and a history flag."""

    run_id: str | None = Field(None, description="客户端生成的运行编号（8–64 个字母、数字、-、_），用于取消 / "
                                                 "client-chosen id used to cancel the run")
    record: bool = Field(True, description="记入查询历史（翻页时为 false）/ add to the history (false when paging)")
    saved_id: int | None = Field(None, description="运行的是哪条已保存查询 / the saved query being run")

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, v: str | None) -> str | None:
        if v is not None and not RUN_ID.match(v):
            raise ValueError("运行编号只能含 8 到 64 个字母、数字、- 或 _")
        return v


class WorkbenchResult(QueryResult):
    """A query page as the workbench shows it."""

    run_id: str | None = None
    history_id: int | None = None
    timeout_s: float


class CancelResult(BaseModel):
    run_id: str
    cancelled: bool = Field(description="查询当时仍在运行并已被停止 / it was running and was stopped")


def _clean_text(v: str, what: str, max_len: int) -> str:
    v = v.strip()
    if CONTROL.search(v):
        raise ValueError(f"{what}不能包含控制字符")
    if len(v) > max_len:
        raise ValueError(f"{what}最长 {max_len} 个字符")
    return v


def valid_name(v: str) -> str:
    v = _clean_text(v, "名称", 200)
    if not v:
        raise ValueError("请填写查询名称")
    return v


class SavedQueryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="名称（同一用户内唯一）/ name, unique per owner")
    sql: str = Field(min_length=1, max_length=100_000)
    description: str = Field("", max_length=2000)
    visibility: Visibility = Field("private", description="private 仅本人；department 本部门可见")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return valid_name(v)

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        return _clean_text(v, "说明", 2000)


class SavedQueryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    sql: str | None = Field(None, min_length=1, max_length=100_000)
    description: str | None = Field(None, max_length=2000)
    visibility: Visibility | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else valid_name(v)

    @field_validator("description")
    @classmethod
    def _description(cls, v: str | None) -> str | None:
        return None if v is None else _clean_text(v, "说明", 2000)


class SavedQueryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    sql: str
    visibility: Visibility
    owner: str
    department_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    mine: bool = False


class HistoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sql: str
    status: str
    error_code: str | None
    message: str | None
    rows: int | None
    total: int | None
    elapsed_ms: float | None
    tables: list[dict[str, Any]]
    saved_id: int | None
    created_at: dt.datetime


class HistoryPage(BaseModel):
    items: list[HistoryRead]
    total: int
    offset: int
    limit: int
