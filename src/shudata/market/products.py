"""数据产品: products over catalog entries, the listing review (挂牌审核) and price plans.

A product wraps one or more catalog entries (optionally pinned versions). A department selling
under 授权运营 wraps its own department's entries only. Submitting for listing runs the
assessment, and refuses — nothing changes — unless every compliance item holds
("不合规不挂牌、无场景不交易"):

- 来源合法性: the seller states the legal source of the data (``source_evidence``);
- 应用场景: at least one named scenario in the 产品说明书;
- 经营权: the seller claims 数据产品经营权 among its rights;
- 隐私闸门: each source version, masked with the product's profile (``trade`` by default), passes
  the export gate; the sample shown on the product page comes from that masked output;
- 个人信息授权: when a source holds personal information (even masked), the authorisation or
  legal basis is stated.

质量评估 records the latest quality score of each entry (from the quality subsystem through the
``catalog_quality_scores`` hook) beside its version; the operator sees it and decides. The
operator then lists or refuses with a reason; the seller or the operator de-lists with a
reason; re-listing is a new submission, reviewed again. Every step is a listing event, an audit
event and a market event.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.core import validation
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shudata.core.plugins import plugins_of
from shudata.core.textsafe import require_plain_text
from shudata.core.types import Actor
from shudata.lake.service import get_version, latest_version
from shudata.market import actions as A
from shudata.market import custody
from shudata.market.delivery.fingerprint import FingerprintSpec, check_spec
from shudata.market.events import MarketEvent, emit
from shudata.market.gate import run_product_gate
from shudata.market.models import (
    MarketListingEvent,
    MarketParticipant,
    MarketPricePlan,
    MarketProduct,
    MarketProductSource,
)
from shudata.market.participants import acting_for, get_row, participant_ref
from shudata.market.schemas import (
    ListingDecision,
    ListingEventRead,
    ParticipantBrief,
    PlanCreate,
    PlanRead,
    ProductCreate,
    ProductRead,
    ProductUpdate,
)
from shudata.market.states import PRODUCTS, ProductEvent, ProductStatus
from shudata.security.authz import allowed, require

EDITABLE = (ProductStatus.DRAFT, ProductStatus.REFUSED, ProductStatus.DELISTED)


def get_product_row(session: Session, product_id: int) -> MarketProduct:
    p = session.get(MarketProduct, product_id)
    if p is None:
        raise NotFound(f"数据产品 {product_id} 不存在", f"Data product {product_id} not found",
                       code="product_not_found")
    return p


def _seller_of(session: Session, actor: Actor, product: MarketProduct) -> MarketParticipant:
    return acting_for(session, actor, product.seller_id)


def _emit(session: Session, actor: Actor, kind: str, p: MarketProduct, **data: Any) -> None:
    emit(session, MarketEvent(kind=kind, subject=f"product:{p.code}", actor=actor.username,
                              data={"product_id": p.id, "seller_id": p.seller_id, "status": p.status, **data},
                              at=utcnow()))


def _log(session: Session, actor: Actor, p: MarketProduct, event: str, before: str, reason: str | None = None,
         assessment: dict[str, Any] | None = None) -> None:
    session.add(MarketListingEvent(product_id=p.id, event=event, from_status=before, to_status=p.status,
                                   reason=reason, assessment=assessment or {}, actor=actor.username))


def _resources(session: Session, seller: MarketParticipant, data: ProductCreate,
               adopt: frozenset[int] | set[int] = frozenset()) -> list[tuple[CatalogResource, int | None]]:
    """The entries a product wraps: a department's own entries (授权运营), or entries of the exchange's
    custody area that belong to this seller (its uploads and derivatives, :mod:`.uploads`); ``adopt``
    names the custody entries created for the product being made."""
    out = []
    for ref in data.sources:
        res = find_resource(session, ref.resource)
        own = res.id in adopt or (custody.is_custody(session, res) and custody.owned_by(session, seller.id, res.id))
        if seller.entity_type == "department" and res.provider_department_id != seller.department_id and not own:
            raise PermissionDenied(f"目录资源 {res.code} 不属于本部门，超出授权运营范围",
                                   f"Entry {res.code} is not the department's own: outside its 授权运营",
                                   code="product_source_not_own", details={"resource": res.code})
        if seller.entity_type != "department" and not own:
            raise PermissionDenied(f"目录资源 {res.code} 不是本主体上传的数据：企业供方的数据产品只能包含"
                                   "本主体上传的数据及其脱敏衍生数据（请在卖方中心“上传数据”）",
                                   f"Entry {res.code} is not this seller's upload: an enterprise's products wrap "
                                   "its own uploads and their derivatives",
                                   code="product_source_not_own", details={"resource": res.code})
        if ref.version is not None:
            get_version(session, res.id, ref.version)
        out.append((res, ref.version))
    if len({r.id for r, _ in out}) != len(out):
        raise InvalidInput("同一目录资源只能列入一次", "An entry may appear once", code="product_source_duplicate")
    return out


def _next_code(session: Session) -> str:
    n = (session.scalar(select(func.max(MarketProduct.id))) or 0) + 1
    return f"DP{utcnow():%Y}{n:06d}"


def create_product(*, session: Session, actor: Actor, data: ProductCreate) -> ProductRead:
    """A seller's new product (draft)."""
    seller = acting_for(session, actor, data.seller_id)
    if "seller" not in seller.kinds:
        raise PermissionDenied(f"“{seller.name}”未登记为供方，不能发布数据产品", f"{seller.name} is not a seller",
                               code="participant_not_seller")
    return create_with(session=session, actor=actor, seller=seller, data=data)


def create_with(*, session: Session, actor: Actor, seller: MarketParticipant, data: ProductCreate,
                adopt: frozenset[int] | set[int] = frozenset(),
                derivation: dict[str, Any] | None = None) -> ProductRead:
    """The draft product of a seller already checked (uploads and derivatives pass the custody entry
    they have just made as ``adopt``)."""
    sources = _resources(session, seller, data, adopt)
    sheet = data.sheet.model_dump()
    if not sheet["fields"]:
        sheet["fields"] = [i.get("name") for res, _ in sources
                           for i in (res.information_items or []) if i.get("name")]
    p = MarketProduct(code=_next_code(session), name=data.name, seller_id=seller.id, category=data.category,
                      sheet=sheet, delivery_modes=list(dict.fromkeys(data.delivery_modes)),
                      masking_profile=data.masking_profile, rights=list(dict.fromkeys(data.rights)),
                      source_evidence=data.source_evidence.strip(),
                      personal_authorisation=(data.personal_authorisation or "").strip() or None,
                      derivation=derivation, status=ProductStatus.DRAFT, created_by=actor.username)
    session.add(p)
    session.flush()
    for res, version in sources:
        session.add(MarketProductSource(product_id=p.id, resource_id=res.id, version=version))
    session.flush()
    record(session, actor, events.MarketProductCreate(resource_id=p.code, details={
        "seller_id": seller.id, "sources": [r.code for r, _ in sources], "delivery_modes": p.delivery_modes,
        **({"derived_from": derivation.get("source")} if derivation else {})}))
    return read_product(session, p)


def update_product(*, session: Session, actor: Actor, product_id: int, data: ProductUpdate) -> ProductRead:
    """Change a draft, refused or de-listed product (a listed one is de-listed first)."""
    p = get_product_row(session, product_id)
    _seller_of(session, actor, p)
    if p.status not in EDITABLE:
        raise Conflict(f"产品当前状态为“{p.status}”，审核中或已挂牌的产品不能修改（请先摘牌）",
                       f"A product that is {p.status} cannot be changed (de-list it first)", code="product_locked")
    changes = data.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if key == "sheet" and value is not None:
            setattr(p, key, {**value, "fields": value.get("fields") or p.sheet.get("fields", [])})
        else:
            setattr(p, key, value)
    p.updated_at = utcnow()
    record(session, actor, events.MarketProductUpdate(resource_id=p.code, details={"fields": sorted(changes)}))
    return read_product(session, p)


def _quality(session: Session, ids: list[int]) -> dict[int, float]:
    scores = plugins_of(session).hook.catalog_quality_scores(session=session, ids=ids)
    return {int(k): float(v) for k, v in (scores or {}).items()}


def assess(session: Session, settings: Settings, p: MarketProduct) -> dict[str, Any]:
    """合规评估 and 质量评估 of ``p`` (see the module docstring); runs the privacy gate on each source."""
    sources = session.scalars(select(MarketProductSource).where(MarketProductSource.product_id == p.id)
                              .order_by(MarketProductSource.id)).all()
    scores = _quality(session, [s.resource_id for s in sources])
    items: list[dict[str, Any]] = []
    gates: list[dict[str, Any]] = []
    personal = False
    sample: dict[str, Any] = {}
    for src in sources:
        res = session.get(CatalogResource, src.resource_id)
        if res is None:
            raise NotFound(f"目录资源 {src.resource_id} 不存在", "Entry not found", code="resource_not_found")
        try:
            version = get_version(session, res.id, src.version)
        except NotFound:
            gates.append({"resource": res.code, "version": None, "passed": False, "reason": "没有数据版本"})
            continue
        gate = run_product_gate(session, settings, res, version, p.masking_profile,
                                Path(settings.data_dir) / "market" / "products" / str(p.id))
        personal = personal or gate.personal
        gates.append({"resource": res.code, "name": res.name, "version": version.version, "rows": gate.rows,
                      "policy": gate.policy, "passed": gate.passed, "entities": gate.entities,
                      "violations": [v.model_dump() for v in gate.result.violations],
                      "quality_score": scores.get(res.id),
                      "deliverable": str(gate.path.relative_to(Path(settings.data_dir))) if gate.path else None})
        if gate.passed and not sample:
            sample = {**gate.sample, "resource": res.code, "version": version.version, "profile": p.masking_profile}
    scenarios = [s for s in p.sheet.get("scenarios", []) if str(s).strip()]
    items.append({"item": "source_evidence", "label": "数据来源合法性说明", "passed": bool(p.source_evidence.strip())})
    items.append({"item": "scenario", "label": "应用场景（无场景不交易）", "passed": bool(scenarios),
                  "scenarios": scenarios})
    items.append({"item": "operating_right", "label": "持有数据产品经营权", "passed": "operating" in p.rights})
    items.append({"item": "privacy_gate", "label": f"隐私闸门（{p.masking_profile} 脱敏后扫描样本与交付物）",
                  "passed": bool(gates) and all(g["passed"] for g in gates)})
    items.append({"item": "personal_authorisation", "label": "个人信息处理的授权或法律依据",
                  "passed": not personal or bool((p.personal_authorisation or "").strip()), "personal": personal})
    if "file" in (p.delivery_modes or []):
        items.append(_fingerprint_item(settings, p.sheet.get("fingerprint"), gates))
    if p.derivation:
        personal = personal or bool(p.derivation.get("source_personal"))
        items += _derivative_items(session, settings, p, personal)
    quality = [{"resource": g["resource"], "version": g["version"], "score": g["quality_score"]} for g in gates]
    return {"compliance": items, "passed": all(i["passed"] for i in items), "gates": gates, "quality": quality,
            "contains_personal": personal, "sample": sample, "assessed_at": utcnow().isoformat()}


def derivative_stale(session: Session, p: MarketProduct) -> str | None:
    """Why a desensitized derivative no longer matches its source (``None``: it does). Compared with the
    source's versions now, so a version written by any path (ingest, pipeline, API) makes it stale."""
    d = p.derivation or {}
    src = d.get("source") or {}
    if not src.get("resource_id"):
        return None
    res = session.get(CatalogResource, int(src["resource_id"]))
    if res is None or res.is_deleted:
        return f"源数据 {src.get('resource')} 已删除，衍生数据不能再交易"
    latest = latest_version(session, res.id)
    if latest is None or latest.version != src.get("version"):
        now = latest.version if latest else "?"
        return (f"源数据 {res.code} 已有新版本 v{now}（衍生数据依据 v{src.get('version')}），"
                "重识别风险须重新计算：请重建衍生数据后再提交挂牌")
    return None


def _derivative_items(session: Session, settings: Settings, p: MarketProduct, personal: bool) -> list[dict[str, Any]]:
    """A desensitized derivative: built from the source's current version, and (personal data) its
    measured re-identification risk within ``market_derivative_max_risk``."""
    d = p.derivation or {}
    stale = derivative_stale(session, p)
    fresh = {"item": "derivative_fresh", "label": "衍生数据依据源数据的最新版本（源数据更新后须重建）",
             "passed": stale is None} | ({"reason": stale} if stale else {})
    limit = settings.market_derivative_max_risk
    risk = float((d.get("risk") or {}).get("prosecutor_max", 1.0))
    item = {"item": "derivative_risk",
            "label": f"重识别风险（检察官模型最大风险）不超过 {limit:g}（含个人信息的衍生产品）",
            "passed": not personal or risk <= limit, "risk": risk, "threshold": limit, "personal": personal}
    if not item["passed"]:
        item["reason"] = f"实测最大重识别风险 {risk:.4g} 超过阈值 {limit:g}：请提高 k、增加泛化或抑制后重建"
    return [fresh, item]


def _fingerprint_item(settings: Settings, raw: object, gates: list[dict[str, Any]]) -> dict[str, Any]:
    """A product offering file delivery needs fingerprint settings that fit every deliverable: checked
    here, at listing, rather than found wrong by the first buyer's download."""
    item: dict[str, Any] = {"item": "fingerprint", "label": "离线文件指纹设置（文件交付须设置，且与交付数据相符）",
                            "passed": False}
    if not raw:
        return item | {"reason": "未设置关键列和各列容差"}
    try:
        spec = FingerprintSpec.model_validate(raw)
        for g in gates:
            if g.get("deliverable"):
                check_spec(spec, pq.read_schema(Path(settings.data_dir) / g["deliverable"]))
    except ValidationError as exc:
        return item | {"reason": "；".join(validation.message(e, "zh-CN") for e in exc.errors())}
    except InvalidInput as exc:
        return item | {"reason": exc.message("zh-CN")}
    return item | {"passed": True}


def submit_product(*, session: Session, actor: Actor, settings: Settings, product_id: int) -> ProductRead:
    """Submit (or re-submit after refusal / de-listing) for listing review; refused unless compliant."""
    p = get_product_row(session, product_id)
    _seller_of(session, actor, p)
    before = p.status
    PRODUCTS.next(p.status, ProductEvent.SUBMIT)  # the transition exists, before the costly assessment
    result = assess(session, settings, p)
    if not result["passed"]:
        failed = [i["label"] + (f"（{i['reason']}）" if i.get("reason") else "")
                  for i in result["compliance"] if not i["passed"]]
        raise InvalidInput(f"不合规不挂牌：{'；'.join(failed)} 未满足", f"Not compliant: {', '.join(failed)}",
                           code="listing_not_compliant", details={"assessment": result})
    p.status = PRODUCTS.next(p.status, ProductEvent.SUBMIT)
    p.assessment = {k: v for k, v in result.items() if k != "sample"}
    p.sample = result["sample"]
    p.contains_personal = bool(result["contains_personal"])
    p.updated_at = utcnow()
    _log(session, actor, p, "submit", before, assessment=p.assessment)
    record(session, actor, events.MarketProductSubmit(resource_id=p.code, details={
        "from": before, "quality": result["quality"], "contains_personal": p.contains_personal}))
    _emit(session, actor, "product.submit", p, quality=result["quality"], contains_personal=p.contains_personal)
    return read_product(session, p)


def review_product(*, session: Session, actor: Actor, product_id: int, data: ListingDecision) -> ProductRead:
    """The exchange operator lists the product or refuses it with a reason."""
    require(actor, A.PRODUCT_REVIEW)
    p = get_product_row(session, product_id)
    if data.decision == "refuse" and not (data.reason or "").strip():
        raise InvalidInput("不予挂牌须说明理由", "A refusal needs a reason", code="reason_required",
                           details={"field": "reason"})
    before = p.status
    p.status = PRODUCTS.next(p.status, ProductEvent(data.decision))
    if p.status == ProductStatus.LISTED:
        seller = get_row(session, p.seller_id)
        if seller.status != "approved":
            raise Conflict(f"供方“{seller.name}”当前状态为“{seller.status}”，不能挂牌",
                           "The seller is not approved",
                           code="participant_not_approved")
        if stale := derivative_stale(session, p):
            raise Conflict(f"不能挂牌：{stale}", "The derivative is stale: its source has a new version",
                           code="derivative_stale", details={"reason": stale})
        p.listed_at = utcnow()
    p.updated_at = utcnow()
    _log(session, actor, p, data.decision, before, data.reason)
    record(session, actor, events.MarketProductReview(resource_id=p.code, details={
        "decision": data.decision, "reason": data.reason, "from": before, "to": p.status}))
    _emit(session, actor, "product.list" if data.decision == "approve" else "product.refuse", p, reason=data.reason)
    return read_product(session, p)


def delist_product(*, session: Session, actor: Actor, product_id: int, reason: str) -> ProductRead:
    """De-list (摘牌) by the seller or the exchange operator; open orders go on, no new ones. The
    reason is text a person types: no control characters (422 ``control_characters``)."""
    require_plain_text(reason, "reason")
    p = get_product_row(session, product_id)
    if not allowed(actor, A.PRODUCT_REVIEW):
        _seller_of(session, actor, p)
    before = p.status
    p.status = PRODUCTS.next(p.status, ProductEvent.DELIST)
    p.updated_at = utcnow()
    _log(session, actor, p, "delist", before, reason)
    record(session, actor, events.MarketProductDelist(resource_id=p.code, details={"reason": reason}))
    _emit(session, actor, "product.delist", p, reason=reason)
    return read_product(session, p)


# -- price plans -------------------------------------------------------------------------------------

def _check_plan(session: Session, data: PlanCreate) -> None:
    def bad(zh: str, en: str, field: str) -> InvalidInput:
        return InvalidInput(zh, en, code="plan_invalid", details={"field": field})

    if data.kind == "subscription" and not data.period_days:
        raise bad("订阅方案须给出订阅周期（天）", "A subscription needs its period in days", "period_days")
    if data.kind == "metered":
        if data.unit is None:
            raise bad("计量方案须给出计量单位：按次（call）或每千行（rows_1000）", "A metered plan needs its unit",
                      "unit")
        if data.monthly_cap_fen is not None and data.monthly_cap_fen < data.price_fen:
            raise bad("月度封顶金额不能低于单价", "The monthly cap is below the unit price", "monthly_cap_fen")
    elif data.unit is not None or data.free_units or data.monthly_cap_fen is not None:
        raise bad("计量单位、免费额度和月度封顶只用于计量方案", "Units, free units and caps belong to metered plans",
                  "unit")
    if data.kind == "private":
        if data.buyer_id is None:
            raise bad("定向报价须指定买方", "A private offer names its buyer", "buyer_id")
        buyer = get_row(session, data.buyer_id)
        if "buyer" not in buyer.kinds:
            raise bad(f"“{buyer.name}”未登记为需方", f"{buyer.name} is not a buyer", "buyer_id")
    elif data.buyer_id is not None:
        raise bad("只有定向报价指定买方", "Only private offers name a buyer", "buyer_id")
    if data.valid_until is not None and data.valid_until.astimezone(dt.UTC) <= utcnow():
        raise bad("有效期须晚于现在", "valid_until is in the past", "valid_until")


def create_plan(*, session: Session, actor: Actor, product_id: int, data: PlanCreate) -> PlanRead:
    p = get_product_row(session, product_id)
    _seller_of(session, actor, p)
    _check_plan(session, data)
    plan = MarketPricePlan(product_id=p.id, kind=data.kind, name=data.name, price_fen=data.price_fen,
                           period_days=data.period_days, auto_renew=data.auto_renew, unit=data.unit,
                           free_units=data.free_units, monthly_cap_fen=data.monthly_cap_fen, buyer_id=data.buyer_id,
                           valid_until=data.valid_until, created_by=actor.username)
    session.add(plan)
    session.flush()
    details = {"plan_id": plan.id, "kind": plan.kind, "price_fen": plan.price_fen, "buyer_id": plan.buyer_id}
    record(session, actor, events.MarketPlanCreate(resource_id=p.code, details=details))
    _emit(session, actor, "plan.create", p, plan=details)
    return PlanRead.model_validate(plan)


def withdraw_plan(*, session: Session, actor: Actor, plan_id: int) -> PlanRead:
    plan = session.get(MarketPricePlan, plan_id)
    if plan is None:
        raise NotFound(f"价格方案 {plan_id} 不存在", f"Price plan {plan_id} not found", code="plan_not_found")
    p = get_product_row(session, plan.product_id)
    _seller_of(session, actor, p)
    plan.is_active = False
    record(session, actor, events.MarketPlanWithdraw(resource_id=p.code, details={"plan_id": plan.id}))
    return PlanRead.model_validate(plan)


# -- reading ------------------------------------------------------------------------------------------

def _may_see_all(session: Session, actor: Actor, p: MarketProduct) -> bool:
    if allowed(actor, A.PARTICIPANT_VIEW_ALL):
        return True
    seller = session.get(MarketParticipant, p.seller_id)
    return seller is not None and allowed(actor, A.PARTICIPANT_ACT, participant_ref(session, actor, seller))


def visible_plans(session: Session, actor: Actor, p: MarketProduct, *, all_plans: bool) -> list[MarketPricePlan]:
    """Active plans; a private offer only for its buyer's members (and the seller, the operator)."""
    plans = session.scalars(select(MarketPricePlan).where(MarketPricePlan.product_id == p.id)
                            .order_by(MarketPricePlan.id)).all()
    out = []
    for plan in plans:
        if all_plans:
            out.append(plan)
            continue
        if not plan.is_active:
            continue
        if plan.buyer_id is not None:
            buyer = session.get(MarketParticipant, plan.buyer_id)
            if buyer is None or not allowed(actor, A.PARTICIPANT_ACT, participant_ref(session, actor, buyer)):
                continue
        out.append(plan)
    return out


def read_product(session: Session, p: MarketProduct, actor: Actor | None = None) -> ProductRead:
    seller = session.get(MarketParticipant, p.seller_id)
    sources = session.execute(select(MarketProductSource, CatalogResource).join(
        CatalogResource, CatalogResource.id == MarketProductSource.resource_id)
        .where(MarketProductSource.product_id == p.id).order_by(MarketProductSource.id)).all()
    history = session.scalars(select(MarketListingEvent).where(MarketListingEvent.product_id == p.id)
                              .order_by(MarketListingEvent.id)).all()
    all_plans = actor is None or _may_see_all(session, actor, p)
    plans = visible_plans(session, actor or Actor.system(), p, all_plans=all_plans)
    out = ProductRead.model_validate(p)
    return out.model_copy(update={
        "seller": ParticipantBrief.model_validate(seller) if seller else None,
        "sources": [{"resource": r.code, "name": r.name, "version": s.version} for s, r in sources],
        "plans": [PlanRead.model_validate(x) for x in plans],
        "history": [ListingEventRead.model_validate(h) for h in history] if all_plans else []})


def get_product(*, session: Session, actor: Actor, product_id: int) -> ProductRead:
    """A listed product for anyone; any other for its seller and the operator/regulator."""
    p = get_product_row(session, product_id)
    if p.status != ProductStatus.LISTED:
        if not _may_see_all(session, actor, p):
            raise NotFound(f"数据产品 {product_id} 不存在", f"Data product {product_id} not found",
                           code="product_not_found")
    else:
        require(actor, A.PRODUCT_BROWSE)
    return read_product(session, p, actor)


def list_products(*, session: Session, actor: Actor, status: str | None = None, seller_id: int | None = None,
                  q: str | None = None, category: str | None = None) -> list[ProductRead]:
    """Listed products (anyone); with ``seller_id`` the seller's own in every status (its members and
    oversight); ``status`` other than listed needs oversight or the seller."""
    require(actor, A.PRODUCT_BROWSE)
    stmt = select(MarketProduct).order_by(MarketProduct.id.desc())
    if seller_id is not None:
        stmt = stmt.where(MarketProduct.seller_id == seller_id)
    if status:
        stmt = stmt.where(MarketProduct.status == status)
    if category:
        stmt = stmt.where(MarketProduct.category == category)
    if q:
        stmt = stmt.where(MarketProduct.name.contains(q.strip()))
    return [read_product(session, p, actor) for p in session.scalars(stmt)
            if p.status == ProductStatus.LISTED or _may_see_all(session, actor, p)]
