"""/api/v1 routes of the lake capability (thin: parse, call the service, shape the answer).

Resource codes contain a slash (``101001/000123``), hence ``{code:path}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from shudata.catalog import reads
from shudata.catalog.access import find_resource
from shudata.core.errors import InvalidInput
from shudata.core.ids import parse_id
from shudata.jobs.ingest import ingest_file, preview_file, upload_target
from shudata.lake.export import MEDIA_TYPES, content_disposition, file_chunks
from shudata.lake.ingest import formats
from shudata.lake.ingest.limits import ReadLimits
from shudata.lake.ingest.missing import parse_token_list
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.schemas import PreviewRead, VersionRead
from shudata.quality import cleaning_missing
from shudata.web.deps import SessionDep, SettingsDep, UserDep
from shudata.web.uploads import Upload, receive_upload

router = APIRouter(tags=["lake"])

UPLOAD_FORM = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": formats.help_text("zh")},
        "header_row": {"type": "integer", "description": "表头所在行（从 1 开始）；留空自动识别"},
        "sheet": {"type": "string", "description": "工作表名称（XLS/XLSX）"},
        "skip_footer": {"type": "integer", "description": "跳过末尾注释行数；留空自动识别"},
        "encoding": {"type": "string", "description": "UTF-8 / GBK / GB18030；留空自动识别"},
        "skip_sections": {"type": "boolean", "description": "跳过分节行，默认 true"},
        "comment": {"type": "string", "description": "版本说明"},
        "missing_values": {"type": "string", "description":
                           "读作缺失值的占位符：每行一个或以逗号分隔，也可为 JSON 数组（[] 表示只有空白算缺失）；"
                           "留空用本条目保存的列表或系统默认"},
        "save_missing_values": {"type": "boolean", "description": "把 missing_values 保存为本条目以后上传的默认"},
        "resource": {"type": "string", "description": "（仅预览）用于比对信息项的资源代码"}}}}}}}


def options_from(fields: dict[str, str]) -> IngestOptions:
    """Form fields → options (empty strings mean "guess")."""
    def num(key: str) -> int | None:
        raw = fields.get(key, "").strip()
        if not raw:
            return None
        value = parse_id(raw)
        if value is None:
            raise InvalidInput(f"{key} 应为非负整数", f"{key} must be a non-negative integer", code="bad_option")
        return value

    try:
        return IngestOptions(
            header_row=num("header_row"), skip_footer=num("skip_footer"),
            sheet=fields.get("sheet", "").strip() or None, encoding=fields.get("encoding", "").strip() or None,
            skip_sections=fields.get("skip_sections", "true").strip().lower() not in ("false", "0", "no", "off"),
            comment=fields.get("comment", "").strip() or None, missing_values=missing_from(fields))
    except ValueError as exc:
        raise InvalidInput(f"上传选项有误：{exc}", f"Bad upload options: {exc}", code="bad_option") from exc


def missing_from(fields: dict[str, str]) -> tuple[str, ...] | None:
    """The ``missing_values`` form field: a JSON array, or tokens one a line / comma-separated;
    empty or absent: ``None`` (the entry's saved list or the setting).

    >>> missing_from({"missing_values": "N/A, 不详"}), missing_from({"missing_values": "[]"}), missing_from({})
    (('N/A', '不详'), (), None)
    """
    raw = fields.get("missing_values", "").strip()
    if not raw:
        return None
    if raw.startswith("["):
        try:
            values = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput("missing_values 不是有效的 JSON 数组", "missing_values is not a valid JSON array",
                               code="bad_option") from exc
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidInput("missing_values 须为字符串数组", "missing_values must be an array of strings",
                               code="bad_option")
        return tuple(v.strip() for v in values if v.strip())
    return tuple(parse_token_list(raw))


def _flag(fields: dict[str, str], key: str) -> bool:
    return fields.get(key, "").strip().lower() in ("true", "1", "yes", "on")


def _tmp_dir(settings: SettingsDep) -> Path:
    return settings.data_dir / "tmp" / "uploads"


@router.post("/resources/{code:path}/versions", response_model=VersionRead, status_code=201,
             summary="上传数据，生成新版本 / upload a file as a new version", openapi_extra=UPLOAD_FORM)
async def upload_version(code: str, request: Request, session: SessionDep, settings: SettingsDep,
                         actor: UserDep) -> VersionRead:
    """上传数据文件（格式见 ``shudata.lake.ingest.formats``）到目录条目，列须与信息项一致。
    Needs ``lake.version.create`` on the entry (steward of the provider department)."""
    res = await run_in_threadpool(upload_target, session=session, actor=actor, resource_code=code)
    upload: Upload = await receive_upload(request, _tmp_dir(settings), settings.max_upload_bytes)
    try:
        options = options_from(upload.fields)
        if _flag(upload.fields, "save_missing_values") and options.missing_values is not None:
            await run_in_threadpool(cleaning_missing.save, session=session, settings=settings, actor=actor,
                                    resource=res.code, values=list(options.missing_values), include_defaults=False)
        if upload.path is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("upload.path is unexpectedly None")
        version = await run_in_threadpool(
            ingest_file, session=session, settings=settings, actor=actor, resource_code=res.code,
            path=upload.path, options=options, source_name=upload.filename, sha256=upload.sha256)
        return reads.version_read(version, res)
    finally:
        upload.cleanup()


@router.post("/lake/preview", response_model=PreviewRead, summary="预览文件（不保存）/ preview a file",
             openapi_extra=UPLOAD_FORM)
async def preview(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep) -> PreviewRead:
    """识别编码、表头行、末尾注释，给出前几行和推断的信息项；可与某个目录条目的信息项比对。不保存任何数据。"""
    upload = await receive_upload(request, _tmp_dir(settings), settings.max_upload_bytes)
    try:
        items = None
        options = options_from(upload.fields)
        if code := upload.fields.get("resource", "").strip():
            found = await run_in_threadpool(find_resource, session, code)
            items = found.information_items or None
            if options.missing_values is None:
                options = options.model_copy(update={"missing_values": await run_in_threadpool(
                    cleaning_missing.resolve, session, settings, found.id)})
        elif options.missing_values is None:
            options = options.model_copy(update={"missing_values": tuple(settings.ingest_missing_values)})
        if upload.path is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("upload.path is unexpectedly None")
        result = await run_in_threadpool(preview_file, upload.path, options, source_name=upload.filename,
                                         items=items, limits=ReadLimits.from_settings(settings))
        return PreviewRead.model_validate(result)
    finally:
        upload.cleanup()


@router.get("/resources/{code:path}/missing-values", summary="入库缺失值占位符 / placeholders read as missing")
def get_missing_values(code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> dict[str, Any]:
    """本条目上传时读作缺失值（NULL）的占位符：``source`` 为 ``entry``（本条目保存的列表）或 ``default``（系统设置
    ``ingest_missing_values``）；``effective`` 为实际使用的列表。"""
    return cleaning_missing.describe(session=session, settings=settings, actor=actor, resource=code)


@router.put("/resources/{code:path}/missing-values", summary="保存入库缺失值占位符 / save the placeholders")
def put_missing_values(code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
                       body: dict[str, Any] = Body(..., examples=[{"values": ["N/A", "不详"],
                                                                   "include_defaults": True}])) -> dict[str, Any]:
    """``values``：占位符列表；``include_defaults``：是否同时使用系统默认列表（默认 true）。保存为新修订，
    以后的上传使用；已有版本可运行清洗流程“入库缺失值”补处理。需要本条目的上传权限。"""
    values = body.get("values")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidInput("values 须为字符串数组", "values must be an array of strings", code="bad_missing_values")
    return cleaning_missing.save(session=session, settings=settings, actor=actor, resource=code, values=values,
                                 include_defaults=bool(body.get("include_defaults", True)))


@router.get("/resources/{code:path}/versions", response_model=list[VersionRead],
            summary="数据版本列表 / versions of an entry")
def list_versions(code: str, session: SessionDep, actor: UserDep) -> list[VersionRead]:
    """目录条目的全部数据版本：版本号、行数、来源文件、上传人与时间。"""
    return reads.versions_of(session=session, actor=actor, resource_code=code)


@router.get("/resources/{code:path}/versions/{version}", response_model=VersionRead,
            summary="数据版本信息 / one version")
def get_version(code: str, version: int, session: SessionDep, actor: UserDep) -> VersionRead:
    """一个数据版本的信息：行数、列、来源文件、校验和与生成时间。"""
    return reads.version_meta(session=session, actor=actor, resource_code=code, version=version)


@router.get("/resources/{code:path}/rows", summary="读取数据行（分页 JSON 或下载）/ rows of a version",
            responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}})
def rows(code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
         version: int | None = Query(None, ge=1, description="版本号；留空为最新版本（时间回溯）"),
         offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, description="每页行数，不超过上限"),
         format: Literal["json", "csv", "xlsx", "parquet"] = Query("json", description="json 分页；其余下载整个版本"),
         ) -> Response:
    """json: ``{columns, rows, total, offset, limit, version}``; csv（UTF-8 BOM）/xlsx/parquet 下载整个版本。"""
    if format == "json":
        page = reads.read_rows(session=session, settings=settings, actor=actor, resource_code=code,
                               version=version, offset=offset, limit=limit)
        return Response(page.to_json(), media_type="application/json")
    dl = reads.download(session=session, settings=settings, actor=actor, resource_code=code, version=version,
                        fmt=format)
    headers = {"Content-Disposition": content_disposition(dl.filename)}
    if dl.stream is not None:
        return StreamingResponse(dl.stream, media_type=dl.media_type, headers=headers)
    if dl.file is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("dl.file is unexpectedly None")
    return StreamingResponse(file_chunks(dl.file), media_type=dl.media_type, headers=headers)
