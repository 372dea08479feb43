"""``/api/v1/market``: delivery — the buyer's online pages, fingerprinted files and hosted jobs under an
entitlement, and tracing a found file (溯源) — the same services as ``shudata market trace``."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from shudata.lake.export import MEDIA_TYPES, content_disposition, file_chunks, page_json
from shudata.market.delivery import service, sharing
from shudata.query.service import rows_of
from shudata.web.deps import SessionDep, SettingsDep, UserDep

router = APIRouter(tags=["market"])


@router.get("/market/entitlements/{entitlement_id}/rows", summary="在线交付：分页读取 / online delivery pages")
def entitlement_rows(session: SessionDep, settings: SettingsDep, actor: UserDep, entitlement_id: int,
                     offset: Annotated[int, Query(ge=0)] = 0,
                     limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> Response:
    """按交付授权（在线接口）分页读取已脱敏的数据；每页计一次调用及其行数，超出购买的额度返回 429。"""
    page, total, version = service.fetch_rows(session=session, settings=settings, actor=actor,
                                     entitlement_id=entitlement_id, offset=offset, limit=limit)
    body = page_json(page, total=total, offset=offset, limit=min(limit, settings.page_size_max), version=version,
                     limit_requested=limit)
    return Response(body, media_type="application/json")


@router.get("/market/entitlements/{entitlement_id}/file", summary="离线交付：带指纹的文件 / fingerprinted file")
def entitlement_file(session: SessionDep, settings: SettingsDep, actor: UserDep, entitlement_id: int,
                     format: Literal["csv", "xlsx", "parquet"] = "csv") -> StreamingResponse:
    """下载本买方的数据文件（已脱敏，嵌有不可见的买方指纹，可用于泄露溯源）：CSV（UTF-8 BOM）、XLSX 或 Parquet。"""
    got = service.deliver_file(session=session, settings=settings, actor=actor, entitlement_id=entitlement_id,
                               fmt=format)
    headers = {"Content-Disposition": content_disposition(got.filename), "X-Content-SHA256": got.sha256}
    return StreamingResponse(file_chunks(got.file), media_type=MEDIA_TYPES[format], headers=headers)


class HostedJobCreate(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000, description="聚合查询；数据产品在 SQL 中名为 product")


@router.post("/market/entitlements/{entitlement_id}/jobs", summary="托管计算 / run a hosted job")
def hosted_job(session: SessionDep, settings: SettingsDep, actor: UserDep, entitlement_id: int,
               data: HostedJobCreate) -> dict[str, Any]:
    """在平台内对数据产品运行聚合查询（数据可用不可见）：只发布通过卖方发布规则的结果（只含聚合、每组不少于 k 条、
    无个人信息、可选差分隐私）；不通过时返回 422 并说明原因。"""
    got = service.run_job(session=session, settings=settings, actor=actor, entitlement_id=entitlement_id,
                          sql=data.sql)
    return {"columns": got.table.column_names, "rows": rows_of(got.table), "groups": got.groups,
            "epsilon": got.epsilon, "noise_scale": got.noise}


@router.get("/market/entitlements/{entitlement_id}/sharing-profile",
            summary="在线交付：Delta Sharing 配置文件 / Delta Sharing profile")
def sharing_profile(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                    entitlement_id: int) -> Response:
    """下载在线交付（API / Delta Sharing）订单的 Delta Sharing 配置文件：端点与只能读取本订单数据表的令牌，
    随交付授权到期、撤销或订单退款而失效。"""
    name, body = sharing.profile_for(session=session, settings=settings, actor=actor, entitlement_id=entitlement_id,
                                     base_url=str(request.base_url))
    return Response(json.dumps(body, indent=2), media_type="application/json",
                    headers={"Content-Disposition": content_disposition(name)})


@router.post("/market/traces", summary="泄露溯源 / trace a found file")
def trace(session: SessionDep, settings: SettingsDep, actor: UserDep, file: Annotated[UploadFile, File()],
          product: Annotated[str | None, Form()] = None) -> dict[str, Any]:
    """上传发现的疑似泄露文件（CSV、XLSX 或 Parquet），返回泄露它的买方及置信度，或“无匹配”（交易所运营方）。"""
    content = file.file.read(settings.max_upload_bytes + 1)  # one byte over the limit is enough to refuse it
    return service.trace_file(session=session, settings=settings, actor=actor, content=content,
                              filename=file.filename or "file", product_code=product)
