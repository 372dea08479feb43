"""Public market pages: certificate verification (登记证书查验, where a certificate's QR code
leads), the rights notice board (登记公示), 存证查询 (an entry hash against the ledger) and a
product's valuation report (数据资产评估报告, advisory). Same services as /api/v1/market."""

from __future__ import annotations

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from shudata.core.errors import ShudataError
from shudata.market.ledger import service as ledger
from shudata.market.rights import service as rights
from shudata.market.rights.actions import RIGHTS_REVIEW
from shudata.market.rights.certificate import rows as certificate_rows
from shudata.market.rights.certificate import verify_url
from shudata.market.rights.schemas import ObjectionCreate
from shudata.market.rights.states import RIGHT_LABELS, STATUS_LABELS, TYPE_LABELS
from shudata.market.valuation import service as valuation
from shudata.security.authz import allowed
from shudata.web.api.v1.market_records import base_url
from shudata.web.deps import ActorDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import flash, page_window, redirect, render, validation_messages

router = APIRouter()
LABELS = {"right": RIGHT_LABELS, "type": TYPE_LABELS, "status": STATUS_LABELS}


@router.get("/market/rights/certificates/{number}")
def certificate_page(number: str, request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep,
                     signature: str | None = None) -> Response:
    """The page a certificate's QR code opens: valid or not, and why."""
    check = rights.verify_certificate(session=session, actor=actor, number=number, signature=signature)
    status = 200 if check.found else 404
    return render(request, "market_records/certificate.html", {
        "check": check, "rows": certificate_rows(check.content) if check.content else [],
        "url": verify_url(base_url(request, settings), check.number)}, status_code=status)


@router.get("/market/rights/notices")
def notices_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return render(request, "market_records/notices.html",
                  {"rows": rights.notices(session=session, actor=actor), "labels": LABELS})


@router.post("/market/rights/{number}/object")
def object_form(number: str, request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                objector: str = Form(""), reason: str = Form("")) -> Response:
    """An objection from the notice board (any logged-in user, during the notice); refusals such as a
    notice that is over propagate (4xx page, audited)."""
    try:
        data = ObjectionCreate(objector=objector.strip(), reason=reason.strip())
    except ValidationError as exc:
        zh, en = "；".join(validation_messages(exc, "zh-CN")), "; ".join(validation_messages(exc, "en"))
        flash(request, "danger", zh, en)
        return redirect("/market/rights/notices")
    rights.object_to(session=session, settings=settings, actor=actor, number=number, data=data)
    flash(request, "success", f"已对登记 {number} 提出异议，交易所将审查处理", f"Objection to {number} filed")
    return redirect("/market/rights/notices")


@router.get("/market/rights")
def registrations_page(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                       status: str = "") -> Response:
    """Registrations the actor may see (their participant's; all for the exchange and the regulator),
    with the exchange's review, objection and conclusion controls."""
    rows = rights.list_registrations(session=session, actor=actor, status=status.strip() or None)
    objections = {r.id: rights.objections_of(session, r) for r in rows}
    return render(request, "market_records/registrations.html", {
        "rows": rows, "objections": objections, "labels": LABELS, "status": status,
        "today": rights.today(settings), "may_review": allowed(actor, RIGHTS_REVIEW)})


@router.post("/market/rights/{number}/review")
def review_form(number: str, request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                approve: str = Form(...), note: str = Form("")) -> Response:
    reg = rights.review(session=session, settings=settings, actor=actor, number=number, approve=approve == "1",
                        note=note)
    flash(request, "success", f"登记 {number}：{STATUS_LABELS.get(reg.status, reg.status)}", f"{number}: {reg.status}")
    return redirect("/market/rights")


@router.post("/market/rights/{number}/conclude")
def conclude_form(number: str, request: Request, session: SessionDep, settings: SettingsDep,
                  actor: UserDep) -> Response:
    reg = rights.conclude(session=session, settings=settings, actor=actor, number=number)
    flash(request, "success", f"登记 {number} 已登记，证书 {reg.certificate_number or '—'}", f"{number} registered")
    return redirect("/market/rights")


@router.post("/market/rights/objections/{objection_id}/decide")
def decide_form(objection_id: int, request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep,
                uphold: str = Form(...), decision: str = Form("")) -> Response:
    rights.decide_objection(session=session, settings=settings, actor=actor, objection_id=objection_id,
                            uphold=uphold == "1", decision=decision)
    flash(request, "success", f"异议 #{objection_id} 已处理", f"Objection #{objection_id} decided")
    return redirect("/market/rights")


@router.get("/market/ledger/proof")
def proof_page(request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep,
               hash: str | None = None) -> Response:
    """存证查询: a form, and the answer for the hash given."""
    proof, error = None, None
    if hash:
        try:
            proof = ledger.lookup(session=session, settings=settings, actor=actor, digest=hash)
        except ShudataError as exc:
            error = exc
    return render(request, "market_records/proof.html", {"proof": proof, "error": error, "hash": hash or ""},
                  status_code=422 if error else 200)


@router.get("/market/products/{product_id}/valuation")
def valuation_page(product_id: int, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    v = valuation.latest(session=session, actor=actor, product_id=product_id)
    if v is None:
        raise valuation.no_valuation(product_id)
    return render(request, "market_records/valuation.html", {"v": v, "r": v.report, "product_id": product_id})


@router.get("/market/ledger")
def ledger_page(request: Request, session: SessionDep, actor: UserDep, kind: str = "",
                offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)) -> Response:
    """The ledger for the regulator, the exchange and auditors: every entry with its payload."""
    total, rows = ledger.read_entries(session=session, actor=actor, offset=offset, limit=limit,
                                      kind=kind.strip() or None)
    return render(request, "market_records/ledger.html", {"rows": rows, "total": total, "kind": kind,
                                                          "pg": page_window(total, offset, limit)})


@router.post("/market/ledger/verify")
def ledger_verify_page(request: Request, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    report = ledger.verify_ledger(session=session, settings=settings, actor=actor)
    return render(request, "market_records/ledger_verify.html", {"report": report})
