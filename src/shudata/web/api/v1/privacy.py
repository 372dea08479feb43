"""/api/v1 routes of the privacy capability (thin: parse, call the service, shape the answer)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shudata.lake.ingest.limits import ReadLimits
from shudata.privacy import editor, labels, review, service, service_models
from shudata.privacy.dp import DpResult
from shudata.privacy.editor_schemas import EditorState, PolicyDraft, PolicyPreview, PolicyUsage
from shudata.privacy.policy import operators
from shudata.privacy.profiles import PROFILES
from shudata.privacy.schemas import (
    BudgetSet,
    ColumnReviewRead,
    ColumnReviewSave,
    DpQuery,
    GradeConfirm,
    KanonRequest,
    KeyCreate,
    KeyRead,
    MaskRequest,
    MaskResult,
    PolicyRead,
    PolicySave,
    ScanReportRead,
)
from shudata.web.deps import ActorDep, LangDep, SessionDep, SettingsDep
from shudata.web.uploads import receive_upload

router = APIRouter(prefix="/privacy", tags=["privacy"])


class ScanRequest(BaseModel):
    resource: str = Field(description="资源代码、别名或名称")
    version: int | None = None
    sample: int = Field(2000, ge=10, le=100_000)


class ResourceMask(MaskRequest):
    resource: str


class ResourceKanon(KanonRequest):
    resource: str


class ResourceDp(DpQuery):
    resource: str


class DecryptRequest(BaseModel):
    tokens: list[str | None] = Field(max_length=10_000)
    resource: str | None = Field(default=None, max_length=100,
                                 description="来源资源（代码或别名）：旧格式密文 k1:… 必填 / origin of old tokens")


@router.get("/operators", summary="脱敏算子 / masking operators")
def list_operators(lang: LangDep) -> list[dict[str, Any]]:
    """每个算子的名称（中文 ``label`` 与代码 ``name``）、GB/T 37964 技术类别、是否可逆、适用类型与参数表单字段
    / operators with their Chinese label, technique, reversibility, column types and parameter fields."""
    forms = {f.name: f for f in editor.operator_forms(lang)}
    reg = operators()
    out = []
    for item in labels.operator_catalog(lang):
        name = str(item["name"])
        out.append({**item, "params": reg.get(name).model_json_schema().get("properties", {}),
                    "fields": [f.model_dump() for f in forms[name].fields]})
    return out


@router.get("/profiles", summary="使用场景 / masking profiles")
def list_profiles(lang: LangDep) -> list[dict[str, Any]]:
    """脱敏策略适用的场景（开放、有条件共享、交易、内部）及其闸门阈值 / the profiles a policy applies to."""
    return [{"name": p.name, "label": labels.profile_label(p.name, lang), "zh": p.zh, "en": p.en,
             "refuse_grade": p.refuse_grade, "tolerance": p.tolerance} for p in PROFILES.values()]


@router.get("/editor", response_model=EditorState, summary="策略编辑器的列与建议 / the policy editor's columns")
def policy_editor(session: SessionDep, settings: SettingsDep, actor: ActorDep, lang: LangDep,
                  resource: str = Query(..., description="资源代码、别名或名称"),
                  profile: str = Query("share-conditional", description="使用场景")) -> EditorState:
    """资源最新版本的各列、识别出的实体（最新扫描报告与列复核）和建议算子（已保存策略的，否则场景默认）；
    仅限资源提供方部门的数据管理员 / columns, detected entities and proposed operators (provider stewards only)."""
    return editor.editor_state(session=session, actor=actor, settings=settings, resource=resource, profile=profile,
                               lang=lang)


@router.post("/policies/preview", response_model=PolicyPreview,
             summary="预览策略草稿的脱敏效果 / preview a drafted policy")
def preview_policy(data: PolicyDraft, session: SessionDep, settings: SettingsDep, actor: ActorDep
                   ) -> PolicyPreview:
    """按交付时同样的方式编译策略草稿，在最新版本的样本行上运行，返回脱敏前后对照与闸门结论；原始样本仅限
    可读取原始数据的提供方部门数据管理员 / before/after on sample rows, compiled as deliveries compile it."""
    return editor.preview_policy(session=session, actor=actor, settings=settings, draft=data)


@router.post("/policies/draft", response_model=PolicyRead, summary="保存编辑器的策略 / save the editor's policy")
def save_draft(data: PolicyDraft, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> PolicyRead:
    """保存为资源在该场景下交付使用的策略（``<代码>-<场景>``，已有则新增修订）；参数有误时返回 422 与中文说明，
    不保存任何内容 / saved under the name delivery looks up; bad parameters → 422, nothing saved."""
    return editor.save_draft(session=session, actor=actor, settings=settings, draft=data)


@router.get("/policies/{name}/usage", response_model=PolicyUsage,
            summary="使用该策略的授权与开放数据 / grants and publications using a policy")
def policy_usage(name: str, session: SessionDep, actor: ActorDep) -> PolicyUsage:
    """按该策略脱敏的共享授权（同资源、同场景）与开放门户的发布记录 / grants and publications masking with it."""
    return editor.policy_usage(session=session, actor=actor, name=name)


@router.post("/scans", response_model=ScanReportRead, summary="扫描资源中的敏感数据 / scan a resource")
def scan_resource(data: ScanRequest, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> ScanReportRead:
    """扫描目录条目一个数据版本的样本，按列识别个人信息与敏感数据（表头、取值格式与校验位），给出证据、建议分级与脱敏算子，保存为扫描报告。"""
    return service.scan_resource(session=session, actor=actor, settings=settings, resource=data.resource,
                                 version=data.version, sample_rows=data.sample)


@router.post("/scans/file", response_model=ScanReportRead, summary="扫描上传的文件 / scan an uploaded file",
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"],
                 "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def scan_file(request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep
                    ) -> ScanReportRead:
    """The file streams to a temporary file (size limit), is read with the ingest readers (shape
    limits) and removed; the report is saved."""
    upload = await receive_upload(request, settings.data_dir / "tmp" / "uploads", settings.max_upload_bytes)
    try:
        if upload.path is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("upload.path is unexpectedly None")
        return await run_in_threadpool(service.scan_file, session=session, actor=actor, path=upload.path,
                                       name=upload.filename, limits=ReadLimits.from_settings(settings))
    finally:
        upload.cleanup()


@router.get("/scans", response_model=list[ScanReportRead], summary="资源的扫描报告 / scan reports of a resource")
def list_scans(session: SessionDep, actor: ActorDep, resource: str = Query(...)) -> list[ScanReportRead]:
    """某目录条目的全部扫描报告（新的在前）。"""
    return service.list_scan_reports(session=session, actor=actor, resource=resource)


@router.get("/scans/{report_id}", response_model=ScanReportRead, summary="扫描报告 / one scan report")
def get_scan(report_id: int, session: SessionDep, actor: ActorDep) -> ScanReportRead:
    """一份扫描报告：每列识别出的实体、置信度、证据（脱敏后的样例）与建议分级。"""
    return service.get_scan_report(session=session, actor=actor, report_id=report_id)


@router.post("/scans/{report_id}/confirm", response_model=ScanReportRead, summary="确认分级 / confirm the grade")
def confirm(report_id: int, data: GradeConfirm, session: SessionDep, actor: ActorDep) -> ScanReportRead:
    """数据管理员确认或调整扫描报告建议的分级（分类分级），确认记入审计。"""
    return service.confirm_grade(session=session, actor=actor, report_id=report_id, grade=data.grade)


@router.post("/reviews", response_model=ColumnReviewRead,
             summary="复核列的识别结果 / overrule what detection found in a column")
def review_column(data: ColumnReviewSave, session: SessionDep, settings: SettingsDep, actor: ActorDep
                  ) -> ColumnReviewRead:
    """数据管理员认定某列“不属个人信息”（``entity`` 为空）或另一实体类型，须写明理由；``withdraw`` 撤销。
    记录复核人与理由并审计。共享与开放的脱敏按复核结果执行，但通过校验的身份证号、手机号、银行卡号仍被拦截。"""
    return review.review_column(session=session, actor=actor, settings=settings, data=data)


@router.get("/reviews", response_model=list[ColumnReviewRead], summary="资源的列复核记录 / column reviews")
def list_reviews(session: SessionDep, actor: ActorDep, resource: str = Query(...)) -> list[ColumnReviewRead]:
    """某目录条目的列复核记录：数据管理员对识别结果的改判、理由与时间。"""
    return review.list_reviews(session=session, actor=actor, resource=resource)


@router.get("/policies", response_model=list[PolicyRead], summary="脱敏策略 / masking policies")
def list_policies(session: SessionDep, actor: ActorDep) -> list[PolicyRead]:
    """全部脱敏策略：名称、使用场景（开放、有条件共享、交易、内部）、修订号与更新时间。"""
    return service.list_policies(session=session, actor=actor)


@router.post("/policies", response_model=PolicyRead, summary="校验并保存策略 / validate and save a policy")
def save_policy(data: PolicySave, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> PolicyRead:
    """策略中的算子不能引用服务器上的文件（422 ``policy_server_file``）/ no server files named in a policy."""
    editor.refuse_server_paths(data.policy if data.policy is not None else data.text)
    return service.save_policy(session=session, actor=actor, settings=settings, data=data)


@router.get("/policies/{name}", response_model=PolicyRead, summary="一个策略 / one policy")
def get_policy(name: str, session: SessionDep, actor: ActorDep) -> PolicyRead:
    """一个脱敏策略的全部修订内容：各列的算子与参数。"""
    return service.get_policy(session=session, actor=actor, name=name)


@router.get("/keys", response_model=list[KeyRead], summary="脱敏密钥清单 / managed keys")
def list_keys(session: SessionDep, actor: ActorDep) -> list[KeyRead]:
    """脱敏与加密所用的托管密钥清单（不含密钥本身）。"""
    return service.list_keys(session=session, actor=actor)


@router.post("/keys", response_model=KeyRead, summary="创建密钥 / create a key")
def create_key(data: KeyCreate, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> KeyRead:
    """创建一个托管密钥（供 SM4 加密与 HMAC-SM3 假名化算子引用），以主密钥包裹后保存。"""
    return service.create_key(session=session, actor=actor, settings=settings, data=data)


@router.post("/mask", response_model=MaskResult, summary="按策略脱敏 / mask a resource",
             responses={200: {"content": {"application/vnd.apache.parquet": {}}}})
def mask(data: ResourceMask, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> MaskResult | Response:
    """``format=json``：返回前 ``limit`` 行的脱敏预览；``parquet``：下载整个脱敏结果。均经过脱敏闸门。"""
    if not isinstance(data.policy, str):
        editor.refuse_server_paths(data.policy)
    if data.format == "json":
        return service.mask_resource(session=session, actor=actor, settings=settings, resource=data.resource,
                                     policy=data.policy, version=data.version, preview_rows=data.limit)
    with tempfile.TemporaryDirectory(prefix="shudata-mask-") as tmp:
        dest = Path(tmp) / "masked.parquet"
        service.mask_resource(session=session, actor=actor, settings=settings, resource=data.resource,
                              policy=data.policy, version=data.version, dest=dest)
        body = dest.read_bytes()
    return Response(body, media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": 'attachment; filename="masked.parquet"'})


@router.post("/decrypt", summary="解密 SM4 脱敏结果 / decrypt SM4 output")
def decrypt(data: DecryptRequest, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> list[str | None]:
    """用托管密钥解密 SM4 加密脱敏的值。解密结果是原始数据：仅密文来源资源的提供方部门中
    可读取原始数据的人员可以解密，平台管理员也不例外；密文 ``k1@资源代码:…`` 自带来源，
    旧格式 ``k1:…`` 须在 ``resource`` 指明来源资源。每次解密与拒绝均记入审计。"""
    return service.decrypt_values(session=session, actor=actor, settings=settings, tokens=data.tokens,
                                  resource=data.resource)


@router.post("/anonymise", summary="最优泛化与重识别风险 / optimal anonymisation and risk")
def anonymise(data: ResourceKanon, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> dict[str, Any]:
    """对目录条目做 k-匿名（可加 l-多样性、t-接近度）最优泛化：返回选定的泛化层级、信息损失与重识别风险。"""
    req = KanonRequest.model_validate(data.model_dump(exclude={"resource"}))
    row = service_models.anonymise_resource(session=session, actor=actor, settings=settings, resource=data.resource,
                                            req=req)
    return {"id": row.id, "source": row.source, "quasi_identifiers": row.quasi_identifiers, "result": row.result,
            "before": row.before, "after": row.after}


@router.post("/dp", response_model=DpResult, summary="差分隐私统计 / differentially private aggregate")
def dp_release(data: ResourceDp, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> DpResult:
    """差分隐私统计（计数、求和、均值）：按请求的 ε 加噪，并从调用方的隐私预算中扣除；预算不足时拒绝。"""
    query = DpQuery.model_validate(data.model_dump(exclude={"resource"}))
    return service_models.dp_release(session=session, actor=actor, settings=settings, resource=data.resource,
                                     query=query)


@router.put("/dp/budgets", summary="设置隐私预算 / set a privacy budget")
def set_budget(data: BudgetSet, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """为某个数据使用方设置差分隐私预算（ε 总量）。"""
    row = service_models.set_budget(session=session, actor=actor, data=data)
    return {"consumer": row.consumer, "epsilon_total": row.epsilon_total, "epsilon_spent": row.epsilon_spent}
