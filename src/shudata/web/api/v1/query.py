"""/api/v1 routes of the query capability (thin: parse, call the service, shape the answer).

Besides the sandbox itself (``POST /query``): the SQL workbench's endpoints — what the caller
may query (``GET /query/schema``, also the editor's completion data), runs that go into the
caller's history and can be cancelled on the server (``POST /query/runs``,
``POST /query/runs/{run_id}/cancel``), saved queries (``/query/saved``) and the history
(``GET /query/history``).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response, StreamingResponse

from shudata.lake.export import content_disposition, file_chunks
from shudata.query import saved, service, workbench
from shudata.query.export import MEDIA_TYPES
from shudata.query.schemas import QueryRequest, QueryResult
from shudata.query.workbench_schemas import (
    CancelResult,
    HistoryPage,
    SavedQueryCreate,
    SavedQueryRead,
    SavedQueryUpdate,
    WorkbenchResult,
    WorkbenchRun,
    WorkbenchSchema,
)
from shudata.web.deps import ActorDep, SessionDep, SettingsDep

router = APIRouter(tags=["query"])
RunId = Path(pattern=r"^[A-Za-z0-9_-]{8,64}$", description="运行编号 / run id")


@router.post("/query", response_model=QueryResult,
             summary="SQL 查询（只读沙箱）/ SQL query in the read-only sandbox",
             responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}})
def run_query(data: QueryRequest, session: SessionDep, settings: SettingsDep, actor: ActorDep,
              format: Literal["json", "csv", "xlsx", "parquet"] = Query(
                  "json", description="json 分页结果；csv/xlsx/parquet 下载整个结果（不超过行数上限）"),
              filename: str | None = Query(None, max_length=120, description="下载文件名（不含扩展名，可用中文）"
                                                                             " / download name, without extension"),
              whole: bool = Query(False, description="结果超过行数上限时拒绝下载（422 result_over_row_cap）"
                                                     "而不是截断 / refuse instead of cutting at the row cap"),
              ) -> QueryResult | Response:
    """运行一条只读 SQL。资源用代码（双引号）、别名或名称引用；只能读取有权限的资源；
    有时间、行数与字节上限：JSON 一页超过字节上限时截短（byte_capped、next_offset 指明其余行从哪里取），
    下载超过字节上限时返回 413；`whole=true` 时结果超过行数上限的下载被拒绝（工作台总是这样下载）。
    Run one read-only statement over the resources the caller may read; time, row and byte limits apply (a JSON
    page says when the byte limit cut it and where the rest is; with `whole=true` a download never stops at the
    row cap: it is refused instead)."""
    if format == "json":
        return service.run_query(session=session, settings=settings, actor=actor, sql=data.sql,
                                 offset=data.offset, limit=data.limit, versions=data.versions, count=data.count)
    result = service.export_query(session=session, settings=settings, actor=actor, sql=data.sql, fmt=format,
                                  versions=data.versions, whole=whole)
    name = f"{(filename or '').strip() or 'query'}.{format}"
    headers = {"Content-Disposition": content_disposition(name),
               "X-Shudata-Truncated": "true" if result.truncated else "false", "X-Shudata-Rows": str(result.rows)}
    return StreamingResponse(file_chunks(result.file), media_type=MEDIA_TYPES[format], headers=headers)


@router.get("/query/schema", response_model=WorkbenchSchema,
            summary="可查询的资源与列（工作台补全与结构浏览）/ the tables and columns the caller may query")
def schema(session: SessionDep, settings: SettingsDep, actor: ActorDep) -> WorkbenchSchema:
    """调用者可以查询的资源（有数据版本）及其可见列：中文名称、类型、信息项说明，经脱敏的列注明 `masked`；
    另给出时间上限、行数上限和每页上限。The resources the caller may query and the columns it sees of each
    (after the same access rules every query applies), with the time, row and page limits."""
    return workbench.readable_schema(session=session, settings=settings, actor=actor)


@router.post("/query/runs", response_model=WorkbenchResult,
             summary="工作台运行查询（可取消、记入历史）/ a workbench run (cancellable, kept in the history)")
def run(data: WorkbenchRun, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> WorkbenchResult:
    """与 `POST /query` 相同的沙箱、访问规则与审计，返回一页结果；`run_id` 可用于取消，`record` 为真时
    记入本人的查询历史（被拒绝、超时、取消的也记入）。拒绝时 `error.details.mark` 指出 SQL 中出错的位置
    （`from`/`to`：行、列，从 0 起）。The same sandbox as `POST /query`; cancellable by `run_id`, kept in the
    caller's history; a refusal's `error.details.mark` is the offending span of the SQL."""
    return workbench.run(session=session, settings=settings, actor=actor, data=data)


@router.post("/query/runs/{run_id}/cancel", response_model=CancelResult,
             summary="取消本人正在运行的查询 / cancel one's own running query")
def cancel(session: SessionDep, actor: ActorDep, run_id: str = RunId) -> CancelResult:
    """在服务器上停止本人以 `run_id` 运行的查询（该请求随即以 409 `query_cancelled` 结束）；
    没有本人的这条运行时返回 404。Stops the statement on the server; 404 when no run of the caller has that id."""
    return workbench.cancel(session=session, actor=actor, run_id=run_id)


@router.get("/query/saved", response_model=list[SavedQueryRead],
            summary="已保存的查询（本人的与本部门共享的）/ saved queries: one's own and the department's")
def list_saved(session: SessionDep, actor: ActorDep) -> list[SavedQueryRead]:
    """本人保存的查询，以及本部门同事共享到部门的查询；最近修改的在前。"""
    return saved.list_saved(session=session, actor=actor)


@router.post("/query/saved", response_model=SavedQueryRead, status_code=201,
             summary="保存查询 / save a query")
def create_saved(data: SavedQueryCreate, session: SessionDep, actor: ActorDep) -> SavedQueryRead:
    """保存一条查询：`visibility` 为 `private`（仅本人）或 `department`（本部门可见、可运行，只有本人可改）。
    SQL 须为一条语法正确的语句（否则 422）；同名 409。"""
    return saved.create_saved(session=session, actor=actor, data=data)


@router.get("/query/saved/{saved_id}", response_model=SavedQueryRead, summary="一条已保存的查询 / one saved query")
def get_saved(saved_id: int, session: SessionDep, actor: ActorDep) -> SavedQueryRead:
    """他人未共享的查询与不存在的一样回答 404。A query not shared with the caller answers 404."""
    return saved.get_saved(session=session, actor=actor, saved_id=saved_id)


@router.put("/query/saved/{saved_id}", response_model=SavedQueryRead,
            summary="修改本人保存的查询 / change one's own saved query")
def update_saved(saved_id: int, data: SavedQueryUpdate, session: SessionDep, actor: ActorDep) -> SavedQueryRead:
    """只有所有者可以修改（同事看得到的共享查询返回 403，看不到的返回 404）。"""
    return saved.update_saved(session=session, actor=actor, saved_id=saved_id, data=data)


@router.delete("/query/saved/{saved_id}", status_code=204, response_class=Response,
               summary="删除本人保存的查询 / delete one's own saved query")
def delete_saved(saved_id: int, session: SessionDep, actor: ActorDep) -> Response:
    """只有所有者可以删除；历史记录保留。Only the owner deletes; the history keeps its rows."""
    saved.delete_saved(session=session, actor=actor, saved_id=saved_id)
    return Response(status_code=204)


@router.get("/query/history", response_model=HistoryPage, summary="本人的查询历史 / one's own query history")
def history(session: SessionDep, actor: ActorDep, offset: int = Query(0, ge=0),
            limit: int = Query(50, ge=1, le=200)) -> HistoryPage:
    """本人在工作台运行过的查询（含被拒绝、超时、取消的），最新的在前。"""
    return saved.list_history(session=session, actor=actor, offset=offset, limit=limit)
