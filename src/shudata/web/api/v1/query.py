"""/api/v1 routes of the query capability (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from shudata.query import service
from shudata.query.export import MEDIA_TYPES, WRITERS
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
    有时间与行数上限。Run one read-only statement over the resources the caller may read."""
    if format == "json":
        return service.run_query(session=session, settings=settings, actor=actor, sql=data.sql,
                                 offset=data.offset, limit=data.limit, versions=data.versions, count=data.count)
    result = service.query_table(session=session, settings=settings, actor=actor, sql=data.sql,
                                 versions=data.versions)
    headers = {"Content-Disposition": f'attachment; filename="query.{format}"',
               "X-Shudata-Truncated": "true" if result.truncated else "false"}
    return Response(WRITERS[format](result.table), media_type=MEDIA_TYPES[format], headers=headers)
