"""Rights registration use cases (确权登记): apply → compliance review → public notice with
objections → certificate; certificates verified by anyone; licences of 数据加工使用权.

Every step is audited (typed events) and put on the market ledger (``market.rights.*``) in the
same transaction. The notice lasts ``market_rights_notice_days`` working days after the approval
day (:class:`shudata.sharing.calendar.WorkCalendar`); objections are accepted through its last day,
and the registration is concluded on a later day with no objection pending.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shudata.audit import events as ev
from shudata.audit.ledger import record
from shudata.core.clock import local_date, utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor, ResourceRef
from shudata.market.ledger.keys import exchange_key, exchange_public_key
from shudata.market.ledger.service import LedgerEvent, append
from shudata.market.models import MarketOrder, MarketParticipant, MarketProduct
from shudata.market.participants import memberships
from shudata.market.rights import actions
from shudata.market.rights.models import MarketLicence, MarketRightsObjection, MarketRightsRegistration
from shudata.market.rights.schemas import ObjectionCreate, RegistrationCreate
from shudata.market.rights.states import (
    ISSUES_CERTIFICATE,
    MACHINE,
    RIGHT_CODES,
    RIGHT_LABELS,
    STATUS_LABELS,
    TYPE_LABELS,
    RegistrationEvent,
    RegistrationStatus,
    RegistrationType,
    Right,
)
from shudata.security.authz import allowed, require
from shudata.security.crypto import sm2
from shudata.sharing.calendar import WorkCalendar

ISSUER = "蜀数数据交易平台"
REG = "market_rights_registration"
Reg = MarketRightsRegistration
S, E, T = RegistrationStatus, RegistrationEvent, RegistrationType


def today(settings: Settings) -> dt.date:
    return local_date(utcnow(), settings.timezone)


def _ref(reg: Reg) -> ResourceRef:
    return ResourceRef(REG, reg.id)


def _participant(session: Session, pid: int | None, field: str) -> MarketParticipant:
    p = session.get(MarketParticipant, pid) if pid is not None else None
    if p is None:
        raise InvalidInput(f"交易主体 {pid} 不存在", f"Participant {pid} not found", code="participant_not_found",
                           details={"field": field})
    return p


def participant_ids(session: Session, actor: Actor) -> set[int]:
    """The participants ``actor``'s account acts for: linked member accounts, and a department seller
    (授权运营) through its stewards."""
    return {p.id for p in memberships(session, actor)}


def _is_exchange(actor: Actor) -> bool:
    return allowed(actor, actions.RIGHTS_REVIEW)


def _ledger(session: Session, settings: Settings, actor: Actor, kind: str, reg: Reg, **payload: Any) -> None:
    append(session, LedgerEvent(kind=f"market.rights.{kind}", subject_type="rights", subject_id=reg.number,
                                actor=actor.username, payload={"status": reg.status, **payload}), settings=settings)


def _move(reg: Reg, event: RegistrationEvent) -> None:
    reg.status = MACHINE.next(reg.status, event).value
    reg.updated_at = utcnow()


def certificate_missing(number: str) -> NotFound:
    return NotFound(f"登记证书 {number} 不存在", f"Certificate {number} not found", code="rights_certificate_not_found")


def objections_of(session: Session, reg: Reg) -> list[MarketRightsObjection]:
    return list(session.scalars(select(MarketRightsObjection).where(MarketRightsObjection.registration_id == reg.id)
                                .order_by(MarketRightsObjection.id)))


def get(session: Session, number: str) -> Reg:
    reg = session.scalar(select(Reg).where(Reg.number == number))
    if reg is None:
        raise NotFound(f"确权登记 {number} 不存在", f"Registration {number} not found", code="rights_not_found")
    return reg


def _certificate_target(session: Session, number: str) -> Reg:
    reg = session.scalar(select(Reg).where(Reg.certificate_number == number))
    if reg is None:
        raise InvalidInput(f"登记证书 {number} 不存在", f"Certificate {number} not found",
                           code="rights_certificate_not_found", details={"field": "target_number"})
    return reg


# -- apply ------------------------------------------------------------------------------------

def apply(*, session: Session, settings: Settings, actor: Actor, data: RegistrationCreate) -> Reg:
    """Submit a registration for the actor's participant (the exchange may file for any)."""
    require(actor, actions.RIGHTS_APPLY)
    mine = participant_ids(session, actor)
    applicant_id = data.applicant_id or (min(mine) if len(mine) == 1 else None)
    if applicant_id is None:
        raise InvalidInput("请指明申请人（applicant_id）：本账号不属于唯一的交易主体",
                           "Name the applicant participant", code="validation_error", details={"field": "applicant_id"})
    if applicant_id not in mine and not _is_exchange(actor):
        raise PermissionDenied("只能以本账号所属的交易主体名义申请登记", "You may only apply for your own participant",
                               code="permission_denied", details={"action": actions.RIGHTS_APPLY.name})
    applicant = _participant(session, applicant_id, "applicant_id")
    if applicant.status != "approved":
        raise Conflict(f"交易主体“{applicant.name}”尚未通过审核或已被暂停，不能申请确权登记",
                       "The applicant is not an approved participant", code="participant_not_approved")
    counterparty = _participant(session, data.counterparty_id, "counterparty_id") if data.counterparty_id else None
    if counterparty is not None and counterparty.id == applicant.id:
        raise InvalidInput("被许可方或受让方不能是申请人自己", "The counterparty must differ from the applicant",
                           code="validation_error", details={"field": "counterparty_id"})
    product = None
    if data.product_id is not None:
        product = session.get(MarketProduct, data.product_id)
        if product is None:
            raise InvalidInput(f"数据产品 {data.product_id} 不存在", "Product not found", code="product_not_found",
                               details={"field": "product_id"})
    target = None
    subject, description = data.subject, data.description
    if data.target_number:
        target = _certificate_target(session, data.target_number)
        if target.status != S.REGISTERED:
            raise Conflict(f"证书 {data.target_number} 当前为“{STATUS_LABELS.get(target.status, target.status)}”，"
                           "不能再办理登记", "The certificate is no longer in force", code="rights_certificate_ended")
        if target.right != data.right:
            raise InvalidInput("所涉证书的权利类型与申请不一致", "The certificate is for another right",
                               code="validation_error", details={"field": "right"})
        holder_only = data.reg_type in (T.LICENCE, T.TRANSFER, T.CHANGE, T.CANCEL)
        if holder_only and target.holder_id != applicant.id:
            raise PermissionDenied("许可、转移、变更、注销登记须由证书权利人申请",
                                   "Only the certificate holder may apply for this", code="permission_denied",
                                   details={"action": actions.RIGHTS_APPLY.name})
        subject = subject or target.subject
        description = description or target.description
        product = product or (session.get(MarketProduct, target.product_id) if target.product_id else None)
    if data.reg_type == T.LICENCE and data.right == Right.HOLDING:
        raise InvalidInput("数据资源持有权不办理许可登记：许可的是加工使用权或产品经营权",
                           "The holding right is not licensed", code="validation_error", details={"field": "right"})
    if data.reg_type == T.INITIAL and product is not None and product.seller_id != applicant.id:
        raise PermissionDenied("只能为本主体的数据产品申请首次登记", "Only the product's seller may register it",
                               code="permission_denied", details={"action": actions.RIGHTS_APPLY.name})
    holder_id = {T.TRANSFER: counterparty.id if counterparty else None,
                 T.LICENCE: counterparty.id if counterparty else None}.get(data.reg_type)
    if holder_id is None:
        holder_id = target.holder_id if target is not None and data.reg_type != T.CHANGE else applicant.id
    reg = Reg(number=f"tmp-{uuid.uuid4().hex[:20]}", right=data.right.value, reg_type=data.reg_type.value,
              status=S.SUBMITTED.value, applicant_id=applicant.id,
              counterparty_id=counterparty.id if counterparty else None,
              holder_id=holder_id, product_id=product.id if product else None, target_id=target.id if target else None,
              subject=subject or (product.name if product else ""), description=description, scope=data.scope,
              valid_from=data.valid_from, valid_until=data.valid_until,
              evidence=[e.model_dump() for e in data.evidence], created_by=actor.username)
    if not reg.subject:
        raise InvalidInput("请填写登记对象（subject）", "subject is required", code="validation_error",
                           details={"field": "subject"})
    session.add(reg)
    session.flush()
    reg.number = f"RA{today(settings):%Y%m%d}{reg.id:05d}"
    session.flush()
    record(session, actor, ev.MarketRightsApply(resource_id=reg.number, details={
        "right": reg.right, "type": reg.reg_type, "applicant_id": applicant.id, "target": data.target_number,
        "evidence": len(reg.evidence)}))
    _ledger(session, settings, actor, "apply", reg, right=reg.right, type=reg.reg_type, applicant=applicant.uscc,
            target=data.target_number, evidence=[e.digest for e in data.evidence])
    return reg


# -- review, notice, objections -----------------------------------------------------------------

def review(*, session: Session, settings: Settings, actor: Actor, number: str, approve: bool,
           note: str = "") -> Reg:
    """合规审查: approve (the public notice opens today) or refuse with a reason."""
    require(actor, actions.RIGHTS_REVIEW)
    reg = get(session, number)
    if not approve and not note.strip():
        raise InvalidInput("不予登记须说明理由", "A refusal needs a reason", code="validation_error",
                           details={"field": "note"})
    _move(reg, E.APPROVE if approve else E.REFUSE)
    reg.review_note, reg.reviewed_by = note.strip() or None, actor.username
    if approve:
        start = today(settings)
        reg.notice_start = start
        reg.notice_end = WorkCalendar().add_working_days(start, settings.market_rights_notice_days)
    record(session, actor, ev.MarketRightsReview(resource_id=reg.number, details={
        "approve": approve, "note": note, "notice_end": reg.notice_end.isoformat() if reg.notice_end else None}))
    _ledger(session, settings, actor, "review", reg, approve=approve,
            notice_end=reg.notice_end.isoformat() if reg.notice_end else None)
    return reg


def object_to(*, session: Session, settings: Settings, actor: Actor, number: str, data: ObjectionCreate,
              on: dt.date | None = None) -> MarketRightsObjection:
    """File an objection during the notice (through its last working day)."""
    require(actor, actions.RIGHTS_OBJECT)
    reg = get(session, number)
    day = on or today(settings)
    if reg.status not in (S.NOTICE, S.OBJECTED) or reg.notice_end is None:
        raise Conflict(f"登记 {number} 不在公示期内，不能提出异议", "The registration is not in its public notice",
                       code="rights_not_in_notice")
    if day > reg.notice_end:
        raise Conflict(f"公示期已于 {reg.notice_end.isoformat()} 结束，不能再提出异议",
                       "The notice period is over", code="rights_notice_over")
    mine = participant_ids(session, actor)
    objection = MarketRightsObjection(registration_id=reg.id, objector=data.objector,
                                      objector_participant_id=min(mine) if mine else None, reason=data.reason,
                                      evidence=[e.model_dump() for e in data.evidence], created_by=actor.username)
    session.add(objection)
    _move(reg, E.OBJECT)
    session.flush()
    record(session, actor, ev.MarketRightsObject(resource_id=reg.number, details={"objection_id": objection.id}))
    _ledger(session, settings, actor, "object", reg, objection=objection.id,
            evidence=[e.digest for e in data.evidence])
    return objection


def decide_objection(*, session: Session, settings: Settings, actor: Actor, objection_id: int, uphold: bool,
                     decision: str) -> MarketRightsObjection:
    """Uphold (the registration is refused) or dismiss an objection; once none is pending the
    notice resumes (and may be concluded if its period is over)."""
    require(actor, actions.RIGHTS_REVIEW)
    objection = session.get(MarketRightsObjection, objection_id)
    if objection is None:
        raise NotFound(f"异议 {objection_id} 不存在", "Objection not found", code="rights_objection_not_found")
    if objection.status != "pending":
        raise Conflict("该异议已处理", "The objection was already decided", code="invalid_transition")
    if not decision.strip():
        raise InvalidInput("请写明处理意见", "A decision text is required", code="validation_error",
                           details={"field": "decision"})
    reg = session.get_one(Reg, objection.registration_id)
    objection.status = "upheld" if uphold else "dismissed"
    objection.decision, objection.decided_by, objection.decided_at = decision.strip(), actor.username, utcnow()
    session.flush()
    pending = session.scalar(select(func.count()).select_from(MarketRightsObjection).where(
        MarketRightsObjection.registration_id == reg.id, MarketRightsObjection.status == "pending")) or 0
    if uphold:
        _move(reg, E.UPHOLD)
        reg.review_note = f"异议成立：{decision.strip()}"
    elif not pending:
        _move(reg, E.DISMISS)
    record(session, actor, ev.MarketRightsObjectionDecide(resource_id=str(objection.id), details={
        "registration": reg.number, "uphold": uphold}))
    _ledger(session, settings, actor, "objection", reg, objection=objection.id, uphold=uphold)
    return objection


def withdraw(*, session: Session, settings: Settings, actor: Actor, number: str) -> Reg:
    reg = get(session, number)
    if reg.applicant_id not in participant_ids(session, actor) and not _is_exchange(actor):
        require(actor, actions.RIGHTS_REVIEW)  # raises: only the applicant or the exchange
    _move(reg, E.WITHDRAW)
    record(session, actor, ev.MarketRightsWithdraw(resource_id=reg.number))
    _ledger(session, settings, actor, "withdraw", reg)
    return reg


# -- conclusion and certificates ------------------------------------------------------------------

def _party(p: MarketParticipant | None) -> dict[str, str] | None:
    return {"name": p.name, "uscc": p.uscc} if p is not None else None


def certificate_content(session: Session, reg: Reg) -> dict[str, Any]:
    """What the certificate states, and what the exchange signs (as canonical JSON)."""
    holder = session.get(MarketParticipant, reg.holder_id)
    applicant = session.get(MarketParticipant, reg.applicant_id)
    product = session.get(MarketProduct, reg.product_id) if reg.product_id else None
    target = session.get(Reg, reg.target_id) if reg.target_id else None
    licensor = applicant if reg.reg_type in (T.LICENCE, T.TRANSFER) else None
    return {
        "number": reg.certificate_number, "registration": reg.number, "issuer": ISSUER,
        "right": reg.right, "right_label": RIGHT_LABELS.get(reg.right, reg.right),
        "type": reg.reg_type, "type_label": TYPE_LABELS.get(reg.reg_type, reg.reg_type),
        "holder": _party(holder), "licensor": _party(licensor), "subject": reg.subject,
        "product": product.code if product else None, "scope": reg.scope,
        "valid_from": reg.valid_from.isoformat() if reg.valid_from else None,
        "valid_until": reg.valid_until.isoformat() if reg.valid_until else None,
        "notice": [reg.notice_start.isoformat() if reg.notice_start else None,
                   reg.notice_end.isoformat() if reg.notice_end else None],
        "replaces": target.certificate_number if target is not None and reg.reg_type in (T.TRANSFER, T.CHANGE)
        else None,
        "under": target.certificate_number if target is not None and reg.reg_type == T.LICENCE else None,
        "evidence": [e.get("digest") for e in reg.evidence],
        "issued_at": reg.issued_at.isoformat(timespec="seconds") if reg.issued_at else None,
    }


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def conclude(*, session: Session, settings: Settings, actor: Actor, number: str, on: dt.date | None = None) -> Reg:
    """End the notice of a registration whose period is over with no objection pending: register it,
    issue (and sign) its certificate, and apply it to the certificate it acts on."""
    require(actor, actions.RIGHTS_REVIEW)
    reg = get(session, number)
    day = on or today(settings)
    if reg.status == S.NOTICE and reg.notice_end is not None and day <= reg.notice_end:
        raise Conflict(f"公示期至 {reg.notice_end.isoformat()} 结束，期满后方可登记",
                       "The notice period is not over yet", code="rights_notice_running")
    _move(reg, E.CONCLUDE)
    now = utcnow()
    target = session.get(Reg, reg.target_id) if reg.target_id else None
    if reg.reg_type in ISSUES_CERTIFICATE:
        reg.certificate_number = f"SD{day:%Y}{RIGHT_CODES[reg.right]}{reg.id:06d}"
        reg.issued_at = now.replace(microsecond=0)
        content = certificate_content(session, reg)
        public, private = exchange_key(session, settings)
        reg.certificate = canonical(content).decode()
        reg.signature, reg.public_key = sm2.sign(private, public, canonical(content)), public
    if target is not None:
        effect = {T.TRANSFER: E.SUPERSEDE, T.CHANGE: E.SUPERSEDE, T.CANCEL: E.CANCEL, T.REVOKE: E.REVOKE}
        if reg.reg_type in effect:
            _move(target, effect[T(reg.reg_type)])
            target.ended_at, target.ended_by_id = now, reg.id
        elif reg.reg_type == T.OBJECTION:
            target.disputed = True
    if reg.reg_type == T.LICENCE and reg.counterparty_id is not None:
        _licence(session, settings, actor, licensor_id=reg.applicant_id, licensee_id=reg.counterparty_id,
                 product_id=reg.product_id, scope=reg.scope or "", valid_from=reg.valid_from or day,
                 valid_until=reg.valid_until, registration_id=reg.id, right=reg.right)
    session.flush()
    record(session, actor, ev.MarketRightsConclude(resource_id=reg.number, details={
        "certificate": reg.certificate_number, "target": target.certificate_number if target else None}))
    _ledger(session, settings, actor, "conclude", reg, certificate=reg.certificate_number,
            signature=reg.signature, target=target.certificate_number if target else None)
    return reg


def conclude_due(*, session: Session, settings: Settings, actor: Actor, on: dt.date | None = None) -> list[Reg]:
    """Conclude every registration whose notice is over with no objection pending (a daily job)."""
    day = on or today(settings)
    due = session.scalars(select(Reg).where(Reg.status == S.NOTICE, Reg.notice_end < day).order_by(Reg.id)).all()
    return [conclude(session=session, settings=settings, actor=actor, number=r.number, on=day) for r in due]


def revoke(*, session: Session, settings: Settings, actor: Actor, number: str, reason: str) -> Reg:
    """The exchange revokes a registered certificate (e.g. evidence found false)."""
    require(actor, actions.RIGHTS_REVIEW)
    if not reason.strip():
        raise InvalidInput("撤销须说明理由", "A revocation needs a reason", code="validation_error",
                           details={"field": "reason"})
    reg = session.scalar(select(Reg).where(Reg.certificate_number == number)) or get(session, number)
    _move(reg, E.REVOKE)
    reg.ended_at, reg.review_note = utcnow(), f"撤销：{reason.strip()}"
    record(session, actor, ev.MarketRightsRevoke(resource_id=reg.number, details={"reason": reason}))
    _ledger(session, settings, actor, "revoke", reg, reason=reason)
    return reg


@dataclass(frozen=True)
class CertificateCheck:
    """What the public verification page shows for a certificate number."""

    found: bool
    number: str
    content: dict[str, Any] | None = None
    status: str | None = None
    status_label: str | None = None
    signature_valid: bool = False
    matches_record: bool = False  # the signed content is what the register says today
    in_force: bool = False
    disputed: bool = False
    public_key: str | None = None
    signature: str | None = None


def verify_certificate(*, session: Session, actor: Actor, number: str, signature: str | None = None
                       ) -> CertificateCheck:
    """Check a certificate by its number (public): the exchange's SM2 signature over the signed
    content, that content against the register, its status. ``signature`` (from a paper copy's QR)
    must then be the one on record."""
    require(actor, actions.RIGHTS_VERIFY)
    number = number.strip().upper()
    reg = session.scalar(select(Reg).where(Reg.certificate_number == number))
    if reg is None or reg.certificate is None or reg.signature is None or reg.public_key is None:
        return CertificateCheck(found=False, number=number)
    content = json.loads(reg.certificate)
    exchange = exchange_key_public(session)
    sig_ok = (reg.public_key == exchange and sm2.verify(exchange, reg.certificate.encode(), reg.signature)
              and (signature is None or signature.lower() == reg.signature.lower()))
    matches = canonical(certificate_content(session, reg)) == reg.certificate.encode()
    return CertificateCheck(found=True, number=number, content=content, status=reg.status,
                            status_label=STATUS_LABELS.get(reg.status, reg.status), signature_valid=sig_ok,
                            matches_record=matches, in_force=reg.status == S.REGISTERED and sig_ok and matches,
                            disputed=reg.disputed, public_key=reg.public_key, signature=reg.signature)


def exchange_key_public(session: Session) -> str:
    return exchange_public_key(session) or ""


# -- reading -------------------------------------------------------------------------------------

def visible(session: Session, actor: Actor, reg: Reg) -> bool:
    if allowed(actor, actions.RIGHTS_VIEW_ALL):
        return True
    mine = participant_ids(session, actor)
    return bool(mine & {reg.applicant_id, reg.holder_id, reg.counterparty_id})


def read(*, session: Session, actor: Actor, number: str) -> Reg:
    require(actor, actions.RIGHTS_VIEW, ResourceRef(REG, number))
    reg = get(session, number)
    if not visible(session, actor, reg):
        raise PermissionDenied("只能查看本主体相关的登记", "Only registrations of your own participant",
                               code="permission_denied", details={"action": actions.RIGHTS_VIEW.name})
    return reg


def list_registrations(*, session: Session, actor: Actor, status: str | None = None) -> list[Reg]:
    require(actor, actions.RIGHTS_VIEW)
    stmt = select(Reg).order_by(Reg.id.desc())
    if status:
        stmt = stmt.where(Reg.status == status)
    return [r for r in session.scalars(stmt) if visible(session, actor, r)]


def notices(*, session: Session, actor: Actor) -> list[Reg]:
    """The public notice board (公示): registrations in notice or under objection."""
    require(actor, actions.RIGHTS_VERIFY)
    return list(session.scalars(select(Reg).where(Reg.status.in_([S.NOTICE, S.OBJECTED])).order_by(Reg.notice_end)))


# -- licences ----------------------------------------------------------------------------------

def _licence(session: Session, settings: Settings | None, actor: Actor, *, licensor_id: int, licensee_id: int,
             product_id: int | None, scope: str, valid_from: dt.date, valid_until: dt.date | None,
             registration_id: int | None = None, order_id: int | None = None, right: str = Right.PROCESSING
             ) -> MarketLicence:
    lic = MarketLicence(number=f"tmp-{uuid.uuid4().hex[:20]}", right=right, product_id=product_id, order_id=order_id,
                        registration_id=registration_id, licensor_id=licensor_id, licensee_id=licensee_id,
                        scope=scope, valid_from=valid_from, valid_until=valid_until, created_by=actor.username)
    session.add(lic)
    session.flush()
    lic.number = f"LIC{valid_from:%Y}{lic.id:06d}"
    session.flush()
    record(session, actor, ev.MarketLicenceIssue(resource_id=lic.number, details={
        "licensee_id": licensee_id, "product_id": product_id, "order_id": order_id}))
    append(session, LedgerEvent(kind="market.rights.licence", subject_type="licence", subject_id=lic.number,
                                actor=actor.username, payload={"licensor": licensor_id, "licensee": licensee_id,
                                                               "product": product_id, "order": order_id,
                                                               "scope": scope}), settings=settings)
    return lic


PROCESSING_CLAIMS = frozenset({Right.PROCESSING.value, RIGHT_LABELS[Right.PROCESSING], "加工使用权"})


def licence_for_order(session: Session, actor: Actor, order: MarketOrder) -> MarketLicence | None:
    """A purchase of a product whose seller offers 数据加工使用权 gives the buyer a licence (once per
    order) for the order's purpose and term."""
    product = session.get(MarketProduct, order.product_id)
    if product is None or not PROCESSING_CLAIMS & {str(r) for r in product.rights or ()}:
        return None
    existing = session.scalar(select(MarketLicence).where(MarketLicence.order_id == order.id))
    if existing is not None:
        return existing
    start = local_date(utcnow())
    return _licence(session, session.info.get("settings"), actor, licensor_id=order.seller_id,
                    licensee_id=order.buyer_id, product_id=product.id, scope=order.purpose, valid_from=start,
                    valid_until=start + dt.timedelta(days=order.term_days), order_id=order.id)


def end_licence_for_order(session: Session, order: MarketOrder) -> MarketLicence | None:
    lic = session.scalar(select(MarketLicence).where(MarketLicence.order_id == order.id))
    if lic is not None and lic.status == "active":
        lic.status = "ended"
    return lic


def licences(*, session: Session, actor: Actor, participant_id: int | None = None) -> list[MarketLicence]:
    require(actor, actions.RIGHTS_VIEW)
    stmt = select(MarketLicence).order_by(MarketLicence.id.desc())
    if not allowed(actor, actions.RIGHTS_VIEW_ALL):
        mine = participant_ids(session, actor)
        stmt = stmt.where((MarketLicence.licensee_id.in_(mine)) | (MarketLicence.licensor_id.in_(mine)))
    if participant_id is not None:
        stmt = stmt.where((MarketLicence.licensee_id == participant_id) | (MarketLicence.licensor_id == participant_id))
    return list(session.scalars(stmt))
