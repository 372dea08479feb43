"""Response models of the lake API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ColumnRead(BaseModel):
    name: str
    type: str = Field(description="Arrow 类型，如 string/double/int64/date32[day]")
    missing_values: int | None = Field(None, description="入库时读作缺失值（NULL）的占位符个数（N/A、无、- 等）")


class VersionRead(BaseModel):
    """One data version of a catalog entry (数据版本)."""

    model_config = ConfigDict(from_attributes=True)

    version: int = Field(description="版本号，从 1 开始")
    resource_code: str
    rows: int
    bytes: int = Field(description="Parquet 存储字节数")
    columns: list[ColumnRead]
    source_name: str
    source_format: str
    source_sha256: str | None = None
    source_bytes: int | None = None
    encoding: str | None = None
    header_row: int | None = None
    sheet: str | None = None
    skipped_rows: int = Field(0, description="跳过的分节行数")
    quarantined_rows: int = Field(0, description="隔离的问题行数（数据质量模块）")
    comment: str | None = None
    created_by: str
    created_at: dt.datetime


class PreviewRead(BaseModel):
    """What the platform understands of a file before it is stored."""

    source_name: str
    format: str
    encoding: str | None
    sheet: str | None
    sheets: list[str]
    header_row: int | None = Field(description="表头所在行（从 1 开始）")
    footer_rows: int = Field(description="末尾注释行数")
    columns: list[str]
    head_rows: list[list[Any]] = Field(description="文件开头的原始行（含标题行）")
    rows: list[list[Any]] = Field(description="前几行数据")
    proposed_items: list[dict[str, Any]] = Field(description="根据文件推断的信息项（名称、类型、长度）")
    check: dict[str, Any] | None = Field(None, description="与目录信息项的比对结果")
    missing_values: list[str] | None = Field(None, description="读作缺失值的占位符（前几行数据中已为空值）")
