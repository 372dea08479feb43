"""交易主体: registration, qualification documents, the exchange operator's review, who acts for whom.

An enterprise applies with its name, 统一社会信用代码 (check character verified, GB 32100),
legal representative, contact and what it acts as (供方, 需方, 数商 service types); a new
enterprise creates its first account in the same step (role ``market_member``, no department),
and that account logs in like any platform account (web session or API token). A government
department sells public data under 授权运营: the exchange operator registers it with the
authorisation basis, and the department's data stewards act for it.

The operator approves (with a grade A/B/C), refuses with a reason, suspends, reinstates, revokes
or re-grades; every decision is a ``market_review`` row, an audit event and a market event.
An approved participant gets an SM2 key pair held by the exchange (the private key wrapped with
the platform master key) with which its contracts are signed.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.core.clock import utcnow
from shudata.core.config import Settings
from shudata.core.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, PermissionDenied
from shudata.core.types import Actor, ResourceRef, Role
from shudata.market import actions as A
from shudata.market.events import MarketEvent, emit
from shudata.market.models import MarketDocument, MarketMember, MarketParticipant, MarketReview, MarketSigningKey
from shudata.market.schemas import (
    DOCUMENT_KINDS,
    DepartmentSellerCreate,
    DocumentRead,
    ParticipantBrief,
    ParticipantCreate,
    ParticipantRead,
    ReviewCreate,
    ReviewRead,
)
from shudata.market.states import PARTICIPANTS, ParticipantEvent, ParticipantStatus
from shudata.security.authz import allowed, require
from shudata.security.crypto import sm2, sm4
from shudata.security.crypto.keys import new_data_key, unwrap_key, wrap_key
from shudata.security.models import Department, User
from shudata.security.passwords import hash_password
from shudata.security.service import check_password, check_username

# Accepted document formats, by their first bytes (the file name's suffix decides nothing).
MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
    (b"PK\x03\x04", "application/ofd", "OFD"),
)
_UNSAFE_NAME = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")


def _not_found(participant_id: int) -> NotFound:
    return NotFound(f"交易主体 {participant_id} 不存在", f"Market participant {participant_id} not found",
                    code="participant_not_found")


def get_row(session: Session, participant_id: int) -> MarketParticipant:
    p = session.get(MarketParticipant, participant_id)
    if p is None:
        raise _not_found(participant_id)
    return p


def is_member(session: Session, actor: Actor, participant: MarketParticipant) -> bool:
    """Whether ``actor``'s account belongs to ``participant``: a linked member account, or an account
    of the department that sells under 授权运营 (the roles that may act are the action's business)."""
    if participant.entity_type == "department":
        return actor.department_id is not None and actor.department_id == participant.department_id
    if actor.user_id is None:
        return False
    return session.scalar(select(MarketMember.id).where(
        MarketMember.participant_id == participant.id, MarketMember.user_id == actor.user_id)) is not None


def participant_ref(session: Session, actor: Actor, participant: MarketParticipant, kind: str = "market_participant",
                    target_id: int | str | None = None) -> ResourceRef:
    """The target of ``market.participant.act``: owned by ``actor`` when they act for ``participant``."""
    owner = actor.username if is_member(session, actor, participant) else f"participant:{participant.id}"
    return ResourceRef(kind, target_id if target_id is not None else participant.id, owner=owner)


def acting_for(session: Session, actor: Actor, participant_id: int, *, approved: bool = True) -> MarketParticipant:
    """The participant ``actor`` acts for (``PermissionDenied`` otherwise); ``approved``: it must be
    approved (a pending, suspended or revoked participant does not trade)."""
    p = get_row(session, participant_id)
    require(actor, A.PARTICIPANT_ACT, participant_ref(session, actor, p))
    if approved and p.status != ParticipantStatus.APPROVED:
        raise PermissionDenied(f"交易主体“{p.name}”当前状态为“{p.status}”，未经审核通过或已被暂停、撤销，不能交易",
                               f"Participant {p.name} is {p.status}: only approved participants trade",
                               code="participant_not_approved", details={"participant_id": p.id})
    return p


def memberships(session: Session, actor: Actor) -> list[MarketParticipant]:
    """Every participant ``actor`` may act for."""
    found: list[MarketParticipant] = []
    if actor.user_id is not None:
        found += session.scalars(select(MarketParticipant).join(
            MarketMember, MarketMember.participant_id == MarketParticipant.id)
            .where(MarketMember.user_id == actor.user_id).order_by(MarketParticipant.id))
    if actor.department_id is not None:
        found += session.scalars(select(MarketParticipant).where(
            MarketParticipant.entity_type == "department", MarketParticipant.department_id == actor.department_id))
    return [p for p in found if allowed(actor, A.PARTICIPANT_ACT, participant_ref(session, actor, p))]


def _emit(session: Session, actor: Actor, kind: str, p: MarketParticipant, **data: object) -> None:
    emit(session, MarketEvent(kind=kind, subject=f"participant:{p.id}", actor=actor.username,
                              data={"name": p.name, "uscc": p.uscc, "status": p.status, **data}, at=utcnow()))


def _unique(session: Session, name: str, uscc: str) -> None:
    if session.scalar(select(MarketParticipant.id).where(
            (MarketParticipant.name == name) | (MarketParticipant.uscc == uscc))) is not None:
        raise Conflict(f"名称“{name}”或统一社会信用代码 {uscc} 已登记为交易主体",
                       f"A participant named {name} or with code {uscc} is already registered",
                       code="participant_exists")


def register_participant(*, session: Session, actor: Actor, settings: Settings | None,
                         data: ParticipantCreate) -> ParticipantRead:
    """An enterprise applies (status ``pending``) and creates its first account (``data.account``)."""
    require(actor, A.PARTICIPANT_REGISTER)
    _unique(session, data.name, data.uscc)
    if data.account is None:
        raise InvalidInput("请填写企业首个账号（用户名、显示名称、密码）", "Give the enterprise's first account",
                           code="account_required", details={"field": "account"})
    username = check_username(session, data.account.username)
    check_password(data.account.password, username=username, settings=settings)
    user = User(username=username, display_name=data.account.display_name,
                password_hash=hash_password(data.account.password), department_id=None,
                roles=[Role.MARKET_MEMBER.value], email=data.account.email)
    session.add(user)
    session.flush()
    user_id, creator = user.id, username
    record(session, actor, events.SecurityUserCreate(resource_id=username, details={
        "roles": user.roles, "department_id": None, "via": "market.participant.register"}))
    p = MarketParticipant(name=data.name, uscc=data.uscc, entity_type="enterprise", kinds=list(data.kinds),
                          legal_representative=data.legal_representative, contact_name=data.contact_name,
                          contact_phone=data.contact_phone, contact_email=data.contact_email, address=data.address,
                          status=ParticipantStatus.PENDING, created_by=creator)
    session.add(p)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("交易主体已存在", "Participant already exists", code="participant_exists") from exc
    session.add(MarketMember(participant_id=p.id, user_id=user_id, is_admin=True))
    record(session, actor, events.MarketParticipantRegister(resource_id=str(p.id), details={
        "name": p.name, "uscc": p.uscc, "kinds": p.kinds, "entity_type": p.entity_type, "account": creator}))
    _emit(session, actor, "participant.register", p, kinds=p.kinds)
    return read_participant(session, p)


def register_department_seller(*, session: Session, actor: Actor, data: DepartmentSellerCreate) -> ParticipantRead:
    """The exchange operator registers a department as a seller of public data under 授权运营 (its
    name and code are the department's; it still goes through review)."""
    require(actor, A.PARTICIPANT_REVIEW)
    dept = session.get(Department, data.department_id)
    if dept is None:
        raise NotFound(f"部门 {data.department_id} 不存在", f"Department {data.department_id} not found",
                       code="department_not_found")
    _unique(session, dept.name, dept.uscc)
    p = MarketParticipant(name=dept.name, uscc=dept.uscc, entity_type="department", department_id=dept.id,
                          kinds=["seller"], legal_representative=data.legal_representative,
                          contact_name=data.contact_name, contact_phone=data.contact_phone,
                          authorisation=data.authorisation, status=ParticipantStatus.PENDING,
                          created_by=actor.username)
    session.add(p)
    session.flush()
    record(session, actor, events.MarketParticipantRegister(resource_id=str(p.id), details={
        "name": p.name, "uscc": p.uscc, "kinds": p.kinds, "entity_type": "department",
        "authorisation": data.authorisation}))
    _emit(session, actor, "participant.register", p, kinds=p.kinds, entity_type="department")
    return read_participant(session, p)


def ensure_signing_key(session: Session, settings: Settings, participant_id: int | None) -> MarketSigningKey:
    """The SM2 key of a participant (``None``: the exchange's own), made on first use."""
    key = session.scalar(select(MarketSigningKey).where(
        MarketSigningKey.participant_id.is_(None) if participant_id is None
        else MarketSigningKey.participant_id == participant_id))
    if key is not None:
        return key
    kp = sm2.generate_keypair()
    key = MarketSigningKey(participant_id=participant_id, public_key=kp.public_hex,
                           private_key_wrapped=wrap_key(bytes.fromhex(settings.master_key),
                                                        bytes.fromhex(kp.private_hex), key_id=_key_id(participant_id)))
    session.add(key)
    session.flush()
    return key


def _key_id(participant_id: int | None) -> str:
    return "market:exchange" if participant_id is None else f"market:participant:{participant_id}"


def private_key(key: MarketSigningKey, settings: Settings) -> str:
    return unwrap_key(bytes.fromhex(settings.master_key), key.private_key_wrapped,
                      key_id=_key_id(key.participant_id)).hex()


def review_participant(*, session: Session, actor: Actor, settings: Settings, participant_id: int,
                       data: ReviewCreate) -> ParticipantRead:
    """The exchange operator's decision (see the module docstring)."""
    require(actor, A.PARTICIPANT_REVIEW)
    p = get_row(session, participant_id)
    before = p.status
    if data.decision in ("refuse", "suspend", "revoke") and not (data.reason or "").strip():
        raise InvalidInput("不通过、暂停或撤销须说明理由", "A refusal, suspension or revocation needs a reason",
                           code="reason_required", details={"field": "reason"})
    if data.decision in ("approve", "grade") and data.grade is None:
        raise InvalidInput("审核通过或评级须给出评级（A、B 或 C）", "Approving or grading needs a grade (A, B or C)",
                           code="grade_required", details={"field": "grade"})
    if data.decision == "grade":
        if p.status not in (ParticipantStatus.APPROVED, ParticipantStatus.SUSPENDED):
            raise Conflict(f"交易主体当前状态为“{p.status}”，只能为已通过或已暂停的交易主体评级",
                           f"Participant is {p.status}: only approved or suspended participants are graded",
                           code="invalid_transition")
    else:
        p.status = PARTICIPANTS.next(p.status, ParticipantEvent(data.decision))
    if data.grade is not None:
        p.grade = data.grade
    if data.decision in ("refuse", "suspend", "revoke"):
        p.reason = (data.reason or "").strip()
    elif data.decision in ("approve", "reinstate"):
        p.reason = None
    p.decided_by, p.decided_at = actor.username, utcnow()
    p.updated_at = p.decided_at
    if p.status == ParticipantStatus.APPROVED:
        ensure_signing_key(session, settings, p.id)
    session.add(MarketReview(participant_id=p.id, decision=data.decision, from_status=before, to_status=p.status,
                             grade=p.grade, reason=(data.reason or "").strip() or None, actor=actor.username))
    session.flush()
    record(session, actor, events.MarketParticipantReview(resource_id=str(p.id), details={
        "decision": data.decision, "from": before, "to": p.status, "grade": p.grade, "reason": data.reason}))
    _emit(session, actor, f"participant.{data.decision}", p, grade=p.grade, reason=data.reason, previous=before)
    return read_participant(session, p)


def resubmit(*, session: Session, actor: Actor, participant_id: int) -> ParticipantRead:
    """A refused applicant applies again (after uploading what was missing)."""
    p = get_row(session, participant_id)
    require(actor, A.PARTICIPANT_ACT, participant_ref(session, actor, p))
    before = p.status
    p.status = PARTICIPANTS.next(p.status, ParticipantEvent.RESUBMIT)
    p.updated_at = utcnow()
    session.add(MarketReview(participant_id=p.id, decision="resubmit", from_status=before, to_status=p.status,
                             grade=p.grade, reason=None, actor=actor.username))
    record(session, actor, events.MarketParticipantRegister(resource_id=str(p.id), details={"resubmit": True}))
    _emit(session, actor, "participant.register", p, resubmit=True)
    return read_participant(session, p)


def _sniff(content: bytes) -> str:
    for magic, media, _label in MAGIC:
        if content.startswith(magic):
            return media
    labels = "、".join(label for *_, label in MAGIC)
    raise InvalidInput(f"资质文件须为 {labels} 格式（按文件内容识别）", "Documents must be PDF, PNG, JPEG or OFD",
                       code="document_format", details={"field": "file"})


def _doc_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "market" / "documents"


def upload_document(*, session: Session, actor: Actor, settings: Settings, participant_id: int, kind: str,
                    filename: str, content: bytes) -> DocumentRead:
    """Store a qualification document SM4-encrypted (a fresh data key per document, wrapped with
    the master key); PDF, PNG, JPEG or OFD by content; size capped by ``market_document_max_mb``."""
    p = get_row(session, participant_id)
    require(actor, A.PARTICIPANT_ACT, participant_ref(session, actor, p))
    if kind not in DOCUMENT_KINDS:
        raise InvalidInput(f"资质文件类别须为：{'、'.join(DOCUMENT_KINDS.values())}", "Unknown document kind",
                           code="document_kind", details={"field": "kind", "allowed": list(DOCUMENT_KINDS)})
    limit = settings.market_document_max_mb * 1024 * 1024
    if len(content) > limit:
        raise PayloadTooLarge(f"资质文件不能超过 {settings.market_document_max_mb} MB",
                              f"Documents are limited to {settings.market_document_max_mb} MB",
                              code="document_too_large")
    if not content:
        raise InvalidInput("资质文件为空", "The document is empty", code="document_empty", details={"field": "file"})
    media = _sniff(content)
    name = _UNSAFE_NAME.sub("_", Path(filename or "document").name)[:200] or "document"
    sha = hashlib.sha256(content).hexdigest()
    data_key = new_data_key()
    key_id = f"market:document:{p.id}:{sha}"
    folder = _doc_dir(settings) / str(p.id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sha}.sm4"
    tmp = folder / f".{sha}.{os.getpid()}.tmp"
    tmp.write_bytes(sm4.encrypt(data_key, content, aad=key_id.encode()))
    tmp.replace(target)
    doc = MarketDocument(participant_id=p.id, kind=kind, filename=name, media_type=media, size=len(content),
                         sha256=sha, storage_path=str(target.relative_to(Path(settings.data_dir))),
                         key_wrapped=wrap_key(bytes.fromhex(settings.master_key), data_key, key_id=key_id),
                         uploaded_by=actor.username)
    session.add(doc)
    session.flush()
    record(session, actor, events.MarketDocumentUpload(resource_id=str(p.id), details={
        "document_id": doc.id, "kind": kind, "filename": name, "size": len(content), "sha256": sha}))
    return DocumentRead.model_validate(doc)


def read_document(*, session: Session, actor: Actor, settings: Settings, participant_id: int,
                  document_id: int) -> tuple[DocumentRead, bytes]:
    """A document's plain bytes, for the participant's own members and the operator/regulator."""
    p = get_row(session, participant_id)
    if not allowed(actor, A.PARTICIPANT_VIEW_ALL):
        require(actor, A.PARTICIPANT_ACT, participant_ref(session, actor, p))
    doc = session.get(MarketDocument, document_id)
    if doc is None or doc.participant_id != p.id:
        raise NotFound(f"资质文件 {document_id} 不存在", f"Document {document_id} not found", code="document_not_found")
    key_id = f"market:document:{p.id}:{doc.sha256}"
    data_key = unwrap_key(bytes.fromhex(settings.master_key), doc.key_wrapped, key_id=key_id)
    plain = sm4.decrypt(data_key, (Path(settings.data_dir) / doc.storage_path).read_bytes(), aad=key_id.encode())
    if hashlib.sha256(plain).hexdigest() != doc.sha256:
        raise RuntimeError(f"document {doc.id}: stored bytes do not match their SHA-256")
    record(session, actor, events.MarketDocumentRead(resource_id=str(p.id), details={"document_id": doc.id}))
    return DocumentRead.model_validate(doc), plain


def read_participant(session: Session, p: MarketParticipant) -> ParticipantRead:
    docs = session.scalars(select(MarketDocument).where(MarketDocument.participant_id == p.id)
                           .order_by(MarketDocument.id)).all()
    reviews = session.scalars(select(MarketReview).where(MarketReview.participant_id == p.id)
                              .order_by(MarketReview.id)).all()
    key = session.scalar(select(MarketSigningKey.public_key).where(MarketSigningKey.participant_id == p.id))
    out = ParticipantRead.model_validate(p)
    return out.model_copy(update={"documents": [DocumentRead.model_validate(d) for d in docs],
                                  "reviews": [ReviewRead.model_validate(r) for r in reviews], "public_key": key})


def get_participant(*, session: Session, actor: Actor, participant_id: int) -> ParticipantRead | ParticipantBrief:
    """The full record for its members and the operator/regulator; the public brief for anyone else."""
    p = get_row(session, participant_id)
    if allowed(actor, A.PARTICIPANT_VIEW_ALL) or allowed(actor, A.PARTICIPANT_ACT, participant_ref(session, actor, p)):
        return read_participant(session, p)
    if p.status != ParticipantStatus.APPROVED:
        raise _not_found(participant_id)
    return ParticipantBrief.model_validate(p)


def list_participants(*, session: Session, actor: Actor, status: str | None = None) -> list[ParticipantRead]:
    """Every participant (operator, regulator) — the review queue with ``status='pending'``."""
    require(actor, A.PARTICIPANT_VIEW_ALL)
    stmt = select(MarketParticipant).order_by(MarketParticipant.id)
    if status:
        stmt = stmt.where(MarketParticipant.status == status)
    return [read_participant(session, p) for p in session.scalars(stmt)]


def my_participants(*, session: Session, actor: Actor) -> list[ParticipantRead]:
    """The participants the actor acts for."""
    return [read_participant(session, p) for p in memberships(session, actor)]


def add_member(*, session: Session, actor: Actor, participant_id: int, username: str) -> ParticipantRead:
    """A participant's administrator links another ``market_member`` account to it."""
    p = get_row(session, participant_id)
    require(actor, A.PARTICIPANT_ACT, participant_ref(session, actor, p))
    if p.entity_type == "department":
        raise InvalidInput("部门交易主体由本部门数据管理员代表，无需添加成员",
                           "Department sellers act through their stewards",
                           code="department_members")
    user = session.scalar(select(User).where(User.username == username))
    if user is None or Role.MARKET_MEMBER.value not in (user.roles or []):
        raise InvalidInput(f"账号“{username}”不存在或不是交易主体用户", f"{username} is no market member account",
                           code="member_not_found", details={"field": "username"})
    if session.scalar(select(MarketMember.id).where(MarketMember.user_id == user.id)) is not None:
        raise Conflict("该账号已属于一个交易主体", "This account already belongs to a participant",
                       code="already_member")
    session.add(MarketMember(participant_id=p.id, user_id=user.id))
    session.flush()
    record(session, actor, events.MarketParticipantRegister(resource_id=str(p.id), details={"member_added": username}))
    return read_participant(session, p)
