"""/api/v1 routes of the quality capability (thin: parse, call the service, shape the answer).

Entry routes take the resource code (``101001/000123``), alias or name: ``/quality/resources/{code}/…``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from shudata.core.ids import parse_id
from shudata.core.types import Page
from shudata.lake.ingest.limits import ReadLimits
from shudata.quality import cleaning_service, dashboard, quarantine_service, report, service
from shudata.quality.actions import PROFILE_RUN
from shudata.quality.profile import profile_file
from shudata.quality.reference import region_sources
from shudata.quality.schemas import (
    LineageRead,
    QuarantineFix,
    QuarantineRowRead,
    RuleSetRead,
    RuleSuggestions,
    RunRead,
)
from shudata.quality.spec_files import parse_spec_text
from shudata.query.service import local_engine
from shudata.security.authz import require
from shudata.web.api.v1.catalog import XLSX, download
from shudata.web.deps import ActorDep, SessionDep, SettingsDep, UserDep
from shudata.web.uploads import receive_upload

router = APIRouter(tags=["quality"])
R = "/quality/resources/{code:rcode}"


class RuleSetSave(BaseModel):
    spec: Any = Field(None, description="规则集：{rules: [...]} 或规则列表；也可用 yaml 字段提交 YAML 文本")
    yaml: str | None = Field(None, description="YAML/JSON 文本（与 spec 二选一）")
    comment: str | None = Field(None, max_length=500)


class SuggestionsAccept(BaseModel):
    rules: list[dict[str, Any]] = Field(description="采纳（可已修改）的建议规则；未列出的即舍弃")
    comment: str | None = Field(None, max_length=500)
    replace: bool = Field(True, description="true：所选规则即为新的规则集；false：保留现有规则，同一标识的规则被替换")
    offered: int | None = Field(None, ge=0, description="提供的建议条数（审计中记录舍弃了几条）")


class PipelineSave(BaseModel):
    spec: Any = None
    yaml: str | None = None


class CleanRequest(BaseModel):
    pipeline: Any = Field(description="已保存流程的名称，或完整流程 {name, steps}")
    version: int | None = None
    dry_run: bool = Field(False, description="只预览各步骤改动的数量")


def _spec(spec: Any, text: str | None) -> Any:
    return parse_spec_text(text) if text else spec


@router.get(R + "/rules", response_model=RuleSetRead | None, summary="当前质量规则 / current rule set")
def get_rules(code: str, session: SessionDep, actor: UserDep) -> RuleSetRead | None:
    """目录条目当前生效的质量规则集（规格与 YAML），没有规则时返回 null。"""
    return service.get_rule_set(session=session, actor=actor, resource=code)


@router.put(R + "/rules", response_model=RuleSetRead, summary="保存质量规则（保存时校验）/ save rules")
def save_rules(code: str, body: RuleSetSave, session: SessionDep, actor: UserDep) -> RuleSetRead:
    """保存质量规则集（JSON 规格或 YAML）：保存时逐条校验列名与参数，有误返回 422 并指出哪一条；保存为新修订。"""
    return service.save_rule_set(session=session, actor=actor, resource=code, spec=_spec(body.spec, body.yaml),
                                 comment=body.comment)


@router.get(R + "/rules/suggestions", response_model=RuleSuggestions,
            summary="建议规则（按最新数据剖析）/ suggested rules from the newest data")
def rule_suggestions(code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> RuleSuggestions:
    """按最新数据版本剖析各列，建议质量规则（非空、唯一、代码表、范围、格式、证件校验位等）及其依据。"""
    return service.suggest_rules(session=session, settings=settings, actor=actor, resource=code)


@router.post(R + "/rules/suggestions", response_model=RuleSetRead,
             summary="采纳建议规则（保存为新版规则集）/ accept suggested rules")
def accept_suggestions(code: str, body: SuggestionsAccept, session: SessionDep, actor: UserDep) -> RuleSetRead:
    """采纳所选的建议规则，与现有规则合并后保存为新版规则集。"""
    return service.accept_suggestions(session=session, actor=actor, resource=code, rules=body.rules,
                                      comment=body.comment, replace=body.replace, offered=body.offered)


@router.get(R + "/rules/history", response_model=list[RuleSetRead], summary="规则变更记录 / rule history")
def rules_history(code: str, session: SessionDep, actor: UserDep) -> list[RuleSetRead]:
    """质量规则集的全部修订与修改说明。"""
    return service.rule_set_history(session=session, actor=actor, resource=code)


@router.post(R + "/check", response_model=RunRead, summary="执行质量检查 / run the checks")
def check(code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
          version: int | None = Query(None, ge=1)) -> RunRead:
    """对最新（或指定）数据版本执行质量检查：每条规则的通过率、失败行数、样例与复现失败行的 SQL。"""
    return service.check(session=session, settings=settings, actor=actor, resource=code, version=version)


@router.get(R + "/runs", response_model=list[RunRead], summary="检查记录（趋势）/ runs")
def runs(code: str, session: SessionDep, actor: UserDep) -> list[RunRead]:
    """目录条目的历次检查记录（得分趋势）。"""
    return service.list_runs(session=session, actor=actor, resource=code)


@router.get("/quality/runs/{run_id}", response_model=RunRead, summary="一次检查的结果 / one run")
def get_run(run_id: int, session: SessionDep, actor: UserDep) -> RunRead:
    """一次质量检查的结果：各规则的结果与各维度得分。"""
    return service.get_run(session=session, actor=actor, run_id=run_id)


@router.get("/quality/runs/{run_id}/report.html", response_class=HTMLResponse, summary="独立 HTML 报告")
def report_html(run_id: int, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    """一次检查的独立 HTML 报告（可离线打开、转发）。"""
    data = report.report_data(session=session, actor=actor, run_id=run_id)
    page = report.standalone_html(data, tz=settings.timezone)
    return download(page.encode(), f"质量报告-{run_id}.html", "text/html; charset=utf-8")


@router.get("/quality/runs/{run_id}/report.xlsx", summary="XLSX 报告 / report as XLSX")
def report_xlsx(run_id: int, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    """一次检查的 XLSX 报告：汇总表与每条规则的失败样例。"""
    data = report.report_data(session=session, actor=actor, run_id=run_id)
    return download(report.report_xlsx(data, tz=settings.timezone), f"质量报告-{run_id}.xlsx", XLSX)


@router.get("/quality/scores", summary="最新质量得分（批量）/ latest scores")
def scores(session: SessionDep, actor: UserDep, ids: str = Query(..., description="逗号分隔的资源 id")
           ) -> dict[str, float]:
    """一批目录条目（逗号分隔的 id）的最新质量得分。"""
    wanted = [i for x in ids.split(",")[:1000] if (i := parse_id(x)) is not None]
    return {str(k): v for k, v in service.latest_scores(session, wanted).items()}


@router.get(R + "/quarantine", response_model=Page[QuarantineRowRead], summary="隔离区 / quarantined rows")
def quarantine(code: str, session: SessionDep, actor: UserDep, version: int | None = None,
               status: str | None = Query("open", pattern="^(open|fixed|released)$"),
               offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=1000)) -> Page[QuarantineRowRead]:
    """隔离区中未通过检查的行及原因，可按版本与状态（待修正、已修正、已发布）筛选，分页返回。"""
    return quarantine_service.list_rows(session=session, actor=actor, resource=code, version=version, status=status,
                                        offset=offset, limit=limit)


@router.get(R + "/quarantine.xlsx", summary="导出隔离区（原因单列）/ quarantine as XLSX")
def quarantine_xlsx(code: str, session: SessionDep, actor: UserDep, version: int | None = None) -> Response:
    """隔离区导出为 XLSX，原因单列。"""
    data = quarantine_service.export_xlsx(session=session, actor=actor, resource=code, version=version)
    return download(data, "隔离数据.xlsx", XLSX)


@router.put("/quality/quarantine/{row_id}", response_model=QuarantineRowRead, summary="修正一行隔离数据")
def fix_row(row_id: int, body: QuarantineFix, session: SessionDep, settings: SettingsDep,
            actor: UserDep) -> QuarantineRowRead:
    """修正一行隔离数据：修正后的值重新按规则校验，通过则标记为已修正。"""
    return quarantine_service.fix_row(session=session, settings=settings, actor=actor, row_id=row_id,
                                      data=body.data)


@router.post(R + "/quarantine/release", summary="把已修正的行发布为新版本 / release fixed rows")
def release(code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> dict[str, Any]:
    """把已修正的隔离行并入数据，发布为新的数据版本。"""
    return quarantine_service.release_fixed(session=session, settings=settings, actor=actor, resource=code)


@router.get(R + "/pipelines", summary="清洗流程 / cleaning pipelines")
def pipelines(code: str, session: SessionDep, actor: UserDep) -> list[dict[str, Any]]:
    """目录条目的清洗流程（步骤与参数）。"""
    return cleaning_service.list_pipelines(session=session, actor=actor, resource=code)


@router.put(R + "/pipelines", summary="保存清洗流程（检查列与循环引用）/ save a pipeline")
def save_pipeline(code: str, body: PipelineSave, session: SessionDep, actor: UserDep) -> dict[str, Any]:
    """保存清洗流程：检查引用的列是否存在、步骤之间有无循环引用。"""
    return cleaning_service.save_pipeline(session=session, actor=actor, resource=code,
                                          spec=_spec(body.spec, body.yaml))


@router.post(R + "/clean", summary="运行清洗流程（生成新版本）/ run a pipeline")
def clean(code: str, body: CleanRequest, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Any:
    """运行清洗流程：`dry_run` 为真时只预览前后对比，否则生成新的数据版本并记录血缘。"""
    if body.dry_run:
        return cleaning_service.preview_clean(session=session, settings=settings, actor=actor, resource=code,
                                              pipeline=body.pipeline, version=body.version)
    return cleaning_service.clean(session=session, settings=settings, actor=actor, resource=code,
                                  pipeline=body.pipeline, version=body.version)


@router.get(R + "/lineage", response_model=list[LineageRead], summary="清洗血缘 / cleaning lineage")
def lineage(code: str, session: SessionDep, actor: UserDep) -> list[LineageRead]:
    """清洗血缘：每个由清洗生成的版本来自哪个版本、经过哪些步骤。"""
    return cleaning_service.lineage(session=session, actor=actor, resource=code)


@router.get(R + "/clusters", summary="近似值聚类预览 / fuzzy clusters")
def clusters(code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
             column: str = Query(..., min_length=1), version: int | None = None) -> list[dict[str, Any]]:
    """对一列的取值做近似聚类（写法不同的同一取值），供清洗时合并。"""
    return cleaning_service.cluster_preview(session=session, settings=settings, actor=actor, resource=code,
                                            column=column, version=version)


@router.get("/quality/dashboard/department/{department_id}", summary="部门质量看板 / department dashboard")
def dept_dashboard(department_id: int, session: SessionDep, actor: UserDep) -> dict[str, Any]:
    """部门质量看板：各条目得分、趋势与隔离行数。"""
    return dashboard.department_dashboard(session=session, actor=actor, department_id=department_id)


@router.get("/quality/dashboard/platform", summary="全平台质量看板 / platform dashboard")
def platform_dashboard(session: SessionDep, actor: UserDep) -> dict[str, Any]:
    """全平台质量看板（平台管理员）：各部门平均得分与低分条目。"""
    return dashboard.platform_dashboard(session=session, actor=actor)


@router.post("/quality/profile", summary="剖析文件（不保存）/ profile a file",
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                 "type": "object", "properties": {"file": {"type": "string", "format": "binary"},
                                                  "missing": {"type": "string"}}}}}}})
async def profile(request: Request, settings: SettingsDep, actor: ActorDep, session: SessionDep
                  ) -> list[dict[str, Any]]:
    """每列一个对象：column、type、nulls、distinct、kind、invalid（以及 null_rate、suggested_rules）。"""
    require(actor, PROFILE_RUN)
    upload = await receive_upload(request, settings.data_dir / "tmp" / "uploads", settings.max_upload_bytes)
    try:
        marks = upload.fields.get("missing")
        placeholders = tuple(p for p in marks.split(",") if p) if marks else tuple(settings.ingest_missing_values)
        if upload.path is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("upload.path is unexpectedly None")
        path: Path = upload.path
        result = await run_in_threadpool(profile_file, local_engine(settings), path, placeholders=placeholders,
                                         lookups=region_sources(settings.data_dir / "quality" / "ref"),
                                         name=upload.filename, limits=ReadLimits.from_settings(settings),
                                         max_columns=settings.profile_max_columns,
                                         enum_max=settings.quality_suggest_enum_max)
        return [c.model_dump() for c in result.columns]
    finally:
        upload.cleanup()

