"""Seller centre pages for sellers' own data (上传数据) and desensitized derivatives (脱敏衍生产品): the
upload form (streamed within ``SHUDATA_MAX_UPLOAD_MB``, read within the lake's limits), an upload's
versions with the detectors' findings (the seller also sees its raw rows; the operator does not),
the derivative form and the rebuild of a stale derivative. Same services as
``/api/v1/market/uploads`` and ``/api/v1/market/derivatives``; refusals in Chinese on the page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from shudata.core.errors import ShudataError
from shudata.core.ids import parse_id
from shudata.market import derivatives as DV
from shudata.market import participants as PA
from shudata.market import products as PR
from shudata.market import uploads as U
from shudata.market.derivatives import METHODS, DerivativeCreate
from shudata.web.api.v1.lake import options_from
from shudata.web.deps import LangDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import flash, redirect, render, validation_messages
from shudata.web.uploads import receive_upload

router = APIRouter()


def _errors(exc: Exception, lang: str) -> list[str]:
    if isinstance(exc, ValidationError):
        return validation_messages(exc, lang)
    if isinstance(exc, ShudataError):
        return [exc.message(lang)]
    raise exc


def _status(exc: Exception) -> int:
    return exc.status if isinstance(exc, ShudataError) else 422


def _sellers(session: Any, actor: Any) -> list[Any]:
    """The approved enterprise sellers the actor acts for (those that upload their own data)."""
    return [p for p in PA.my_participants(session=session, actor=actor)
            if "seller" in p.kinds and p.entity_type != "department" and p.status == "approved"]


# -- 上传数据 ---------------------------------------------------------------------------------------------

@router.get("/market/seller/uploads/new")
def upload_form(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                seller_id: int | None = None) -> Response:
    return render(request, "market/upload.html", {"sellers": _sellers(session, actor), "seller_id": seller_id,
                                                  "errors": [], "form": {}, "max_mb": settings.max_upload_mb})


@router.post("/market/seller/uploads/new")
async def upload_submit(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                        lang: LangDep) -> Response:
    form: dict[str, str] = {}
    try:
        got = await receive_upload(request, settings.data_dir / "tmp" / "uploads", settings.max_upload_bytes)
        form = got.fields
        try:
            if got.path is None:  # an invariant, not input: a bug if it breaks
                raise RuntimeError("upload.path is unexpectedly None")
            path = got.path
            product = await run_in_threadpool(
                U.upload_product, session=session, actor=actor, settings=settings,
                seller_id=parse_id(form.get("seller_id", "")) or 0, name=form.get("name", ""), path=path,
                filename=got.filename or path.name, sha256=got.sha256, options=options_from(form),
                category=form.get("category", "").strip(), content=form.get("content", "").strip() or None)
        finally:
            got.cleanup()
    except (ValidationError, ShudataError) as exc:
        session.rollback()
        sellers = await run_in_threadpool(_sellers, session, actor)
        return render(request, "market/upload.html", {
            "sellers": sellers, "seller_id": parse_id(form.get("seller_id", "")), "errors": _errors(exc, lang),
            "form": form, "max_mb": settings.max_upload_mb}, status_code=_status(exc))
    flash(request, "success",
          f"已上传并生成数据产品 {product.code}（草稿）：请完善产品说明书、添加价格方案后提交挂牌审核",
          f"Uploaded; product {product.code} created (draft)")
    return redirect(f"/market/seller/products/{product.id}/upload")


@router.get("/market/seller/products/{product_id}/upload")
def upload_page(product_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                actor: UserDep) -> Response:
    """The seller sees its raw rows; the operator and the regulator see versions and findings only."""
    product = PR.get_product(session=session, actor=actor, product_id=product_id)
    try:
        info = U.upload_info(session=session, settings=settings, actor=actor, product_id=product_id, raw=True)
        seller = True
    except ShudataError:
        info = U.upload_info(session=session, settings=settings, actor=actor, product_id=product_id)
        seller = False
    return render(request, "market/upload_detail.html", {"p": product, "info": info, "seller": seller,
                                                         "errors": []})


@router.post("/market/seller/products/{product_id}/upload")
async def upload_new_version(product_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                             actor: UserDep) -> Response:
    try:
        await run_in_threadpool(U.upload_source, session, actor, product_id)
        got = await receive_upload(request, settings.data_dir / "tmp" / "uploads", settings.max_upload_bytes)
        try:
            if got.path is None:  # an invariant, not input: a bug if it breaks
                raise RuntimeError("upload.path is unexpectedly None")
            path = got.path
            done = await run_in_threadpool(
                U.upload_version, session=session, actor=actor, settings=settings, product_id=product_id, path=path,
                filename=got.filename or path.name, sha256=got.sha256, options=options_from(got.fields))
        finally:
            got.cleanup()
    except (ValidationError, ShudataError) as exc:
        session.rollback()
        zh, en = (exc.zh, exc.en) if isinstance(exc, ShudataError) else (
            "；".join(validation_messages(exc, "zh-CN")), "; ".join(validation_messages(exc, "en")))
        flash(request, "danger", zh, en)
        return redirect(f"/market/seller/products/{product_id}/upload")
    flash(request, "success", f"已上传新版本 v{done['version']}（{done['rows']} 行）",
          f"Uploaded version {done['version']}")
    return redirect(f"/market/seller/products/{product_id}/upload")


# -- 脱敏衍生产品 -----------------------------------------------------------------------------------------

def _columns(p: Any) -> list[str]:
    return [str(c) for c in (p.sheet or {}).get("fields", [])]


@router.get("/market/seller/products/{product_id}/derive")
def derive_form(product_id: int, request: Request, session: SessionDep, actor: UserDep) -> Response:
    product = PR.get_product(session=session, actor=actor, product_id=product_id)
    PA.acting_for(session, actor, product.seller_id, approved=False)
    return render(request, "market/derive.html", {"p": product, "columns": _columns(product), "methods": METHODS,
                                                  "errors": [], "form": {}})


def _derive_data(form: Any, product_id: int) -> dict[str, Any]:
    qis = [str(x) for x in form.getlist("quasi_identifiers")]
    drop = form.getlist("drop_columns")
    return {"source_product_id": product_id, "name": str(form.get("name", "")).strip(),
            "method": str(form.get("method", "kanon")), "quasi_identifiers": qis,
            "k": parse_id(str(form.get("k", "5"))) or 0,
            "suppression": float(str(form.get("suppression", "5")).strip() or 0) / 100,
            "drop_columns": [str(x) for x in drop] if form.get("choose_drop") else None,
            "delivery_modes": [str(x) for x in form.getlist("delivery_modes")] or ["api", "hosted"]}


@router.post("/market/seller/products/{product_id}/derive")
async def derive_submit(product_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                        actor: UserDep, lang: LangDep) -> Response:
    form = await request.form()
    try:
        data = DerivativeCreate.model_validate(_derive_data(form, product_id))
        made = await run_in_threadpool(DV.create_derivative, session=session, actor=actor, settings=settings,
                                       data=data)
    except (ValidationError, ShudataError, ValueError) as exc:
        session.rollback()
        product = await run_in_threadpool(PR.get_product, session=session, actor=actor, product_id=product_id)
        errors = _errors(exc, lang) if type(exc) is not ValueError else ["抑制比例应为 0—50 之间的数字"]
        return render(request, "market/derive.html", {"p": product, "columns": _columns(product), "methods": METHODS,
                                                      "errors": errors, "form": form},
                      status_code=_status(exc) if isinstance(exc, ShudataError) else 422)
    risk = (made.derivation or {}).get("risk", {})
    flash(request, "success",
          f"已生成脱敏衍生产品 {made.code}（草稿），实测最大重识别风险 {risk.get('prosecutor_max')}",
          f"Derivative {made.code} created (draft)")
    return redirect(f"/market/seller#product-{made.id}")


@router.post("/market/seller/products/{product_id}/rebuild")
def rebuild(product_id: int, request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    try:
        p = DV.rebuild_derivative(session=session, actor=actor, settings=settings, product_id=product_id)
    except ShudataError as exc:
        session.rollback()
        flash(request, "danger", exc.zh, exc.en)
        return redirect(f"/market/seller#product-{product_id}")
    version = (p.derivation or {}).get("source", {}).get("version")
    flash(request, "success", f"已依据源数据 v{version} 重建，请重新提交挂牌审核",
          "Rebuilt from the source's newest version; submit it for listing again")
    return redirect(f"/market/seller#product-{product_id}")
