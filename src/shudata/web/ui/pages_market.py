"""Market pages (数据交易): the market home and product pages, the buyer centre, the seller centre and
the operator console, and enterprise registration. Same services as /api/v1/market; refusals are
shown in Chinese on the page that asked (never a 500). The ledger, rights and valuation pages are
:mod:`shudata.web.ui.pages_market_records`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from shudata.core.errors import InvalidInput, NotFound, ShudataError
from shudata.core.i18n import tr
from shudata.core.ids import parse_id
from shudata.core.types import Actor
from shudata.market import actions as A
from shudata.market import orders as O
from shudata.market import pages as P
from shudata.market import participants as PA
from shudata.market import products as PR
from shudata.market.delivery import service as D
from shudata.market.delivery import sharing as MS
from shudata.market.schemas import (
    DELIVERY_MODES,
    DOCUMENT_KINDS,
    PARTICIPANT_KINDS,
    RIGHTS,
    DepartmentSellerCreate,
    ListingDecision,
    OfferCreate,
    OrderCreate,
    OrderRead,
    ParticipantCreate,
    PlanCreate,
    ProductCreate,
    ProductUpdate,
    ReviewCreate,
)
from shudata.market.valuation import service as valuation
from shudata.security.authz import allowed
from shudata.security.service import list_departments
from shudata.web.deps import ActorDep, LangDep, SessionDep, SettingsDep, UserDep
from shudata.web.errors import audit_refusal
from shudata.web.ui import charts
from shudata.web.ui.pages_portal import check_csrf, ensure_csrf
from shudata.web.ui.render import blank_to_none, flash, redirect, render, validation_messages

router = APIRouter()

ORDER_STATES: dict[str, tuple[str, str]] = {
    "inquiry": ("询价", "Inquiry"), "negotiation": ("议价中", "Negotiating"), "contract": ("合同签署", "Contract"),
    "escrow_funded": ("资金已托管", "Escrow funded"), "delivering": ("交付中", "Delivering"),
    "accepted": ("已验收", "Accepted"), "settled": ("已结算", "Settled"), "closed": ("已关闭", "Closed"),
    "refused": ("卖方拒绝", "Refused"), "terminated": ("已终止", "Terminated"), "disputed": ("争议中", "Disputed"),
    "refunded": ("已退款", "Refunded")}
PRODUCT_STATES: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "Draft"), "reviewing": ("挂牌审核中", "Under review"), "listed": ("已挂牌", "Listed"),
    "refused": ("不予挂牌", "Refused"), "delisted": ("已摘牌", "De-listed")}
PARTICIPANT_STATES: dict[str, tuple[str, str]] = {
    "pending": ("待审核", "Pending"), "approved": ("已通过", "Approved"), "refused": ("未通过", "Refused"),
    "suspended": ("已暂停", "Suspended"), "revoked": ("已撤销", "Revoked")}
PLAN_KINDS = O.PLAN_KINDS
LABELS = {"order": ORDER_STATES, "product": PRODUCT_STATES, "participant": PARTICIPANT_STATES,
          "modes": DELIVERY_MODES, "rights": RIGHTS, "kinds": PARTICIPANT_KINDS, "plans": PLAN_KINDS,
          "documents": DOCUMENT_KINDS}


def _refusal(exc: Exception, lang: str) -> tuple[str, str]:
    """(zh, en) of a refusal for a flash message."""
    if isinstance(exc, ValidationError):
        return "；".join(validation_messages(exc, "zh-CN")), "; ".join(validation_messages(exc, "en"))
    if isinstance(exc, ShudataError):
        return exc.zh, exc.en
    raise exc


def _errors(exc: Exception, lang: str) -> list[str]:
    if isinstance(exc, ValidationError):
        return validation_messages(exc, lang)
    if isinstance(exc, ShudataError):
        return [exc.message(lang)]
    raise exc


def _attempt(request: Request, session: Any, call: Callable[[], Any], ok_zh: str, ok_en: str) -> Any:
    """Run ``call``; on a refusal roll back (nothing partial is kept), flash it in Chinese and record
    it in the audit trail as a refused form (call it from a worker thread: the record is written here)."""
    try:
        out = call()
    except (ValidationError, ShudataError) as exc:
        session.rollback()
        zh, en = _refusal(exc, "zh-CN")
        flash(request, "danger", zh, en)
        status = exc.status if isinstance(exc, ShudataError) else 422
        audit_refusal(request, status, exc.code if isinstance(exc, ShudataError) else "invalid_input", zh)
        return None
    flash(request, "success", ok_zh, ok_en)
    return out


def _yuan_to_fen(text: object) -> int | None:
    value = blank_to_none(str(text or ""))
    if value is None:
        return None
    try:
        return round(float(value.replace(",", "")) * 100)
    except ValueError:
        return -1


def _price_from(plans: list[Any]) -> int | None:
    prices = [p.price_fen for p in plans if p.is_active]
    return min(prices) if prices else None


# -- market home and product pages -----------------------------------------------------------------

@router.get("/market")
def market_home(request: Request, session: SessionDep, actor: ActorDep, q: str | None = None,
                category: str | None = None) -> Response:
    listed = PR.list_products(session=session, actor=actor, status="listed")
    categories = sorted({p.category for p in listed if p.category})
    shown = [p for p in listed if (not category or p.category == category)
             and (not q or q.strip().lower() in (p.name + p.sheet.get("content", "")).lower())]
    return render(request, "market/home.html", {
        "products": shown, "categories": categories, "q": q or "", "category": category or "",
        "price_from": {p.id: _price_from(p.plans) for p in shown}, "labels": LABELS,
        "roles": _roles(actor)})


def _roles(actor: Actor) -> dict[str, bool]:
    return {"operator": allowed(actor, A.PARTICIPANT_REVIEW), "oversight": allowed(actor, A.ORDER_VIEW_ALL),
            "member": actor.user_id is not None}


@router.get("/market/products/{product_id}")
def product_page(product_id: int, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    product = PR.get_product(session=session, actor=actor, product_id=product_id)
    sample = product.sample or {}
    rows = sample.get("rows") or []
    chart = {"rows": len(rows), "charts": charts.choose(sample.get("columns") or [], {}, rows)} if rows else None
    buyers = []
    if actor.user_id is not None or actor.department_id is not None:
        buyers = [p for p in PA.my_participants(session=session, actor=actor)
                  if "buyer" in p.kinds and p.status == "approved"]
    latest = None
    try:
        latest = valuation.latest(session=session, actor=actor, product_id=product_id)
    except ShudataError:
        latest = None
    return render(request, "market/product.html", {
        "p": product, "chart": chart, "buyers": buyers, "valuation": latest, "labels": LABELS,
        "price_from": _price_from(product.plans), "errors": [], "form": {}})


@router.post("/market/products/{product_id}/inquire")
async def inquire(product_id: int, request: Request, session: SessionDep, actor: UserDep, lang: LangDep) -> Response:
    form = await request.form()
    data = {"buyer_id": form.get("buyer_id"), "product_id": product_id, "plan_id": form.get("plan_id"),
            "purpose": str(form.get("purpose", "")).strip(), "delivery_mode": form.get("delivery_mode"),
            "term_days": form.get("term_days") or 365, "message": str(form.get("message", ""))}
    try:
        order = await run_in_threadpool(O.create_order, session=session, actor=actor,
                                        data=OrderCreate.model_validate(data))
    except (ValidationError, ShudataError) as exc:
        session.rollback()
        product = await run_in_threadpool(PR.get_product, session=session, actor=actor, product_id=product_id)
        buyers = [p for p in await run_in_threadpool(PA.my_participants, session=session, actor=actor)
                  if "buyer" in p.kinds and p.status == "approved"]
        return render(request, "market/product.html", {
            "p": product, "chart": None, "buyers": buyers, "valuation": None, "labels": LABELS,
            "price_from": _price_from(product.plans), "errors": _errors(exc, lang), "form": dict(form)},
            status_code=422)
    flash(request, "success", f"已发出询价，订单 {order.code}", f"Inquiry sent: order {order.code}")
    return redirect(f"/market/buyer#order-{order.id}")


# -- orders (buyer, seller, operator) ----------------------------------------------------------------

def next_steps(o: OrderRead, side: str) -> list[str]:
    """The actions ``side`` (buyer, seller, exchange) may take on ``o`` now, in the order shown."""
    last = o.offers[-1].party if o.offers else None
    signed = {s.party for s in o.contract.signatures} if o.contract else set()
    steps: list[str] = []
    if side in ("buyer", "seller"):
        if o.status == "inquiry":
            steps += ["agree", "offer", "refuse"] if side == "seller" else ["offer"]
        elif o.status == "negotiation":
            if last != side:
                steps += ["agree", "offer"]
            if side == "seller":
                steps.append("refuse")
        elif o.status == "contract" and side not in signed:
            steps.append("sign")
        if side == "seller" and o.status == "escrow_funded":
            steps.append("deliver")
        if side == "buyer" and o.status == "delivering":
            steps += ["accept", "dispute"]
        if o.status in ("inquiry", "negotiation", "contract"):
            steps.append("terminate")
    else:
        if o.status == "contract":
            if {"buyer", "seller"} <= signed and "exchange" not in signed:
                steps.append("sign")
            if {"buyer", "seller", "exchange"} <= signed:
                steps.append("fund")
        elif o.status == "escrow_funded":
            steps += ["deliver", "refund"]
        elif o.status == "disputed":
            steps += ["resolve_accept", "resolve_refund"]
        elif o.status == "accepted":
            steps.append("settle")
        elif o.status == "settled":
            steps.append("close")
        if o.status in ("inquiry", "negotiation", "contract"):
            steps.append("terminate")
    return steps


STEP_LABELS: dict[str, tuple[str, str]] = {
    "agree": ("接受价格，生成合同", "Agree: make the contract"), "offer": ("报价 / 还价", "Offer / counter-offer"),
    "refuse": ("拒绝", "Refuse"), "sign": ("SM2 签署合同", "Sign (SM2)"), "deliver": ("开始交付", "Start delivery"),
    "accept": ("验收", "Accept"), "dispute": ("提出争议", "Dispute"), "terminate": ("终止订单", "Terminate"),
    "fund": ("确认托管资金到账", "Book escrow"), "refund": ("退款", "Refund"),
    "resolve_accept": ("争议处理：验收", "Resolve: accept"), "resolve_refund": ("争议处理：退款", "Resolve: refund"),
    "settle": ("结算", "Settle"), "close": ("关闭", "Close")}
NEEDS_REASON = {"refuse", "dispute", "terminate", "refund", "resolve_accept", "resolve_refund"}
BACK = {"buyer": "/market/buyer", "seller": "/market/seller", "operator": "/market/operator"}


@router.post("/market/orders/{order_id}/act")
async def order_act(order_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                    actor: UserDep) -> Response:
    form = await request.form()
    step, back = str(form.get("step", "")), BACK.get(str(form.get("back", "")), "/market/buyer")
    reason = str(form.get("reason", "")).strip()
    kw: dict[str, Any] = {"session": session, "actor": actor, "order_id": order_id}
    calls: dict[str, Callable[[], Any]] = {
        "offer": lambda: O.offer(**kw, data=OfferCreate.model_validate(
            {"price_fen": _yuan_to_fen(form.get("price_yuan")), "note": str(form.get("note", ""))})),
        "agree": lambda: O.agree(**kw, settings=settings),
        "refuse": lambda: O.refuse(**kw, reason=_reason(reason)),
        "terminate": lambda: O.terminate(**kw, reason=_reason(reason)),
        "sign": lambda: O.sign(**kw, settings=settings),
        "fund": lambda: O.fund(**kw),
        "deliver": lambda: O.start_delivery(**kw, settings=settings),
        "accept": lambda: O.accept(**kw),
        "dispute": lambda: O.dispute(**kw, reason=_reason(reason)),
        "refund": lambda: O.refund(**kw, reason=_reason(reason)),
        "resolve_accept": lambda: O.resolve(**kw, outcome="accept", reason=_reason(reason)),
        "resolve_refund": lambda: O.resolve(**kw, outcome="refund", reason=_reason(reason)),
        "settle": lambda: O.settle(**kw, settings=settings),
        "close": lambda: O.close(**kw)}
    if step not in calls:
        flash(request, "danger", "未知的操作", "Unknown action")
        return redirect(back)
    zh, en = STEP_LABELS[step]
    await run_in_threadpool(_attempt, request, session, calls[step], f"订单 #{order_id}：{zh}完成",
                            f"Order #{order_id}: {en} done")
    return redirect(f"{back}#order-{order_id}")


def _reason(text: str) -> str:
    if len(text) < 2:
        raise InvalidInput("请填写理由（至少 2 个字）", "Give a reason (2 characters at least)",
                           code="reason_required", details={"field": "reason"})
    return text


@router.get("/market/orders/{order_id}/contract")
def contract_download(order_id: int, session: SessionDep, actor: UserDep) -> Response:
    name, body = O.contract_file(session=session, actor=actor, order_id=order_id)
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- buyer centre ----------------------------------------------------------------------------------

@router.get("/market/buyer")
def buyer_centre(request: Request, session: SessionDep, actor: UserDep) -> Response:
    mine = [p for p in PA.my_participants(session=session, actor=actor) if "buyer" in p.kinds]
    blocks = []
    for p in mine:
        rows = O.list_orders(session=session, actor=actor, participant_id=p.id)
        rows = [o for o in rows if o.buyer_id == p.id]
        blocks.append({"p": p, "orders": rows, "steps": {o.id: next_steps(o, "buyer") for o in rows},
                       "deliveries": P.deliveries(session=session, actor=actor, buyer_id=p.id),
                       "products": _product_names(session, actor, rows)})
    return render(request, "market/buyer.html", {"blocks": blocks, "labels": LABELS, "step_labels": STEP_LABELS,
                                                  "needs_reason": NEEDS_REASON, "side": "buyer"})


def _product_names(session: Any, actor: Actor, rows: list[OrderRead]) -> dict[int, str]:
    out: dict[int, str] = {}
    for o in rows:
        if o.product_id not in out:
            try:
                out[o.product_id] = PR.get_product(session=session, actor=actor, product_id=o.product_id).name
            except NotFound:
                out[o.product_id] = f"#{o.product_id}"
    return out


@router.get("/market/entitlements/{entitlement_id}/file")
async def entitlement_file(entitlement_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                           actor: UserDep, format: str = "csv") -> Response:
    try:
        out = await run_in_threadpool(D.deliver_file, session=session, settings=settings, actor=actor,
                                      entitlement_id=entitlement_id, fmt=format)
    except ShudataError as exc:
        session.rollback()
        flash(request, "danger", exc.zh, exc.en)
        return redirect("/market/buyer")
    body = out.file.read()
    return Response(body, media_type=MEDIA[format],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{_quote(out.filename)}",
                             "X-Content-SHA256": out.sha256})


@router.get("/market/entitlements/{entitlement_id}/sharing-profile")
def sharing_profile(entitlement_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                    actor: UserDep) -> Response:
    """The buyer's Delta Sharing profile of an online order (a download); a refusal comes back to the
    buyer centre as a message."""
    try:
        name, body = MS.profile_for(session=session, settings=settings, actor=actor,
                                    entitlement_id=entitlement_id, base_url=str(request.base_url))
    except ShudataError as exc:
        session.rollback()
        flash(request, "danger", exc.zh, exc.en)
        return redirect("/market/buyer")
    return Response(json.dumps(body, indent=2), media_type="application/json",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}"})


MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _quote(name: str) -> str:
    return quote(name)


@router.get("/market/entitlements/{entitlement_id}/rows")
def entitlement_rows(entitlement_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                     actor: UserDep, offset: int = 0) -> Response:
    ent = P.entitlement_of(session=session, actor=actor, entitlement_id=entitlement_id)
    if ent is None:
        raise NotFound(f"交付授权 {entitlement_id} 不存在", "Entitlement not found", code="entitlement_not_found")
    page, total, version = D.fetch_rows(session=session, settings=settings, actor=actor,
                                        entitlement_id=entitlement_id, offset=max(0, offset), limit=100)
    return render(request, "market/rows.html", {"ent": ent, "columns": page.column_names, "rows": page.to_pylist(),
                                                "total": total, "offset": max(0, offset), "version": version})


@router.get("/market/entitlements/{entitlement_id}/jobs")
def hosted_page(entitlement_id: int, request: Request, session: SessionDep, actor: UserDep) -> Response:
    ent = P.entitlement_of(session=session, actor=actor, entitlement_id=entitlement_id)
    if ent is None:
        raise NotFound(f"交付授权 {entitlement_id} 不存在", "Entitlement not found", code="entitlement_not_found")
    return render(request, "market/hosted.html", {"ent": ent, "result": None, "errors": [], "sql": ""})


@router.post("/market/entitlements/{entitlement_id}/jobs")
async def hosted_run(entitlement_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                     actor: UserDep, lang: LangDep) -> Response:
    form = await request.form()
    sql = str(form.get("sql", "")).strip()
    result, errors, status = None, [], 200
    try:
        result = await run_in_threadpool(D.run_job, session=session, settings=settings, actor=actor,
                                         entitlement_id=entitlement_id, sql=sql)
    except ShudataError as exc:
        session.rollback()
        errors, status = [exc.message(lang)], 422
    ent = await run_in_threadpool(P.entitlement_of, session=session, actor=actor, entitlement_id=entitlement_id)
    if ent is None:
        raise NotFound(f"交付授权 {entitlement_id} 不存在", "Entitlement not found", code="entitlement_not_found")
    table = None
    if result is not None:
        table = {"columns": result.table.column_names, "rows": result.table.to_pylist()}
    return render(request, "market/hosted.html", {"ent": ent, "result": result, "table": table, "errors": errors,
                                                  "sql": sql}, status_code=status)


# -- seller centre ---------------------------------------------------------------------------------

@router.get("/market/seller")
def seller_centre(request: Request, session: SessionDep, actor: UserDep) -> Response:
    mine = [p for p in PA.my_participants(session=session, actor=actor) if "seller" in p.kinds]
    blocks = []
    for p in mine:
        rows = [o for o in O.list_orders(session=session, actor=actor, participant_id=p.id) if o.seller_id == p.id]
        statements = {o.id: O.order_journals(session=session, actor=actor, order_id=o.id)
                      for o in rows if o.status in ("settled", "closed")}
        blocks.append({"p": p, "products": PR.list_products(session=session, actor=actor, seller_id=p.id),
                       "orders": rows, "steps": {o.id: next_steps(o, "seller") for o in rows},
                       "statements": statements, "product_names": _product_names(session, actor, rows)})
    return render(request, "market/seller.html", {"blocks": blocks, "labels": LABELS, "step_labels": STEP_LABELS,
                                                   "needs_reason": NEEDS_REASON, "side": "seller"})


def _lines(text: object) -> list[str]:
    flat = str(text or "")
    for sep in (",", "，", "、"):
        flat = flat.replace(sep, "\n")
    return [s.strip() for s in flat.splitlines() if s.strip()]


def _fingerprint(form: Any) -> dict[str, Any] | None:
    keys = _lines(form.get("fp_keys"))
    cols: dict[str, float] = {}
    for line in _lines(form.get("fp_columns")):
        name, _, tol = line.partition("=")
        try:
            cols[name.strip()] = float(tol) if tol.strip() else 1.0
        except ValueError:
            cols[name.strip()] = -1.0
    if not keys and not cols:
        return None
    return {"key_columns": keys, "columns": cols}


def _release_rules(form: Any) -> dict[str, Any] | None:
    text = str(form.get("min_group", "")).strip()
    k = parse_id(text)  # ASCII digits only: int("²") raised (500)
    if text and k is None:  # was left out without a word: the sheet saved without the rule the seller typed
        raise InvalidInput("托管计算最小分组（k）应为正整数", "The minimum group size k of hosted jobs must be a whole "
                           "number", code="invalid_value", details={"field": "min_group"})
    return {"min_group_size": k} if k is not None else None


def _product_data(form: Any, seller_id: int | None) -> dict[str, Any]:
    sheet = {"content": str(form.get("content", "")).strip(), "coverage": str(form.get("coverage", "")).strip(),
             "update_cycle": str(form.get("update_cycle", "")).strip(),
             "scenarios": _lines(form.get("scenarios")), "restrictions": str(form.get("restrictions", "")).strip(),
             "fingerprint": _fingerprint(form), "release_rules": _release_rules(form)}
    data: dict[str, Any] = {
        "name": str(form.get("name", "")).strip(), "category": str(form.get("category", "")).strip(), "sheet": sheet,
        "delivery_modes": form.getlist("delivery_modes"), "rights": form.getlist("rights"),
        "source_evidence": str(form.get("source_evidence", "")),
        "personal_authorisation": blank_to_none(str(form.get("personal_authorisation", "")))}
    if seller_id is not None:
        data |= {"seller_id": seller_id, "sources": [{"resource": c} for c in form.getlist("sources")]}
    return data


@router.get("/market/seller/products/new")
def product_form(request: Request, session: SessionDep, actor: UserDep, lang: LangDep,
                 seller_id: int | None = None) -> Response:
    """The new-product form for a department seller the actor acts for (the first one when not named)."""
    if seller_id is None:
        own = [p for p in PA.my_participants(session=session, actor=actor)
               if p.entity_type == "department" and "seller" in p.kinds]
        if not own:
            return render(request, "market/product_form.html", {
                "seller_id": 0, "entries": [], "form": {}, "labels": LABELS,
                "errors": [tr(lang, "您的账号不代表授权运营的部门供方，不能新建数据产品",
                              "Your account acts for no department seller: no product can be created")]},
                status_code=403)
        seller_id = own[0].id
    entries = P.department_entries(session=session, actor=actor, seller_id=seller_id)
    return render(request, "market/product_form.html", {"seller_id": seller_id, "entries": entries, "errors": [],
                                                         "form": {}, "labels": LABELS})


@router.post("/market/seller/products/new")
async def product_create(request: Request, session: SessionDep, actor: UserDep, lang: LangDep) -> Response:
    form = await request.form()
    seller_id = parse_id(str(form.get("seller_id") or "")) or 0  # a hidden field: "abc" raised ValueError (500)
    try:
        product = await run_in_threadpool(PR.create_product, session=session, actor=actor,
                                          data=ProductCreate.model_validate(_product_data(form, seller_id)))
    except (ValidationError, ShudataError) as exc:
        session.rollback()
        entries = await run_in_threadpool(P.department_entries, session=session, actor=actor, seller_id=seller_id)
        return render(request, "market/product_form.html", {
            "seller_id": seller_id, "entries": entries, "errors": _errors(exc, lang), "form": form,
            "labels": LABELS}, status_code=422)
    flash(request, "success", f"已创建数据产品 {product.code}（草稿），请添加价格方案后提交挂牌审核",
          f"Product {product.code} created (draft)")
    return redirect(f"/market/seller#product-{product.id}")


def _form_of(p: Any) -> dict[str, Any]:
    """The edit form's values of a product (the same names as the create form)."""
    fp = p.sheet.get("fingerprint") or {}
    rules = p.sheet.get("release_rules") or {}
    return {"name": p.name, "category": p.category, "content": p.sheet.get("content", ""),
            "coverage": p.sheet.get("coverage", ""), "update_cycle": p.sheet.get("update_cycle", ""),
            "scenarios": "\n".join(p.sheet.get("scenarios", [])), "restrictions": p.sheet.get("restrictions", ""),
            "source_evidence": p.source_evidence, "personal_authorisation": p.personal_authorisation or "",
            "fp_keys": ",".join(fp.get("key_columns", [])),
            "fp_columns": "\n".join(f"{k}={v}" for k, v in (fp.get("columns") or {}).items()),
            "min_group": str(rules.get("min_group_size", "")), "delivery_modes": p.delivery_modes, "rights": p.rights}


class _Values(dict[str, Any]):
    """Stored values read like a submitted form (``getlist``) by the product form template."""

    def getlist(self, key: str) -> list[Any]:
        value = self.get(key, [])
        return list(value) if isinstance(value, list | tuple) else [value]


@router.get("/market/seller/products/{product_id}/edit")
def product_edit_form(product_id: int, request: Request, session: SessionDep, actor: UserDep) -> Response:
    product = PR.get_product(session=session, actor=actor, product_id=product_id)
    return render(request, "market/product_form.html", {
        "seller_id": product.seller_id, "entries": [], "errors": [], "form": _Values(_form_of(product)),
        "labels": LABELS, "product": product})


@router.post("/market/seller/products/{product_id}/edit")
async def product_update(product_id: int, request: Request, session: SessionDep, actor: UserDep,
                         lang: LangDep) -> Response:
    form = await request.form()
    try:
        await run_in_threadpool(PR.update_product, session=session, actor=actor, product_id=product_id,
                                data=ProductUpdate.model_validate(_product_data(form, None)))
    except (ValidationError, ShudataError) as exc:
        session.rollback()
        product = await run_in_threadpool(PR.get_product, session=session, actor=actor, product_id=product_id)
        return render(request, "market/product_form.html", {
            "seller_id": product.seller_id, "entries": [], "errors": _errors(exc, lang), "form": form,
            "labels": LABELS, "product": product}, status_code=422)
    flash(request, "success", "已保存产品说明书", "Product sheet saved")
    return redirect(f"/market/seller#product-{product_id}")


COST_FIELDS = ("preliminary", "direct", "indirect", "opportunity", "taxes")


def _valuation_data(form: Any) -> dict[str, Any]:
    """The valuation form (cost inputs, yearly incomes, platform comparables) as ``ValuationCreate`` data."""
    data: dict[str, Any] = {"purpose": str(form.get("purpose", "")).strip() or "挂牌交易定价参考"}
    cost = {k: blank_to_none(str(form.get(f"cost_{k}", ""))) for k in COST_FIELDS}
    if any(cost.values()):
        data["cost"] = {k: v for k, v in cost.items() if v is not None}
    incomes = _lines(form.get("incomes"))
    if incomes:
        data["income"] = {"incomes": incomes, "discount_rate": blank_to_none(str(form.get("discount_rate", ""))),
                          "share": blank_to_none(str(form.get("share", ""))) or "1"}
    if form.get("market"):
        data["market"] = {"platform_trades": True}
    data["conclusion"] = blank_to_none(str(form.get("conclusion", "")))
    return data


@router.post("/market/seller/products/{product_id}/valuation")
async def product_value(product_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                        actor: UserDep) -> Response:
    """The seller (or a 数据评估服务商) values the product; the report is M3's valuation page."""
    form = await request.form()
    done = await run_in_threadpool(_attempt, request, session, lambda: valuation.value_product(
        session=session, settings=settings, actor=actor, product_id=product_id,
        data=valuation.ValuationCreate.model_validate(_valuation_data(form))),
        "已生成数据资产评估报告（参考）", "Valuation report made (advisory)")
    if done is None:
        return redirect(f"/market/seller#product-{product_id}")
    return redirect(f"/market/products/{product_id}/valuation")


@router.post("/market/seller/products/{product_id}/plans")
async def plan_create(product_id: int, request: Request, session: SessionDep, actor: UserDep) -> Response:
    form = await request.form()
    data = {"kind": form.get("kind"), "name": str(form.get("name", "")).strip(),
            "price_fen": _yuan_to_fen(form.get("price_yuan")),
            "period_days": blank_to_none(str(form.get("period_days", ""))),
            "unit": blank_to_none(str(form.get("unit", ""))),
            "free_units": blank_to_none(str(form.get("free_units", ""))) or 0,
            "monthly_cap_fen": _yuan_to_fen(form.get("monthly_cap_yuan")),
            "buyer_id": blank_to_none(str(form.get("buyer_id", "")))}
    await run_in_threadpool(_attempt, request, session, lambda: PR.create_plan(
        session=session, actor=actor, product_id=product_id, data=PlanCreate.model_validate(data)),
        "已添加价格方案", "Price plan added")
    return redirect(f"/market/seller#product-{product_id}")


@router.post("/market/seller/products/{product_id}/submit")
def product_submit(product_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                   actor: UserDep) -> Response:
    _attempt(request, session, lambda: PR.submit_product(session=session, actor=actor, settings=settings,
                                                         product_id=product_id),
             "已提交挂牌审核（合规评估通过）", "Submitted for listing review")
    return redirect(f"/market/seller#product-{product_id}")


@router.post("/market/products/{product_id}/delist")
async def product_delist(product_id: int, request: Request, session: SessionDep, actor: UserDep) -> Response:
    form = await request.form()
    reason = str(form.get("reason", "")).strip()
    await run_in_threadpool(_attempt, request, session, lambda: PR.delist_product(
        session=session, actor=actor, product_id=product_id, reason=_reason(reason)), "已摘牌", "De-listed")
    return redirect(BACK.get(str(form.get("back", "")), "/market/seller"))


# -- operator console --------------------------------------------------------------------------------

@router.get("/market/operator")
def operator_console(request: Request, session: SessionDep, actor: UserDep) -> Response:
    participants = PA.list_participants(session=session, actor=actor)
    reviewing = PR.list_products(session=session, actor=actor, status="reviewing")
    orders = O.list_orders(session=session, actor=actor)
    may_act = allowed(actor, A.ORDER_ARBITRATE)  # a regulator reads the console; only the operator acts
    traces = P.traces(session=session, actor=actor) if may_act else []
    accused = sorted({a.get("buyer_id") for t in traces for a in t["result"].get("accused", [])
                      if a.get("buyer_id") is not None})
    return render(request, "market/operator.html", {
        "participants": participants, "reviewing": reviewing, "may_act": may_act,
        "orders": [o for o in orders if next_steps(o, "exchange")],
        "steps": {o.id: next_steps(o, "exchange") if may_act else [] for o in orders},
        "stats": P.statistics(session=session, actor=actor),
        "traces": traces, "names": P.buyer_names(session=session, actor=actor, ids=accused),
        "labels": LABELS, "step_labels": STEP_LABELS, "needs_reason": NEEDS_REASON, "side": "exchange",
        "books": O.books(session=session, actor=actor),
        "departments": list_departments(session=session, actor=actor) if may_act else []})


@router.post("/market/operator/participants/{participant_id}/review")
async def participant_review(participant_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                             actor: UserDep) -> Response:
    form = await request.form()
    data = {"decision": form.get("decision"), "grade": blank_to_none(str(form.get("grade", ""))),
            "reason": blank_to_none(str(form.get("reason", "")))}
    await run_in_threadpool(_attempt, request, session, lambda: PA.review_participant(
        session=session, actor=actor, settings=settings, participant_id=participant_id,
        data=ReviewCreate.model_validate(data)), f"交易主体 #{participant_id} 已处理",
        f"Participant #{participant_id} decided")
    return redirect(f"/market/operator#participant-{participant_id}")


@router.post("/market/operator/departments")
async def department_register(request: Request, session: SessionDep, actor: UserDep) -> Response:
    """The operator registers a department as a seller of public data under 授权运营 (then reviews it)."""
    form = await request.form()
    data = {"department_id": form.get("department_id"), "authorisation": str(form.get("authorisation", "")).strip(),
            "legal_representative": str(form.get("legal_representative", "")).strip(),
            "contact_name": str(form.get("contact_name", "")).strip(),
            "contact_phone": str(form.get("contact_phone", "")).strip()}
    await run_in_threadpool(_attempt, request, session, lambda: PA.register_department_seller(
        session=session, actor=actor, data=DepartmentSellerCreate.model_validate(data)),
        "已登记授权运营部门，请在下方审核", "Department registered: review it below")
    return redirect("/market/operator#participants")


@router.post("/market/operator/products/{product_id}/review")
async def listing_review(product_id: int, request: Request, session: SessionDep, actor: UserDep) -> Response:
    form = await request.form()
    data = {"decision": form.get("decision"), "reason": blank_to_none(str(form.get("reason", "")))}
    await run_in_threadpool(_attempt, request, session, lambda: PR.review_product(
        session=session, actor=actor, product_id=product_id, data=ListingDecision.model_validate(data)),
        f"数据产品 #{product_id} 的挂牌审核已处理", f"Listing of product #{product_id} decided")
    return redirect("/market/operator#listings")


@router.post("/market/operator/trace")
async def trace_upload(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        flash(request, "danger", "请选择要溯源的文件（CSV、XLSX 或 Parquet）", "Choose a file to trace")
        return redirect("/market/operator#trace")
    content = await upload.read(settings.max_upload_mb * 1024 * 1024 + 1)
    name = upload.filename
    found = await run_in_threadpool(_attempt, request, session, lambda: D.trace_file(
        session=session, settings=settings, actor=actor, content=content, filename=name),
        f"已完成溯源：{name}", f"Traced: {name}")
    if found is not None:
        return redirect("/market/operator#trace-result")
    return redirect("/market/operator#trace")


# -- my participants: documents, re-application --------------------------------------------------------

@router.get("/market/me")
def my_participants_page(request: Request, session: SessionDep, actor: UserDep) -> Response:
    return render(request, "market/me.html", {"mine": PA.my_participants(session=session, actor=actor),
                                              "labels": LABELS})


@router.post("/market/me/{participant_id}/documents")
async def document_upload(participant_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                          actor: UserDep) -> Response:
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        flash(request, "danger", "请选择资质文件（PDF、PNG、JPEG 或 OFD）", "Choose a document")
        return redirect("/market/me")
    content = await upload.read(settings.market_document_max_mb * 1024 * 1024 + 1)
    name, kind = upload.filename, str(form.get("kind", ""))
    await run_in_threadpool(_attempt, request, session, lambda: PA.upload_document(
        session=session, actor=actor, settings=settings, participant_id=participant_id, kind=kind, filename=name,
        content=content), f"已上传资质文件：{name}", f"Uploaded {name}")
    return redirect(f"/market/me#participant-{participant_id}")


@router.post("/market/me/{participant_id}/resubmit")
def participant_resubmit(participant_id: int, request: Request, session: SessionDep, actor: UserDep) -> Response:
    _attempt(request, session, lambda: PA.resubmit(session=session, actor=actor, participant_id=participant_id),
             "已重新提交审核", "Applied again")
    return redirect(f"/market/me#participant-{participant_id}")


# -- registration ----------------------------------------------------------------------------------

@router.get("/market/register")
def register_form(request: Request) -> Response:
    ensure_csrf(request)
    return render(request, "market/register.html", {"errors": [], "form": {}, "labels": LABELS})


@router.post("/market/register")
async def register_submit(request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep,
                          lang: LangDep) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    data = {"name": str(form.get("name", "")).strip(), "uscc": str(form.get("uscc", "")).strip(),
            "kinds": form.getlist("kinds"), "legal_representative": str(form.get("legal_representative", "")).strip(),
            "contact_name": str(form.get("contact_name", "")).strip(),
            "contact_phone": str(form.get("contact_phone", "")).strip(),
            "contact_email": blank_to_none(str(form.get("contact_email", ""))),
            "address": blank_to_none(str(form.get("address", ""))),
            "account": {"username": str(form.get("username", "")).strip(),
                        "display_name": str(form.get("display_name", "")).strip() or str(form.get("name", "")),
                        "password": str(form.get("password", ""))}}
    try:
        p = await run_in_threadpool(PA.register_participant, session=session, actor=actor, settings=settings,
                                    data=ParticipantCreate.model_validate(data))
    except (ValidationError, ShudataError) as exc:
        session.rollback()
        shown = {k: v for k, v in form.items() if k != "password"}
        return render(request, "market/register.html", {"errors": _errors(exc, lang), "form": shown,
                                                         "kinds": form.getlist("kinds"), "labels": LABELS},
                      status_code=422)
    flash(request, "success", f"已提交交易主体登记（编号 {p.id}），请等待交易所审核；可用所建账号登录查看进度",
          f"Application {p.id} filed: wait for the exchange's review")
    return redirect("/login")
