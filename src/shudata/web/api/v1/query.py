"""/api/v1 routes of the query capability (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from shudata.lake.export import file_chunks
from shudata.query import service
from shudata.query.export import MEDIA_TYPES
from shudata.query.schemas import QueryRequest, QueryResult
from shudata.web.deps import ActorDep, SessionDep, SettingsDep

router = APIRouter(tags=["query"])


@router.post("/query", response_model=QueryResult,
             summary="SQL 查询（只读沙箱）/ SQL query in the read-only sandbox",
             responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}})
def run_query(data: QueryRequest, session: SessionDep, settings: SettingsDep, actor: ActorDep,
              format: Literal["json", "csv", "xlsx", "parquet"] = Query(
                  "json", description="json 分页结果；csv/xlsx/parquet 下载整个结果（不超过行数上限）"),
              ) -> QueryResult | Response:
    """运行一条只读 SQL。资源用代码（双引号）、别名或名称引用；只能读取有权限的资源；
    有时间、行数与字节上限：JSON 一页超过字节上限时截短（byte_capped、next_offset 指明其余行从哪里取），
    下载超过字节上限时返回 413。Run one read-only statement over the resources the caller may read;
    time, row and byte limits apply (a JSON page says when the byte limit cut it and where the rest is)."""
    if format == "json":
        return service.run_query(session=session, settings=settings, actor=actor, sql=data.sql,
                                 offset=data.offset, limit=data.limit, versions=data.versions, count=data.count)
    result = service.export_query(session=session, settings=settings, actor=actor, sql=data.sql, fmt=format,
                                  versions=data.versions)
    headers = {"Content-Disposition": f'attachment; filename="query.{format}"',
               "X-Shudata-Truncated": "true" if result.truncated else "false", "X-Shudata-Rows": str(result.rows)}
    return StreamingResponse(file_chunks(result.file), media_type=MEDIA_TYPES[format], headers=headers)
