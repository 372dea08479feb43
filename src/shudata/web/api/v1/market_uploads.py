"""``/api/v1/market``: sellers' own uploads (供方上传数据) and desensitized derivative products
(脱敏衍生产品) — the same services as the seller centre (:mod:`shudata.market.uploads`,
:mod:`shudata.market.derivatives`). Files arrive as ``multipart/form-data`` (field ``file``),
streamed to disk within ``SHUDATA_MAX_UPLOAD_MB`` and read within the lake's limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from shudata.core.config import Settings
from shudata.core.errors import InvalidInput
from shudata.core.ids import parse_id
from shudata.market import derivatives as DV
from shudata.market import uploads as U
from shudata.market.derivatives import DerivativeCreate
from shudata.market.schemas import ProductRead
from shudata.web.api.v1.lake import options_from
from shudata.web.deps import SessionDep, SettingsDep, UserDep
from shudata.web.uploads import Upload, receive_upload

router = APIRouter(tags=["market"])

_FILE = {"type": "string", "format": "binary", "description": "CSV（UTF-8/GBK，自动识别）、XLSX、XLS 或 Parquet"}
UPLOAD_FORM = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "seller_id", "name"], "properties": {
        "file": _FILE, "seller_id": {"type": "integer", "description": "代表的供方（交易主体 id）"},
        "name": {"type": "string", "description": "数据产品名称"},
        "category": {"type": "string", "description": "产品类别"},
        "content": {"type": "string", "description": "数据内容说明（产品说明书，可稍后修改）"},
        "header_row": {"type": "integer", "description": "表头所在行；留空自动识别"},
        "sheet": {"type": "string", "description": "工作表（XLS/XLSX）"},
        "encoding": {"type": "string", "description": "UTF-8 / GBK / GB18030；留空自动识别"}}}}}}}
VERSION_FORM = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": _FILE, "header_row": {"type": "integer"}, "sheet": {"type": "string"},
        "encoding": {"type": "string"}, "comment": {"type": "string", "description": "版本说明"}}}}}}}


@asynccontextmanager
async def _received(request: Request, settings: Settings) -> AsyncIterator[tuple[Upload, Path]]:
    """The streamed upload (within ``SHUDATA_MAX_UPLOAD_MB``) and its temp file, deleted when the block ends."""
    got = await receive_upload(request, Path(settings.data_dir) / "tmp" / "uploads", settings.max_upload_bytes)
    try:
        if got.path is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("upload.path is unexpectedly None")
        yield got, got.path
    finally:
        got.cleanup()


def _seller_id(fields: dict[str, str]) -> int:
    value = parse_id(fields.get("seller_id", "").strip())
    if value is None:
        raise InvalidInput("请指定代表的供方（seller_id）", "Give seller_id", code="seller_missing",
                           details={"field": "seller_id"})
    return value


@router.post("/market/uploads", status_code=201, response_model=ProductRead, openapi_extra=UPLOAD_FORM,
             summary="供方上传数据，生成数据产品（草稿）/ upload own data as a draft product")
async def upload(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep) -> ProductRead:
    """审核通过的企业供方上传自有数据（CSV/XLSX/Parquet，编码自动识别，大小、列数、单元格上限同数据湖上传），
    存入交易所供方数据托管区的新目录条目（可继续上传新版本），隐私检测随即运行，并生成草稿数据产品。原始数据只有本供方可读，
    交易所审核看脱敏样例。"""
    async with _received(request, settings) as (got, path):
        fields = got.fields
        return await run_in_threadpool(
            U.upload_product, session=session, actor=actor, settings=settings, seller_id=_seller_id(fields),
            name=fields.get("name", ""), path=path, filename=got.filename or path.name, sha256=got.sha256,
            options=options_from(fields), category=fields.get("category", "").strip(),
            content=fields.get("content", "").strip() or None)


@router.post("/market/products/{product_id}/uploads", status_code=201, openapi_extra=VERSION_FORM,
             summary="上传数据新版本 / upload a new version of a product's data")
async def upload_version(product_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                         actor: UserDep) -> dict[str, Any]:
    """本供方上传数据的新版本（列须与首个版本一致）；由它生成的脱敏衍生产品随即标记为待重建、暂停交易。"""
    await run_in_threadpool(U.upload_source, session, actor, product_id)  # refused before receiving the file
    async with _received(request, settings) as (got, path):
        return await run_in_threadpool(
            U.upload_version, session=session, actor=actor, settings=settings, product_id=product_id, path=path,
            filename=got.filename or path.name, sha256=got.sha256, options=options_from(got.fields))


@router.get("/market/products/{product_id}/upload", summary="上传数据的版本与检测结果 / the upload's versions")
def upload_info(product_id: int, session: SessionDep, settings: SettingsDep, actor: UserDep,
                raw: bool = Query(False, description="附上最新版本的前 20 行原始数据（仅本供方）")) -> dict[str, Any]:
    """本供方上传数据的各版本（行数、编码、SHA-256）和隐私检测发现的个人信息列；仅本供方成员可读。"""
    return U.upload_info(session=session, settings=settings, actor=actor, product_id=product_id, raw=raw)


@router.post("/market/derivatives", status_code=201, response_model=ProductRead,
             summary="生成脱敏衍生产品（草稿）/ make a desensitized derivative product")
def derive(session: SessionDep, settings: SettingsDep, actor: UserDep, data: DerivativeCreate) -> ProductRead:
    """由本供方的数据产品（或可用的目录资源）经隐私引擎生成脱敏衍生数据：``kanon``（删除直接标识符，按准标识符
    泛化、抑制至 k-匿名）或 ``mask``（脱敏策略）；存为托管区新目录条目的版本，并生成草稿产品，``derivation`` 记录来源
    （产品、资源、版本）、方法、参数和实测重识别风险。"""
    return DV.create_derivative(session=session, actor=actor, settings=settings, data=data)


@router.post("/market/products/{product_id}/rebuild", response_model=ProductRead,
             summary="重建脱敏衍生数据 / rebuild a derivative from its source's newest version")
def rebuild(product_id: int, session: SessionDep, settings: SettingsDep, actor: UserDep) -> ProductRead:
    """源数据有新版本后，按原参数依据最新版本重建衍生数据并重新计算风险（草稿、不予挂牌或已摘牌的产品），之后重新提交挂牌。"""
    return DV.rebuild_derivative(session=session, actor=actor, settings=settings, product_id=product_id)
