"""/api/v1 routes of the catalog capability (thin: parse, call the service, shape the answer).

Resource codes contain a slash (``101001/000123``). Entry routes use the ``rcode`` path
converter registered here: it matches either a whole code ``类项目[细目]/顺序号`` or one path
segment (alias, name or numeric id), so ``GET /api/v1/resources/101001/000123`` and
``GET /api/v1/resources/101001%2F000123`` both address the entry, while longer paths such
as ``/api/v1/resources/101001/000123/versions`` (lake routes) are left to their own routers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor

from shudata.catalog import base_registries, dashboard, demand, import_export, search, service, sharing_list
from shudata.catalog.schemas import (
    Classification,
    DemandCreate,
    DemandLink,
    DemandRead,
    DemandStatus,
    DepartmentDashboard,
    FormatCategory,
    ImportReport,
    PlatformDashboard,
    ResourceCreate,
    ResourceRead,
    ResourceUpdate,
    RevisionRead,
    SearchFilters,
    SearchHit,
    SearchResult,
    SharingListRow,
    SharingType,
    TemplateRead,
    UpdateCycle,
)
from shudata.core.types import Page
from shudata.web.deps import ActorDep, SessionDep, SettingsDep

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ResourceCodeConvertor(Convertor[str]):
    """A resource code (``101001/000123``) or a single path segment (alias, name, id)."""

    regex = r"[1-9][0-9]{5,11}/[0-9]{1,6}|[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("rcode", ResourceCodeConvertor())
router = APIRouter(tags=["catalog"])


def download(content: bytes, filename: str, media_type: str) -> Response:
    """A file download whose Chinese name survives (RFC 5987 ``filename*``)."""
    ascii_name = filename.encode("ascii", "ignore").decode() or "download"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


# -- entries ---------------------------------------------------------------------------------

@router.get("/resources", response_model=Page[ResourceRead], summary="目录条目列表 / list entries")
def list_resources(session: SessionDep, actor: ActorDep, department_id: int | None = None,
                   offset: Annotated[int, Query(ge=0)] = 0,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Page[ResourceRead]:
    """调用者可见的目录条目，可按提供部门筛选，分页返回。"""
    return service.list_resources(session=session, actor=actor, department_id=department_id, offset=offset,
                                  limit=limit)


@router.post("/resources", response_model=ResourceRead, status_code=201, summary="登记目录条目 / register an entry")
def register(data: ResourceCreate, session: SessionDep, actor: ActorDep) -> ResourceRead:
    """登记一条政务信息资源目录条目（数据管理员登记本部门的条目）；资源代码按国家指南自动编制。"""
    return service.register_resource(session=session, actor=actor, data=data)


@router.get("/resources/{code:rcode}", response_model=ResourceRead, summary="目录条目 / one entry")
def get_resource(code: str, session: SessionDep, actor: ActorDep) -> ResourceRead:
    """一条目录条目的全部元数据与信息项；路径中可用资源代码、别名或名称。"""
    return service.get_resource(session=session, actor=actor, key=code)


@router.patch("/resources/{code:rcode}", response_model=ResourceRead, summary="修改目录条目（产生新版本）")
def update(code: str, data: ResourceUpdate, session: SessionDep, actor: ActorDep) -> ResourceRead:
    """修改目录条目：保存为新修订，旧修订保留在变更记录中。"""
    return service.update_resource(session=session, actor=actor, code=code, data=data)


@router.delete("/resources/{code:rcode}", response_model=ResourceRead, summary="删除目录条目（可追溯）")
def delete(code: str, session: SessionDep, actor: ActorDep, comment: str | None = None) -> ResourceRead:
    """删除目录条目（可追溯）：条目标记为已删除，变更记录与审计保留；可附删除说明 `comment`。"""
    return service.delete_resource(session=session, actor=actor, code=code, comment=comment)


@router.get("/resources/{code:rcode}/history", response_model=list[RevisionRead], summary="目录变更记录 / history")
def history(code: str, session: SessionDep, actor: ActorDep) -> list[RevisionRead]:
    """目录条目的全部修订：每次修改的时间、修改人与改动字段。"""
    return service.history(session=session, actor=actor, code=code)


# -- search, templates -----------------------------------------------------------------------

@router.get("/search", response_model=SearchResult, summary="目录全文检索（含分面）/ search with facets")
def search_catalog(session: SessionDep, actor: ActorDep, q: str = "", provider: int | None = None,
                   classification: Classification | None = None, sharing_type: SharingType | None = None,
                   format: FormatCategory | None = None, update_cycle: UpdateCycle | None = None,
                   min_quality: Annotated[float | None, Query(ge=0, le=100, description="最低质量得分")] = None,
                   sort: Annotated[Literal["relevance", "quality"], Query(description="排序：相关度或质量得分")]
                   = "relevance",
                   offset: Annotated[int, Query(ge=0)] = 0,
                   limit: Annotated[int, Query(ge=1, le=100)] = 20) -> SearchResult:
    """目录全文检索（中文分词），按提供部门、分级、共享类型、格式、更新周期、最低质量得分筛选，返回分面计数。"""
    filters = SearchFilters(provider=provider, classification=classification, sharing_type=sharing_type,
                            format=format, update_cycle=update_cycle, min_quality=min_quality)
    return search.search(session=session, actor=actor, q=q, filters=filters, offset=offset, limit=limit,
                         sort=sort)


@router.get("/templates", response_model=list[TemplateRead], summary="基础库模板 / base-registry templates")
def templates() -> list[TemplateRead]:
    """基础库（人口、法人、自然资源和地理空间、社会信用）的条目模板：预置的信息项与分类。"""
    return base_registries.list_templates()


class FromTemplate(BaseModel):
    name: str | None = Field(None, description="资源名称（默认：模板名称）")
    provider_department_id: int | None = None
    alias: str | None = None


@router.post("/templates/{key}/resources", response_model=ResourceRead, status_code=201,
             summary="由基础库模板登记条目 / register from a template")
def from_template(key: str, data: FromTemplate, session: SessionDep, actor: ActorDep) -> ResourceRead:
    """按基础库模板登记一条目录条目，可另起名称与别名。"""
    extra: dict[str, Any] = {"alias": data.alias} if data.alias else {}
    return base_registries.create_from_template(session=session, actor=actor, key=key, name=data.name,
                                                provider_department_id=data.provider_department_id, **extra)


# -- demand and sharing lists ------------------------------------------------------------------

@router.get("/demands", response_model=list[DemandRead], summary="需求清单 / demand list")
def list_demands(session: SessionDep, actor: ActorDep, department_id: int | None = None,
                 status: DemandStatus | None = None) -> list[DemandRead]:
    """数据需求清单，可按需求部门与状态（待匹配、已匹配、已关闭）筛选。"""
    return demand.list_demands(session=session, actor=actor, department_id=department_id, status=status)


@router.post("/demands", response_model=DemandRead, status_code=201, summary="登记数据需求 / record a demand")
def create_demand(data: DemandCreate, session: SessionDep, actor: ActorDep) -> DemandRead:
    """登记一项数据需求：需求名称、描述、所需信息项与用途；平台据此推荐可能匹配的目录条目。"""
    return demand.create_demand(session=session, actor=actor, data=data)


@router.get("/demands.xlsx", summary="导出需求清单 XLSX / demand list as XLSX")
def demands_xlsx(session: SessionDep, settings: SettingsDep, actor: ActorDep,
                 department_id: int | None = None) -> Response:
    """需求清单导出为 XLSX（时间为配置的时区，默认北京时间；单元格已防公式注入）。"""
    data = demand.export_demands(session=session, actor=actor, department_id=department_id, tz=settings.timezone)
    return download(data, "需求清单.xlsx", XLSX)


@router.get("/demands/{demand_id}", response_model=DemandRead, summary="需求详情")
def get_demand(demand_id: int, session: SessionDep, actor: ActorDep) -> DemandRead:
    """一项数据需求的详情与处理状态。"""
    return demand.get_demand(session=session, actor=actor, demand_id=demand_id)


@router.post("/demands/{demand_id}/link", response_model=DemandRead, summary="关联需求与目录条目 / link a demand")
def link_demand(demand_id: int, data: DemandLink, session: SessionDep, actor: ActorDep) -> DemandRead:
    """把需求关联到一条目录条目（已匹配），或关闭、重新打开需求；每次变化记入审计。"""
    return demand.link_demand(session=session, actor=actor, demand_id=demand_id, data=data)


@router.get("/demands/{demand_id}/suggestions", response_model=list[SearchHit], summary="推荐匹配条目")
def suggestions(demand_id: int, session: SessionDep, actor: ActorDep,
                limit: Annotated[int, Query(ge=1, le=50)] = 5) -> list[SearchHit]:
    """按需求的名称、描述与所需信息项检索，推荐可能满足需求的目录条目。"""
    return demand.suggest(session=session, actor=actor, demand_id=demand_id, limit=limit)


@router.get("/sharing-list", response_model=list[SharingListRow], summary="共享清单 / sharing list")
def get_sharing_list(session: SessionDep, actor: ActorDep, department: int | None = None) -> list[SharingListRow]:
    """共享清单：每个目录条目的共享类型、共享条件与方式、提供部门，可按部门筛选。"""
    return sharing_list.sharing_list(session=session, actor=actor, department_id=department)


@router.get("/sharing-list.xlsx", summary="导出共享清单 XLSX / sharing list as XLSX")
def sharing_list_xlsx(session: SessionDep, actor: ActorDep, department: int | None = None) -> Response:
    """共享清单导出为 XLSX。"""
    data = sharing_list.export_sharing_list(session=session, actor=actor, department_id=department)
    return download(data, "共享清单.xlsx", XLSX)


# -- import / export, dashboards ---------------------------------------------------------------

@router.post("/catalog/import", response_model=ImportReport, summary="导入编目表（XLSX/CSV）/ import the catalog")
def import_catalog(session: SessionDep, actor: ActorDep, file: Annotated[UploadFile, File()],
                   skip_invalid: Annotated[bool, Form()] = False,
                   department: Annotated[str | None, Form()] = None) -> ImportReport:
    """上传编目表（XLSX 或 CSV）批量登记目录条目；逐行校验，`skip_invalid` 为真时跳过有误的行，否则有误即整批不导入。"""
    content = file.file.read()
    return import_export.import_catalog(session=session, actor=actor, content=content,
                                        filename=file.filename or "catalog", skip_invalid=skip_invalid,
                                        department=department)


@router.get("/catalog/export", summary="导出编目表 / export the catalog (xlsx|csv)")
def export_catalog(session: SessionDep, actor: ActorDep, format: Literal["xlsx", "csv"] = "xlsx",
                   department_id: int | None = None) -> Response:
    """导出编目表（XLSX 或 CSV），列与导入格式一致，可按部门导出。"""
    data = import_export.export_catalog(session=session, actor=actor, fmt=format, department_id=department_id)
    media = XLSX if format == "xlsx" else "text/csv; charset=utf-8"
    return download(data, f"政务信息资源目录.{format}", media)


@router.get("/dashboard/department/{department_id}", response_model=DepartmentDashboard, summary="部门目录看板")
def department_dashboard(department_id: int, session: SessionDep, actor: ActorDep) -> DepartmentDashboard:
    """部门目录看板：条目数、共享类型分布、更新及时性与待办。"""
    return dashboard.department_dashboard(session=session, actor=actor, department_id=department_id)


@router.get("/dashboard/platform", response_model=PlatformDashboard, summary="全平台目录看板（管理员）")
def platform_dashboard(session: SessionDep, actor: ActorDep) -> PlatformDashboard:
    """全平台目录看板（平台管理员）：各部门条目数、共享与开放情况、逾期未更新的条目。"""
    return dashboard.platform_dashboard(session=session, actor=actor)
