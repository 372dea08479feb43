"""``/api/v1/market``: the ledger (存证账本, 存证查询), rights registration (确权登记) and valuation
(数据资产评估) — the same services as the pages and ``shudata market rights|ledger``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shudata.core.config import Settings
from shudata.market.ledger import service as ledger
from shudata.market.rights import service as rights
from shudata.market.rights.certificate import certificate_pdf, verify_url
from shudata.market.rights.models import MarketLicence, MarketRightsObjection, MarketRightsRegistration
from shudata.market.rights.schemas import ObjectionCreate, RegistrationCreate
from shudata.market.rights.states import RIGHT_LABELS, STATUS_LABELS, TYPE_LABELS
from shudata.market.valuation import service as valuation
from shudata.market.valuation.models import MarketValuation
from shudata.market.valuation.pdf import valuation_pdf
from shudata.web.api.v1.catalog import download
from shudata.web.deps import ActorDep, SessionDep, SettingsDep, UserDep

router = APIRouter(tags=["market"])
PDF = "application/pdf"


def base_url(request: Request, settings: Settings) -> str:
    return (settings.portal_base_url or str(request.base_url)).rstrip("/")


# -- ledger -------------------------------------------------------------------------------------

def entry_dict(e: Any) -> dict[str, Any]:
    return {"seq": e.seq, "ts": e.ts.isoformat(), "kind": e.kind, "actor": e.actor, "subject_type": e.subject_type,
            "subject_id": e.subject_id, "payload": e.payload, "prev_hash": e.prev_hash, "hash": e.hash}


def report_dict(report: Any) -> dict[str, Any]:
    return {"ok": report.ok, "checked": report.checked, "checkpoints": report.seals_checked,
            "head_seq": report.head_seq, "head_hash": report.head_hash, "signed_through": report.signed_through,
            "unsigned_tail": report.unsigned_tail,
            "problems": [{"seq": p.seq, "kind": p.kind, "message": p.message} for p in report.problems]}


@router.get("/market/ledger", summary="存证账本 / the market ledger")
def ledger_entries(session: SessionDep, actor: UserDep, kind: str | None = None, subject: str | None = None,
                   offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    """存证账本的记录（新者在前），含事件内容：监管、交易所运营方与审计员可读全部。"""
    total, rows = ledger.read_entries(session=session, actor=actor, offset=offset, limit=limit, kind=kind,
                                      subject_id=subject)
    return {"total": total, "offset": offset, "limit": limit, "items": [entry_dict(e) for e in rows]}


@router.post("/market/ledger/verify", summary="校验存证账本 / verify the ledger")
def ledger_verify(session: SessionDep, settings: SettingsDep, actor: UserDep) -> dict[str, Any]:
    """逐条重算 SM3 哈希链并校验交易所在每个检查点的 SM2 签名，报告被修改、删除、插入、重排的记录与伪造的签名。"""
    return report_dict(ledger.verify_ledger(session=session, settings=settings, actor=actor))


@router.post("/market/ledger/seal", summary="签署检查点 / sign the ledger head")
def ledger_seal(session: SessionDep, settings: SettingsDep, actor: UserDep) -> dict[str, Any]:
    """交易所运营方：补签到期的检查点并签署当前链头。"""
    made = ledger.seal_now(session=session, settings=settings, actor=actor)
    return {"signed": [{"seq": c.seq, "head_hash": c.head_hash, "signature": c.signature} for c in made]}


@router.get("/market/ledger/proofs/{digest}", summary="存证查询 / look up an entry hash (public)")
def ledger_proof(digest: str, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> dict[str, Any]:
    """任何人（无需登录）凭存证哈希查询：记录是否在账本中、哈希是否完好、是否在交易所 SM2 签名的检查点之下。
    不返回事件内容。"""
    proof = ledger.lookup(session=session, settings=settings, actor=actor, digest=digest)
    return dict(proof.__dict__)


# -- rights ----------------------------------------------------------------------------------

def registration_dict(session: Any, r: MarketRightsRegistration, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": r.number, "right": r.right, "right_label": RIGHT_LABELS.get(r.right, r.right),
        "type": r.reg_type, "type_label": TYPE_LABELS.get(r.reg_type, r.reg_type), "status": r.status,
        "status_label": STATUS_LABELS.get(r.status, r.status), "subject": r.subject,
        "notice_start": r.notice_start.isoformat() if r.notice_start else None,
        "notice_end": r.notice_end.isoformat() if r.notice_end else None,
        "certificate_number": r.certificate_number, "disputed": r.disputed,
    }
    if full:
        out.update({"description": r.description, "scope": r.scope, "applicant_id": r.applicant_id,
                    "holder_id": r.holder_id, "counterparty_id": r.counterparty_id, "product_id": r.product_id,
                    "target_id": r.target_id, "evidence": r.evidence, "review_note": r.review_note,
                    "valid_from": r.valid_from.isoformat() if r.valid_from else None,
                    "valid_until": r.valid_until.isoformat() if r.valid_until else None,
                    "issued_at": r.issued_at.isoformat() if r.issued_at else None,
                    "signature": r.signature, "created_at": r.created_at.isoformat()})
    return out


def objection_dict(o: MarketRightsObjection) -> dict[str, Any]:
    return {"id": o.id, "objector": o.objector, "reason": o.reason, "evidence": o.evidence, "status": o.status,
            "decision": o.decision, "created_at": o.created_at.isoformat()}


def licence_dict(lic: MarketLicence) -> dict[str, Any]:
    return {"number": lic.number, "right": lic.right, "product_id": lic.product_id, "order_id": lic.order_id,
            "licensor_id": lic.licensor_id, "licensee_id": lic.licensee_id, "scope": lic.scope,
            "valid_from": lic.valid_from.isoformat(),
            "valid_until": lic.valid_until.isoformat() if lic.valid_until else None, "status": lic.status}


class ReviewIn(BaseModel):
    approve: bool
    note: str = Field("", max_length=2000)


class DecisionIn(BaseModel):
    uphold: bool
    decision: str = Field(min_length=1, max_length=2000)


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/market/rights", status_code=201, summary="申请确权登记 / apply for a registration")
def rights_apply(data: RegistrationCreate, session: SessionDep, settings: SettingsDep,
                 actor: UserDep) -> dict[str, Any]:
    """交易主体用户为本主体申请：三权（持有权、加工使用权、经营权）× 首次、许可、转移、变更、注销、撤销、
    异议登记，附证明材料摘要。"""
    return registration_dict(session, rights.apply(session=session, settings=settings, actor=actor, data=data))


@router.get("/market/rights", summary="确权登记列表 / registrations")
def rights_list(session: SessionDep, actor: UserDep, status: str | None = None) -> list[dict[str, Any]]:
    """本主体相关的登记（交易所与监管可见全部）。"""
    return [registration_dict(session, r) for r in rights.list_registrations(session=session, actor=actor,
                                                                             status=status)]


@router.get("/market/rights/notices", summary="登记公示 / public notices (public)")
def rights_notices(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    """公示中的登记（无需登录）：公示期内任何登录用户可提出异议。"""
    return [registration_dict(session, r, full=False) for r in rights.notices(session=session, actor=actor)]


@router.get("/market/rights/licences", summary="数据加工使用权许可 / licences")
def rights_licences(session: SessionDep, actor: UserDep) -> list[dict[str, Any]]:
    """本主体获得或授予的许可（购买加工使用权或许可登记产生）。"""
    return [licence_dict(x) for x in rights.licences(session=session, actor=actor)]


@router.get("/market/rights/certificates/{number}", summary="查验登记证书 / verify a certificate (public)")
def rights_certificate(number: str, session: SessionDep, actor: ActorDep,
                       signature: str | None = None) -> dict[str, Any]:
    """任何人凭证书编号查验：交易所 SM2 签名是否有效、证书内容与登记簿是否一致、证书是否有效。"""
    return dict(rights.verify_certificate(session=session, actor=actor, number=number, signature=signature).__dict__)


@router.get("/market/rights/certificates/{number}/pdf", summary="登记证书 PDF / certificate as PDF (public)")
def rights_certificate_pdf(number: str, request: Request, session: SessionDep, settings: SettingsDep,
                           actor: ActorDep) -> Response:
    """登记证书（PDF，中文，含查验二维码与 SM2 签名）。"""
    check = rights.verify_certificate(session=session, actor=actor, number=number)
    if not check.found or check.content is None:
        raise rights.certificate_missing(number)
    pdf = certificate_pdf(check.content, signature=check.signature or "", public_key=check.public_key or "",
                          url=verify_url(base_url(request, settings), check.number))
    return download(pdf, f"数据权益登记证书-{check.number}.pdf", PDF)


@router.get("/market/rights/{number}", summary="确权登记详情 / one registration")
def rights_read(number: str, session: SessionDep, actor: UserDep) -> dict[str, Any]:
    """一件登记的全部信息（证明材料摘要、审查意见、公示期、异议及其处理）：相关交易主体、交易所与监管可见。"""
    reg = rights.read(session=session, actor=actor, number=number)
    out = registration_dict(session, reg)
    out["objections"] = [objection_dict(o) for o in rights.objections_of(session, reg)]
    return out


@router.post("/market/rights/{number}/review", summary="合规审查 / compliance review")
def rights_review(number: str, data: ReviewIn, session: SessionDep, settings: SettingsDep,
                  actor: UserDep) -> dict[str, Any]:
    """交易所运营方：通过（当日起公示，公示期为配置的工作日数）或不予登记（须说明理由）。"""
    return registration_dict(session, rights.review(session=session, settings=settings, actor=actor, number=number,
                                                    approve=data.approve, note=data.note))


@router.post("/market/rights/{number}/objections", status_code=201, summary="提出异议 / object")
def rights_object(number: str, data: ObjectionCreate, session: SessionDep, settings: SettingsDep,
                  actor: UserDep) -> dict[str, Any]:
    """公示期内（含最后一个工作日）任何登录用户可对登记提出异议。"""
    return objection_dict(rights.object_to(session=session, settings=settings, actor=actor, number=number,
                                           data=data))


@router.post("/market/rights/objections/{objection_id}/decision", summary="处理异议 / decide an objection")
def rights_decide(objection_id: int, data: DecisionIn, session: SessionDep, settings: SettingsDep,
                  actor: UserDep) -> dict[str, Any]:
    """交易所运营方：异议成立（不予登记）或驳回（无待处理异议时恢复公示）。"""
    return objection_dict(rights.decide_objection(session=session, settings=settings, actor=actor,
                                                  objection_id=objection_id, uphold=data.uphold,
                                                  decision=data.decision))


@router.post("/market/rights/{number}/conclude", summary="公示期满登记发证 / register and issue")
def rights_conclude(number: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> dict[str, Any]:
    """公示期满且无待处理异议：登记并签发证书（SM2 签名）；转移、变更、注销、撤销登记同时作用于所涉证书。"""
    return registration_dict(session, rights.conclude(session=session, settings=settings, actor=actor,
                                                      number=number))


@router.post("/market/rights/{number}/withdraw", summary="撤回申请 / withdraw")
def rights_withdraw(number: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> dict[str, Any]:
    """申请人在登记完成前撤回申请（公示中、异议处理中亦可）。"""
    return registration_dict(session, rights.withdraw(session=session, settings=settings, actor=actor,
                                                      number=number))


@router.post("/market/rights/certificates/{number}/revoke", summary="撤销证书 / revoke a certificate")
def rights_revoke(number: str, data: RevokeIn, session: SessionDep, settings: SettingsDep,
                  actor: UserDep) -> dict[str, Any]:
    """交易所运营方直接撤销已登记的证书（如证明材料不实），须说明理由。"""
    return registration_dict(session, rights.revoke(session=session, settings=settings, actor=actor, number=number,
                                                    reason=data.reason))


# -- valuation -----------------------------------------------------------------------------------

def valuation_dict(v: MarketValuation) -> dict[str, Any]:
    return {"id": v.id, "product_id": v.product_id, "value_fen": v.value_fen, "method": v.method,
            "quality_score": v.quality_score, "created_by": v.created_by, "created_at": v.created_at.isoformat(),
            "report": v.report}


@router.post("/market/products/{product_id}/valuations", status_code=201, summary="评估数据产品 / value a product")
def valuation_create(product_id: int, data: valuation.ValuationCreate, session: SessionDep, settings: SettingsDep,
                     actor: UserDep) -> dict[str, Any]:
    """按《数据资产评估指导意见》（中评协〔2023〕17号）以成本法、收益法、市场法评估（仅供参考）：质量系数取自产品的质量评分，
    市场法的可比案例取自本平台同类产品的已结算交易。卖方、数据评估服务商或交易所可发起。"""
    return valuation_dict(valuation.value_product(session=session, settings=settings, actor=actor,
                                                  product_id=product_id, data=data))


@router.get("/market/products/{product_id}/valuation", summary="最新评估报告 / latest valuation")
def valuation_latest(product_id: int, session: SessionDep, actor: ActorDep) -> dict[str, Any] | None:
    """挂牌产品的最新评估报告（公开，仅供参考）。"""
    v = valuation.latest(session=session, actor=actor, product_id=product_id)
    return valuation_dict(v) if v is not None else None


@router.get("/market/products/{product_id}/valuation/pdf", summary="评估报告 PDF / valuation report as PDF")
def valuation_pdf_download(product_id: int, session: SessionDep, actor: ActorDep) -> Response:
    """最新评估报告的 PDF（中文，含全部输入、假设与计算步骤；仅供参考）。"""
    v = valuation.latest(session=session, actor=actor, product_id=product_id)
    if v is None:
        raise valuation.no_valuation(product_id)
    return download(valuation_pdf(v.report), f"数据资产评估报告-{product_id}-{v.id}.pdf", PDF)
