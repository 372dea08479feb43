"""Sharing workflow and masked delivery (/api/v1/sharing, /api/v1/shared)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shudata.lake.export import page_json
from shudata.query.export import MEDIA_TYPES
from shudata.security.schemas import TokenCreate
from shudata.security.service import create_token
from shudata.sharing import delivery, push, service, stats
from shudata.sharing.delta_sharing.server import profile
from shudata.sharing.files import Charge, shared_file
from shudata.sharing.grants import grants_of_department
from shudata.sharing.schemas import (
    DecisionCreate,
    DisputeCreate,
    DisputeResolve,
    GrantRead,
    RequestCreate,
    RequestRead,
    RevokeCreate,
)
from shudata.web.deps import SessionDep, SettingsDep, UserDep
from shudata.web.files import PreparedFile, not_modified, serve_file

router = APIRouter(tags=["sharing"])
MAX_INT = 2**63 - 1  # offsets and limits beyond 64 bits name nothing (and JSON, DuckDB and SQLite cannot hold them)


@router.post("/sharing/requests", response_model=RequestRead, status_code=201, summary="提交共享申请")
def create_request(data: RequestCreate, session: SessionDep, settings: SettingsDep, actor: UserDep) -> RequestRead:
    """提交共享申请：目录条目、所需信息项、用途、依据与使用期限；无条件共享的条目即时授权，有条件共享的进入提供部门的审核队列。"""
    return service.request_access(session=session, actor=actor, settings=settings, data=data)


@router.get("/sharing/requests", response_model=list[RequestRead], summary="共享申请队列 / request queue")
def list_requests(session: SessionDep, actor: UserDep, box: Literal["incoming", "outgoing"] = "incoming",
                  status: str | None = None, overdue: bool = False) -> list[RequestRead]:
    """共享申请队列：`incoming` 为待本部门审核的，`outgoing` 为本部门提交的；可按状态筛选或只看超期的。"""
    return service.list_requests(session=session, actor=actor, box=box, status=status, overdue_only=overdue)


@router.post("/sharing/requests/{request_id}/decision", response_model=RequestRead, summary="审核共享申请")
def decide(request_id: int, data: DecisionCreate, session: SessionDep, settings: SettingsDep,
           actor: UserDep) -> RequestRead:
    """提供部门的数据管理员审核共享申请：批准、部分批准（限定信息项）或拒绝（须说明理由）；须在答复时限内办理。"""
    return service.decide(session=session, actor=actor, settings=settings, request_id=request_id, data=data)


@router.post("/sharing/requests/{request_id}/dispute", response_model=RequestRead, summary="提出争议")
def dispute(request_id: int, data: DisputeCreate, session: SessionDep, actor: UserDep) -> RequestRead:
    """申请部门对拒绝或超期提出争议，交平台管理员协调。"""
    return service.raise_dispute(session=session, actor=actor, request_id=request_id, data=data)


@router.post("/sharing/requests/{request_id}/resolve", response_model=RequestRead, summary="协调争议（平台管理员）")
def resolve(request_id: int, data: DisputeResolve, session: SessionDep, settings: SettingsDep,
            actor: UserDep) -> RequestRead:
    """平台管理员协调争议：维持原决定或改为批准，结果通知双方。"""
    return service.resolve_dispute(session=session, actor=actor, settings=settings, request_id=request_id, data=data)


@router.post("/sharing/grants/{grant_id}/revoke", response_model=GrantRead, summary="撤销授权")
def revoke(grant_id: int, data: RevokeCreate, session: SessionDep, actor: UserDep) -> GrantRead:
    """撤销一项共享授权（须说明理由），立即停止交付数据。"""
    return service.revoke_grant(session=session, actor=actor, grant_id=grant_id, data=data)


@router.get("/sharing/grants", response_model=list[GrantRead], summary="本部门有效授权 / my department's grants")
def my_grants(session: SessionDep, actor: UserDep) -> list[GrantRead]:
    """调用者所在部门当前有效的共享授权：条目、信息项、脱敏策略与有效期。"""
    if actor.department_id is None:
        return []
    return [GrantRead.model_validate(g) for g in grants_of_department(session=session, actor=actor)]


@router.get("/sharing/notifications", summary="站内通知 / notifications")
def notifications(session: SessionDep, actor: UserDep) -> list[dict[str, Any]]:
    """调用者的站内通知（申请、审核、争议、撤销等），新的在前。"""
    return [{"id": n.id, "kind": n.kind, "message": n.message, "request_id": n.request_id,
             "created_at": n.created_at.isoformat()} for n in service.notifications(session=session, actor=actor)]


@router.post("/sharing/profile", summary="下载 Delta Sharing 配置文件（含新令牌）")
def delta_profile(request: Request, session: SessionDep, actor: UserDep,
                  days: int = Query(90, ge=1, le=365)) -> Response:
    """下载 Delta Sharing 配置文件：为调用者新建一个令牌（有效天数 `days`），可直接用于 Delta Sharing 客户端。"""
    tok = create_token(session=session, actor=actor, data=TokenCreate(name="delta-sharing", expires_in_days=days))
    body = profile(str(request.base_url).rstrip("/") + "/delta-sharing", tok.token, tok.expires_at)
    return Response(json.dumps(body, indent=2), media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="shudata.share"'})


def _download(data: bytes, media: str, name: str) -> Response:
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename=\"shared\"; filename*=UTF-8''{quote(name)}"})


@router.get("/shared/rows", summary="按授权获取脱敏数据 / masked rows under a grant")
@router.head("/shared/rows", include_in_schema=False)
def shared_rows(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                resource: str = Query(..., description="资源代码、别名或名称"), version: int | None = None,
                offset: int | None = Query(None, ge=0, le=MAX_INT,
                                           description="起始行（json 默认 0；文件格式给出时只下载这一段）"),
                limit: int | None = Query(None, ge=1, le=MAX_INT,
                                          description="行数：json 每页默认 100、最多 page_size_max（超过时按上限返回并"
                                                      "在答复中说明）；文件格式给出时只下载这一段，不给时下载全部行"),
                format: Literal["json", "csv", "xlsx", "parquet"] = "json",
                filter: str | None = Query(None, description="进一步缩小范围的行过滤条件（不能扩大授权），"
                                           "作用于交付的（脱敏后的）值 / a narrower row filter over the delivered "
                                           "(masked) values"),
                sort: str | None = Query(None, max_length=1000,
                                         description="排序：信息项 [asc|desc]，逗号分隔，按交付的（脱敏后的）值排序 / "
                                                     "sort by delivered (masked) values")) -> Any:
    """json: one page ``{columns, rows, total, offset, limit, version, next_offset, next}`` (and
    ``limit_requested``/``limit_capped`` when the requested limit passed the maximum; header
    ``Link: rel="next"``). csv/xlsx/parquet: every granted row, or exactly the ``offset``/``limit``
    slice asked for; headers ``X-Shudata-Rows`` (rows in the file), ``X-Shudata-Total`` (rows of
    the view) and ``X-Shudata-Complete``."""
    view = delivery.grant_view(session=session, settings=settings, actor=actor, resource_key=resource,
                               version=version)
    if format == "json":
        start, wanted = offset or 0, limit or 100
        applied = delivery.page_limit(settings, wanted)
        page, total = delivery.fetch_page(session=session, settings=settings, actor=actor, view=view, offset=start,
                                          limit=applied, filter=filter, sort=sort)

        links: list[str] = []

        def next_url(at: int) -> str:
            links.append(str(request.url.include_query_params(offset=at, limit=applied)))
            return links[-1]

        body = page_json(page, total=total, offset=start, limit=applied, version=view.version.version,
                         max_bytes=settings.result_max_bytes, limit_requested=wanted, next_url=next_url)
        headers = {"X-Shudata-Grant": str(view.grant.id), "X-Shudata-Total": str(total)}
        if links:
            headers["Link"] = f'<{links[-1]}>; rel="next"'
        return Response(body, media_type="application/json", headers=headers)
    def charge(etag: str, modified: dt.datetime) -> Charge:  # what leaves: nothing, a part, the file
        if request.method == "HEAD" or not_modified(request, etag, modified):
            return Charge.NONE
        return Charge.RANGE if "range" in request.headers else Charge.WHOLE

    got = shared_file(session=session, settings=settings, actor=actor, view=view, fmt=format, offset=offset,
                      limit=limit, filter=filter, sort=sort, charge=charge)
    stem = f"{view.resource.name}-v{view.version.version}"
    headers = {"X-Shudata-Grant": str(view.grant.id), "X-Shudata-Rows": str(got.rows),
               "X-Shudata-Total": str(got.total), "X-Shudata-Offset": str(got.offset),
               "X-Shudata-Complete": "true" if got.whole else "false"}
    if not got.whole and got.offset + got.rows < got.total:
        following = str(request.url.include_query_params(offset=got.offset + got.rows, limit=max(1, got.rows)))
        headers["Link"] = f'<{following}>; rel="next"'
    return serve_file(request, PreparedFile(path=got.path, etag=got.etag, media_type=MEDIA_TYPES[format],
                                            last_modified=got.last_modified, filename=f"{stem}.{format}",
                                            headers=headers))



@router.get("/shared/changes", summary="增量数据（自版本 N 起新增或变化的行）")
def shared_changes(session: SessionDep, settings: SettingsDep, actor: UserDep, resource: str = Query(...),
                   since_version: int = Query(..., ge=1), key: str = Query(..., description="声明的主键信息项")
                   ) -> dict[str, Any]:
    """按授权获取自版本 `since_version` 起新增或变化的行（以声明的主键信息项 `key` 比对），经授权的脱敏策略处理。"""
    view, table = delivery.changes_since(session=session, settings=settings, actor=actor, resource_key=resource,
                                         since_version=since_version, key=key)
    return {"resource": view.resource.code, "version": view.version.version, "since_version": since_version,
            "columns": table.schema.names, "rows": [list(r.values()) for r in table.to_pylist()]}


class SubscriptionCreate(BaseModel):
    grant_id: int
    url: str = Field(max_length=500, description="接收推送的 http(s) 地址")


@router.post("/sharing/subscriptions", status_code=201, summary="登记推送订阅（新版本时回调）")
def subscribe(data: SubscriptionCreate, session: SessionDep, actor: UserDep) -> dict[str, Any]:
    """为一项授权登记推送地址：条目有新版本时向该地址发送 SM2 签名的通知。"""
    sub = push.subscribe(session=session, actor=actor, grant_id=data.grant_id, url=data.url)
    return {"id": sub.id, "grant_id": sub.grant_id, "url": sub.url, "last_version": sub.last_version}


@router.get("/sharing/stats", summary="共享统计（按资源或部门）/ sharing statistics")
def sharing_stats(session: SessionDep, actor: UserDep, by: Literal["resource", "department"] = "department",
                  format: Literal["json", "xlsx"] = "json") -> Any:
    """共享统计：按资源或部门的申请数、批准与拒绝数、待办与超期数、办理工作日中位数、
    有效授权、调用次数与交付行数；`format=xlsx` 导出。"""
    rows = stats.sharing_stats(session=session, actor=actor, by=by)
    if format == "xlsx":
        return _download(stats.stats_xlsx(rows, "共享统计"),
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"共享统计-{by}.xlsx")
    return [{k: v for k, v in vars(r).items() if not k.startswith("_")} for r in rows]
