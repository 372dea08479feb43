"""Request and response models of the query API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shudata.query.rules.parse import MAX_SQL_CHARS


class QueryRequest(BaseModel):
    """One SQL query and the page of its result wanted."""

    sql: str = Field(..., min_length=1, max_length=MAX_SQL_CHARS,
                     description='一条只读 SELECT；资源用代码（双引号，如 "101001/000123"）、别名或名称')
    offset: int = Field(0, ge=0, description="跳过的行数")
    limit: int = Field(100, ge=1, description="本页行数（不超过 page_size_max）")
    versions: dict[str, int] | None = Field(
        None, description='历史版本：{"资源代码或别名": 版本号}；默认最新版本 / time travel per resource')
    count: bool = Field(True, description="需要时另算总行数 (total) / compute the total when not known from the page")


class ColumnInfo(BaseModel):
    name: str
    type: str


class TableUsed(BaseModel):
    """A resource the query read, and which version of it."""

    code: str
    name: str
    version: int
    grant: int | None = Field(None, description="经哪项共享授权读取（脱敏后的交付视图）；本部门原始数据为空 / "
                                               "the sharing grant it was read through, if any")


class QueryResult(BaseModel):
    """One page of a query result.

    ``total`` is the number of rows of the (capped) result when known; ``truncated`` says
    the full result had more rows than the row cap and was cut; ``has_more`` says
    another page follows, at ``next_offset``. ``byte_capped`` says this page holds fewer
    rows than asked because they would have passed ``max_bytes``; the rest follow from
    ``next_offset``.
    """

    columns: list[ColumnInfo]
    rows: list[list[Any]]
    offset: int
    limit: int
    total: int | None
    has_more: bool
    truncated: bool
    max_rows: int
    elapsed_ms: float
    tables: list[TableUsed] = Field(default_factory=list)
    next_offset: int | None = Field(None, description="下一页的 offset；没有下一页时为空 / where the next page starts")
    byte_capped: bool = Field(False, description="本页因字节上限少于所请求的行数 / the page was cut by the byte limit")
    max_bytes: int | None = Field(None, description="一页结果的字节上限 / byte limit of one page")
    ran: dict[str, Any] | None = Field(None, description="执行位置：引擎、主节点、秒数、行数 / where the query ran: "
                                       "engine, master, seconds, rows")
