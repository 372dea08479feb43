"""/api/v1 routes of the dashboards (仪表板, issue 18): thin — parse, call ``analysis.dashboards``.

A dashboard is a declarative JSON document (``DashboardDoc``); its panels' data are computed per
request for the caller (``GET /dashboards/{id}/panels/{panel}/data``), one request per panel so that
a page loads them in parallel. Export gives the document with each query panel's SQL; import makes a
new dashboard from one, writing nothing when any part is wrong (422 listing every problem).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from shudata.analysis import dashboards as svc
from shudata.analysis.dashboards import Chart, DashboardDoc, DashboardRead, Filters, PanelData
from shudata.lake.export import content_disposition
from shudata.query.workbench_schemas import valid_name
from shudata.web.deps import ActorDep, SessionDep, SettingsDep

router = APIRouter(tags=["dashboards"])
DashId = Path(ge=1, le=2**31 - 1, description="仪表板编号 / dashboard id")
PanelId = Path(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="面板编号 / panel id")


class DashboardCreate(BaseModel):
    document: DashboardDoc
    sharing: Literal["private", "department"] = Field("private", description="private 仅本人；department 本部门")


class DashboardUpdate(BaseModel):
    document: DashboardDoc | None = None
    sharing: Literal["private", "department"] | None = None
    revision: int | None = Field(None, ge=1, description="编辑所基于的版本；已被他人修改时 422 dashboard_stale")


class PinRequest(BaseModel):
    sql: str = Field(..., min_length=1, max_length=100_000, description="工作台中的查询")
    title: str = Field(..., min_length=1, max_length=200, description="面板标题")
    chart: Chart = "bar"
    x: str | None = Field(None, max_length=200, description="类别 / 横轴列（地图：地区列）")
    y: str | None = Field(None, max_length=200, description="数值列")
    dashboard_id: int | None = Field(None, ge=1, description="固定到已有的仪表板；空则新建")
    new_title: str | None = Field(None, max_length=200, description="新建仪表板的标题")

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        """The title names the saved query the panel reads: the saved queries' rules (no control characters)."""
        return valid_name(v)

    @field_validator("new_title")
    @classmethod
    def _new_title(cls, v: str | None) -> str | None:
        return None if v is None or not v.strip() else valid_name(v)


class PinResult(BaseModel):
    dashboard: DashboardRead
    panel: str
    url: str


@router.get("/dashboards", response_model=list[DashboardRead], summary="仪表板列表 / dashboards")
def list_dashboards(session: SessionDep, actor: ActorDep) -> list[DashboardRead]:
    """本人的、本部门共享的和已公开发布的仪表板。Own, department-shared and published dashboards."""
    return svc.list_dashboards(session=session, actor=actor)


@router.post("/dashboards", response_model=DashboardRead, status_code=201, summary="新建仪表板 / create")
def create_dashboard(data: DashboardCreate, session: SessionDep, actor: ActorDep) -> DashboardRead:
    """由一个仪表板文档新建（面板、网格布局、筛选）。Create a dashboard from its document."""
    return svc.create_dashboard(session=session, actor=actor, doc=data.document, sharing=data.sharing)


@router.post("/dashboards/import", response_model=DashboardRead, status_code=201,
             summary="导入仪表板文档（新建副本）/ import a document as a new dashboard")
def import_dashboard(session: SessionDep, actor: ActorDep, document: dict[str, Any] = Body(...),
                     title: str | None = Query(None, max_length=200, description="副本标题（默认沿用文档标题）"),
                     ) -> DashboardRead:
    """导入导出的仪表板文档，新建为本人的仪表板；查询面板按文档中的 SQL 为导入者保存查询。
    文档有误时 422 列出全部问题，不写入任何内容。Import an exported document as a new dashboard of the caller's;
    nothing is written when any part is wrong (422 lists every problem)."""
    return svc.import_document(session=session, actor=actor, data=document, title=title)


@router.post("/dashboards/pin", response_model=PinResult, status_code=201,
             summary="把工作台查询固定到仪表板 / pin a workbench query")
def pin(data: PinRequest, session: SessionDep, actor: ActorDep) -> PinResult:
    """固定到仪表板：查询保存为本人的已保存查询，成为一个面板（新建或已有的仪表板）。"""
    made, panel = svc.pin(session=session, actor=actor, sql=data.sql, panel_title=data.title, chart=data.chart,
                          x=data.x, y=data.y, dashboard_id=data.dashboard_id, new_title=data.new_title)
    return PinResult(dashboard=made, panel=panel, url=f"/dashboards/{made.id}")


@router.get("/dashboards/{dashboard_id}", response_model=DashboardRead, summary="仪表板 / one dashboard")
def get_dashboard(session: SessionDep, actor: ActorDep, dashboard_id: int = DashId) -> DashboardRead:
    """仪表板的文档、可见范围与修订号：所有者、共享范围内的同部门用户可见，已公开发布的任何人可见（否则 404）。
    The document, sharing and revision; visible to its owner, its department when shared, anyone when published."""
    return svc.get_dashboard(session=session, actor=actor, dashboard_id=dashboard_id)


@router.put("/dashboards/{dashboard_id}", response_model=DashboardRead, summary="修改仪表板 / change")
def update_dashboard(data: DashboardUpdate, session: SessionDep, actor: ActorDep,
                     dashboard_id: int = DashId) -> DashboardRead:
    """替换文档（增删、移动、缩放面板）或修改可见范围；只有所有者可以修改。"""
    return svc.update_dashboard(session=session, actor=actor, dashboard_id=dashboard_id, doc=data.document,
                                sharing=data.sharing, revision=data.revision)


@router.delete("/dashboards/{dashboard_id}", status_code=204, summary="删除仪表板 / delete")
def delete_dashboard(session: SessionDep, actor: ActorDep, dashboard_id: int = DashId) -> Response:
    """删除仪表板（只有所有者可以删除；已发布的同时从门户撤下）。Delete a dashboard (its owner only)."""
    svc.delete_dashboard(session=session, actor=actor, dashboard_id=dashboard_id)
    return Response(status_code=204)


@router.get("/dashboards/{dashboard_id}/export", summary="导出仪表板文档（JSON）/ export the document",
            response_model=DashboardDoc)
def export_dashboard(session: SessionDep, actor: ActorDep, dashboard_id: int = DashId) -> Response:
    """仪表板文档（JSON 下载），查询面板附带 SQL，可导入为副本。The document, query panels with their SQL."""
    doc = svc.export_document(session=session, actor=actor, dashboard_id=dashboard_id)
    body = json.dumps(doc, ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": content_disposition(f"{doc['title']}.dashboard.json")})


@router.post("/dashboards/{dashboard_id}/publish", response_model=DashboardRead,
             summary="发布到开放门户 / publish on the open portal")
def publish(session: SessionDep, actor: ActorDep, dashboard_id: int = DashId) -> DashboardRead:
    """部门数据管理员将本部门的仪表板公开发布；每个面板都须是公众可见的（开放指标），否则 422 列出原因。"""
    return svc.publish(session=session, actor=actor, dashboard_id=dashboard_id)


@router.delete("/dashboards/{dashboard_id}/publish", response_model=DashboardRead,
               summary="撤回公开发布 / withdraw from the portal")
def withdraw(session: SessionDep, actor: ActorDep, dashboard_id: int = DashId) -> DashboardRead:
    """撤回公开发布：公众立即不再能看到，仪表板退回部门内共享。Withdraw from the portal, back to the department."""
    return svc.publish(session=session, actor=actor, dashboard_id=dashboard_id, withdraw=True)


@router.get("/dashboards/{dashboard_id}/panels/{panel_id}/data", response_model=PanelData,
            summary="面板数据（按查看者计算）/ one panel's data, computed for the caller")
def panel_data(session: SessionDep, settings: SettingsDep, actor: ActorDep, dashboard_id: int = DashId,
               panel_id: str = PanelId,
               region: list[str] = Query(default_factory=list, max_length=60,
                                         description="地区筛选（代码或名称，可重复）/ region filter"),
               period_from: str | None = Query(None, max_length=20, description="起始期（含）"),
               period_to: str | None = Query(None, max_length=20, description="截止期（含）")) -> PanelData:
    """一个面板的数据：查询面板经 SQL 沙箱按查看者的权限、共享授权与脱敏计算；指标面板按指标的公开规则。
    从不跨用户缓存。One panel's data for the caller (sandbox, grants and masking; the indicator's publication rule)."""
    asked = svc.parse_filters(region, period_from, period_to)
    return svc.panel_data(session=session, settings=settings, actor=actor, dashboard_id=dashboard_id,
                          panel_id=panel_id, asked=asked)


__all__ = ["Filters", "router"]
